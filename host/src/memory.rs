//! Host memory and the DMA containment map.
//!
//! [`HostMemory`] is sparse, byte-addressed, 4 KiB pages allocated on first
//! write; unwritten memory reads 0. An [`External`] memory (a guest's RAM,
//! shared with the process that runs it) can stand in for the ranges it
//! holds. [`Containment`] records which host
//! ranges the device may read and which it may write (descriptor tables and
//! rings, the buffers of available chains, MSI-X addresses); the root
//! complex checks every device request against it, so a stray DMA fails the
//! run with its address.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

const PAGE: u64 = 4096;

/// Memory held outside [`HostMemory`]'s own pages, which other agents may
/// read and write at the same time (a guest's RAM).
pub trait External: fmt::Debug + Send + Sync {
    /// Whether all of `addr .. addr + len` is inside this memory.
    fn holds(&self, addr: u64, len: usize) -> bool;
    /// Read `buf.len()` bytes at `addr` (inside, see [`External::holds`]).
    fn read(&self, addr: u64, buf: &mut [u8]);
    /// Write `data` at `addr` (inside, see [`External::holds`]).
    fn write(&self, addr: u64, data: &[u8]);
}

/// Sparse host memory. Pages written since the last [`HostMemory::take_dirty`]
/// are remembered, so that two memories can be compared where they changed.
#[derive(Clone, Debug, Default)]
pub struct HostMemory {
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    dirty: BTreeSet<u64>,
    external: Option<Arc<dyn External>>,
    /// Writes inside `external` reach it (else they are dropped).
    write_through: bool,
}

impl HostMemory {
    /// Memory whose accesses inside `external` go there; elsewhere sparse.
    pub fn with_external(external: Arc<dyn External>) -> Self {
        Self {
            external: Some(external),
            write_through: true,
            ..Self::default()
        }
    }

    /// Memory that reads `external` and drops the writes into it: a
    /// second device's view of memory the first one owns.
    pub fn reading(external: Arc<dyn External>) -> Self {
        Self {
            external: Some(external),
            ..Self::default()
        }
    }

    /// The external memory holding all of `addr .. addr + len`, if any.
    fn external_for(&self, addr: u64, len: usize) -> Option<&dyn External> {
        self.external.as_deref().filter(|e| e.holds(addr, len))
    }

    /// Read `len` bytes at `addr`.
    pub fn read(&self, addr: u64, len: usize) -> Vec<u8> {
        if let Some(e) = self.external_for(addr, len) {
            let mut buf = vec![0; len];
            e.read(addr, &mut buf);
            return buf;
        }
        let mut buf = vec![0; len];
        for (at, page, off) in Self::pieces(addr, len) {
            if let Some(p) = self.pages.get(&page) {
                buf[at.clone()].copy_from_slice(&p[off..off + at.len()]);
            }
        }
        buf
    }

