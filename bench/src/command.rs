//! `vireo bench`: options, progress, files and the verdict against the goals.

use crate::figures::{charts, GOAL_FRACTION};
use crate::plot;
use crate::point::{max_frame, Measurement, Point};
use crate::report::{self, Csv, DATAPATH_BYTES_PER_CYCLE};
use crate::sweep::{self, Planned, Settings, Sweep};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;
use vireo_host::link::Link;
use vireo_regs::virtio::net::HDR_LEN;

/// Options of `vireo bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Directory for bench.csv, bench.json and the plots (PNG and SVG).
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// Points run in parallel (default: the number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Sweeps to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub sweep: Vec<Sweep>,
    /// Ethernet frame sizes of the size sweep, in bytes.
    #[arg(long, value_delimiter = ',', default_values_t = defaults().sizes)]
    pub sizes: Vec<u32>,
    /// Completion latencies the size sweep runs at, in cycles.
    #[arg(long, value_delimiter = ',', default_values_t = defaults().size_latencies)]
    pub size_latencies: Vec<u64>,
    /// Completion latencies of the latency sweep, in cycles.
    #[arg(long, value_delimiter = ',', default_values_t = defaults().latencies)]
    pub latencies: Vec<u64>,
    /// Transmit chains in flight of the in-flight sweep.
    #[arg(long, value_delimiter = ',', default_values_t = defaults().in_flight)]
    pub in_flight: Vec<u16>,
    /// Descriptors per frame of the segments sweep.
    #[arg(long, value_delimiter = ',', default_values_t = defaults().segments)]
    pub segments: Vec<u16>,
    /// Frame size of the base point the other sweeps vary.
    #[arg(long, default_value_t = defaults().base.frame)]
    pub base_frame: u32,
    /// Completion latency of the base point.
    #[arg(long, default_value_t = defaults().base.latency)]
    pub base_latency: u64,
    /// Transmit chains in flight at the base point.
    #[arg(long, default_value_t = defaults().base.in_flight)]
    pub base_in_flight: u16,
    /// Descriptors per frame at the base point.
    #[arg(long, default_value_t = defaults().base.segments)]
    pub base_segments: u16,
    /// Queue size the driver sets (both queues).
    #[arg(long, default_value_t = defaults().base.queue_size)]
    pub queue_size: u16,
    /// Max_Payload_Size the host sets, in bytes (the device supports up to
    /// 512; root ports commonly allow 256).
    #[arg(long, default_value_t = defaults().base.mps)]
    pub mps: u16,
    /// Max_Read_Request_Size the host sets, in bytes.
    #[arg(long, default_value_t = defaults().base.mrrs)]
    pub mrrs: u16,
    /// Link between root complex and device (headers and framing take
    /// their share of a real link).
    #[arg(long, value_enum, default_value_t = defaults().base.link)]
    pub link: Link,
    /// Frames per point (default: about 2 MiB worth, 256 ..= 2048, and at
    /// least 4 times the frames in flight; more than twice, and more than
    /// 9 beyond the frames in flight, are needed).
    #[arg(long)]
    pub frames: Option<u32>,
    /// Seed of buffer placement and frame contents.
    #[arg(long, default_value_t = defaults().base.seed)]
    pub seed: u64,
    /// Write a VCD waveform of the RTL to this file (a run of one point
    /// only, e.g. `--sweep size --sizes 1514 --size-latencies 250`).
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

/// The defaults of the options: those of the sweep settings.
fn defaults() -> Settings {
    Settings::default()
}

impl BenchArgs {
    fn settings(&self) -> Settings {
        let sweeps = if self.sweep.is_empty() {
            Sweep::ALL.to_vec()
        } else {
            self.sweep.clone()
        };
        Settings {
            sizes: self.sizes.clone(),
            size_latencies: self.size_latencies.clone(),
            latencies: self.latencies.clone(),
            in_flight: self.in_flight.clone(),
            segments: self.segments.clone(),
            base: Point {
                frame: self.base_frame,
                in_flight: self.base_in_flight,
                queue_size: self.queue_size,
                latency: self.base_latency,
                segments: self.base_segments,
                frames: 0,
                mps: self.mps,
                mrrs: self.mrrs,
                link: self.link,
                seed: self.seed,
            },
            frames: self.frames,
            sweeps,
        }
    }
}

fn describe(p: &Point) -> String {
    format!(
        "{:>5} B, latency {:>4}, {:>3} in flight, {} seg.",
        p.frame, p.latency, p.in_flight, p.segments
    )
}

fn summary(m: &Measurement) -> String {
    format!(
        "{:6.2} B/cycle ({:.2} of {DATAPATH_BYTES_PER_CYCLE}), {:7.1} cycles/frame, {:.2} M cycles/s",
        m.bytes_per_cycle(),
        m.bytes_per_cycle() / DATAPATH_BYTES_PER_CYCLE,
        m.cycles_per_frame,
        m.cycles_per_second() / 1e6
    )
}

