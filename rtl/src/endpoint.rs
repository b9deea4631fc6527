//! The vireo endpoint: top level of the generated Verilog (module `top`).
//!
//! ```text
//!          +---------+ req +-----------+ cfg  +-----------+  cfg  +----------+
//!  rx_* -->| RxDemux |---->| Completer |----->| CfgWindow |------>| CfgSpace |--> intx
//!          +----+----+     |           |      +-----+-----+       +----------+
//!               | cpl      |           |  BAR       | BAR (window)
//!               |          |           |-------+----+
//!               |          +-----+-----+       v
//!               |                |       +-----------+--> CommonCfg (queue table, status)
//!               |                |       | BarRouter |--> Isr, NetCfg, Notify --> notify_*
//!               v                |       +-----------+--> Msix (table, PBA) --+
//!          +-----------+         v                                            v
//!          | NetEngine |   +-----------+ <------------------------------------+
//!          | (DMA,     |   | TxArbiter |  completions and MSI-X messages
//!          |  rings,   |   +-----+-----+
//!          |  loopback)|         v
//!          +-----+-----+   +-----------+
//!                +-------->| TxArbiter |--> tx_*
//!             DMA requests +-----------+
//! ```
//!
//! Ports: one clock `clk`, a synchronous active-high reset `rst`, the host ->
//! device TLP stream `rx_*`, the device -> host TLP stream `tx_*` (both with
//! a separate 128-bit header, `DATA_WIDTH` bits of DW-aligned payload, one
//! strobe per DW, sop/eop and valid/ready), the INTx level `intx`, and the
//! network function's `link_up`. The virtqueue engine's side bands are
//! also brought out, for tests and for other functions sharing the
//! transport: `notify_*` presents every available buffer notification,
//! `irq_valid`/`irq_queue` request a used buffer notification (merged with
//! the engine's), `dev_error` reports an unrecoverable device error (as the
//! engine does on a fault); tie the inputs to 0 when unused.
//! Every output is a function of registers only, except `tx_*`, which the
//! arbiter forwards combinationally from registered sources.

use crate::bar_router::BarRouter;
use crate::cfg_space::CfgSpace;
use crate::cfg_window::CfgWindow;
use crate::common_cfg::CommonCfg;
use crate::completer::Completer;
use crate::irq_mux::IrqMux;
use crate::isr::Isr;
use crate::msix::Msix;
use crate::net_cfg::NetCfg;
use crate::net_engine::NetEngine;
use crate::notify::{Notify, QUEUE_BITS};
use crate::reg_port::RegMaster;
use crate::rx_demux::RxDemux;
use crate::tlp_stream::TlpSource;
use crate::tx_arbiter::TxArbiter;
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
    /// Link state of the network function.
    pub link_up: Signal<In, Bit>,

    // Virtqueue engine side bands.
    /// An available buffer notification (one cycle).
    pub notify_valid: Signal<Out, Bit>,
    /// Its queue.
    pub notify_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// The value the driver wrote.
    pub notify_data: Signal<Out, Bits<32>>,
    /// Request a used buffer notification of `irq_queue` (one cycle).
    pub irq_valid: Signal<In, Bit>,
    /// Its queue.
    pub irq_queue: Signal<In, Bits<QUEUE_BITS>>,
    /// An unrecoverable device error (one cycle): DEVICE_NEEDS_RESET.
    pub dev_error: Signal<In, Bit>,

    completer: Completer,
    window: CfgWindow,
    cfg: CfgSpace,
    router: BarRouter,
    common: CommonCfg,
    isr: Isr,
    net: NetCfg,
    notify: Notify,
    msix: Msix,
    arbiter: TxArbiter,
    demux: RxDemux,
    engine: NetEngine,
    irqs: IrqMux,
    tx_merge: TxArbiter,
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
            link_up: Default::default(),
            notify_valid: Default::default(),
            notify_queue: Default::default(),
            notify_data: Default::default(),
            irq_valid: Default::default(),
            irq_queue: Default::default(),
            dev_error: Default::default(),
            completer: Default::default(),
            window: Default::default(),
            cfg: CfgSpace::new(cfg),
            router: Default::default(),
            common: CommonCfg::new(cfg),
            isr: Default::default(),
            net: NetCfg::new(cfg),
            notify: Notify::new(cfg),
            msix: Msix::new(cfg),
            arbiter: Default::default(),
            demux: Default::default(),
            engine: NetEngine::new(cfg),
            irqs: Default::default(),
            tx_merge: Default::default(),
        }
    }
}

