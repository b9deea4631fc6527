//! The benchmark's numbers per point, and the CSV and JSON files that hold
//! them.
//!
//! The CSV gets each point as soon as it is measured (an interrupted run
//! keeps what it measured); at the end both files are written again in
//! plan order, so the simulated columns are identical whatever the thread
//! count. The wall-clock columns (`wall_seconds`, `cycles_per_second`,
//! `model_fraction`) are the only ones that vary from run to run.

use crate::point::{Measurement, CLOCK_HZ};
use crate::sweep::Planned;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use vireo_regs::stream::DATA_WIDTH;

/// Datapath limit in payload bytes per cycle and direction.
pub const DATAPATH_BYTES_PER_CYCLE: f64 = (DATA_WIDTH / 8) as f64;

/// One value of a row.
enum Value {
    Int(u64),
    Real(f64),
    Text(String),
}

impl Value {
    fn csv(&self) -> String {
        match self {
            Value::Int(n) => n.to_string(),
            Value::Real(x) => format!("{x:.4}"),
            Value::Text(s) => s.clone(),
        }
    }

    fn json(&self) -> String {
        match self {
            Value::Int(n) => n.to_string(),
            Value::Real(x) if x.is_finite() => format!("{x:.4}"),
            Value::Real(_) => "null".into(),
            Value::Text(s) => format!("\"{s}\""),
        }
    }
}

/// Column names, in file order.
const COLUMNS: [&str; 28] = [
    "sweeps",
    "frame_bytes",
    "in_flight",
    "queue_size",
    "latency_cycles",
    "segments",
    "mps",
    "mrrs",
    "link",
    "frames",
    "tx_bytes_per_cycle",
    "rx_bytes_per_cycle",
    "datapath_fraction",
    "gbit_per_s_at_250mhz",
    "frames_per_s_at_250mhz",
    "cycles_per_frame",
    "first_frame_cycles",
    "round_trip_cycles",
    "read_requests",
    "avg_read_bytes",
    "write_requests",
    "avg_write_bytes",
    "rx_stream_busy",
    "tx_stream_busy",
    "cycles",
    "wall_seconds",
    "cycles_per_second",
    "model_fraction",
];

/// A point's values, in column order.
fn row(p: &Planned, m: &Measurement) -> [Value; COLUMNS.len()] {
    use Value::*;
    let pt = &m.point;
    let rate = m.bytes_per_cycle();
    let avg = |bytes: u64, n: u64| Real(if n == 0 { 0.0 } else { bytes as f64 / n as f64 });
    let wall = m.wall.as_secs_f64();
    let sweeps: Vec<&str> = p.sweeps.iter().map(|s| s.name()).collect();
    [
        Text(sweeps.join("+")),
        Int(pt.frame as u64),
        Int(pt.in_flight as u64),
        Int(pt.queue_size as u64),
        Int(pt.latency),
        Int(pt.segments as u64),
        Int(pt.mps as u64),
        Int(pt.mrrs as u64),
        Text(pt.link.name().into()),
        Int(m.frames),
        Real(m.tx_bytes_per_cycle),
        Real(m.rx_bytes_per_cycle),
        Real(rate / DATAPATH_BYTES_PER_CYCLE),
        Real(rate * 8.0 * CLOCK_HZ / 1e9),
        Real(CLOCK_HZ / m.cycles_per_frame),
        Real(m.cycles_per_frame),
        Int(m.first_frame_cycles),
        Real(m.round_trip_cycles),
        Int(m.dma.reads),
        avg(m.dma.read_bytes, m.dma.reads),
        Int(m.dma.writes),
        avg(m.dma.write_bytes, m.dma.writes),
        Real(m.stream_busy[0]),
        Real(m.stream_busy[1]),
        Int(m.cycles),
        Real(wall),
        Real(m.cycles_per_second()),
        Real(m.model.as_secs_f64() / wall.max(1e-9)),
    ]
}

fn csv_line<'a>(values: impl Iterator<Item = &'a Value>) -> String {
    values.map(Value::csv).collect::<Vec<_>>().join(",") + "\n"
}

fn header() -> String {
    COLUMNS.join(",") + "\n"
}

fn cannot(path: &Path, e: io::Error) -> String {
    format!("cannot write {}: {e}", path.display())
}

/// The CSV file, one line per point as points finish.
pub struct Csv {
    path: PathBuf,
    file: File,
}

impl Csv {
    /// Create `path` with the header line.
    pub fn create(path: &Path) -> Result<Self, String> {
        let mut file = File::create(path).map_err(|e| cannot(path, e))?;
        file.write_all(header().as_bytes())
            .map_err(|e| cannot(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append a measured point and flush it to disk.
    pub fn append(&mut self, p: &Planned, m: &Measurement) -> Result<(), String> {
        let line = csv_line(row(p, m).iter());
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| cannot(&self.path, e))
    }
}

/// Write every measured point to `path` as CSV, in plan order.
pub fn write_csv(path: &Path, results: &[(Planned, Measurement)]) -> Result<(), String> {
    let mut text = header();
    for (p, m) in results {
        text += &csv_line(row(p, m).iter());
    }
    std::fs::write(path, text).map_err(|e| cannot(path, e))
}

/// Write every measured point to `path` as JSON, in plan order.
pub fn write_json(path: &Path, results: &[(Planned, Measurement)]) -> Result<(), String> {
    let points: Vec<String> = results
        .iter()
        .map(|(p, m)| {
            let fields: Vec<String> = COLUMNS
                .iter()
                .zip(row(p, m).iter())
                .map(|(n, v)| format!("\"{n}\": {}", v.json()))
                .collect();
            format!("    {{{}}}", fields.join(", "))
        })
        .collect();
    let text = format!(
        "{{\n  \"datapath_bytes_per_cycle\": {DATAPATH_BYTES_PER_CYCLE},\n  \"clock_hz\": {CLOCK_HZ},\n  \"points\": [\n{}\n  ]\n}}\n",
        points.join(",\n")
    );
    std::fs::write(path, text).map_err(|e| cannot(path, e))
}