/// The measured point closest to `frame` bytes at `latency` among the
/// points of the base depth and segmentation (those of the size and the
/// latency sweeps).
fn find(results: &[(Planned, Measurement)], frame: u32, latency: u64) -> Option<&Measurement> {
    let at_base = |p: &Planned| {
        p.sweeps
            .iter()
            .any(|s| [Sweep::Size, Sweep::Latency].contains(s))
    };
    results
        .iter()
        .filter(|(p, _)| at_base(p) && p.point.latency == latency)
        .map(|(_, m)| m)
        .min_by_key(|m| m.point.frame.abs_diff(frame))
}

/// One goal: the measured value at `m`, or why there is none.
fn goal(
    name: &str,
    m: Option<&Measurement>,
    value: impl Fn(&Measurement) -> f64,
    met: bool,
) -> String {
    match m {
        Some(m) => format!(
            "  {name}: {:.3} at {} B, latency {}: {}",
            value(m),
            m.point.frame,
            m.point.latency,
            if met { "met" } else { "NOT met" }
        ),
        None => format!("  {name}: not measured (no such point in this run)"),
    }
}

/// The figures against the goals, one line each.
fn verdict(results: &[(Planned, Measurement)], largest: u32) -> Vec<String> {
    let fraction = |m: &Measurement| m.bytes_per_cycle() / DATAPATH_BYTES_PER_CYCLE;
    let exactly = |frame: u32| find(results, frame, 250).filter(|m| m.point.frame == frame);
    let mtu = exactly(1514);
    let small = exactly(64);
    let fastest = results
        .iter()
        .map(|(_, m)| m)
        .max_by(|a, b| a.cycles_per_second().total_cmp(&b.cycles_per_second()));
    let mut lines = vec![
        goal(
            "throughput at 1514 B, 250-cycle latency (goal >= 0.90 of the datapath)",
            mtu,
            fraction,
            mtu.is_some_and(|m| fraction(m) >= GOAL_FRACTION),
        ),
        goal(
            "cycles per 64 B frame, 250-cycle latency (goal <= 8)",
            small,
            |m| m.cycles_per_frame,
            small.is_some_and(|m| m.cycles_per_frame <= 8.0),
        ),
        goal(
            "co-simulation speed of the fastest point, M cycles/s (goal >= 2)",
            fastest,
            |m| m.cycles_per_second() / 1e6,
            fastest.is_some_and(|m| m.cycles_per_second() >= 2e6),
        ),
    ];
    if largest >= LARGE_FRAME {
        let large = exactly(LARGE_FRAME);
        lines.push(goal(
            "throughput at 64 KiB buffers, 250-cycle latency (goal >= 0.97 of the datapath)",
            large,
            fraction,
            large.is_some_and(|m| fraction(m) >= GOAL_LARGE_FRACTION),
        ));
    } else {
        lines.push(format!(
            "  throughput at 64 KiB (goal >= 0.97): not measurable, the device loops back frames of up to {largest} B{}",
            exactly(largest).map_or(String::new(), |m| format!(
                "; at {largest} B: {:.3}",
                fraction(m)
            ))
        ));
    }
    lines
}

/// The frame of the large-frame goal: a 64 KiB buffer holds it with its
/// virtio-net header (two such frames fill the frame buffer).
const LARGE_FRAME: u32 = 65536 - HDR_LEN as u32;
const GOAL_LARGE_FRACTION: f64 = 0.97;

/// A Markdown summary: the verdict, then the size sweep as a table (one
/// row per frame size, one column group per latency).
fn markdown(results: &[(Planned, Measurement)], verdict: &[String]) -> String {
    let mut text = String::from("Against the goals:\n\n");
    for line in verdict {
        text += &format!("- {}\n", line.trim());
    }
    let size: Vec<&Measurement> = results
        .iter()
        .filter(|(p, _)| p.sweeps.contains(&Sweep::Size))
        .map(|(_, m)| m)
        .collect();
    let mut latencies: Vec<u64> = size.iter().map(|m| m.point.latency).collect();
    let mut frames: Vec<u32> = size.iter().map(|m| m.point.frame).collect();
    latencies.sort_unstable();
    latencies.dedup();
    frames.sort_unstable();
    frames.dedup();
    if size.is_empty() {
        return text;
    }
    text += "\nPayload bytes per cycle (fraction of the datapath) and cycles per frame, by completion latency:\n\n| frame |";
    for l in &latencies {
        text += &format!(" latency {l} |");
    }
    text += "\n|---:|";
    text += &"---:|".repeat(latencies.len());
    for f in frames {
        text += &format!("\n| {f} B |");
        for &l in &latencies {
            text += &match size
                .iter()
                .find(|m| m.point.frame == f && m.point.latency == l)
            {
                Some(m) => format!(
                    " {:.2} ({:.3}), {:.0} |",
                    m.bytes_per_cycle(),
                    m.bytes_per_cycle() / DATAPATH_BYTES_PER_CYCLE,
                    m.cycles_per_frame
                ),
                None => " |".into(),
            };
        }
    }
    text + "\n"
}

