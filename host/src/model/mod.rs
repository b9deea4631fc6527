//! The golden model: a transaction-level virtio-pci function.
//!
//! It takes a request TLP and returns the completion the function owes (if
//! any), with the same register semantics as the RTL but written from the
//! specifications, not from the RTL. Request handling (docs/ARCHITECTURE.md,
//! "Requests the completer serves"):
//!
//! - completions and messages are dropped; an unknown Fmt/Type is a
//!   malformed TLP and is dropped;
//! - payload that disagrees with Length, then poisoned requests, are refused
//!   (Unsupported Request completion when non-posted);
//! - configuration requests need Length 1, Last DW BE 0 and function 0;
//! - memory requests need legal byte enables, at most one beat of payload
//!   and a hit in one BAR (the virtio BAR wins if both hit);
//! - every other request is unsupported.

pub mod bar_space;
pub mod common_cfg;
pub mod config_space;
pub mod isr;
pub mod msix;
pub mod net;
pub mod net_cfg;

use crate::endpoint::{DeviceEvent, HostError};
use crate::tlp::Tlp;
use bar_space::BarSpace;
use common_cfg::WriteEffect;
use config_space::{ConfigSpace, ErrorEvent};
use msix::Gate;
use net::{Dma, NetEngine};
use std::ops::Range;
use vireo_regs::layout::{self, MAX_MMIO_DWS};
use vireo_regs::tlp::{cpl_status, fmt_type};
use vireo_regs::virtio::ring::avail_event_offset;
use vireo_regs::virtio::{self, feature, status};
use vireo_regs::{stream, DeviceConfig};

/// What a request is, from its Fmt/Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Completion,
    Message,
    CfgRead,
    CfgWrite,
    MemRead,
    MemWrite,
    OtherNonPosted,
    Unknown,
}

fn classify(ft: u8) -> Class {
    use fmt_type::*;
    let routing_free = ft & !MSG_ROUTING_MASK;
    match ft {
        CPL | CPLD | CPLLK | CPLDLK => Class::Completion,
        _ if routing_free == MSG || routing_free == MSGD => Class::Message,
        CFGRD0 => Class::CfgRead,
        CFGWR0 => Class::CfgWrite,
        MRD32 | MRD64 => Class::MemRead,
        MWR32 | MWR64 => Class::MemWrite,
        MRDLK32 | MRDLK64 | IORD | IOWR | CFGRD1 | CFGWR1 | FETCHADD32 | FETCHADD64 | SWAP32
        | SWAP64 | CAS32 | CAS64 => Class::OtherNonPosted,
        _ => Class::Unknown,
    }
}

/// Header DW 0 bits a completion copies from its request: T9, TC, T8,
/// Attr[2] and Attr[1:0].
const DW0_COPIED: u32 = 0x00FC_3000;

/// The byte enables of DW `i` of a request of `len` DWs.
fn dw_be(i: u32, len: u32, first_be: u8, last_be: u8) -> u8 {
    if i == 0 {
        first_be
    } else if i == len - 1 {
        last_be
    } else {
        0xF
    }
}

/// The transaction-level function.
#[derive(Clone, Debug)]
pub struct Function {
    cfg: DeviceConfig,
    /// Configuration space.
    pub space: ConfigSpace,
    /// Registers behind the BARs.
    pub bars: BarSpace,
    completer_id: u16,
    /// MSI-X messages sent, in order.
    pub messages: Vec<Tlp>,
    /// The virtqueue engine and network loopback.
    pub engine: NetEngine,
    /// A notification arrived that the engine has not acted on.
    kicked: bool,
    /// What the writes of the current request asked of the engine.
    effect: WriteEffect,
}

/// DW index of `pci_cfg_data`.
const PCI_CFG_DATA_DW: usize = (layout::CAP_PCI_CFG + virtio::cap::PCI_CFG_DATA) / 4;

/// The bytes enabled by `be` as a bit mask.
pub fn byte_mask(be: u8) -> u32 {
    (0..4)
        .filter(|b| be & (1 << b) != 0)
        .fold(0, |m, b| m | 0xFF << (8 * b))
}

