//! ISR status (virtio 4.1.4.5): bit 0 queue interrupt, bit 1 device
//! configuration interrupt, in the byte at offset 0 of its region.
//!
//! A read with byte 0 enabled returns the bits and clears them; an event in
//! the same cycle as that read is kept (it shows on the next read). Queue
//! interrupts set bit 0 only while MSI-X is disabled; configuration
//! interrupts always set bit 1. `int_pending` (the INTx level) is "some bit
//! set" while MSI-X is disabled. A virtio reset clears both bits.
//!
//! Timing: `ack` one cycle after `req`.

use crate::reg_port::RegTarget;
use rust_hdl::prelude::*;

/// The ISR status register.
#[derive(LogicBlock, Default)]
pub struct Isr {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Register port.
    pub regs: RegTarget,
    /// A used buffer notification (queue interrupt).
    pub queue_irq: Signal<In, Bit>,
    /// A configuration change notification.
    pub config_irq: Signal<In, Bit>,
    /// MSI-X is enabled.
    pub msix_enable: Signal<In, Bit>,
    /// Virtio device reset.
    pub vreset: Signal<In, Bit>,
    /// INTx level.
    pub int_pending: Signal<Out, Bit>,
    bits: DFF<Bits<2>>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    set: Signal<Local, Bits<2>>,
    clear: Signal<Local, Bit>,
}

impl Logic for Isr {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, bits, ack, rdata);
        // Bit 1: configuration interrupt; bit 0: queue interrupt without MSI-X.
        self.set.next = 0.into();
        if self.config_irq.val() {
            self.set.next = 2.into();
        }
        if self.queue_irq.val() && !self.msix_enable.val() {
            if self.config_irq.val() {
                self.set.next = 3.into();
            } else {
                self.set.next = 1.into();
            }
        }
        self.clear.next = self.regs.req.val()
            && !self.regs.write.val()
            && !self.regs.offset.val().any()
            && self.regs.wmask.val().get_bits::<8>(0).any();
        self.ack.d.next = self.regs.req.val();
        self.rdata.d.next = 0.into();
        if self.regs.req.val() && !self.regs.offset.val().any() {
            self.rdata.d.next = bit_cast::<32, 2>(self.bits.q.val());
        }
        if self.clear.val() {
            self.bits.d.next = self.set.val();
        } else {
            self.bits.d.next = self.bits.q.val() | self.set.val();
        }
        if self.rst.val() || self.vreset.val() {
            self.bits.d.next = 0.into();
        }
        if self.rst.val() {
            self.ack.d.next = false;
            self.rdata.d.next = 0.into();
        }
        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = self.rdata.q.val();
        self.int_pending.next = self.bits.q.val().any() && !self.msix_enable.val();
    }
}
