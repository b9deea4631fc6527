//! Notification region (virtio 4.1.4.4): queue N's notify address is
//! `N * notify_off_multiplier` (4) into the region.
//!
//! A write that enables byte 0 of queue N's slot (the 16-bit write of the
//! queue index a driver does, or a 32-bit write) is an available buffer
//! notification for queue N (N < `num_queues`): `notify_valid` pulses with
//! `notify_queue` and the written bytes in `notify_data` (bytes not
//! enabled read 0). Other writes and
//! all reads have no effect (reads return 0).
//!
//! Timing: `ack` and the notification one cycle after `req`.

use crate::reg_port::{RegTarget, REG_OFFSET_BITS};
use rust_hdl::prelude::*;
use vireo_regs::{layout, DeviceConfig};

/// Width of a queue index.
pub const QUEUE_BITS: usize = 16;

/// Decodes notification writes.
#[derive(LogicBlock)]
pub struct Notify {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Register port.
    pub regs: RegTarget,
    /// An available buffer notification (one cycle).
    pub notify_valid: Signal<Out, Bit>,
    /// Its queue.
    pub notify_queue: Signal<Out, Bits<QUEUE_BITS>>,
    /// The value written.
    pub notify_data: Signal<Out, Bits<32>>,
    ack: DFF<Bit>,
    valid: DFF<Bit>,
    queue: DFF<Bits<QUEUE_BITS>>,
    data: DFF<Bits<32>>,
    slot: Signal<Local, Bits<REG_OFFSET_BITS>>,
    num_queues: Constant<Bits<REG_OFFSET_BITS>>,
}

impl Notify {
    /// The notification region of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        assert_eq!(layout::NOTIFY_OFF_MULTIPLIER, 4, "the slot is offset / 4");
        Self {
            clock: Default::default(),
            rst: Default::default(),
            regs: Default::default(),
            notify_valid: Default::default(),
            notify_queue: Default::default(),
            notify_data: Default::default(),
            ack: Default::default(),
            valid: Default::default(),
            queue: Default::default(),
            data: Default::default(),
            slot: Default::default(),
            num_queues: Constant::new((cfg.num_queues as u64).into()),
        }
    }
}

impl Logic for Notify {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, ack, valid, queue, data);
        self.slot.next = self.regs.offset.val() >> 2;
        self.ack.d.next = self.regs.req.val();
        self.valid.d.next = self.regs.req.val()
            && self.regs.write.val()
            && self.regs.wmask.val().get_bits::<8>(0).any()
            && (self.slot.val() < self.num_queues.val());
        self.queue.d.next = bit_cast::<QUEUE_BITS, REG_OFFSET_BITS>(self.slot.val());
        self.data.d.next = self.regs.wdata.val() & self.regs.wmask.val();
        if self.rst.val() {
            self.ack.d.next = false;
            self.valid.d.next = false;
            self.queue.d.next = 0.into();
            self.data.d.next = 0.into();
        }
        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = 0.into();
        self.notify_valid.next = self.valid.q.val();
        self.notify_queue.next = self.queue.q.val();
        self.notify_data.next = self.data.q.val();
    }
}