    /// `addr .. addr + len` cut at page boundaries: for each piece its
    /// range within the access, its page number and its offset in the page
    /// (addresses wrap around at 2^64).
    fn pieces(addr: u64, len: usize) -> impl Iterator<Item = (Range<usize>, u64, usize)> {
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < len).then(|| {
                let a = addr.wrapping_add(at as u64);
                let off = (a % PAGE) as usize;
                let n = (len - at).min(PAGE as usize - off);
                at += n;
                (at - n..at, a / PAGE, off)
            })
        })
    }

    /// Write `data` at `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        if let Some(e) = self.external_for(addr, data.len()) {
            if !self.write_through {
                return;
            }
            e.write(addr, data);
            let pages = addr / PAGE..=(addr + data.len().max(1) as u64 - 1) / PAGE;
            self.dirty.extend(pages);
            return;
        }
        for (at, page, off) in Self::pieces(addr, data.len()) {
            self.pages
                .entry(page)
                .or_insert_with(|| Box::new([0; PAGE as usize]))[off..off + at.len()]
                .copy_from_slice(&data[at]);
            self.dirty.insert(page);
        }
    }

    /// The pages written since the last call (page numbers).
    pub fn take_dirty(&mut self) -> BTreeSet<u64> {
        std::mem::take(&mut self.dirty)
    }

    /// Read a little-endian u16.
    pub fn read_u16(&self, addr: u64) -> u16 {
        u16::from_le_bytes(self.read(addr, 2).try_into().unwrap())
    }

    /// Read a little-endian u32.
    pub fn read_u32(&self, addr: u64) -> u32 {
        u32::from_le_bytes(self.read(addr, 4).try_into().unwrap())
    }

    /// Read a little-endian u64.
    pub fn read_u64(&self, addr: u64) -> u64 {
        u64::from_le_bytes(self.read(addr, 8).try_into().unwrap())
    }

    /// Write a little-endian u16.
    pub fn write_u16(&mut self, addr: u64, v: u16) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Write a little-endian u32.
    pub fn write_u32(&mut self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Write a little-endian u64.
    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes());
    }

    /// The bytes of page `p`.
    fn page(&self, p: u64) -> Cow<'_, [u8]> {
        const ZERO: [u8; PAGE as usize] = [0; PAGE as usize];
        match (
            self.external_for(p * PAGE, PAGE as usize),
            self.pages.get(&p),
        ) {
            (Some(_), _) => Cow::Owned(self.read(p * PAGE, PAGE as usize)),
            (None, Some(page)) => Cow::Borrowed(&page[..]),
            (None, None) => Cow::Borrowed(&ZERO),
        }
    }

    /// The first address where `self` and `other` differ in `pages`
    /// (page numbers), with both bytes.
    pub fn first_difference(
        &self,
        other: &HostMemory,
        pages: impl IntoIterator<Item = u64>,
    ) -> Option<(u64, u8, u8)> {
        for p in pages {
            let (a, b) = (self.page(p), other.page(p));
            for i in 0..PAGE {
                let addr = p * PAGE + i;
                if a[i as usize] != b[i as usize] {
                    return Some((addr, a[i as usize], b[i as usize]));
                }
            }
        }
        None
    }
}

/// What the device may do to a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read it.
    Read,
    /// Write it.
    Write,
}

/// The ranges the device may read and write, each with a reference count
/// (the same range may be granted by several owners).
#[derive(Clone, Debug, Default)]
pub struct Containment {
    grants: BTreeMap<(u64, u64, bool), u32>,
}

impl Containment {
    /// Let the device `access` `range`.
    pub fn grant(&mut self, range: Range<u64>, access: Access) {
        if range.is_empty() {
            return;
        }
        *self
            .grants
            .entry((range.start, range.end, access == Access::Write))
            .or_default() += 1;
    }

    /// Withdraw one grant made with the same range and access.
    pub fn revoke(&mut self, range: Range<u64>, access: Access) {
        let key = (range.start, range.end, access == Access::Write);
        if let Some(n) = self.grants.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.grants.remove(&key);
            }
        }
    }

    /// Withdraw every grant.
    pub fn clear(&mut self) {
        self.grants.clear();
    }

    /// The first byte of `len` bytes at `addr` the device may not `access`.
    pub fn check(&self, addr: u64, len: u64, access: Access) -> Result<(), u64> {
        let write = access == Access::Write;
        let mut at = addr;
        let end = addr.saturating_add(len);
        while at < end {
            let covering = self
                .grants
                .keys()
                .filter(|(s, e, w)| *w == write && *s <= at && at < *e)
                .map(|(_, e, _)| *e)
                .max();
            match covering {
                Some(e) => at = e,
                None => return Err(at),
            }
        }
        Ok(())
    }
}

/// How the root complex answers a device read it cannot serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFault {
    /// A completion with Unsupported Request status.
    Ur,
    /// A completion with Completer Abort status.
    Ca,
    /// The data, poisoned (EP set in every completion).
    Poison,
    /// No completion at all: the device's completion timeout must fire.
    Drop,
}