impl Logic for Endpoint {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(
            self, clk, completer, window, cfg, common, isr, net, notify, msix, arbiter, demux,
            engine, irqs, tx_merge
        );
        self.completer.rst.next = self.rst.val();
        self.window.rst.next = self.rst.val();
        self.cfg.rst.next = self.rst.val();
        self.common.rst.next = self.rst.val();
        self.isr.rst.next = self.rst.val();
        self.net.rst.next = self.rst.val();
        self.notify.rst.next = self.rst.val();
        self.msix.rst.next = self.rst.val();
        self.arbiter.rst.next = self.rst.val();
        self.demux.rst.next = self.rst.val();
        self.engine.rst.next = self.rst.val();
        self.irqs.rst.next = self.rst.val();
        self.tx_merge.rst.next = self.rst.val();

        // rx -> requests to the completer, completions to the engine.
        self.demux.rx.hdr.next = self.rx_hdr.val();
        self.demux.rx.data.next = self.rx_data.val();
        self.demux.rx.strb.next = self.rx_strb.val();
        self.demux.rx.sop.next = self.rx_sop.val();
        self.demux.rx.eop.next = self.rx_eop.val();
        self.demux.rx.valid.next = self.rx_valid.val();
        self.rx_ready.next = self.demux.rx.ready.val();
        TlpSource::join(&mut self.demux.req, &mut self.completer.rx);
        TlpSource::join(&mut self.demux.cpl, &mut self.engine.cpl);

        // Completions and MSI-X messages, then DMA requests -> tx.
        TlpSource::join(&mut self.completer.cpl, &mut self.arbiter.a);
        TlpSource::join(&mut self.msix.msg, &mut self.arbiter.b);
        TlpSource::join(&mut self.arbiter.out, &mut self.tx_merge.a);
        TlpSource::join(&mut self.engine.dma, &mut self.tx_merge.b);
        self.tx_hdr.next = self.tx_merge.out.hdr.val();
        self.tx_data.next = self.tx_merge.out.data.val();
        self.tx_strb.next = self.tx_merge.out.strb.val();
        self.tx_sop.next = self.tx_merge.out.sop.val();
        self.tx_eop.next = self.tx_merge.out.eop.val();
        self.tx_valid.next = self.tx_merge.out.valid.val();
        self.tx_merge.out.ready.next = self.tx_ready.val();

        // Configuration state used by the completer.
        self.completer.mem_enable.next = self.cfg.mem_enable.val();
        self.completer.bar0.next = self.cfg.bar0.val();
        self.completer.bar1.next = self.cfg.bar1.val();
        self.completer.bar2.next = self.cfg.bar2.val();

        // Configuration accesses pass the PCI_CFG window.
        self.window.up_req.next = self.completer.cfg_req.val();
        self.window.up_write.next = self.completer.acc_write.val();
        self.window.up_dw.next = self.completer.cfg_dw.val();
        self.window.up_wmask.next = self.completer.acc_wmask.val();
        self.window.up_wdata.next = self.completer.acc_wdata.val();
        self.completer.cfg_ack.next = self.window.up_ack.val();
        self.completer.cfg_rdata.next = self.window.up_rdata.val();
        self.cfg.req.next = self.window.cfg_req.val();
        self.cfg.write.next = self.window.cfg_write.val();
        self.cfg.dw.next = self.window.cfg_dw.val();
        self.cfg.wmask.next = self.window.cfg_wmask.val();
        self.cfg.wdata.next = self.window.cfg_wdata.val();
        self.window.cfg_ack.next = self.cfg.ack.val();
        self.window.cfg_rdata.next = self.cfg.rdata.val();
        self.window.win_bar.next = self.cfg.pci_cfg_bar.val();
        self.window.win_offset.next = self.cfg.pci_cfg_offset.val();
        self.window.win_length.next = self.cfg.pci_cfg_length.val();
        self.window.win_data.next = self.cfg.pci_cfg_data.val();
        self.cfg.ev_poisoned.next = self.completer.ev_poisoned.val();
        self.cfg.ev_malformed.next = self.completer.ev_malformed.val();
        self.cfg.ev_unsupported.next = self.completer.ev_unsupported.val();
        self.cfg.int_pending.next = self.isr.int_pending.val();
        self.intx.next = self.cfg.intx.val();

