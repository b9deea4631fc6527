//! Random request traffic for RTL-vs-model regression.
//!
//! Seeded batches of configuration reads and writes over the whole 4 KiB
//! (biased to the implemented header and capabilities), memory reads and
//! writes near and inside the BARs with random lengths and byte enables,
//! field-sized accesses to the virtio structures and the MSI-X table with
//! values that mean something (status steps, offered features, powers of
//! two, valid vectors), and broken TLPs (unknown types, wrong lengths,
//! poisoned, other functions). Between batches: device events (link changes,
//! queue interrupts, device errors), and now and then a reset or a full
//! driver initialisation. Requests of a batch are in flight together; every
//! completion, notification, MSI-X message and the INTx level are compared.

use crate::dma_server;
use crate::driver::{self, DriverOptions};
use crate::endpoint::{DeviceEvent, Endpoint};
use crate::host::Host;
use crate::lockstep::Lockstep;
use crate::memory::Access;
use crate::probe::{probe, Placement, ProbeError};
use crate::rng::Rng;
use crate::tlp::{Bdf, Completion, ReqId, Tlp};
use vireo_regs::dma::READ_TAGS;
use vireo_regs::layout;
use vireo_regs::tlp::fmt_type;

/// A random configuration DW: mostly the implemented part.
fn cfg_dw(rng: &mut Rng) -> u16 {
    match rng.below(10) {
        0 => rng.below(1024) as u16,
        1 => 64 + rng.below(64) as u16,
        _ => rng.below(64) as u16,
    }
}

/// A random value to write: all-ones, zero or random bits.
fn value(rng: &mut Rng) -> u32 {
    match rng.below(4) {
        0 => u32::MAX,
        1 => 0,
        _ => rng.next_u32(),
    }
}

/// Where BAR `bar` of `size` bytes starts, as the model has it.
fn bar_start(host: &Host<Lockstep>, bar: u8, size: u64) -> u64 {
    host.ep.model.function.space.bar_base(bar) & !(size - 1)
}

/// A random memory address: inside a BAR (possibly near its end), or not.
fn mem_addr(rng: &mut Rng, host: &Host<Lockstep>) -> u64 {
    let (bar, size) = match rng.below(3) {
        0 => (layout::VIRTIO_BAR, layout::VIRTIO_BAR_SIZE),
        1 => (layout::MSIX_BAR, layout::MSIX_BAR_SIZE),
        _ => return rng.next_u64() & !3 & 0x0000_FFFF_FFFF_FFFF,
    };
    let base = bar_start(host, bar, size);
    let off = if rng.percent(30) {
        size - 4 * (1 + rng.below(4))
    } else {
        rng.below(size) & !3
    };
    base.wrapping_add(off)
}

/// A field-sized access to a virtio structure or the MSI-X table/PBA.
fn register_access(rng: &mut Rng, host: &mut Host<Lockstep>) -> Tlp {
    use vireo_regs::virtio::{common, status};
    let bar0 = bar_start(host, layout::VIRTIO_BAR, layout::VIRTIO_BAR_SIZE);
    let bar2 = bar_start(host, layout::MSIX_BAR, layout::MSIX_BAR_SIZE);
    let (addr, size) = match rng.below(10) {
        0..=4 => (
            bar0 + layout::COMMON_OFFSET as u64 + rng.below(0x44),
            *rng.pick(&[1, 2, 2, 4, 4, 8]),
        ),
        5 => (bar0 + layout::ISR_OFFSET as u64 + rng.below(4), 1),
        6 => (
            bar0 + layout::DEVICE_OFFSET as u64 + rng.below(0x10),
            *rng.pick(&[1, 2, 4]),
        ),
        7 => (
            bar0 + layout::NOTIFY_OFFSET as u64 + 4 * rng.below(3),
            *rng.pick(&[1, 2, 4]),
        ),
        8 => (bar2 + layout::MSIX_TABLE_OFFSET as u64 + rng.below(0x34), 4),
        _ => (
            bar2 + layout::MSIX_PBA_OFFSET as u64 + rng.below(0x10),
            *rng.pick(&[4, 8]),
        ),
    };
    let addr = addr & !(size as u64 - 1);
    let value = match addr.wrapping_sub(bar0) as usize {
        common::DEVICE_STATUS => {
            let steps = [
                status::ACKNOWLEDGE,
                status::DRIVER,
                status::FEATURES_OK,
                status::DRIVER_OK,
            ];
            let upto = rng.below(steps.len() as u64 + 1) as usize;
            steps[..upto].iter().fold(0u8, |s, b| s | b) as u64
                | *rng.pick(&[0, 0, status::FAILED, status::DEVICE_NEEDS_RESET]) as u64
        }
        common::DRIVER_FEATURE => {
            let offered = vireo_sim::device_config().features;
            let random = rng.next_u32();
            *rng.pick(&[offered as u32, (offered >> 32) as u32, 1, random]) as u64
        }
        common::QUEUE_SIZE => 1 << rng.below(11),
        common::CONFIG_MSIX_VECTOR | common::QUEUE_MSIX_VECTOR => *rng.pick(&[0, 1, 2, 3, 0xFFFF]),
        common::QUEUE_ENABLE | common::QUEUE_SELECT | common::QUEUE_RESET => rng.below(3),
        // MSI-X table: addresses in the platform's doorbell windows.
        _ if addr >= bar2 && addr < bar2 + layout::MSIX_PBA_OFFSET as u64 => {
            match (addr - bar2) % 16 {
                0 => dma_server::MSI_WINDOWS[0].start + 4 * rng.below(16),
                4 => rng.below(2),
                12 => rng.below(2),
                _ => rng.next_u64(),
            }
        }
        _ => rng.next_u64(),
    };
    let id = host.next_id();
    let (len, first, last) = if size == 8 {
        (2, 0xF, 0xF)
    } else {
        (1, crate::host::size_be(addr, size), 0)
    };

    if rng.percent(50) {
        Tlp::mem_rd(id, addr & !3, len, first, last)
    } else {
        let v = if size == 8 {
            value
        } else {
            value << (8 * (addr % 4))
        };
        Tlp::mem_wr(
            id,
            addr & !3,
            (0..len).map(|i| (v >> (32 * i)) as u32).collect(),
            first,
            last,
        )
    }
}

