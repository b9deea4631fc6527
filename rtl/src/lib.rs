//! The vireo virtio-pci endpoint in RustHDL, and its Verilog generator.
//!
//! One file per hardware block; [`endpoint::Endpoint`] is the top level.
//! [`generate_verilog`] elaborates one of the [`Top`]s for a
//! [`DeviceConfig`] and returns its Verilog (top module `top`).
#![deny(missing_docs)]
// RustHDL's #[hdl_gen] translates match arms without their guards, so an
// `if` inside an arm must stay an `if`.
#![allow(clippy::collapsible_match)]

pub mod bar_decode;
pub mod bar_router;
pub mod byte_buffer;
pub mod byte_mask;
pub mod cfg_dword;
pub mod cfg_image;
pub mod cfg_space;
pub mod cfg_window;
pub mod chain_walker;
pub mod cmd_slot;
pub mod common_cfg;
pub mod completer;
pub mod cpl_header;
#[allow(missing_docs)] // LogicInterface derives an undocumented `join()`.
pub mod dma_port;
pub mod dma_read;
pub mod dma_write;
pub mod dw_swap;
pub mod endpoint;
pub mod frame_deliver;
pub mod frame_fetch;
pub mod frame_free;
pub mod header_patch;
pub mod irq_mux;
pub mod isr;
pub mod lane_ram;
pub mod msix;
pub mod net_cfg;
pub mod net_engine;
pub mod notify;
pub mod ram;
pub mod read_order;
pub mod read_share;
pub mod reg_latch;
#[allow(missing_docs)] // LogicInterface derives an undocumented `join()`.
pub mod reg_port;
pub mod req_decode;
pub mod request_split;
pub mod rx_demux;
pub mod s7_adapter;
pub mod s7_axis;
pub mod s7_endpoint;
pub mod s7_rx_align;
pub mod s7_rx_split;
pub mod s7_tx_pack;
pub mod sim_top;
#[allow(missing_docs)] // LogicInterface derives an undocumented `join()`.
pub mod tlp_stream;
pub mod tx_arbiter;
pub mod used_pair;
pub mod write_queue;

use rust_hdl::prelude::*;
pub use vireo_regs::DeviceConfig;

/// A small deterministic random source for the blocks' test benches
/// (xorshift): `rnd(n)` is in `0..n`.
#[cfg(test)]
pub(crate) fn test_rng(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}

/// A 128-bit value as `Bits`, for the blocks' test benches.
#[cfg(test)]
pub(crate) fn wide(v: u128) -> Bits<128> {
    let mut b = Bits::<128>::default();
    b.set_bits::<64>(0, (v as u64).into());
    b.set_bits::<64>(64, ((v >> 64) as u64).into());
    b
}

pub use vireo_regs::stream::{DATA_WIDTH, STRB_WIDTH};

/// What the generated Verilog's module `top` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Top {
    /// The endpoint with vireo's own TLP ports.
    Endpoint,
    /// The endpoint behind the Xilinx 7-series AXI4-Stream adapter (for a
    /// `pcie_7x` hard block).
    S7,
    /// The co-simulation top: both ways in, chosen by a port (not for
    /// synthesis).
    Sim,
}

fn elaborate<T: Block>(mut top: T) -> Result<String, String> {
    top.connect_all();
    check_all(&top).map_err(|e| format!("RustHDL design check failed: {e:?}"))?;
    Ok(generate_verilog_unchecked(&top))
}

/// Elaborate `top` for `cfg` and return its Verilog.
pub fn generate_verilog(cfg: &DeviceConfig, top: Top) -> Result<String, String> {
    cfg.validate().map_err(|e| e.to_string())?;
    match top {
        Top::Endpoint => elaborate(endpoint::Endpoint::new(cfg)),
        Top::S7 => elaborate(s7_endpoint::S7Endpoint::new(cfg)),
        Top::Sim => elaborate(sim_top::SimTop::new(cfg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_configurations_elaborate() {
        let configs = [
            DeviceConfig {
                num_queues: 1,
                msix_vectors: 1,
                max_queue_size: 2,
                ..Default::default()
            },
            DeviceConfig {
                num_queues: 3,
                msix_vectors: 4,
                max_queue_size: 1024,
                ..Default::default()
            },
            DeviceConfig {
                num_queues: 1024,
                msix_vectors: 64,
                max_queue_size: 32768,
                ..Default::default()
            },
        ];
        for cfg in configs {
            let v =
                generate_verilog(&cfg, Top::Endpoint).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
            assert!(
                v.contains(&format!("mem [0:{}]", cfg.num_queues - 1)),
                "queue table sized to the queues"
            );
        }
    }

    #[test]
    fn invalid_configurations_are_refused_before_elaboration() {
        let cfg = DeviceConfig {
            msix_vectors: 65,
            ..Default::default()
        };
        assert!(generate_verilog(&cfg, Top::S7)
            .unwrap_err()
            .contains("msix_vectors = 65"));
    }
}
