//! The root complex's side of device DMA.
//!
//! Serves the memory reads the device issues: after a completion latency
//! (fixed or random), the data comes back as one or more CplD TLPs, split at
//! the Read Completion Boundary or at random RCB-aligned points, and the
//! completions of different tags interleave in random order (those of one
//! tag stay in address order, as PCIe requires). Applies the device's memory
//! writes to host memory; a write into an MSI doorbell window is an
//! interrupt message instead.
//!
//! Reads of ranges in the fault map fail as injected: a Cpl with UR or CA
//! status, poisoned CplDs (EP set), or no completion at all (the read
//! counts as busy until well after the device's completion timeout).
//!
//! Every device request is checked: Bus Master Enable must be set (the
//! server learns it, and MPS/MRRS, from the host's configuration writes: a
//! write in flight allows the more permissive of the old and new setting, a
//! completed one settles it), a read must not exceed MRRS, a write MPS,
//! neither may cross a 4 KiB boundary, the byte enables must follow the
//! rules, and every byte must be inside a range the containment map grants.

use crate::endpoint::HostError;
use crate::memory::{Access, Containment, FaultMap, HostMemory, ReadFault};
use crate::rng::Rng;
use crate::tlp::{Bdf, Tlp};
use std::ops::Range;
use vireo_regs::dma::COMPLETION_TIMEOUT_CYCLES;
use vireo_regs::tlp::{cpl_status, fmt_type, FMT_4DW};
use vireo_regs::{layout, pci};

/// How long a read without completion keeps the server busy: past the
/// device's completion timeout and its timer's resolution.
pub const DROPPED_READ_CYCLES: u64 = COMPLETION_TIMEOUT_CYCLES + 2048;

/// The EP (poisoned) bit of header DW0.
const DW0_EP: u32 = 1 << 14;

/// Address ranges where a device write is an interrupt message: the x86
/// MSI window, and a 64-bit doorbell above 4 GiB (as an interrupt
/// translation service would have).
pub const MSI_WINDOWS: [Range<u64>; 2] = [0xFEE0_0000..0xFF00_0000, 0x1_FEE0_0000..0x1_FF00_0000];

/// The Read Completion Boundary of the root complex.
pub const RCB: u64 = 64;

/// How long a read takes to complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    /// Always this many cycles.
    Fixed(u64),
    /// Uniformly between the two (inclusive).
    Uniform(u64, u64),
}

/// Where a read's data is split into completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// One completion per read.
    Whole,
    /// At every RCB boundary.
    Rcb,
    /// At random RCB boundaries.
    Random,
}

/// Completion behaviour of the root complex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaConfig {
    /// Completion latency.
    pub latency: Latency,
    /// Completion splitting.
    pub split: Split,
}

impl Default for DmaConfig {
    fn default() -> Self {
        Self {
            latency: Latency::Fixed(250),
            split: Split::Rcb,
        }
    }
}

impl DmaConfig {
    /// Random (seeded) completion behaviour.
    pub fn random(rng: &mut Rng) -> Self {
        let latency = match rng.below(4) {
            0 => Latency::Fixed(*rng.pick(&[0, 10, 250, 500])),
            1 => Latency::Uniform(0, 50),
            _ => Latency::Uniform(150, 600),
        };
        Self {
            latency,
            split: *rng.pick(&[Split::Whole, Split::Rcb, Split::Random]),
        }
    }
}

/// A read waiting for its completions.
#[derive(Clone, Debug)]
struct Pending {
    requester: u16,
    tag: u8,
    /// Address of the next byte to return.
    addr: u64,
    /// Bytes still to return, starting at `addr`.
    data: Vec<u8>,
    due: u64,
    /// How the read fails, if it does.
    fault: Option<ReadFault>,
}

/// State the server learns from the host's configuration writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Snooped {
    bus_master: bool,
    max_payload: u64,
    max_read: u64,
}