/// One random request.
fn request(rng: &mut Rng, host: &mut Host<Lockstep>) -> Tlp {
    let id = host.next_id();
    let target = host.target;
    let be = |rng: &mut Rng| rng.below(16) as u8;
    match rng.below(100) {
        0..=24 => Tlp::cfg_rd0(id, target, cfg_dw(rng), be(rng)),
        25..=39 => Tlp::cfg_wr0(id, target, cfg_dw(rng), be(rng), value(rng)),
        40..=64 => register_access(rng, host),
        65..=84 => {
            let addr = mem_addr(rng, host);
            let len = 1 + rng.below(6) as u32;
            let (first, last) = match (len, rng.below(5)) {
                (1, 0) => (be(rng), be(rng)),
                (1, _) => (be(rng), 0),
                (_, 0) => (be(rng), be(rng)),
                _ => (1 + rng.below(15) as u8, 1 + rng.below(15) as u8),
            };
            if rng.percent(50) {
                Tlp::mem_rd(id, addr, len, first, last)
            } else {
                Tlp::mem_wr(
                    id,
                    addr,
                    (0..len).map(|_| value(rng)).collect(),
                    first,
                    last,
                )
            }
        }
        _ => broken(rng, id, target),
    }
}

/// A request that breaks a rule.
fn broken(rng: &mut Rng, id: ReqId, target: Bdf) -> Tlp {
    let dw = cfg_dw(rng);
    let mut t = match rng.below(8) {
        0 => Tlp::cfg_rd0(
            id,
            Bdf {
                func: 1 + rng.below(7) as u8,
                ..target
            },
            dw,
            0xF,
        ),
        1 => Tlp::cfg_wr0(id, target, dw, 0xF, value(rng)),
        2 => Tlp::cfg_rd0(id, target, dw, 0xF),
        3 => Tlp::mem_wr(id, rng.next_u64() & 0xFFFF_FFFC, vec![value(rng)], 0xF, 0),
        _ => {
            let codes = [
                fmt_type::IORD,
                fmt_type::IOWR,
                fmt_type::CFGRD1,
                fmt_type::MRDLK32,
                fmt_type::FETCHADD32,
                fmt_type::CAS64,
                fmt_type::MSG | 4,
                fmt_type::CPLD,
                0x1B,
                0x7F,
            ];
            let ft = *rng.pick(&codes);
            let data = if ft & vireo_regs::tlp::FMT_DATA != 0 {
                vec![value(rng)]
            } else {
                vec![]
            };
            let mut t = Tlp::cfg_rd0(id, target, dw, 0xF);
            t.hdr[0] = (ft as u32) << 24 | 1;
            t.data = data;
            if ft == fmt_type::CPLD {
                // DW 2 reads as Requester ID (the device) and Tag: take a tag
                // the device never uses. A completion for one of its own
                // outstanding reads races with the real one, which the
                // model (whose reads complete at once) cannot follow.
                t.hdr[2] = (t.hdr[2] & !0xFF00)
                    | (READ_TAGS as u32 + rng.below(0x100 - READ_TAGS as u64) as u32) << 8;
            }
            t
        }
    };
    match rng.below(4) {
        // Poisoned.
        0 => t.hdr[0] |= 1 << 14,
        // Length that disagrees with the payload.
        1 => t.hdr[0] = (t.hdr[0] & !0x3FF) | (2 + rng.below(8) as u32),
        // A Last DW BE on a 1-DW request.
        2 => t.hdr[1] |= 0xF0,
        _ => {}
    }
    t
}

