//! Used buffer notification requests of the loopback's two queues and of
//! the `irq_*` input, one at a time into the common configuration's
//! interrupt lookup.
//!
//! Each source's request is held (requests of one source before it is
//! served collapse into one: an interrupt says "look at the ring", not how
//! often) and served when the lookup is free, receiveq first.
//!
//! Timing: a request reaches `out_valid` the cycle after it arrives.

use crate::notify::QUEUE_BITS;
use rust_hdl::prelude::*;
use vireo_regs::virtio::net::{RECEIVEQ, TRANSMITQ};

/// The request merger.
#[derive(LogicBlock)]
pub struct IrqMux {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// The receiveq needs a notification.
    pub rx: Signal<In, Bit>,
    /// The transmitq needs a notification.
    pub tx: Signal<In, Bit>,
    /// Another request, for `ext_queue`.
    pub ext: Signal<In, Bit>,
    /// Its queue.
    pub ext_queue: Signal<In, Bits<QUEUE_BITS>>,
    /// A request is presented.
    pub out_valid: Signal<Out, Bit>,
    /// Its queue.
    pub out_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// The lookup takes it.
    pub out_ready: Signal<In, Bit>,
    rx_pend: DFF<Bit>,
    tx_pend: DFF<Bit>,
    ext_pend: DFF<Bit>,
    ext_q: DFF<Bits<QUEUE_BITS>>,
    rx_queue: Constant<Bits<QUEUE_BITS>>,
    tx_queue: Constant<Bits<QUEUE_BITS>>,
}

impl Default for IrqMux {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            ext: Default::default(),
            ext_queue: Default::default(),
            out_valid: Default::default(),
            out_queue: Default::default(),
            out_ready: Default::default(),
            rx_pend: Default::default(),
            tx_pend: Default::default(),
            ext_pend: Default::default(),
            ext_q: Default::default(),
            rx_queue: Constant::new((RECEIVEQ as u64).into()),
            tx_queue: Constant::new((TRANSMITQ as u64).into()),
        }
    }
}

impl Logic for IrqMux {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, rx_pend, tx_pend, ext_pend, ext_q);
        self.out_valid.next = self.rx_pend.q.val() || self.tx_pend.q.val() || self.ext_pend.q.val();
        self.out_queue.next = self.ext_q.q.val();
        if self.tx_pend.q.val() {
            self.out_queue.next = self.tx_queue.val();
        }
        if self.rx_pend.q.val() {
            self.out_queue.next = self.rx_queue.val();
        }
        if self.out_ready.val() {
            if self.rx_pend.q.val() {
                self.rx_pend.d.next = false;
            } else if self.tx_pend.q.val() {
                self.tx_pend.d.next = false;
            } else {
                self.ext_pend.d.next = false;
            }
        }
        if self.rx.val() {
            self.rx_pend.d.next = true;
        }
        if self.tx.val() {
            self.tx_pend.d.next = true;
        }
        if self.ext.val() {
            self.ext_pend.d.next = true;
            self.ext_q.d.next = self.ext_queue.val();
        }
        if self.rst.val() {
            self.rx_pend.d.next = false;
            self.tx_pend.d.next = false;
            self.ext_pend.d.next = false;
        }
    }
}
