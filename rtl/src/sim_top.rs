//! The co-simulation top: the endpoint reached either through its own TLP
//! ports or through the Xilinx 7-series adapter, chosen by `s7`.
//!
//! ```text
//!  rx/tx ---------------------------------+  s7 = 0
//!                                         +--- Endpoint
//!  m_axis_rx/s_axis_tx -- S7Adapter ------+  s7 = 1
//! ```
//!
//! With `s7` high the endpoint sees only what the adapter delivers and its
//! TLPs leave only through the adapter (`rx.ready` and `tx.valid` stay
//! low); with `s7` low the adapter's transmit side is idle (keep
//! `m_axis_rx.tvalid` low). Change `s7` only in reset. The endpoint's side
//! bands are brought out as they are, so the same test bench drives either
//! path. Not for synthesis: use the endpoint or
//! [`crate::s7_endpoint::S7Endpoint`].

use crate::endpoint::Endpoint;
use crate::notify::QUEUE_BITS;
use crate::s7_adapter::S7Adapter;
use crate::s7_axis::{S7RxAxis, S7TxAxis};
use crate::tlp_stream::{TlpSink, TlpSource};
use rust_hdl::prelude::*;
use vireo_regs::DeviceConfig;

/// Available buffer notifications, out of the endpoint.
#[derive(Clone, Debug, Default, LogicInterface)]
pub struct NotifyOut {
    /// A notification (one cycle).
    pub valid: Signal<Out, Bit>,
    /// Its queue.
    pub queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// The value the driver wrote.
    pub data: Signal<Out, Bits<32>>,
}

/// Used buffer notification requests, into the endpoint.
#[derive(Clone, Debug, Default, LogicInterface)]
pub struct IrqIn {
    /// A request (one cycle).
    pub valid: Signal<In, Bit>,
    /// Its queue.
    pub queue: Signal<In, Bits<QUEUE_BITS>>,
}

/// The co-simulation top.
#[derive(LogicBlock)]
pub struct SimTop {
    /// Clock.
    pub clk: Signal<In, Clock>,
    /// Synchronous reset, active high.
    pub rst: Signal<In, Bit>,
    /// Reach the endpoint through the 7-series adapter.
    pub s7: Signal<In, Bit>,
    /// vireo's own host -> device stream.
    pub rx: TlpSink,
    /// vireo's own device -> host stream.
    pub tx: TlpSource,
    /// The hard block's receive stream.
    pub m_axis_rx: S7RxAxis,
    /// The hard block's transmit stream.
    pub s_axis_tx: S7TxAxis,
    /// Legacy interrupt level.
    pub intx: Signal<Out, Bit>,
    /// Link state of the network function.
    pub link_up: Signal<In, Bit>,
    /// Available buffer notifications.
    pub notify: NotifyOut,
    /// Used buffer notification requests.
    pub irq: IrqIn,
    /// An unrecoverable device error.
    pub dev_error: Signal<In, Bit>,
    adapter: S7Adapter,
    endpoint: Endpoint,
    /// `rst`, registered once.
    rst_q: DFF<Bit>,
}

impl SimTop {
    /// The endpoint described by `cfg` with both ways in.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            clk: Default::default(),
            rst: Default::default(),
            s7: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            m_axis_rx: Default::default(),
            s_axis_tx: Default::default(),
            intx: Default::default(),
            link_up: Default::default(),
            notify: Default::default(),
            irq: Default::default(),
            dev_error: Default::default(),
            adapter: Default::default(),
            endpoint: Endpoint::new(cfg),
            rst_q: Default::default(),
        }
    }
}

impl Logic for SimTop {
    #[hdl_gen]
    fn update(&mut self) {
        self.adapter.clock.next = self.clk.val();
        self.endpoint.clk.next = self.clk.val();
        self.rst_q.clock.next = self.clk.val();
        self.rst_q.d.next = self.rst.val();
        self.adapter.rst.next = self.rst_q.q.val();
        self.endpoint.rst.next = self.rst_q.q.val();
        S7RxAxis::link(&mut self.m_axis_rx, &mut self.adapter.m_axis_rx);
        S7TxAxis::link(&mut self.s_axis_tx, &mut self.adapter.s_axis_tx);

        // Endpoint rx: the adapter's stream or the native one.
        if self.s7.val() {
            self.endpoint.rx_hdr.next = self.adapter.rx.hdr.val();
            self.endpoint.rx_data.next = self.adapter.rx.data.val();
            self.endpoint.rx_strb.next = self.adapter.rx.strb.val();
            self.endpoint.rx_sop.next = self.adapter.rx.sop.val();
            self.endpoint.rx_eop.next = self.adapter.rx.eop.val();
            self.endpoint.rx_valid.next = self.adapter.rx.valid.val();
        } else {
            self.endpoint.rx_hdr.next = self.rx.hdr.val();
            self.endpoint.rx_data.next = self.rx.data.val();
            self.endpoint.rx_strb.next = self.rx.strb.val();
            self.endpoint.rx_sop.next = self.rx.sop.val();
            self.endpoint.rx_eop.next = self.rx.eop.val();
            self.endpoint.rx_valid.next = self.rx.valid.val();
        }
        self.adapter.rx.ready.next = self.endpoint.rx_ready.val() && self.s7.val();
        self.rx.ready.next = self.endpoint.rx_ready.val() && !self.s7.val();

        // Endpoint tx: to the adapter or out of the native stream.
        self.adapter.tx.hdr.next = self.endpoint.tx_hdr.val();
        self.adapter.tx.data.next = self.endpoint.tx_data.val();
        self.adapter.tx.strb.next = self.endpoint.tx_strb.val();
        self.adapter.tx.sop.next = self.endpoint.tx_sop.val();
        self.adapter.tx.eop.next = self.endpoint.tx_eop.val();
        self.adapter.tx.valid.next = self.endpoint.tx_valid.val() && self.s7.val();
        self.tx.hdr.next = self.endpoint.tx_hdr.val();
        self.tx.data.next = self.endpoint.tx_data.val();
        self.tx.strb.next = self.endpoint.tx_strb.val();
        self.tx.sop.next = self.endpoint.tx_sop.val();
        self.tx.eop.next = self.endpoint.tx_eop.val();
        self.tx.valid.next = self.endpoint.tx_valid.val() && !self.s7.val();
        if self.s7.val() {
            self.endpoint.tx_ready.next = self.adapter.tx.ready.val();
        } else {
            self.endpoint.tx_ready.next = self.tx.ready.val();
        }

        // Side bands.
        self.intx.next = self.endpoint.intx.val();
        self.endpoint.link_up.next = self.link_up.val();
        self.notify.valid.next = self.endpoint.notify_valid.val();
        self.notify.queue.next = self.endpoint.notify_queue.val();
        self.notify.data.next = self.endpoint.notify_data.val();
        self.endpoint.irq_valid.next = self.irq.valid.val();
        self.endpoint.irq_queue.next = self.irq.queue.val();
        self.endpoint.dev_error.next = self.dev_error.val();
    }
}