/// Byte enables of the first `len` bytes.
fn first_bytes(len: u32) -> u8 {
    ((1u16 << len) - 1) as u8
}

impl Function {
    /// The function after a fundamental reset.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            cfg: cfg.clone(),
            space: ConfigSpace::new(cfg),
            bars: BarSpace::new(cfg, true),
            completer_id: 0,
            messages: Vec::new(),
            engine: NetEngine::new(cfg.frame_buffer as usize),
            kicked: false,
            effect: WriteEffect::default(),
        }
    }

    /// Fundamental reset: everything returns to its power-on state (the
    /// network link stays as it is; the logs are kept).
    pub fn reset(&mut self) {
        let notifications = std::mem::take(&mut self.bars.notifications);
        self.space = ConfigSpace::new(&self.cfg);
        self.bars = BarSpace::new(&self.cfg, self.bars.net.link_up);
        self.bars.notifications = notifications;
        self.completer_id = 0;
        self.engine.reset();
        self.kicked = false;
        self.settle();
    }

    /// The device has given up (DEVICE_NEEDS_RESET): it does no DMA until
    /// it is reset.
    pub fn needs_reset(&self) -> bool {
        self.bars.common.has_status(status::DEVICE_NEEDS_RESET)
    }

    /// Host bytes whose value the model leaves open: once the device has
    /// given up (DEVICE_NEEDS_RESET), the `avail_event` fields of its
    /// queues. Publishing one is a hint that may or may not have happened
    /// on the way to the fault (a device may read ahead of the chain that
    /// fails), and the driver must reset the device before it uses the
    /// rings again.
    pub fn open_bytes(&self) -> Vec<Range<u64>> {
        let common = &self.bars.common;
        if !self.needs_reset() || common.negotiated() >> feature::RING_EVENT_IDX & 1 == 0 {
            return Vec::new();
        }
        common
            .queues
            .iter()
            .filter(|q| q.enabled)
            .map(|q| {
                let at = q.device + avail_event_offset(q.size);
                at..at + 2
            })
            .collect()
    }

    /// The conditions for sending MSI-X messages now.
    fn gate(&self) -> Gate {
        Gate {
            enable: self.space.msix_enabled(),
            function_mask: self.space.msix_masked(),
            bus_master: self.space.bus_master(),
            requester: self.completer_id,
        }
    }

    /// After every change: send what may be sent, update the INTx level.
    fn settle(&mut self) {
        let gate = self.gate();
        self.bars.msix.deliver(gate, &mut self.messages);
        self.space.intx_pending = self.bars.isr.bits != 0 && !self.space.msix_enabled();
    }

    /// Something outside the host's requests happens to the device.
    pub fn event(&mut self, event: DeviceEvent) {
        let gate = self.gate();
        match event {
            DeviceEvent::Link(up) => self.bars.set_link(up, gate),
            DeviceEvent::QueueIrq(q) => self.bars.queue_irq(q, gate),
            DeviceEvent::DeviceError => self.bars.device_error(gate),
        }
        self.settle();
    }

    /// Serve one request, then let the engine process what it can;
    /// returns the completion, if the function sends one.
    pub fn handle(&mut self, tlp: &Tlp, dma: &mut dyn Dma) -> Result<Option<Tlp>, HostError> {
        let cpl = self.serve(tlp);
        let effect = std::mem::take(&mut self.effect);
        if effect.reset {
            self.engine.reset();
            self.kicked = false;
        }
        if let Some(q) = effect.queue_reset {
            self.engine.reset_queue(q);
        }
        let common = &self.bars.common;
        self.kicked |= effect.notified && common.has_status(status::DRIVER_OK);
        // The loopback needs its receiveq and transmitq.
        let running = !common.has_status(status::DEVICE_NEEDS_RESET)
            && self.space.bus_master()
            && self.cfg.num_queues > virtio::net::TRANSMITQ;
        if self.kicked && running {
            self.kicked = false;
            let outcome = self.engine.run(dma, common)?;
            let gate = self.gate();
            self.bars.net.rx_dropped = self.bars.net.rx_dropped.wrapping_add(outcome.dropped);
            for q in outcome.notify {
                self.bars.queue_irq(q, gate);
            }
            if outcome.fault.is_some() {
                self.bars.device_error(gate);
            }
        }
        self.settle();
        Ok(cpl)
    }

    /// Write a DW behind a BAR, remembering what it asks of the engine.
    fn bar_write(&mut self, bar: u8, offset: u32, be: u8, value: u32) {
        let effect = self.bars.write(bar, offset, be, value);
        self.effect = self.effect.merge(effect);
    }

    fn serve(&mut self, tlp: &Tlp) -> Option<Tlp> {
        let class = classify(tlp.fmt_type());
        let non_posted = matches!(
            class,
            Class::CfgRead | Class::CfgWrite | Class::MemRead | Class::OtherNonPosted
        );
        match class {
            Class::Completion | Class::Message => return None,
            Class::Unknown => {
                self.space.record(ErrorEvent::Malformed);
                return None;
            }
            _ => {}
        }
        let framing_ok = if tlp.has_data() {
            tlp.data.len() as u32 == tlp.length_dw()
        } else {
            stream::beats(tlp.data.len()) == 1
        };
        let event = if !framing_ok {
            Some(ErrorEvent::Malformed)
        } else if tlp.poisoned() {
            Some(ErrorEvent::Poisoned)
        } else {
            None
        };
        if let Some(e) = event {
            return self.refuse(tlp, e, non_posted);
        }
        match class {
            Class::CfgRead | Class::CfgWrite => self.config(tlp, class == Class::CfgWrite),
            Class::MemRead | Class::MemWrite => self.memory(tlp, class == Class::MemRead),
            _ => self.refuse(tlp, ErrorEvent::Unsupported, true),
        }
    }

    fn refuse(&mut self, tlp: &Tlp, event: ErrorEvent, non_posted: bool) -> Option<Tlp> {
        self.space.record(event);
        non_posted.then(|| self.completion(tlp, cpl_status::UR, vec![], 4, 0))
    }

    fn config(&mut self, tlp: &Tlp, write: bool) -> Option<Tlp> {
        if tlp.length_dw() != 1 || tlp.last_be() != 0 {
            return self.refuse(tlp, ErrorEvent::Malformed, true);
        }
        let target = tlp.cfg_target();
        if target.func != 0 {
            return self.refuse(tlp, ErrorEvent::Unsupported, true);
        }
        let dw = tlp.cfg_reg_dw() as usize;
        let be = tlp.first_be();
        if write {
            // Every Type 0 configuration write carries our bus and device number.
            self.completer_id = target.id();
            self.space.write_dw(dw, be, tlp.data[0]);
        }
        let window = self
            .space
            .pci_cfg_window()
            .filter(|_| dw == PCI_CFG_DATA_DW && be != 0);
        if let Some((bar, offset, len)) = window {
            // The PCI_CFG window: the access happens on the BAR too.
            let shift = 8 * (offset % 4);
            let lanes = first_bytes(len) << (offset % 4);
            if write {
                let data = self.space.pci_cfg_data() << shift;
                self.bar_write(bar, offset & !3, lanes, data);
            } else {
                let data = self.bars.read(bar, offset & !3, lanes) >> shift;
                self.space.write_dw(dw, first_bytes(len), data);
            }
        }
        let data = if write {
            vec![]
        } else {
            vec![self.space.read_dw(dw)]
        };
        Some(self.completion(tlp, cpl_status::SC, data, 4, 0))
    }

    /// The BAR and offset a request of `len` DWs at `addr` falls in.
    fn decode(&self, addr: u64, len: u32) -> Option<(u8, u32)> {
        if !self.space.memory_enabled() {
            return None;
        }
        let last = addr.checked_add(4 * (len as u64 - 1))?;
        [
            (layout::VIRTIO_BAR, layout::VIRTIO_BAR_SIZE),
            (layout::MSIX_BAR, layout::MSIX_BAR_SIZE),
        ]
        .into_iter()
        .find_map(|(bar, size)| {
            let base = self.space.bar_base(bar) & !(size - 1);
            let inside = |a: u64| a & !(size - 1) == base;
            (inside(addr) && inside(last)).then(|| (bar, (addr - base) as u32))
        })
    }

    fn memory(&mut self, tlp: &Tlp, read: bool) -> Option<Tlp> {
        let len = tlp.length_dw();
        let (first_be, last_be) = (tlp.first_be(), tlp.last_be());
        let be_ok = if len == 1 {
            last_be == 0
        } else {
            first_be != 0 && last_be != 0
        };
        if !be_ok {
            return self.refuse(tlp, ErrorEvent::Malformed, read);
        }
        let addr = tlp.address();
        let target = if len as usize <= MAX_MMIO_DWS {
            self.decode(addr, len)
        } else {
            None
        };
        let Some((bar, offset)) = target else {
            self.space.record(ErrorEvent::Unsupported);
            let (count, lower) = read_span(addr, len, first_be, last_be);
            return read.then(|| self.completion(tlp, cpl_status::UR, vec![], count, lower));
        };
        if !read {
            for (i, &value) in tlp.data.iter().enumerate() {
                let be = dw_be(i as u32, len, first_be, last_be);
                self.bar_write(bar, offset + 4 * i as u32, be, value);
            }
            return None;
        }
        let data = (0..len)
            .map(|i| {
                self.bars
                    .read(bar, offset + 4 * i, dw_be(i, len, first_be, last_be))
            })
            .collect();
        let (count, lower) = read_span(addr, len, first_be, last_be);
        Some(self.completion(tlp, cpl_status::SC, data, count, lower))
    }

    fn completion(
        &self,
        req: &Tlp,
        status: u8,
        data: Vec<u32>,
        byte_count: u16,
        lower_addr: u8,
    ) -> Tlp {
        let ft = if data.is_empty() {
            fmt_type::CPL
        } else {
            fmt_type::CPLD
        };
        let dw0 = (ft as u32) << 24 | (req.hdr[0] & DW0_COPIED) | (data.len() as u32 & 0x3FF);
        let dw1 =
            (self.completer_id as u32) << 16 | (status as u32) << 13 | (byte_count as u32 & 0xFFF);
        let dw2 = (req.requester_id() as u32) << 16
            | (req.tag() as u32) << 8
            | (lower_addr as u32 & 0x7F);
        Tlp {
            hdr: [dw0, dw1, dw2, 0],
            data,
        }
    }
}

