//! The host side of vireo: a root-complex BFM around the Verilated endpoint,
//! the golden model, the RTL-vs-model comparator, Linux-style enumeration,
//! scenario files and the regression.
//!
//! - [`tlp`]: request/completion packets; [`host`]: accesses as a CPU sees them.
//! - [`bfm`]: the root complex driving the RTL cycle by cycle; [`dma_server`]:
//!   its side of device DMA; [`memory`]: host memory and the containment map;
//!   [`link`]: an optional PCI Express link model; [`s7`]: the Xilinx
//!   7-series hard block's stream format, for the RTL's adapter.
//! - [`model`]: the golden model; [`endpoint`]: the common interface.
//! - [`lockstep`]: RTL and model compared on every request.
//! - [`probe`]: enumeration as Linux does it; [`lspci`]: config space dump.
//! - [`driver`]: virtio device initialisation as the Linux driver does it;
//!   [`regs_view`]: the virtio registers as named fields.
//! - [`scenario`], [`fuzz`], [`regress`]: what the regression runs.
//! - [`synth`]: Yosys resource counts per block, nextpnr-ecp5 timing;
//!   [`vivado`]: the matching settings of a 7-series PCIe hard block.
//! - [`linux`]: User-Mode Linux's stock drivers against the RTL.
//! - [`cli`]: the host-side `vireo` commands.
#![deny(missing_docs)]

pub mod bfm;
pub mod cli;
pub mod dma_server;
pub mod driver;

pub mod endpoint;
pub mod fuzz;
pub mod host;
pub mod link;
pub mod linux;
pub mod lockstep;
pub mod lspci;
pub mod memory;
pub mod model;
pub mod probe;
pub mod regress;
pub mod regs_view;

pub mod rng;
pub mod s7;
pub mod scenario;
pub mod synth;
pub mod tlp;
pub mod traffic;
pub mod virtq;
pub mod vivado;

/// The last `n` of `lines`, in order (a failed tool's or guest's output).
pub fn last_lines<'a>(lines: impl DoubleEndedIterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let mut tail: Vec<&str> = lines.rev().take(n).collect();
    tail.reverse();
    tail
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_lines_keeps_the_order() {
        assert_eq!(super::last_lines("a\nb\nc".lines(), 2), ["b", "c"]);
        assert_eq!(super::last_lines("a".lines(), 5), ["a"]);
    }
}
