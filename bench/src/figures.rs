//! The benchmark's charts, made from the measured points.

use crate::plot::{Chart, Scale, Series};
use crate::point::{Measurement, CLOCK_HZ};
use crate::report::DATAPATH_BYTES_PER_CYCLE;
use crate::sweep::{Planned, Sweep};
use plotters::chart::SeriesLabelPosition::{LowerLeft, UpperLeft};

/// Goal for large frames, as a fraction of the datapath limit.
pub const GOAL_FRACTION: f64 = 0.90;

type Results = [(Planned, Measurement)];

/// Lines of `sweep`'s points: one per value of `key`, x from `x`, y from
/// `y`, in x order.
fn lines<K: PartialEq + Copy>(
    results: &Results,
    sweep: Sweep,
    key: impl Fn(&Measurement) -> K,
    label: impl Fn(K) -> String,
    x: impl Fn(&Measurement) -> f64,
    y: impl Fn(&Measurement) -> f64,
) -> Vec<Series> {
    let mut keys: Vec<K> = Vec::new();
    let chosen: Vec<&Measurement> = results
        .iter()
        .filter(|(p, _)| p.sweeps.contains(&sweep))
        .map(|(_, m)| m)
        .collect();
    for m in &chosen {
        if !keys.contains(&key(m)) {
            keys.push(key(m));
        }
    }
    keys.into_iter()
        .map(|k| {
            let mut points: Vec<(f64, f64)> = chosen
                .iter()
                .filter(|m| key(m) == k)
                .map(|m| (x(m), y(m)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                label: label(k),
                points,
            }
        })
        .collect()
}

fn limits() -> Vec<(String, f64)> {
    vec![
        (
            format!("datapath limit ({DATAPATH_BYTES_PER_CYCLE} B/cycle)"),
            DATAPATH_BYTES_PER_CYCLE,
        ),
        (
            format!("goal {GOAL_FRACTION:.2} of the limit"),
            GOAL_FRACTION * DATAPATH_BYTES_PER_CYCLE,
        ),
    ]
}

const RATE: (&str, Scale) = (
    "payload bytes per cycle, lower direction (x2 = Gbit/s at 250 MHz)",
    Scale::Linear,
);

/// Throughput along a sweep that varies one value of the base point:
/// `what` is the file name and the x axis description.
fn around_base(
    results: &Results,
    sweep: Sweep,
    what: (&'static str, &'static str),
    x: impl Fn(&Measurement) -> f64,
) -> Chart {
    Chart {
        name: what.0,
        title: format!("Loopback throughput vs {}", what.1),
        x: (what.1, Scale::Log2),
        y: RATE,
        series: lines(
            results,
            sweep,
            |m| (m.point.frame, m.point.latency),
            |(f, l)| format!("{f} B frames, latency {l}"),
            x,
            |m| m.bytes_per_cycle(),
        ),
        marks: limits(),
        legend: UpperLeft,
    }
}

/// Something per frame size, one line per latency (the size sweep).
fn vs_frame_size(
    results: &Results,
    name: &'static str,
    title: String,
    y: (&'static str, Scale),
    value: impl Fn(&Measurement) -> f64,
    marks: Vec<(String, f64)>,
) -> Chart {
    Chart {
        name,
        title,
        x: ("Ethernet frame size (bytes)", Scale::Log2),
        y,
        series: lines(
            results,
            Sweep::Size,
            |m| m.point.latency,
            |l| format!("latency {l} cycles"),
            |m| m.point.frame as f64,
            value,
        ),
        marks,
        legend: if y.1 == Scale::Log10 {
            LowerLeft
        } else {
            UpperLeft
        },
    }
}

/// Every chart whose sweep has points in `results`.
pub fn charts(results: &Results) -> Vec<Chart> {
    let rate = |m: &Measurement| m.bytes_per_cycle();
    let p0 = results.first().map(|(_, m)| m.point);
    let base = |what: &str| {
        p0.map_or(String::new(), |p| {
            format!("{what} (queue {}, {} seg.)", p.queue_size, p.segments)
        })
    };
    let mut charts = vec![
        vs_frame_size(
            results,
            "throughput_vs_frame_size",
            base("Loopback throughput vs frame size"),
            RATE,
            rate,
            limits(),
        ),
        vs_frame_size(
            results,
            "frames_per_second_vs_frame_size",
            base("Frames per second at 250 MHz vs frame size"),
            ("frames per second", Scale::Log10),
            |m| CLOCK_HZ / m.cycles_per_frame,
            vec![("8 cycles per frame".into(), CLOCK_HZ / 8.0)],
        ),
        Chart {
            name: "throughput_vs_latency",
            title: base("Loopback throughput vs host read latency"),
            x: ("completion latency (cycles)", Scale::Linear),
            y: RATE,
            series: lines(
                results,
                Sweep::Latency,
                |m| m.point.frame,
                |f| format!("{f} B frames"),
                |m| m.point.latency as f64,
                rate,
            ),
            marks: limits(),
            legend: UpperLeft,
        },
        around_base(
            results,
            Sweep::InFlight,
            ("throughput_vs_in_flight", "transmit chains in flight"),
            |m| m.point.in_flight as f64,
        ),
        Chart {
            name: "round_trip_vs_in_flight",
            title: base("Frame round trip vs frames in flight"),
            x: ("transmit chains in flight", Scale::Log2),
            y: (
                "cycles from posting a frame to checking it back (mean)",
                Scale::Linear,
            ),
            series: lines(
                results,
                Sweep::InFlight,
                |m| (m.point.frame, m.point.latency),
                |(f, l)| format!("{f} B frames, latency {l}"),
                |m| m.point.in_flight as f64,
                |m| m.round_trip_cycles,
            ),
            marks: Vec::new(),
            legend: UpperLeft,
        },
        around_base(
            results,
            Sweep::Segments,
            (
                "throughput_vs_segments",
                "descriptors per frame (transmit and receive)",
            ),
            |m| m.point.segments as f64,
        ),
        vs_frame_size(
            results,
            "cosim_speed",
            "Co-simulation speed (whole endpoint, one thread per point)".into(),
            ("simulated cycles per wall-clock second", Scale::Linear),
            |m| m.cycles_per_second(),
            vec![("goal 2 M cycles/s".into(), 2e6)],
        ),
    ];
    charts.retain(|c| c.series.iter().any(|s| !s.points.is_empty()));
    charts
}
