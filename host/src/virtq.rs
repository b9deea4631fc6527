//! The driver's side of a split virtqueue (virtio 2.7): ring layout in host
//! memory, a descriptor free list, posting descriptor chains (direct or
//! through an indirect table), publishing them, deciding whether to notify,
//! and reaping used buffers.
//!
//! Every posted chain grants the device access to exactly its buffers
//! (readable or writable) and its indirect table; reaping withdraws the
//! grants. The rings themselves are granted once.

use crate::driver::QueueSetup;
use crate::endpoint::Endpoint;
use crate::memory::Access;
use std::collections::HashMap;
use std::ops::Range;
use vireo_regs::virtio::ring::{self, *};

/// One buffer of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Guest-physical address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// Device-writable.
    pub write: bool,
}

impl Segment {
    fn range(&self) -> Range<u64> {
        self.addr..self.addr + self.len as u64
    }

    fn access(&self) -> Access {
        if self.write {
            Access::Write
        } else {
            Access::Read
        }
    }
}

/// A chain the device has not returned yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Head descriptor index.
    pub head: u16,
    /// Descriptors of the ring it took.
    pub descs: Vec<u16>,
    /// Its buffers in order.
    pub segments: Vec<Segment>,
    /// Indirect table (address, bytes), if any.
    pub indirect: Option<(u64, u32)>,
}

/// A chain the device returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Used {
    /// The chain.
    pub chain: Chain,
    /// Bytes the device wrote.
    pub len: u32,
}

/// Why a post or a reap failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtqError {
    /// Not enough free descriptors.
    Full,
    /// The used ring names a chain that is not outstanding.
    BadUsedId(u32),
    /// The used index moved by more than the queue size.
    UsedTooFar(u16),
}

impl std::fmt::Display for VirtqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VirtqError::Full => write!(f, "no free descriptors"),
            VirtqError::BadUsedId(id) => {
                write!(f, "used ring returns id {id}, which is not outstanding")
            }
            VirtqError::UsedTooFar(n) => {
                write!(f, "used idx moved by {n}, more than the queue size")
            }
        }
    }
}

impl std::error::Error for VirtqError {}

/// The driver's view of one split virtqueue.
#[derive(Clone, Debug)]
pub struct SplitQueue {
    /// Queue index.
    pub index: u16,
    /// Queue size.
    pub size: u16,
    /// Descriptor table.
    pub desc: u64,
    /// Available ring.
    pub avail: u64,
    /// Used ring.
    pub used: u64,
    free: Vec<u16>,
    avail_idx: u16,
    published: u16,
    last_used: u16,
    outstanding: HashMap<u16, Chain>,
}

impl SplitQueue {
    /// The driver's side of the queue the driver set up.
    pub fn new(setup: &QueueSetup) -> Self {
        Self {
            index: setup.index,
            size: setup.size,
            desc: setup.desc,
            avail: setup.driver,
            used: setup.device,
            free: (0..setup.size).rev().collect(),
            avail_idx: 0,
            published: 0,
            last_used: 0,
            outstanding: HashMap::new(),
        }
    }

    /// Zero the rings and let the device read the table and available ring
    /// and write the used ring.
    pub fn setup<E: Endpoint>(&self, ep: &mut E) {
        ep.memory_write(self.desc, &vec![0; desc_bytes(self.size) as usize]);
        ep.memory_write(self.avail, &vec![0; avail_bytes(self.size) as usize]);
        ep.memory_write(self.used, &vec![0; used_bytes(self.size) as usize]);
        ep.grant(self.desc..self.desc + desc_bytes(self.size), Access::Read);
        ep.grant(
            self.avail..self.avail + avail_bytes(self.size),
            Access::Read,
        );
        ep.grant(self.used..self.used + used_bytes(self.size), Access::Write);
    }

    /// The used index up to which chains were reaped.
    pub fn last_used(&self) -> u16 {
        self.last_used
    }

    /// Free descriptors.
    pub fn free(&self) -> usize {
        self.free.len()
    }

    /// Chains the device has not returned.
    pub fn outstanding(&self) -> impl Iterator<Item = &Chain> {
        self.outstanding.values()
    }

    /// Write a descriptor for `s` with `flags` (taken as given) and `next`
    /// at `at`.
    pub fn write_desc<E: Endpoint>(ep: &mut E, at: u64, s: &Segment, flags: u16, next: u16) {
        let mut d = [0u8; DESC_SIZE as usize];
        d[DESC_ADDR as usize..][..8].copy_from_slice(&s.addr.to_le_bytes());
        d[DESC_LEN as usize..][..4].copy_from_slice(&s.len.to_le_bytes());
        d[DESC_FLAGS as usize..][..2].copy_from_slice(&flags.to_le_bytes());
        d[DESC_NEXT as usize..][..2].copy_from_slice(&next.to_le_bytes());
        ep.memory_write(at, &d);
    }

