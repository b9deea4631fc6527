//! The endpoint behind the Xilinx 7-series PCIe adapter: the top level to
//! instantiate next to a `pcie_7x` hard block (`vireo gen --top s7`).
//!
//! ```text
//!  m_axis_rx_* --> +-----------+ rx --> +----------+
//!                  | S7Adapter |        | Endpoint |--> intx
//!  s_axis_tx_* <-- +-----------+ <-- tx +----------+<-- link_up
//! ```
//!
//! Ports named after the hard block's: connect `clk` to `user_clk_out`,
//! `rst` to `user_reset_out`, the AXI4-Stream ports one to one, and tie
//! the block's `rx_np_ok`, `rx_np_req` and `tx_cfg_gnt` to the outputs of
//! the same name (always 1). The virtqueue side bands of the endpoint are
//! tied off. docs/SYNTHESIS.md says what else a hard block that owns the
//! configuration header needs.

use crate::endpoint::Endpoint;
use crate::s7_adapter::S7Adapter;
use crate::s7_axis::{RX_USER_BITS, TX_KEEP_BITS, TX_USER_BITS};
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::DeviceConfig;

/// The endpoint with the 7-series adapter.
#[derive(LogicBlock)]
pub struct S7Endpoint {
    /// `user_clk_out`.
    pub clk: Signal<In, Clock>,
    /// `user_reset_out` (synchronous, active high).
    pub rst: Signal<In, Bit>,
    /// `m_axis_rx_tdata`.
    pub m_axis_rx_tdata: Signal<In, Bits<DATA_WIDTH>>,
    /// `m_axis_rx_tuser`.
    pub m_axis_rx_tuser: Signal<In, Bits<RX_USER_BITS>>,
    /// `m_axis_rx_tvalid`.
    pub m_axis_rx_tvalid: Signal<In, Bit>,
    /// `m_axis_rx_tready`.
    pub m_axis_rx_tready: Signal<Out, Bit>,
    /// `s_axis_tx_tdata`.
    pub s_axis_tx_tdata: Signal<Out, Bits<DATA_WIDTH>>,
    /// `s_axis_tx_tkeep`.
    pub s_axis_tx_tkeep: Signal<Out, Bits<TX_KEEP_BITS>>,
    /// `s_axis_tx_tlast`.
    pub s_axis_tx_tlast: Signal<Out, Bit>,
    /// `s_axis_tx_tuser`.
    pub s_axis_tx_tuser: Signal<Out, Bits<TX_USER_BITS>>,
    /// `s_axis_tx_tvalid`.
    pub s_axis_tx_tvalid: Signal<Out, Bit>,
    /// `s_axis_tx_tready`.
    pub s_axis_tx_tready: Signal<In, Bit>,
    /// `rx_np_ok` (always 1).
    pub rx_np_ok: Signal<Out, Bit>,
    /// `rx_np_req` (always 1).
    pub rx_np_req: Signal<Out, Bit>,
    /// `tx_cfg_gnt` (always 1).
    pub tx_cfg_gnt: Signal<Out, Bit>,
    /// Legacy interrupt level.
    pub intx: Signal<Out, Bit>,
    /// Link state of the network function.
    pub link_up: Signal<In, Bit>,
    adapter: S7Adapter,
    endpoint: Endpoint,
}

impl S7Endpoint {
    /// The endpoint described by `cfg` behind the adapter.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            m_axis_rx_tdata: Default::default(),
            m_axis_rx_tuser: Default::default(),
            m_axis_rx_tvalid: Default::default(),
            m_axis_rx_tready: Default::default(),
            s_axis_tx_tdata: Default::default(),
            s_axis_tx_tkeep: Default::default(),
            s_axis_tx_tlast: Default::default(),
            s_axis_tx_tuser: Default::default(),
            s_axis_tx_tvalid: Default::default(),
            s_axis_tx_tready: Default::default(),
            rx_np_ok: Default::default(),
            rx_np_req: Default::default(),
            tx_cfg_gnt: Default::default(),
            intx: Default::default(),
            link_up: Default::default(),
            adapter: Default::default(),
            endpoint: Endpoint::new(cfg),
        }
    }
}

impl Logic for S7Endpoint {
    #[hdl_gen]
    fn update(&mut self) {
        self.adapter.clock.next = self.clk.val();
        self.endpoint.clk.next = self.clk.val();
        self.adapter.rst.next = self.rst.val();
        self.endpoint.rst.next = self.rst.val();
        self.adapter.m_axis_rx.tdata.next = self.m_axis_rx_tdata.val();
        self.adapter.m_axis_rx.tuser.next = self.m_axis_rx_tuser.val();
        self.adapter.m_axis_rx.tvalid.next = self.m_axis_rx_tvalid.val();
        self.m_axis_rx_tready.next = self.adapter.m_axis_rx.tready.val();
        self.s_axis_tx_tdata.next = self.adapter.s_axis_tx.tdata.val();
        self.s_axis_tx_tkeep.next = self.adapter.s_axis_tx.tkeep.val();
        self.s_axis_tx_tlast.next = self.adapter.s_axis_tx.tlast.val();
        self.s_axis_tx_tuser.next = self.adapter.s_axis_tx.tuser.val();
        self.s_axis_tx_tvalid.next = self.adapter.s_axis_tx.tvalid.val();
        self.adapter.s_axis_tx.tready.next = self.s_axis_tx_tready.val();
        self.rx_np_ok.next = true;
        self.rx_np_req.next = true;
        self.tx_cfg_gnt.next = true;

        self.endpoint.rx_hdr.next = self.adapter.rx.hdr.val();
        self.endpoint.rx_data.next = self.adapter.rx.data.val();
        self.endpoint.rx_strb.next = self.adapter.rx.strb.val();
        self.endpoint.rx_sop.next = self.adapter.rx.sop.val();
        self.endpoint.rx_eop.next = self.adapter.rx.eop.val();
        self.endpoint.rx_valid.next = self.adapter.rx.valid.val();
        self.adapter.rx.ready.next = self.endpoint.rx_ready.val();
        self.adapter.tx.hdr.next = self.endpoint.tx_hdr.val();
        self.adapter.tx.data.next = self.endpoint.tx_data.val();
        self.adapter.tx.strb.next = self.endpoint.tx_strb.val();
        self.adapter.tx.sop.next = self.endpoint.tx_sop.val();
        self.adapter.tx.eop.next = self.endpoint.tx_eop.val();
        self.adapter.tx.valid.next = self.endpoint.tx_valid.val();
        self.endpoint.tx_ready.next = self.adapter.tx.ready.val();

        self.intx.next = self.endpoint.intx.val();
        self.endpoint.link_up.next = self.link_up.val();
        self.endpoint.irq_valid.next = false;
        self.endpoint.irq_queue.next = 0.into();
        self.endpoint.dev_error.next = false;
    }
}
