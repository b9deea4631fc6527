//! What a benchmark run measures: four one-dimensional sweeps around a base
//! point, checked before anything runs, and the points run in parallel.
//!
//! - frame size, at each of several completion latencies;
//! - completion latency, for the smallest and the base frame size;
//! - transmit chains in flight;
//! - descriptors per frame.
//!
//! A point that several sweeps share runs once. Every point carries the
//! same seed, so the simulated results do not depend on the number of
//! threads or the order the points finish in.

use crate::point::{max_frame, measure, Measurement, Point, WARM_UP};
use crossbeam::channel;
use std::fmt;
use std::path::Path;
use vireo_host::link::Link;
use vireo_regs::dma::COMPLETION_TIMEOUT_CYCLES;
use vireo_regs::DeviceConfig;

/// A sweep, named as in the output files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sweep {
    /// Frame size, at each of --size-latencies.
    Size,
    /// Completion latency, for the smallest and the base frame size.
    Latency,
    /// Transmit chains in flight.
    InFlight,
    /// Descriptors per frame.
    Segments,
}

impl Sweep {
    /// Every sweep, in output order.
    pub const ALL: [Sweep; 4] = [
        Sweep::Size,
        Sweep::Latency,
        Sweep::InFlight,
        Sweep::Segments,
    ];

    /// Name in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Sweep::Size => "size",
            Sweep::Latency => "latency",
            Sweep::InFlight => "in_flight",
            Sweep::Segments => "segments",
        }
    }
}

/// The values each sweep takes and the base point they vary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Frame sizes of the size sweep.
    pub sizes: Vec<u32>,
    /// Latencies the size sweep runs at.
    pub size_latencies: Vec<u64>,
    /// Latencies of the latency sweep.
    pub latencies: Vec<u64>,
    /// Frames in flight of the in-flight sweep.
    pub in_flight: Vec<u16>,
    /// Descriptors per frame of the segments sweep.
    pub segments: Vec<u16>,
    /// The point the sweeps vary (its `frames` is ignored: see `frames`).
    pub base: Point,
    /// Frames per point; `None`: enough for about 2 MiB, 256 ..= 2048.
    pub frames: Option<u32>,
    /// Which sweeps run.
    pub sweeps: Vec<Sweep>,
}

/// The defaults of `vireo bench`'s options.
impl Default for Settings {
    fn default() -> Self {
        Self {
            sizes: vec![
                64, 128, 256, 512, 1024, 1514, 2048, 4096, 8192, 16372, 32756, 65524,
            ],
            size_latencies: vec![0, 250, 500],
            latencies: vec![0, 100, 250, 500, 750, 1000],
            in_flight: vec![1, 2, 4, 8, 16, 24, 32, 40, 48, 64, 128],
            segments: vec![1, 2, 4, 8],
            base: Point {
                frame: 1514,
                in_flight: 32,
                queue_size: 256,
                latency: 250,
                segments: 1,
                frames: 0,
                mps: 256,
                mrrs: 512,
                link: Link::Ideal,
                seed: 1,
            },
            frames: None,
            sweeps: Sweep::ALL.to_vec(),
        }
    }
}

/// A point and the sweeps it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The point.
    pub point: Point,
    /// Sweeps that contain it.
    pub sweeps: Vec<Sweep>,
}

/// Why the settings cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadSettings(pub String);

impl fmt::Display for BadSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadSettings {}

/// Default frames per point for a frame size and frames in flight.
fn default_frames(frame: u32, in_flight: u16) -> u32 {
    (2 * 1024 * 1024 / frame.max(1))
        .clamp(256, 2048)
        .max(4 * in_flight as u32)
}

/// Check one point against the device built with `cfg`.
fn check(p: &Point, cfg: &DeviceConfig) -> Result<(), BadSettings> {
    let bad = |m: String| Err(BadSettings(m));
    let largest = max_frame(cfg);
    if p.frame == 0 || p.frame > largest {
        return bad(format!(
            "frame size {} B: must be 1 ..= {largest} (the device's {} B frame buffer holds the frame and the 12 B virtio-net header)",
            p.frame, cfg.frame_buffer
        ));
    }
    let qs = p.queue_size;
    if !qs.is_power_of_two() || qs < 2 || qs > cfg.max_queue_size {
        return bad(format!(
            "queue size {qs}: must be a power of two in 2 ..= {} (the device's maximum)",
            cfg.max_queue_size
        ));
    }
    if p.segments == 0 || p.in_flight == 0 {
        return bad("frames in flight and segments per frame must be at least 1".into());
    }
    if p.in_flight as u32 * p.segments as u32 > qs as u32 {
        return bad(format!(
            "{} frames in flight of {} segments need {} descriptors: more than the queue size {qs}",
            p.in_flight,
            p.segments,
            p.in_flight as u32 * p.segments as u32
        ));
    }
    if p.latency >= COMPLETION_TIMEOUT_CYCLES {
        return bad(format!(
            "completion latency {}: must be below the device's completion timeout of {COMPLETION_TIMEOUT_CYCLES} cycles",
            p.latency
        ));
    }
    if !p.mps.is_power_of_two() || p.mps < 128 || p.mps > cfg.max_payload_bytes {
        return bad(format!(
            "max payload size {} B: must be a power of two in 128 ..= {} (the device's maximum)",
            p.mps, cfg.max_payload_bytes
        ));
    }
    if !p.mrrs.is_power_of_two() || p.mrrs < 128 || p.mrrs > 4096 {
        return bad(format!(
            "max read request size {} B: must be a power of two in 128 ..= 4096",
            p.mrrs
        ));
    }
    let needed = p.in_flight as u32 + (p.in_flight as u32).max(WARM_UP as u32 + 1);
    if p.frames <= needed {
        return bad(format!(
            "{} frames per point with {} in flight: more than {needed} are needed, so that more than the frames in flight, and more than the {WARM_UP} the device may hold, come back while the driver is still posting (the steady state the rates are taken in)",
            p.frames, p.in_flight
        ));
    }
    Ok(())
}