/// Host ranges whose reads fail, and how (error injection).
#[derive(Clone, Debug, Default)]
pub struct FaultMap {
    faults: Vec<(Range<u64>, ReadFault)>,
}

impl FaultMap {
    /// Reads touching `range` fail with `fault` (the latest injection of an
    /// overlapping range wins).
    pub fn inject(&mut self, range: Range<u64>, fault: ReadFault) {
        self.faults.push((range, fault));
    }

    /// How a read of `len` bytes at `addr` fails, if it does.
    pub fn check(&self, addr: u64, len: u64) -> Option<ReadFault> {
        let end = addr.saturating_add(len);
        self.faults
            .iter()
            .rev()
            .find(|(r, _)| r.start < end && addr < r.end)
            .map(|(_, f)| *f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_memory_reads_zero_and_little_endian_fields() {
        let mut m = HostMemory::default();
        assert_eq!(m.read_u32(0x1234_5678), 0);
        m.write_u32(0xFFE, 0x0403_0201); // crosses a page
        assert_eq!(m.read(0xFFE, 4), vec![1, 2, 3, 4]);
        assert_eq!(m.read_u16(0x1000), 0x0403);
        let mut other = m.clone();
        other.take_dirty();
        assert_eq!(m.first_difference(&other, [0, 1, 2]), None);
        other.write(0x2000, &[9]);
        assert_eq!(other.take_dirty().into_iter().collect::<Vec<_>>(), vec![2]);
        assert_eq!(m.first_difference(&other, [2]), Some((0x2000, 0, 9)));
    }

    #[test]
    fn accesses_spanning_pages_and_the_top_of_memory_keep_every_byte() {
        let mut m = HostMemory::default();
        let data: Vec<u8> = (0..9000u32).map(|i| (i % 251) as u8).collect();
        m.write(0x0FF3, &data); // three page boundaries
        assert_eq!(m.read(0x0FF3, data.len()), data);
        assert_eq!(m.read(0x0FF2, 2), vec![0, data[0]]);
        let dirty = m.take_dirty().into_iter().collect::<Vec<_>>();
        assert_eq!(dirty, vec![0, 1, 2, 3]);
        m.write(u64::MAX - 1, &[1, 2, 3, 4]); // wraps to address 0
        assert_eq!(m.read(u64::MAX - 1, 4), vec![1, 2, 3, 4]);
        assert_eq!(m.read_u16(0), 0x0403);
    }

    #[test]
    fn a_read_fails_when_it_touches_a_faulty_range() {
        let mut f = FaultMap::default();
        f.inject(0x1000..0x1010, ReadFault::Ur);
        assert_eq!(f.check(0x0FF0, 0x10), None);
        assert_eq!(f.check(0x0FF0, 0x11), Some(ReadFault::Ur));
        assert_eq!(f.check(0x100F, 1), Some(ReadFault::Ur));
        assert_eq!(f.check(0x1010, 4), None);
        f.inject(0x1008..0x1009, ReadFault::Drop);
        assert_eq!(f.check(0x1000, 0x10), Some(ReadFault::Drop));
    }

    #[test]
    fn containment_checks_every_byte_against_the_grants() {
        let mut c = Containment::default();
        c.grant(0x1000..0x1010, Access::Read);
        c.grant(0x1010..0x1020, Access::Read);
        assert_eq!(c.check(0x1008, 0x10, Access::Read), Ok(()));
        assert_eq!(c.check(0x1008, 0x20, Access::Read), Err(0x1020));
        assert_eq!(c.check(0x1000, 4, Access::Write), Err(0x1000));
        c.grant(0x1000..0x1010, Access::Read);
        c.revoke(0x1000..0x1010, Access::Read);
        assert_eq!(
            c.check(0x1000, 4, Access::Read),
            Ok(()),
            "one grant is left"
        );
        c.revoke(0x1000..0x1010, Access::Read);
        assert_eq!(c.check(0x1000, 4, Access::Read), Err(0x1000));
    }
}
