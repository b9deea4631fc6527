//! Resource counts from the `stat` report of a Yosys log.
//!
//! Cells are summed by the resource they use on the device: LUTs (logic,
//! including the LUTs of ECP5 carry cells and 7-series inverters), LUTs used
//! as distributed RAM, flip-flops, block RAMs and DSPs. Both report layouts
//! are understood: Yosys 0.23 (`name count`) and newer releases
//! (`count name`).

use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Resource counts of one module (or of the whole design).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// LUTs used as logic.
    pub luts: u64,
    /// LUTs used as distributed RAM.
    pub lutram: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs (DP16KD, RAMB18/RAMB36, or a generic memory cell).
    pub brams: u64,
    /// DSP blocks.
    pub dsps: u64,
    /// Every cell type and its count.
    pub cells: BTreeMap<String, u64>,
}

/// What one cell of a type costs: (LUT, LUTRAM, FF, BRAM, DSP).
type Cost = (u64, u64, u64, u64, u64);

/// The device resources a cell type uses.
fn cost(cell: &str) -> Cost {
    let is = |prefixes: &[&str]| prefixes.iter().any(|p| cell.starts_with(p));
    if cell == "CCU2C" {
        // An ECP5 carry cell is the two LUT4s of a slice.
        (2, 0, 0, 0, 0)
    } else if is(&["$lut", "LUT", "INV"]) {
        (1, 0, 0, 0, 0)
    } else if is(&["RAM32M", "RAM64M", "RAM128X1D", "RAM256X1S"]) {
        (0, 4, 0, 0, 0)
    } else if is(&["RAM32X1D", "RAM64X1D", "RAM128X1S"]) {
        (0, 2, 0, 0, 0)
    } else if is(&["RAM32X1S", "RAM64X1S", "SRL16E", "SRLC32E"]) {
        (0, 1, 0, 0, 0)
    } else if cell == "TRELLIS_DPR16X4" {
        // 16x4 bits: the storage of four LUT4s.
        (0, 4, 0, 0, 0)
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
        (0, 0, 1, 0, 0)
    } else if is(&["DP16KD", "PDPW16KD", "RAMB18", "RAMB36", "$mem"]) {
        (0, 0, 0, 1, 0)
    } else if is(&["MULT18X18", "DSP48", "$mul"]) {
        (0, 0, 0, 0, 1)
    } else {
        (0, 0, 0, 0, 0)
    }
}

impl Resources {
    fn add(&mut self, cell: &str, count: u64) {
        let (l, r, f, b, d) = cost(cell);
        self.luts += l * count;
        self.lutram += r * count;
        self.ffs += f * count;
        self.brams += b * count;
        self.dsps += d * count;
        *self.cells.entry(cell.to_string()).or_default() += count;
    }

    /// The counts as a JSON object (`cells` only when `with_cells`).
    pub fn to_json(&self, with_cells: bool) -> Value {
        let mut v = json!({
            "lut": self.luts,
            "lutram": self.lutram,
            "ff": self.ffs,
            "bram": self.brams,
            "dsp": self.dsps,
        });
        if with_cells {
            v["cells"] = json!(self.cells);
        }
        v
    }
}

/// A `name count` or `count name` line of a cell list (not the report's
/// own lower-case counters such as `3 wires`).
fn cell_line(line: &str) -> Option<(&str, u64)> {
    let mut parts = line.split_whitespace();
    let (a, b) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (name, n) = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Err(_), Ok(n)) => (a, n),
        (Ok(n), Err(_)) => (b, n),
        _ => return None,
    };
    (!name.chars().all(|c| c.is_ascii_lowercase())).then_some((name, n))
}

/// Every module section (`=== name ===`) of the last `stat` report in `log`,
/// in report order. The design total of a hierarchical report is under
/// `design hierarchy`.
pub fn parse_sections(log: &str) -> Vec<(String, Resources)> {
    let start = log.rfind("Printing statistics").unwrap_or(0);
    let mut sections: Vec<(String, Resources)> = Vec::new();
    for line in log[start..].lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("=== ").and_then(|s| s.strip_suffix(" ===")) {
            sections.push((name.to_string(), Resources::default()));
        } else if let (Some((_, r)), Some((cell, n))) = (sections.last_mut(), cell_line(t)) {
            r.add(cell, n);
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yosys_0_23_report_is_summed_by_resource() {
        let log = "Printing statistics.\n=== top ===\n   Number of wires: 10\n   Number of cells:               7\n     LUT4   3\n     TRELLIS_FF  2\n     DP16KD 1\n     CCU2C  1\n     TRELLIS_DPR16X4 2\n";
        let s = parse_sections(log);
        let r = &s[0].1;
        assert_eq!(s[0].0, "top");
        assert_eq!((r.luts, r.lutram, r.ffs, r.brams, r.dsps), (5, 8, 2, 1, 0));
        assert_eq!(r.cells["CCU2C"], 1);
    }

    #[test]
    fn newer_report_layout_and_hierarchy_sections() {
        let log = "3.51. Printing statistics.\n\n=== top ===\n\n        3 wires\n        1 submodules\n        1   sub\n\n=== sub ===\n       12 submodules\n        4   CCU2C\n        8   TRELLIS_FF\n        2   RAM32M\n        1   INV\n";
        let s = parse_sections(log);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].1.luts, 0);
        let r = &s[1].1;
        assert_eq!((r.luts, r.lutram, r.ffs), (9, 8, 8));
    }
}
