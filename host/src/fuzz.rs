//! Random request traffic for RTL-vs-model regression.
//!
//! Seeded batches of configuration reads and writes over the whole 4 KiB
//! (biased to the implemented header and capabilities), memory reads and
//! writes near and inside the BARs with random lengths and byte enables, and
//! broken TLPs (unknown types, wrong lengths, poisoned, other functions).
//! Requests of a batch are in flight together; every completion is compared.

use crate::endpoint::Endpoint;
use crate::host::Host;
use crate::lockstep::Lockstep;
use crate::probe::{probe, Placement, ProbeError};
use crate::rng::Rng;
use crate::tlp::{Bdf, Completion, ReqId, Tlp};
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

/// A random memory address: inside a BAR (possibly near its end), or not.
fn mem_addr(rng: &mut Rng, host: &Host<Lockstep>) -> u64 {
    let space = &host.ep.model.function.space;
    let (base, size) = match rng.below(3) {
        0 => (space.bar_base(layout::VIRTIO_BAR), layout::VIRTIO_BAR_SIZE),
        1 => (space.bar_base(layout::MSIX_BAR), layout::MSIX_BAR_SIZE),
        _ => return rng.next_u64() & !3 & 0x0000_FFFF_FFFF_FFFF,
    };
    let base = base & !(size - 1);
    let off = if rng.percent(30) {
        size - 4 * (1 + rng.below(4))
    } else {
        rng.below(size) & !3
    };
    base.wrapping_add(off)
}

/// One random request.
fn request(rng: &mut Rng, host: &mut Host<Lockstep>) -> Tlp {
    let id = host.next_id();
    let target = host.target;
    let be = |rng: &mut Rng| rng.below(16) as u8;
    match rng.below(100) {
        0..=34 => Tlp::cfg_rd0(id, target, cfg_dw(rng), be(rng)),
        35..=54 => Tlp::cfg_wr0(id, target, cfg_dw(rng), be(rng), value(rng)),
        55..=79 => {
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
    }
}

/// Probe, then send `ops` random requests in batches of 1..=8 through
/// `host`, comparing RTL and model; occasionally reset and re-probe.
pub fn run(host: &mut Host<Lockstep>, rng: &mut Rng, ops: u64) -> Result<FuzzStats, ProbeError> {
    let mut stats = FuzzStats::default();
    probe(host, Placement::default())?;
    while stats.requests < ops {
        if rng.percent(1) {
            host.ep.reset()?;
            probe(host, Placement::default())?;
            stats.resets += 1;
            continue;
        }
        let n = (1 + rng.below(8)).min(ops - stats.requests);
        let batch: Vec<Tlp> = (0..n).map(|_| request(rng, host)).collect();
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
    Ok(stats)
}