impl Snooped {
    /// The state after the configuration write `tlp` takes effect.
    fn after(self, tlp: &Tlp) -> Snooped {
        let mut s = self;
        let (dw, be, value) = (tlp.cfg_reg_dw() as usize * 4, tlp.first_be(), tlp.data[0]);
        if dw == pci::hdr::COMMAND && be & 1 != 0 {
            s.bus_master = value & pci::command::BUS_MASTER as u32 != 0;
        }
        if dw == layout::CAP_EXP + pci::exp::DEVCTL {
            let field =
                |shift: u16| 128u64 << ((value >> shift) & pci::exp::SIZE_FIELD_MASK as u32);
            if be & 1 != 0 {
                s.max_payload = field(pci::exp::DEVCTL_MPS_SHIFT);
            }
            if be & 2 != 0 {
                s.max_read = field(pci::exp::DEVCTL_MRRS_SHIFT);
            }
        }
        s
    }
}

impl Default for Snooped {
    fn default() -> Self {
        Self {
            bus_master: false,
            max_payload: 128,
            max_read: 512,
        }
    }
}

/// What the device asked of host memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DmaStats {
    /// Memory read requests.
    pub reads: u64,
    /// Bytes those reads asked for.
    pub read_bytes: u64,
    /// Memory write requests to host memory (interrupt messages not counted).
    pub writes: u64,
    /// Bytes those writes carried (enabled bytes).
    pub write_bytes: u64,
}

impl DmaStats {
    /// What was asked since `earlier` was taken.
    pub fn since(&self, earlier: &DmaStats) -> DmaStats {
        DmaStats {
            reads: self.reads - earlier.reads,
            read_bytes: self.read_bytes - earlier.read_bytes,
            writes: self.writes - earlier.writes,
            write_bytes: self.write_bytes - earlier.write_bytes,
        }
    }
}

/// Host memory, the containment map and the reads in flight.
#[derive(Clone, Debug)]
pub struct DmaServer {
    /// Host memory.
    pub memory: HostMemory,
    /// What the device may touch.
    pub containment: Containment,
    /// Reads that fail.
    pub faults: FaultMap,
    cfg: DmaConfig,
    rng: Rng,
    pending: Vec<Pending>,
    snooped: Snooped,
    in_flight: Vec<Tlp>,
    /// Interrupt messages, in arrival order.
    pub messages: Vec<Tlp>,
    /// Where a device write is an interrupt message ([`MSI_WINDOWS`]
    /// unless the platform has its own).
    pub msi_windows: Vec<Range<u64>>,
    /// Requests served so far.
    pub stats: DmaStats,
}

fn malformed(tlp: &Tlp, reason: String) -> HostError {
    HostError::Malformed {
        tlp: tlp.clone(),
        reason,
    }
}

impl DmaServer {
    /// A server with empty memory and no grants.
    pub fn new(cfg: DmaConfig, rng: Rng) -> Self {
        Self {
            memory: HostMemory::default(),
            containment: Containment::default(),
            faults: FaultMap::default(),
            cfg,
            rng,
            pending: Vec::new(),
            snooped: Snooped::default(),
            in_flight: Vec::new(),
            messages: Vec::new(),
            msi_windows: MSI_WINDOWS.to_vec(),
            stats: DmaStats::default(),
        }
    }

    /// Reads are waiting for their completions.
    pub fn busy(&self) -> bool {
        !self.pending.is_empty()
    }

    /// A read that will never complete is waiting for the device to time
    /// it out.
    pub fn awaiting_timeout(&self) -> bool {
        self.pending
            .iter()
            .any(|p| p.fault == Some(ReadFault::Drop))
    }

    /// The function was reset: forget what was learnt and what was pending.
    pub fn reset(&mut self) {
        self.snooped = Snooped::default();
        self.in_flight.clear();
        self.pending.clear();
    }

    /// The host sent `tlp` to the function.
    pub fn sent(&mut self, tlp: &Tlp) {
        if tlp.fmt_type() == fmt_type::CFGWR0 && tlp.cfg_target().func == 0 {
            self.in_flight.push(tlp.clone());
        }
    }

    /// The function completed the request with `tag`; `ok` if successfully.
    pub fn completed(&mut self, requester: u16, tag: u8, ok: bool) {
        if let Some(i) = self
            .in_flight
            .iter()
            .position(|t| t.tag() == tag && t.requester_id() == requester)
        {
            let t = self.in_flight.remove(i);
            if ok {
                self.snooped = self.snooped.after(&t);
            }
        }
    }

    /// What the device may do now: the settled state, or what a write in
    /// flight makes of it, whichever allows more.
    fn allowed(&self) -> Snooped {
        self.in_flight
            .iter()
            .map(|t| self.snooped.after(t))
            .fold(self.snooped, |a, b| Snooped {
                bus_master: a.bus_master || b.bus_master,
                max_payload: a.max_payload.max(b.max_payload),
                max_read: a.max_read.max(b.max_read),
            })
    }