/// Byte Count and Lower Address of a memory read completion: the bytes from
/// the first enabled byte to the last enabled byte of the request (one byte
/// at the start address if none is enabled).
fn read_span(addr: u64, len: u32, first_be: u8, last_be: u8) -> (u16, u8) {
    let enabled: Vec<u32> = (0..len)
        .flat_map(|i| {
            let be = dw_be(i, len, first_be, last_be);
            (0..4)
                .filter(move |b| be & (1 << b) != 0)
                .map(move |b| 4 * i + b)
        })
        .collect();
    match (enabled.first(), enabled.last()) {
        (Some(&first), Some(&last)) => (
            (last - first + 1) as u16,
            (addr as u32 + first) as u8 & 0x7F,
        ),
        _ => (1, addr as u8 & 0x7F),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_count_follows_the_pcie_table() {
        // Length 1: from the first to the last enabled byte.
        assert_eq!(read_span(0x100, 1, 0b1111, 0), (4, 0x00));
        assert_eq!(read_span(0x100, 1, 0b0110, 0), (2, 0x01));
        assert_eq!(read_span(0x100, 1, 0b1000, 0), (1, 0x03));
        assert_eq!(read_span(0x100, 1, 0b1001, 0), (4, 0x00));
        assert_eq!(read_span(0x104, 1, 0b0000, 0), (1, 0x04));
        // Longer: Length * 4 minus the disabled bytes at both ends.
        assert_eq!(read_span(0x108, 2, 0b1100, 0b0011), (4, 0x0A));
        assert_eq!(read_span(0x180, 4, 0b1111, 0b1111), (16, 0x00));
        assert_eq!(read_span(0x1FC, 2, 0b1000, 0b0001), (2, 0x7F));
    }
}