/// Totals of a fuzz run.
#[derive(Clone, Copy, Debug, Default)]
pub struct FuzzStats {
    /// Requests sent.
    pub requests: u64,
    /// Batches sent.
    pub batches: u64,
    /// Requests answered with Successful Completion.
    pub successful: u64,
    /// Requests answered with another status.
    pub refused: u64,
    /// Requests with no completion (posted or dropped).
    pub silent: u64,
    /// Resets.
    pub resets: u64,
    /// Device events.
    pub events: u64,
    /// Driver initialisations.
    pub inits: u64,
    /// MSI-X messages the device sent.
    pub messages: u64,
    /// Available buffer notifications the device took.
    pub notifications: u64,
}

impl FuzzStats {
    /// Add another run's totals.
    pub fn add(&mut self, o: &FuzzStats) {
        self.requests += o.requests;
        self.batches += o.batches;
        self.successful += o.successful;
        self.refused += o.refused;
        self.silent += o.silent;
        self.resets += o.resets;
        self.events += o.events;
        self.inits += o.inits;
        self.messages += o.messages;
        self.notifications += o.notifications;
    }
}

/// Whether `tlp` is a memory write that may reach `queue_reset` or
/// `device_status`. The RTL takes a while over a reset, the model none:
/// during a queue reset queue_reset reads 1 and the queue's fields keep
/// their values (virtio 4.1.4.3.2), during a device reset device_status
/// keeps its value and writes have no effect (the driver waits for it to
/// read 0: virtio 2.4.1), until the device's reads in flight are back. A
/// batch ends with such a write, so that the requests after it compare
/// once the reset is complete.
fn may_reset(tlp: &Tlp, host: &Host<Lockstep>) -> bool {
    use vireo_regs::virtio::common;
    if ![fmt_type::MWR32, fmt_type::MWR64].contains(&tlp.fmt_type()) {
        return false;
    }
    let bar0 = bar_start(host, layout::VIRTIO_BAR, layout::VIRTIO_BAR_SIZE);
    let start = tlp.address() & !3;
    let written = start..start.saturating_add(4 * tlp.length_dw() as u64);
    [common::QUEUE_RESET, common::DEVICE_STATUS]
        .iter()
        .any(|&f| written.contains(&((bar0 + (layout::COMMON_OFFSET as usize + f) as u64) & !3)))
}

/// Probe, then send `ops` random requests in batches of 1..=8 through
/// `host`, comparing RTL and model; occasionally reset and re-probe.
pub fn run(host: &mut Host<Lockstep>, rng: &mut Rng, ops: u64) -> Result<FuzzStats, ProbeError> {
    let mut stats = FuzzStats::default();
    // Random writes point the rings anywhere; what is checked here is the
    // transport, so all of (zeroed) host memory is open to the device.
    host.ep.grant(0..u64::MAX, Access::Read);
    host.ep.grant(0..u64::MAX, Access::Write);
    probe(host, Placement::default())?;
    while stats.requests < ops {
        if rng.percent(1) {
            host.ep.reset()?;
            probe(host, Placement::default())?;
            stats.resets += 1;
            continue;
        }
        if rng.percent(1) {
            // A full initialisation (it may fail when random writes left the
            // BARs elsewhere; the comparison is what counts).
            let opts = DriverOptions {
                msix: rng.percent(70),
                ..DriverOptions::default()
            };
            let probed = probe(host, Placement::default())?;
            match driver::init(host, &probed, opts) {
                Err(driver::DriverError::Host(e)) => return Err(e.into()),
                _ => stats.inits += 1,
            }
            continue;
        }
        if rng.percent(10) {
            let event = match rng.below(10) {
                0..=3 => DeviceEvent::Link(rng.percent(50)),
                4..=8 => DeviceEvent::QueueIrq(rng.below(3) as u16),
                _ => DeviceEvent::DeviceError,
            };
            host.ep.event(event)?;
            stats.events += 1;
        }
        let n = (1 + rng.below(8)).min(ops - stats.requests);
        let mut batch = Vec::new();
        while (batch.len() as u64) < n {
            let tlp = request(rng, host);
            let last = may_reset(&tlp, host);
            batch.push(tlp);
            if last {
                break;
            }
        }
        let n = batch.len() as u64;
        for cpl in host.ep.transact(&batch)? {
            match cpl.as_ref().and_then(Completion::parse) {
                Some(c) if c.ok() => stats.successful += 1,
                Some(_) => stats.refused += 1,
                None => stats.silent += 1,
            }
        }
        stats.requests += n;
        stats.batches += 1;
    }
    stats.messages = host.ep.messages().len() as u64;
    stats.notifications = host.ep.notifications().len() as u64;
    Ok(stats)
}
