//! The vireo endpoint: top level of the generated Verilog (module `top`).
//!
//! ```text
//!            +-----------+  cfg port  +-----------+
//!  rx_* ---->| Completer |----------->| CfgSpace  |--> intx
//!            |           |  bar port  +-----------+
//!  tx_* <----|           |----------->| BarSpace  |
//!            +-----------+            +-----------+
//! ```
//!
//! Ports: one clock `clk`, a synchronous active-high reset `rst`, the host ->
//! device TLP stream `rx_*`, the device -> host TLP stream `tx_*` (both with
//! a separate 128-bit header, `DATA_WIDTH` bits of DW-aligned payload, one
//! strobe per DW, sop/eop and valid/ready), and the INTx level `intx`.
//! Every output is a function of registers only (no combinational path from
//! an input to an output).

use crate::bar_space::BarSpace;
use crate::cfg_space::CfgSpace;
use crate::completer::Completer;
use crate::{DATA_WIDTH, STRB_WIDTH};
use rust_hdl::prelude::*;
use vireo_regs::DeviceConfig;

/// The whole endpoint.
#[derive(LogicBlock)]
pub struct Endpoint {
    /// User clock of the PCIe core.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,

    // Host -> device TLPs.
    /// Header (DW 0 in bits 127:96), valid with `rx_sop`.
    pub rx_hdr: Signal<In, Bits<128>>,
    /// Payload, DW 0 in bits 31:0.
    pub rx_data: Signal<In, Bits<DATA_WIDTH>>,
    /// Valid payload DWs.
    pub rx_strb: Signal<In, Bits<STRB_WIDTH>>,
    /// First beat of a TLP.
    pub rx_sop: Signal<In, Bit>,
    /// Last beat of a TLP.
    pub rx_eop: Signal<In, Bit>,
    /// Beat valid.
    pub rx_valid: Signal<In, Bit>,
    /// The endpoint takes the beat.
    pub rx_ready: Signal<Out, Bit>,

    // Device -> host TLPs.
    /// Header (DW 0 in bits 127:96), valid with `tx_sop`.
    pub tx_hdr: Signal<Out, Bits<128>>,
    /// Payload, DW 0 in bits 31:0.
    pub tx_data: Signal<Out, Bits<DATA_WIDTH>>,
    /// Valid payload DWs.
    pub tx_strb: Signal<Out, Bits<STRB_WIDTH>>,
    /// First beat of a TLP.
    pub tx_sop: Signal<Out, Bit>,
    /// Last beat of a TLP.
    pub tx_eop: Signal<Out, Bit>,
    /// Beat valid.
    pub tx_valid: Signal<Out, Bit>,
    /// The host takes the beat.
    pub tx_ready: Signal<In, Bit>,

    /// Legacy interrupt level (INTA#), for INTx emulation by the hard IP.
    pub intx: Signal<Out, Bit>,

    completer: Completer,
    cfg: CfgSpace,
    bars: BarSpace,
}

impl Endpoint {
    /// The endpoint described by `cfg` (call [`DeviceConfig::validate`] first).
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            rx_hdr: Default::default(),
            rx_data: Default::default(),
            rx_strb: Default::default(),
            rx_sop: Default::default(),
            rx_eop: Default::default(),
            rx_valid: Default::default(),
            rx_ready: Default::default(),
            tx_hdr: Default::default(),
            tx_data: Default::default(),
            tx_strb: Default::default(),
            tx_sop: Default::default(),
            tx_eop: Default::default(),
            tx_valid: Default::default(),
            tx_ready: Default::default(),
            intx: Default::default(),
            completer: Default::default(),
            cfg: CfgSpace::new(cfg),
            bars: Default::default(),
        }
    }
}

impl Logic for Endpoint {
    #[hdl_gen]
    fn update(&mut self) {
        self.completer.clock.next = self.clk.val();
        self.cfg.clock.next = self.clk.val();
        self.bars.clock.next = self.clk.val();
        self.completer.rst.next = self.rst.val();
        self.cfg.rst.next = self.rst.val();
        self.bars.rst.next = self.rst.val();

        // rx -> completer.
        self.completer.rx.hdr.next = self.rx_hdr.val();
        self.completer.rx.data.next = self.rx_data.val();
        self.completer.rx.strb.next = self.rx_strb.val();
        self.completer.rx.sop.next = self.rx_sop.val();
        self.completer.rx.eop.next = self.rx_eop.val();
        self.completer.rx.valid.next = self.rx_valid.val();
        self.rx_ready.next = self.completer.rx.ready.val();

        // completer -> tx.
        self.tx_hdr.next = self.completer.cpl.hdr.val();
        self.tx_data.next = self.completer.cpl.data.val();
        self.tx_strb.next = self.completer.cpl.strb.val();
        self.tx_sop.next = self.completer.cpl.sop.val();
        self.tx_eop.next = self.completer.cpl.eop.val();
        self.tx_valid.next = self.completer.cpl.valid.val();
        self.completer.cpl.ready.next = self.tx_ready.val();

        // Configuration state used by the completer.
        self.completer.mem_enable.next = self.cfg.mem_enable.val();
        self.completer.bar0.next = self.cfg.bar0.val();
        self.completer.bar1.next = self.cfg.bar1.val();
        self.completer.bar2.next = self.cfg.bar2.val();

        // Configuration space port.
        self.cfg.req.next = self.completer.cfg_req.val();
        self.cfg.write.next = self.completer.acc_write.val();
        self.cfg.dw.next = self.completer.cfg_dw.val();
        self.cfg.wmask.next = self.completer.acc_wmask.val();
        self.cfg.wdata.next = self.completer.acc_wdata.val();
        self.completer.cfg_ack.next = self.cfg.ack.val();
        self.completer.cfg_rdata.next = self.cfg.rdata.val();
        self.cfg.ev_poisoned.next = self.completer.ev_poisoned.val();
        self.cfg.ev_malformed.next = self.completer.ev_malformed.val();
        self.cfg.ev_unsupported.next = self.completer.ev_unsupported.val();
        self.cfg.int_pending.next = false;
        self.intx.next = self.cfg.intx.val();

        // BAR register port.
        self.bars.req.next = self.completer.bar_req.val();
        self.bars.msix.next = self.completer.bar_msix.val();
        self.bars.offset.next = self.completer.bar_offset.val();
        self.bars.write.next = self.completer.acc_write.val();
        self.bars.wmask.next = self.completer.acc_wmask.val();
        self.bars.wdata.next = self.completer.acc_wdata.val();
        self.completer.bar_ack.next = self.bars.ack.val();
        self.completer.bar_rdata.next = self.bars.rdata.val();
    }
}