impl Settings {
    /// The points to run, each once, in sweep order; every point checked
    /// against the device built with `cfg`.
    pub fn plan(&self, cfg: &DeviceConfig) -> Result<Vec<Planned>, BadSettings> {
        if self.sweeps.is_empty() {
            return Err(BadSettings("no sweep selected".into()));
        }
        let b = self.base;
        let mut planned: Vec<Planned> = Vec::new();
        let mut add = |sweep: Sweep, mut p: Point| {
            p.frames = self
                .frames
                .unwrap_or_else(|| default_frames(p.frame, p.in_flight));
            check(&p, cfg)?;
            match planned.iter_mut().find(|q| q.point == p) {
                Some(q) if !q.sweeps.contains(&sweep) => q.sweeps.push(sweep),
                Some(_) => {}
                None => planned.push(Planned {
                    point: p,
                    sweeps: vec![sweep],
                }),
            }
            Ok::<(), BadSettings>(())
        };
        for &sweep in &self.sweeps {
            match sweep {
                Sweep::Size | Sweep::Latency => {
                    let pairs: Vec<(u32, u64)> = if sweep == Sweep::Size {
                        let sizes = &self.sizes;
                        let lats = &self.size_latencies;
                        lats.iter()
                            .flat_map(|&l| sizes.iter().map(move |&f| (f, l)))
                            .collect()
                    } else {
                        let smallest = self.sizes.iter().copied().min().unwrap_or(b.frame);
                        let lats = &self.latencies;
                        [smallest, b.frame]
                            .into_iter()
                            .flat_map(|f| lats.iter().map(move |&l| (f, l)))
                            .collect()
                    };
                    for (frame, latency) in pairs {
                        add(
                            sweep,
                            Point {
                                frame,
                                latency,
                                ..b
                            },
                        )?;
                    }
                }
                Sweep::InFlight => {
                    for &in_flight in &self.in_flight {
                        add(sweep, Point { in_flight, ..b })?;
                    }
                }
                Sweep::Segments => {
                    for &segments in &self.segments {
                        add(sweep, Point { segments, ..b })?;
                    }
                }
            }
        }
        Ok(planned)
    }
}

/// Run `points` on `jobs` threads; `done` sees each result (with the
/// point's index) as soon as it is there, on the calling thread. With
/// `trace`, the first point writes a VCD waveform there.
pub fn run(
    points: &[Point],
    cfg: &DeviceConfig,
    jobs: usize,
    trace: Option<&Path>,
    mut done: impl FnMut(usize, Result<Measurement, String>),
) {
    let (work_tx, work_rx) = channel::unbounded();
    for i in 0..points.len() {
        work_tx.send(i).expect("work queue");
    }
    drop(work_tx);
    let (result_tx, result_rx) = channel::unbounded();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            let (work, results) = (work_rx.clone(), result_tx.clone());
            s.spawn(move || {
                for i in work.iter() {
                    let wave = trace.filter(|_| i == 0);
                    if results.send((i, measure(&points[i], cfg, wave))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(result_tx);
        for (i, r) in result_rx.iter() {
            done(i, r);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DeviceConfig {
        DeviceConfig::default()
    }

    #[test]
    fn the_default_plan_shares_points_between_sweeps() {
        let plan = Settings::default().plan(&cfg()).unwrap();
        let base = plan
            .iter()
            .filter(|p| p.point.frame == 1514 && p.point.latency == 250)
            .filter(|p| p.point.in_flight == 32 && p.point.segments == 1)
            .collect::<Vec<_>>();
        assert_eq!(base.len(), 1);
        assert_eq!(base[0].sweeps, Sweep::ALL.to_vec());
        let mut unique = plan.iter().map(|p| p.point).collect::<Vec<_>>();
        unique.dedup();
        assert_eq!(unique.len(), plan.len());
    }

    #[test]
    fn bad_values_are_refused_with_the_limit() {
        let with = |f: &dyn Fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s.plan(&cfg()).unwrap_err().0
        };
        assert!(with(&|s| s.sizes = vec![0]).contains("1 ..= 131060"));
        assert!(with(&|s| s.sizes = vec![131061]).contains("frame buffer"));
        assert!(with(&|s| s.base.queue_size = 300).contains("power of two"));
        assert!(with(&|s| s.in_flight = vec![0]).contains("at least 1"));
        assert!(with(&|s| s.segments = vec![16]).contains("more than the queue size"));
        assert!(with(&|s| s.latencies = vec![COMPLETION_TIMEOUT_CYCLES]).contains("timeout"));
        assert!(with(&|s| s.frames = Some(64)).contains("more than 64 are needed"));
        assert!(with(&|s| s.base.mps = 1024).contains("128 ..= 512"));
        assert!(with(&|s| s.base.mrrs = 100).contains("read request"));
        assert!(with(&|s| s.sweeps.clear()).contains("no sweep"));
    }
}