    fn latency(&mut self) -> u64 {
        match self.cfg.latency {
            Latency::Fixed(n) => n,
            Latency::Uniform(a, b) => a + self.rng.below(b - a + 1),
        }
    }

    /// Check the rules every device request follows; returns (first byte
    /// address, byte count).
    fn check_request(&self, tlp: &Tlp, limit: u64) -> Result<(u64, u64), HostError> {
        if !self.allowed().bus_master {
            return Err(malformed(
                tlp,
                "request while Bus Master Enable is clear".into(),
            ));
        }
        let addr = tlp.address();
        if addr >> 32 == 0 && tlp.fmt_type() & FMT_4DW != 0 {
            return Err(malformed(
                tlp,
                "4-DW header for an address below 4 GiB".into(),
            ));
        }
        let len = tlp.length_dw() as u64;
        let (first, last) = (tlp.first_be(), tlp.last_be());
        let be_ok = if len == 1 {
            last == 0
        } else {
            first != 0 && last != 0
        };
        if !be_ok || (len == 1 && first == 0) {
            return Err(malformed(
                tlp,
                format!("byte enables {last:x}/{first:x} for {len} DWs"),
            ));
        }
        if len * 4 > limit {
            return Err(malformed(
                tlp,
                format!("{} bytes, more than the {limit} allowed", len * 4),
            ));
        }
        if addr / 4096 != (addr + len * 4 - 1) / 4096 {
            return Err(malformed(tlp, "crosses a 4 KiB boundary".into()));
        }
        let skip = first.trailing_zeros() as u64;
        let end_skip = if len == 1 {
            (first.leading_zeros() - 4) as u64
        } else {
            (last.leading_zeros() - 4) as u64
        };
        Ok((addr + skip, len * 4 - skip - end_skip))
    }

    /// Take a request the device sent: a read is queued for completion, a
    /// write is applied (or recorded as an interrupt message).
    pub fn device_request(&mut self, tlp: &Tlp, now: u64) -> Result<(), HostError> {
        let ft = tlp.fmt_type() & !FMT_4DW;
        if ft == fmt_type::MRD32 {
            let (start, count) = self.check_request(tlp, self.allowed().max_read)?;
            self.containment
                .check(start, count, Access::Read)
                .map_err(|at| {
                    malformed(
                        tlp,
                        format!("read of {at:#x}, which the device may not read"),
                    )
                })?;
            let fault = self.faults.check(start, count);
            let due = match fault {
                Some(ReadFault::Drop) => now + DROPPED_READ_CYCLES,
                _ => now + self.latency(),
            };
            let data = self.memory.read(start, count as usize);
            self.stats.reads += 1;
            self.stats.read_bytes += count;
            self.pending.push(Pending {
                requester: tlp.requester_id(),
                tag: tlp.tag(),
                addr: start,
                data,
                due,
                fault,
            });
            return Ok(());
        }
        if ft == fmt_type::MWR32 {
            let (start, count) = self.check_request(tlp, self.allowed().max_payload)?;
            if self.msi_windows.iter().any(|w| w.contains(&start)) {
                if tlp.length_dw() != 1 || tlp.first_be() != 0xF {
                    return Err(malformed(
                        tlp,
                        "an interrupt message is one whole DW".into(),
                    ));
                }
                self.messages.push(tlp.clone());
                return Ok(());
            }
            self.containment
                .check(start, count, Access::Write)
                .map_err(|at| {
                    malformed(
                        tlp,
                        format!("write of {at:#x}, which the device may not write"),
                    )
                })?;
            let bytes: Vec<u8> = tlp.data.iter().flat_map(|d| d.to_le_bytes()).collect();
            let skip = (start - tlp.address()) as usize;
            self.stats.writes += 1;
            self.stats.write_bytes += count;
            self.memory
                .write(start, &bytes[skip..skip + count as usize]);
            return Ok(());
        }
        Err(HostError::Unexpected { tlp: tlp.clone() })
    }

