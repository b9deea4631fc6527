//! Adapter between the Xilinx 7-series Integrated Block for PCI Express
//! (PG054) 128-bit AXI4-Stream user interface and vireo's TLP streams.
//!
//! ```text
//!  m_axis_rx_* --> S7RxAlign --> S7RxSplit --> rx (to the endpoint)
//!  s_axis_tx_* <-- S7TxPack <------------------ tx (from the endpoint)
//! ```
//!
//! The BAR hit bits of `m_axis_rx_tuser` are not used: the endpoint decodes
//! addresses against its own BARs. `rx_np_ok`/`rx_np_req` and
//! `tx_cfg_gnt` of the hard block are tied high at the top level (the
//! endpoint never refuses a non-posted request: it back-pressures instead).
//!
//! Timing: see the three blocks; in steady state a beat per cycle each way.

use crate::s7_axis::{S7RxAxis, S7TxAxis};
use crate::s7_rx_align::S7RxAlign;
use crate::s7_rx_split::S7RxSplit;
use crate::s7_tx_pack::S7TxPack;
use crate::tlp_stream::{TlpSink, TlpSource};
use rust_hdl::prelude::*;

/// The adapter.
#[derive(LogicBlock, Default)]
pub struct S7Adapter {
    /// Clock (`user_clk_out` of the hard block).
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// The hard block's receive stream.
    pub m_axis_rx: S7RxAxis,
    /// The hard block's transmit stream.
    pub s_axis_tx: S7TxAxis,
    /// Host -> device TLPs, to the endpoint.
    pub rx: TlpSource,
    /// Device -> host TLPs, from the endpoint.
    pub tx: TlpSink,
    align: S7RxAlign,
    split: S7RxSplit,
    pack: S7TxPack,
}

impl Logic for S7Adapter {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, align, split, pack);
        self.align.rst.next = self.rst.val();
        self.split.rst.next = self.rst.val();
        self.pack.rst.next = self.rst.val();
        S7RxAxis::link(&mut self.m_axis_rx, &mut self.align.axis);
        TlpSource::join(&mut self.align.out, &mut self.split.aligned);
        TlpSource::link(&mut self.rx, &mut self.split.out);
        TlpSink::link(&mut self.tx, &mut self.pack.tlp);
        S7TxAxis::link(&mut self.s_axis_tx, &mut self.pack.axis);
    }
}