        // BAR accesses: the completer's, or the window's while it is busy.
        if self.window.busy.val() {
            self.router.msix.next = self.window.bar_msix.val();
            self.router.offset.next = self.window.bar_offset.val();
            self.router.write.next = self.window.bar_write.val();
            self.router.wmask.next = self.window.bar_wmask.val();
            self.router.wdata.next = self.window.bar_wdata.val();
        } else {
            self.router.msix.next = self.completer.bar_msix.val();
            self.router.offset.next = self.completer.bar_offset.val();
            self.router.write.next = self.completer.acc_write.val();
            self.router.wmask.next = self.completer.acc_wmask.val();
            self.router.wdata.next = self.completer.acc_wdata.val();
        }
        self.router.req.next = self.completer.bar_req.val() || self.window.bar_req.val();
        self.completer.bar_ack.next = self.router.ack.val() && !self.window.busy.val();
        self.completer.bar_rdata.next = self.router.rdata.val();
        self.window.bar_ack.next = self.router.ack.val() && self.window.busy.val();
        self.window.bar_rdata.next = self.router.rdata.val();
        RegMaster::join(&mut self.router.common, &mut self.common.regs);
        RegMaster::join(&mut self.router.isr, &mut self.isr.regs);
        RegMaster::join(&mut self.router.device, &mut self.net.regs);
        RegMaster::join(&mut self.router.notify, &mut self.notify.regs);
        RegMaster::join(&mut self.router.table, &mut self.msix.table);
        RegMaster::join(&mut self.router.pba, &mut self.msix.pba);

        // Device status, configuration changes and interrupts.
        self.net.link_up.next = self.link_up.val();
        self.net.vreset.next = self.common.vreset.val();
        self.common.generation.next = self.net.generation.val();
        self.common.cfg_changed.next = self.net.changed.val();
        self.common.dev_error.next = self.dev_error.val() || self.engine.dev_error.val();
        self.common.drain_done.next = self.engine.drained.val();
        self.irqs.rx.next = self.engine.irq_rx.val();
        self.irqs.tx.next = self.engine.irq_tx.val();
        self.irqs.ext.next = self.irq_valid.val();
        self.irqs.ext_queue.next = self.irq_queue.val();
        self.common.irq_valid.next = self.irqs.out_valid.val();
        self.common.irq_queue.next = self.irqs.out_queue.val();
        self.irqs.out_ready.next = self.common.irq_ready.val();
        self.net.dropped.next = self.engine.dropped.val();

        // The virtqueue engine.
        self.engine.bus_master.next = self.cfg.bus_master.val();
        self.engine.max_payload.next = self.cfg.max_payload.val();
        self.engine.max_read.next = self.cfg.max_read_req.val();
        self.engine.requester_id.next = self.completer.completer_id.val();
        self.engine.rx_queue.next = self.common.rx_queue.val();
        self.engine.tx_queue.next = self.common.tx_queue.val();
        self.engine.driver_features.next = self.common.driver_features.val();
        self.engine.device_status.next = self.common.device_status.val();
        self.engine.kick.next = self.notify.notify_valid.val();
        self.engine.vreset.next = self.common.vreset.val();
        self.engine.queue_reset.next = self.common.queue_reset.val();
        self.common.rx_resetting.next = self.engine.rx_resetting.val();
        self.common.tx_resetting.next = self.engine.tx_resetting.val();
        self.engine.reset_queue.next = self.common.reset_queue.val();
        self.isr.queue_irq.next = self.common.queue_irq.val();
        self.isr.config_irq.next = self.common.config_irq.val();
        self.isr.msix_enable.next = self.cfg.msix_enable.val();
        self.isr.vreset.next = self.common.vreset.val();
        self.msix.enable.next = self.cfg.msix_enable.val();
        self.msix.function_mask.next = self.cfg.msix_function_mask.val();
        self.msix.bus_master.next = self.cfg.bus_master.val();
        self.msix.requester_id.next = self.completer.completer_id.val();
        self.msix.vreset.next = self.common.vreset.val();
        self.msix.queue_irq.next = self.common.queue_irq.val();
        self.msix.queue_vector.next = self.common.queue_vector.val();
        self.msix.config_irq.next = self.common.config_irq.val();
        self.msix.config_vector.next = self.common.config_vector.val();

        // Available buffer notifications out to the virtqueue engine.
        self.notify_valid.next = self.notify.notify_valid.val();
        self.notify_queue.next = self.notify.notify_queue.val();
        self.notify_data.next = self.notify.notify_data.val();
    }
}