/// Run `vireo bench`.
pub fn bench(args: &BenchArgs) -> Result<(), String> {
    let cfg = vireo_sim::device_config();
    let plan = args
        .settings()
        .plan(&cfg)
        .map_err(|e| format!("bench: {e}"))?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err("bench: --jobs must be at least 1".into());
    }
    if args.trace.is_some() && plan.len() != 1 {
        return Err(format!(
            "bench: --trace needs a run of one point, this one has {} (e.g. --sweep size --sizes 1514 --size-latencies 250)",
            plan.len()
        ));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let csv_path = args.out.join("bench.csv");
    let mut csv = Csv::create(&csv_path)?;
    eprintln!(
        "bench: {} points on {jobs} threads; each line is written to {} as it finishes",
        plan.len(),
        csv_path.display()
    );
    let start = Instant::now();
    let points: Vec<Point> = plan.iter().map(|p| p.point).collect();
    let mut results: Vec<Option<Measurement>> = vec![None; plan.len()];
    let mut failures = Vec::new();
    let mut finished = 0;
    let mut write_error = None;
    sweep::run(&points, &cfg, jobs, args.trace.as_deref(), |i, r| {
        finished += 1;
        let elapsed = start.elapsed().as_secs_f64();
        let left = elapsed / finished as f64 * (plan.len() - finished) as f64;
        let status = match r {
            Ok(m) => {
                if let Err(e) = csv.append(&plan[i], &m) {
                    write_error.get_or_insert(e);
                }
                let s = summary(&m);
                results[i] = Some(m);
                s
            }
            Err(e) => {
                failures.push(format!("{}: {e}", describe(&points[i])));
                format!("FAILED: {e}")
            }
        };
        eprintln!(
            "[{finished:>3}/{}] {}: {status}  ({elapsed:.0} s, about {left:.0} s left)",
            plan.len(),
            describe(&points[i])
        );
    });
    if let Some(e) = write_error {
        return Err(e);
    }
    let measured: Vec<(Planned, Measurement)> = plan
        .into_iter()
        .zip(results)
        .filter_map(|(p, m)| m.map(|m| (p, m)))
        .collect();
    report::write_csv(&csv_path, &measured)?;
    let json_path = args.out.join("bench.json");
    report::write_json(&json_path, &measured)?;
    let verdict = verdict(&measured, max_frame(&cfg));
    let md_path = args.out.join("summary.md");
    std::fs::write(&md_path, markdown(&measured, &verdict))
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    let mut files = vec![csv_path, json_path, md_path];
    for chart in charts(&measured) {
        files.extend(plot::write(&args.out, &chart)?);
    }
    println!(
        "bench: {} points measured in {:.0} s; against the goals:",
        measured.len(),
        start.elapsed().as_secs_f64()
    );
    for line in &verdict {
        println!("{line}");
    }
    println!("wrote:");
    for f in &files {
        println!("  {}", f.display());
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "bench: {} points failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use vireo_host::dma_server::DmaStats;

    fn measured(frame: u32, latency: u64, sweeps: Vec<Sweep>) -> (Planned, Measurement) {
        let point = Point {
            frame,
            in_flight: 32,
            queue_size: 256,
            latency,
            segments: 1,
            frames: 128,
            mps: 256,
            mrrs: 512,
            link: Link::Ideal,
            seed: 1,
        };
        let m = Measurement {
            point,
            frames: 128,
            tx_bytes_per_cycle: 8.0,
            rx_bytes_per_cycle: 8.0,
            cycles_per_frame: frame as f64 / 8.0,
            first_frame_cycles: 1000,
            round_trip_cycles: 3000.0,
            cycles: 100_000,
            dma: DmaStats::default(),
            stream_busy: [0.5; 2],
            wall: Duration::from_secs(1),
            model: Duration::from_millis(900),
        };
        (Planned { point, sweeps }, m)
    }

    #[test]
    fn the_goal_points_of_a_latency_sweep_count() {
        let results = [
            measured(64, 250, vec![Sweep::Latency]),
            measured(1514, 250, vec![Sweep::Latency]),
            measured(1514, 250, vec![Sweep::InFlight]),
        ];
        let lines = verdict(&results, 16372);
        assert!(
            lines[0].contains("0.500 at 1514 B, latency 250"),
            "{lines:?}"
        );
        assert!(
            lines[1].contains("8.000 at 64 B, latency 250: met"),
            "{lines:?}"
        );
        // Another depth is not the goal's point.
        let lines = verdict(&results[2..], 16372);
        assert!(lines[0].contains("not measured"), "{lines:?}");
        assert!(lines[3].contains("not measurable"), "{lines:?}");
    }

    #[test]
    fn the_large_frame_goal_counts_once_the_device_takes_64_kib() {
        let results = [measured(65524, 250, vec![Sweep::Size])];
        let lines = verdict(&results, 131060);
        assert!(
            lines[3].contains("at 64 KiB buffers") && lines[3].contains("0.500 at 65524 B"),
            "{lines:?}"
        );
        assert!(lines[3].ends_with("NOT met"), "{lines:?}");
        let lines = verdict(&[], 131060);
        assert!(lines[3].contains("not measured"), "{lines:?}");
    }
}