    /// Completions due at cycle `now`, at most one per pending read,
    /// in random order across reads.
    pub fn completions(&mut self, now: u64) -> Vec<Tlp> {
        let mut due: Vec<usize> = (0..self.pending.len())
            .filter(|&i| self.pending[i].due <= now)
            .collect();
        // Random order across tags.
        for i in (1..due.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            due.swap(i, j);
        }
        let mut out = Vec::new();
        for i in due {
            let split = self.cfg.split;
            let p = &mut self.pending[i];
            let status = match p.fault {
                Some(ReadFault::Drop) => {
                    p.data.clear();
                    continue;
                }
                Some(ReadFault::Ur) => cpl_status::UR,
                Some(ReadFault::Ca) => cpl_status::CA,
                _ => cpl_status::SC,
            };
            let remaining = p.data.len() as u64;
            let byte_count = (remaining & 0xFFF) as u32;
            let dw1 = (Bdf::default().id() as u32) << 16 | (status as u32) << 13 | byte_count;
            let dw2 = (p.requester as u32) << 16 | (p.tag as u32) << 8 | (p.addr & 0x7F) as u32;
            if status != cpl_status::SC {
                // One completion without data ends the request.
                out.push(Tlp {
                    hdr: [(fmt_type::CPL as u32) << 24, dw1, dw2, 0],
                    data: Vec::new(),
                });
                p.data.clear();
                continue;
            }
            let to_boundary = RCB - p.addr % RCB;
            let take = match split {
                Split::Whole => remaining,
                Split::Rcb => to_boundary.min(remaining),
                Split::Random => {
                    let extra = RCB * self.rng.below(remaining / RCB + 1);
                    (to_boundary + extra).min(remaining)
                }
            };
            let bytes: Vec<u8> = p.data.drain(..take as usize).collect();
            let dw_base = p.addr & !3;
            let mut payload = vec![0u8; (p.addr - dw_base) as usize];
            payload.extend(&bytes);
            payload.resize(payload.len().div_ceil(4) * 4, 0);
            let data: Vec<u32> = payload
                .chunks(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            let ep = if p.fault == Some(ReadFault::Poison) {
                DW0_EP
            } else {
                0
            };
            let dw0 = (fmt_type::CPLD as u32) << 24 | ep | (data.len() as u32 & 0x3FF);
            out.push(Tlp {
                hdr: [dw0, dw1, dw2, 0],
                data,
            });
            p.addr += take;
            p.due = now + 1;
        }
        self.pending.retain(|p| !p.data.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlp::{Completion, ReqId};

    fn server(split: Split) -> DmaServer {
        let mut s = DmaServer::new(
            DmaConfig {
                latency: Latency::Fixed(5),
                split,
            },
            Rng::new(1),
        );
        s.snooped.bus_master = true;
        s.memory.write(0x1000, &(0..=255).collect::<Vec<u8>>());
        s.containment.grant(0x1000..0x1100, Access::Read);
        s.containment.grant(0x2000..0x2100, Access::Write);
        s
    }

    fn read(at: u64, dws: u32, first: u8, last: u8) -> Tlp {
        Tlp::mem_rd(
            ReqId {
                requester: 0x0100,
                tag: 3,
            },
            at,
            dws,
            first,
            last,
        )
    }

    #[test]
    fn reads_complete_after_the_latency_split_at_the_rcb() {
        let mut s = server(Split::Rcb);
        // 100 bytes from 0x1032: DWs 0x1030..0x1098, bytes 2..=3 of the first DW skipped.
        s.device_request(&read(0x1030, 26, 0b1100, 0b0011), 0)
            .unwrap();
        assert!(s.completions(4).is_empty());
        let c1 = s.completions(5);
        assert_eq!(c1.len(), 1);
        let p1 = Completion::parse(&c1[0]).unwrap();
        assert_eq!((p1.byte_count, p1.lower_addr, p1.tag), (100, 0x32, 3));
        assert_eq!(c1[0].data.len(), 4, "0x1030..0x1040: up to the RCB");
        assert_eq!(c1[0].data[0] >> 16, 0x3332);
        let c2 = s.completions(6);
        let p2 = Completion::parse(&c2[0]).unwrap();
        assert_eq!((p2.byte_count, p2.lower_addr), (86, 0x40));
        assert_eq!(c2[0].data[0], 0x4342_4140);
        let rest: Vec<Tlp> = (7..20).flat_map(|t| s.completions(t)).collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(Completion::parse(&rest[0]).unwrap().byte_count, 22);
        assert!(!s.busy());
    }

    #[test]
    fn injected_faults_answer_reads_with_errors_or_not_at_all() {
        let mut s = server(Split::Rcb);
        s.faults.inject(0x1040..0x1041, ReadFault::Ur);
        s.faults.inject(0x1080..0x1090, ReadFault::Poison);
        s.faults.inject(0x10C0..0x10C4, ReadFault::Drop);
        s.device_request(&read(0x1000, 32, 0xF, 0xF), 0).unwrap();
        let ur = s.completions(5);
        assert_eq!(ur.len(), 1);
        let c = Completion::parse(&ur[0]).unwrap();
        assert_eq!(
            (c.status, c.byte_count, ur[0].data.len()),
            (cpl_status::UR, 128, 0)
        );
        assert!(!s.busy(), "an error completion ends the read");
        s.device_request(&read(0x1080, 4, 0xF, 0xF), 10).unwrap();
        let poisoned = s.completions(15);
        assert_ne!(poisoned[0].hdr[0] & DW0_EP, 0);
        s.device_request(&read(0x10C0, 1, 0xF, 0), 20).unwrap();
        assert!(s.completions(20 + DROPPED_READ_CYCLES - 1).is_empty());
        assert!(s.busy() && s.awaiting_timeout());
        assert!(s.completions(20 + DROPPED_READ_CYCLES).is_empty());
        assert!(!s.busy());
    }

    #[test]
    fn requests_that_break_the_rules_fail() {
        let mut s = server(Split::Whole);
        assert!(
            s.device_request(&read(0x10F0, 8, 0xF, 0xF), 0).is_err(),
            "beyond the grant"
        );
        assert!(
            s.device_request(&read(0x1FFC, 2, 0xF, 0xF), 0).is_err(),
            "crosses 4 KiB"
        );
        assert!(
            s.device_request(&read(0x1000, 129, 0xF, 0xF), 0).is_err(),
            "more than MRRS"
        );
        assert!(
            s.device_request(&read(0x1000, 1, 0xF, 0x1), 0).is_err(),
            "last BE on 1 DW"
        );
        let w = Tlp::mem_wr(ReqId::default(), 0x2004, vec![0xAABB_CCDD], 0b0110, 0);
        s.device_request(&w, 0).unwrap();
        assert_eq!(s.memory.read(0x2004, 4), vec![0, 0xCC, 0xBB, 0]);
        let stray = Tlp::mem_wr(ReqId::default(), 0x1000, vec![0], 0xF, 0);
        assert!(s.device_request(&stray, 0).is_err(), "not writable");
        let msi = Tlp::mem_wr(ReqId::default(), 0xFEE0_0000, vec![0x4001], 0xF, 0);
        s.device_request(&msi, 0).unwrap();
        assert_eq!(s.messages.len(), 1);
        s.snooped.bus_master = false;
        assert!(
            s.device_request(&read(0x1000, 1, 0xF, 0), 0).is_err(),
            "Bus Master Enable clear"
        );
    }

    #[test]
    fn bus_master_enable_follows_config_writes_in_flight_and_completed() {
        let mut s = server(Split::Whole);
        s.snooped.bus_master = false;
        let dev = Bdf {
            bus: 1,
            dev: 0,
            func: 0,
        };
        let enable = Tlp::cfg_wr0(
            ReqId {
                requester: 0,
                tag: 9,
            },
            dev,
            1,
            0x1,
            0x6,
        );
        let rd = read(0x1000, 1, 0xF, 0);
        assert!(s.device_request(&rd, 0).is_err());
        s.sent(&enable);
        s.device_request(&rd, 0)
            .expect("the enabling write may already have taken effect");
        s.completed(0, 9, false);
        assert!(
            s.device_request(&rd, 0).is_err(),
            "a refused write changes nothing"
        );
        s.sent(&enable);
        s.completed(0, 9, true);
        s.device_request(&rd, 0).expect("settled");
        let disable = Tlp::cfg_wr0(
            ReqId {
                requester: 0,
                tag: 10,
            },
            dev,
            1,
            0x1,
            0x2,
        );
        s.sent(&disable);
        s.device_request(&rd, 0)
            .expect("issued before the write took effect");
        s.completed(0, 10, true);
        assert!(s.device_request(&rd, 0).is_err());
    }
}