    /// Put a chain of `segments` in the ring (readable ones first, as the
    /// driver must), through an indirect table at `indirect` if given, and
    /// add it to the available ring (not yet published).
    pub fn post<E: Endpoint>(
        &mut self,
        ep: &mut E,
        segments: &[Segment],
        indirect: Option<u64>,
    ) -> Result<u16, VirtqError> {
        let needed = if indirect.is_some() {
            1
        } else {
            segments.len().max(1)
        };
        if self.free.len() < needed {
            return Err(VirtqError::Full);
        }
        let descs: Vec<u16> = (0..needed).map(|_| self.free.pop().unwrap()).collect();
        let flags_of = |s: &Segment, last: bool| {
            (if s.write { F_WRITE } else { 0 }) | (if last { 0 } else { F_NEXT })
        };
        let table = match indirect {
            Some(at) => {
                for (i, s) in segments.iter().enumerate() {
                    let last = i + 1 == segments.len();
                    Self::write_desc(
                        ep,
                        at + i as u64 * DESC_SIZE,
                        s,
                        flags_of(s, last),
                        i as u16 + 1,
                    );
                }
                let bytes = segments.len() as u32 * DESC_SIZE as u32;
                let t = Segment {
                    addr: at,
                    len: bytes,
                    write: false,
                };
                Self::write_desc(
                    ep,
                    self.desc + descs[0] as u64 * DESC_SIZE,
                    &t,
                    F_INDIRECT,
                    0,
                );
                ep.grant(at..at + bytes as u64, Access::Read);
                Some((at, bytes))
            }
            None => {
                for (i, s) in segments.iter().enumerate() {
                    let last = i + 1 == segments.len();
                    let next = if last { 0 } else { descs[i + 1] };
                    Self::write_desc(
                        ep,
                        self.desc + descs[i] as u64 * DESC_SIZE,
                        s,
                        flags_of(s, last),
                        next,
                    );
                }
                None
            }
        };
        for s in segments {
            ep.grant(s.range(), s.access());
        }
        let head = descs[0];
        let slot = self.avail + AVAIL_RING + 2 * (self.avail_idx % self.size) as u64;
        ep.memory_write(slot, &head.to_le_bytes());
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.outstanding.insert(
            head,
            Chain {
                head,
                descs,
                segments: segments.to_vec(),
                indirect: table,
            },
        );
        Ok(head)
    }

    /// Write the available index; returns whether the device asked to be
    /// notified (its `used->flags`, or `avail_event` with EVENT_IDX).
    pub fn publish<E: Endpoint>(&mut self, ep: &mut E, event_idx: bool) -> bool {
        let old = self.published;
        ep.memory_write(self.avail + AVAIL_IDX, &self.avail_idx.to_le_bytes());
        self.published = self.avail_idx;
        let mem = ep.memory();
        if event_idx {
            let event = mem.read_u16(self.used + avail_event_offset(self.size));
            ring::need_event(event, self.avail_idx, old)
        } else {
            mem.read_u16(self.used + USED_FLAGS) & USED_F_NO_NOTIFY == 0
        }
    }

    /// Ask for no used buffer notifications (`flags`), or for one when the
    /// used index passes `used_event` (EVENT_IDX).
    pub fn suppress<E: Endpoint>(&self, ep: &mut E, no_interrupt: bool, used_event: u16) {
        let flags = if no_interrupt {
            AVAIL_F_NO_INTERRUPT
        } else {
            0
        };
        ep.memory_write(self.avail + AVAIL_FLAGS, &flags.to_le_bytes());
        ep.memory_write(
            self.avail + used_event_offset(self.size),
            &used_event.to_le_bytes(),
        );
    }

    /// Take every chain the device returned since the last reap.
    pub fn reap<E: Endpoint>(&mut self, ep: &mut E) -> Result<Vec<Used>, VirtqError> {
        let used_idx = ep.memory().read_u16(self.used + USED_IDX);
        let n = used_idx.wrapping_sub(self.last_used);
        if n > self.size {
            return Err(VirtqError::UsedTooFar(n));
        }
        let mut out = Vec::new();
        for _ in 0..n {
            let elem = self.used + USED_RING + USED_ELEM_SIZE * (self.last_used % self.size) as u64;
            let (id, len) = (ep.memory().read_u32(elem), ep.memory().read_u32(elem + 4));
            let chain = self
                .outstanding
                .remove(&(id as u16))
                .filter(|_| id < self.size as u32);
            let chain = chain.ok_or(VirtqError::BadUsedId(id))?;
            for s in &chain.segments {
                ep.revoke(s.range(), s.access());
            }
            if let Some((at, bytes)) = chain.indirect {
                ep.revoke(at..at + bytes as u64, Access::Read);
            }
            self.free.extend(chain.descs.iter().rev());
            self.last_used = self.last_used.wrapping_add(1);
            out.push(Used { chain, len });
        }
        Ok(out)
    }

    /// Forget every chain (after a device reset) and start the rings again.
    pub fn forget<E: Endpoint>(&mut self, ep: &mut E) {
        for c in std::mem::take(&mut self.outstanding).into_values() {
            for s in &c.segments {
                ep.revoke(s.range(), s.access());
            }
            if let Some((at, bytes)) = c.indirect {
                ep.revoke(at..at + bytes as u64, Access::Read);
            }
        }
        self.free = (0..self.size).rev().collect();
        (self.avail_idx, self.published, self.last_used) = (0, 0, 0);
    }
}
