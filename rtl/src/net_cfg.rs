//! virtio-net device-specific configuration (virtio 5.1.4) and the
//! configuration generation counter.
//!
//! Fields: `mac` (6 bytes), `status` (VIRTIO_NET_S_LINK_UP follows the
//! `link_up` input), `max_virtqueue_pairs`, `mtu`; all read-only, writes are
//! ignored, other offsets of the region read 0.
//!
//! Generation (virtio 4.1.4.3, note on wrap): a change of `status` sets a
//! "changed" flag and pulses `changed`; a read of a field (with an enabled
//! byte) while the flag is set increments `generation` and clears the flag,
//! so the driver's generation loop sees a new value after reading a changed
//! field. A change in the same cycle as such a read is kept for the next
//! read. A virtio reset sets the generation and the flag to 0.
//!
//! Past the structure, at `NET_RX_DROPPED`, the loopback's drop counter
//! reads the frames dropped (`dropped` pulses; 32 bits, wrapping; cleared by
//! a virtio reset).
//!
//! Timing: `ack` one cycle after `req`; `status` follows `link_up` one cycle
//! later.

use crate::reg_port::{RegTarget, REG_OFFSET_BITS};
use rust_hdl::prelude::*;
use vireo_regs::{layout, virtio, DeviceConfig};

/// The virtio-net configuration structure.
#[derive(LogicBlock)]
pub struct NetCfg {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Register port.
    pub regs: RegTarget,
    /// Link state of the network function.
    pub link_up: Signal<In, Bit>,
    /// Virtio device reset.
    pub vreset: Signal<In, Bit>,
    /// The loopback dropped a frame.
    pub dropped: Signal<In, Bit>,
    /// `config_generation`.
    pub generation: Signal<Out, Bits<8>>,
    /// The configuration changed (one cycle).
    pub changed: Signal<Out, Bit>,
    link: DFF<Bit>,
    dirty: DFF<Bit>,
    drops: DFF<Bits<32>>,
    drops_offset: Constant<Bits<REG_OFFSET_BITS>>,
    gen: DFF<Bits<8>>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    read_strobe: Signal<Local, Bit>,
    change: Signal<Local, Bit>,
    status_field: Signal<Local, Bits<32>>,
    dw0: Constant<Bits<32>>,
    dw1: Constant<Bits<32>>,
    dw2: Constant<Bits<32>>,
    link_up_bit: Constant<Bits<32>>,
    cfg_len: Constant<Bits<{ REG_OFFSET_BITS }>>,
}

impl NetCfg {
    /// The configuration of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        let m = cfg.mac.map(|b| b as u32);
        let dw = |v: u32| Constant::new((v as u64).into());
        assert_eq!(
            virtio::net::CFG_STATUS,
            6,
            "status shares DW 1 with mac[4..6]"
        );
        Self {
            clock: Default::default(),
            rst: Default::default(),
            regs: Default::default(),
            link_up: Default::default(),
            vreset: Default::default(),
            dropped: Default::default(),
            generation: Default::default(),
            changed: Default::default(),
            link: Default::default(),
            dirty: Default::default(),
            drops: Default::default(),
            drops_offset: Constant::new((layout::NET_RX_DROPPED as u64).into()),
            gen: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            read_strobe: Default::default(),
            change: Default::default(),
            status_field: Default::default(),
            dw0: dw(m[0] | m[1] << 8 | m[2] << 16 | m[3] << 24),
            dw1: dw(m[4] | m[5] << 8),
            dw2: dw(layout::NET_MAX_VIRTQUEUE_PAIRS as u32 | (cfg.mtu as u32) << 16),
            link_up_bit: dw((virtio::net::S_LINK_UP as u32) << 16),
            cfg_len: Constant::new((cfg.device_type.device_cfg_len() as u64).into()),
        }
    }
}

impl Logic for NetCfg {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, link, dirty, gen, ack, rdata, drops);
        if self.dropped.val() {
            self.drops.d.next = self.drops.q.val() + 1;
        }
        self.link.d.next = self.link_up.val();
        self.change.next = self.link.q.val() != self.link_up.val();
        self.read_strobe.next = self.regs.req.val()
            && !self.regs.write.val()
            && self.regs.wmask.val().any()
            && (self.regs.offset.val() < self.cfg_len.val());
        self.status_field.next = 0.into();
        if self.link.q.val() {
            self.status_field.next = self.link_up_bit.val();
        }
        self.ack.d.next = self.regs.req.val();
        self.rdata.d.next = 0.into();
        if self.regs.req.val() {
            match self.regs.offset.val().index() {
                0 => self.rdata.d.next = self.dw0.val(),
                4 => self.rdata.d.next = self.dw1.val() | self.status_field.val(),
                8 => self.rdata.d.next = self.dw2.val(),
                _ => {}
            }
            if self.regs.offset.val() == self.drops_offset.val() {
                self.rdata.d.next = self.drops.q.val();
            }
        }
        if self.read_strobe.val() && self.dirty.q.val() {
            self.gen.d.next = self.gen.q.val() + 1;
            self.dirty.d.next = self.change.val();
        } else {
            self.dirty.d.next = self.dirty.q.val() || self.change.val();
        }
        if self.rst.val() || self.vreset.val() {
            self.gen.d.next = 0.into();
            self.dirty.d.next = false;
            self.drops.d.next = 0.into();
        }
        if self.rst.val() {
            self.link.d.next = self.link_up.val();
            self.ack.d.next = false;
            self.rdata.d.next = 0.into();
        }
        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = self.rdata.q.val();
        self.generation.next = self.gen.q.val();
        self.changed.next = self.change.val() && !self.rst.val();
    }
}
