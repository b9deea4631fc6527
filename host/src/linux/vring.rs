//! The device side of a split virtqueue in guest RAM, for the two queues of
//! the User-Mode Linux PCI transport (commands and interrupt messages).
//!
//! Only what that transport uses: direct descriptors (no indirect tables,
//! not offered), no event index (not offered), so the device signals
//! unless the driver set `VRING_AVAIL_F_NO_INTERRUPT`.

use super::guest_ram::GuestRam;
use crate::memory::External;
use std::sync::atomic::{fence, Ordering};

const DESC_F_NEXT: u16 = 1;
const DESC_F_WRITE: u16 = 2;
const AVAIL_F_NO_INTERRUPT: u16 = 1;

/// A descriptor chain taken from the available ring.
#[derive(Debug, Default)]
pub struct Chain {
    /// Head descriptor index (the id returned in the used ring).
    pub head: u16,
    /// The device-readable buffers, concatenated.
    pub readable: Vec<u8>,
    /// The device-writable buffers: (guest address, length).
    pub writable: Vec<(u64, u32)>,
}

impl Chain {
    /// Bytes the device may write.
    pub fn writable_len(&self) -> usize {
        self.writable.iter().map(|&(_, l)| l as usize).sum()
    }

    /// Write `data` into the writable buffers, in order; returns the bytes
    /// written.
    pub fn fill(&self, ram: &GuestRam, data: &[u8]) -> u32 {
        let mut done = 0;
        for &(addr, len) in &self.writable {
            let n = (len as usize).min(data.len() - done);
            ram.write(addr, &data[done..done + n]);
            done += n;
            if done == data.len() {
                break;
            }
        }
        done as u32
    }
}

/// One split virtqueue as the front end configured it.
#[derive(Clone, Debug, Default)]
pub struct Vring {
    /// Queue size.
    pub num: u16,
    /// Guest address of the descriptor table.
    pub desc: u64,
    /// Guest address of the available ring.
    pub avail: u64,
    /// Guest address of the used ring.
    pub used: u64,
    /// Next available ring slot to take.
    pub last_avail: u16,
    /// Next used ring slot to fill.
    used_idx: u16,
    /// The front end enabled the queue.
    pub enabled: bool,
}

impl Vring {
    fn ready(&self) -> bool {
        self.enabled && self.num != 0 && self.desc != 0
    }

    /// Take the next available chain, if any.
    pub fn pop(&mut self, ram: &GuestRam) -> Result<Option<Chain>, String> {
        if !self.ready() {
            return Ok(None);
        }
        let idx = ram
            .read_u16(self.avail + 2)
            .ok_or("available ring outside guest RAM")?;
        if idx == self.last_avail {
            return Ok(None);
        }
        fence(Ordering::Acquire);
        let slot = self.avail + 4 + 2 * (self.last_avail % self.num) as u64;
        let head = ram
            .read_u16(slot)
            .ok_or("available ring outside guest RAM")?;
        self.last_avail = self.last_avail.wrapping_add(1);
        let mut chain = Chain {
            head,
            ..Chain::default()
        };
        let mut i = head;
        for _ in 0..self.num {
            if i >= self.num {
                return Err(format!("descriptor {i} beyond queue size {}", self.num));
            }
            let mut d = [0u8; 16];
            let at = self.desc + 16 * i as u64;
            if !ram.holds(at, 16) {
                return Err("descriptor table outside guest RAM".into());
            }
            ram.read(at, &mut d);
            let addr = u64::from_le_bytes(d[0..8].try_into().unwrap());
            let len = u32::from_le_bytes(d[8..12].try_into().unwrap());
            let flags = u16::from_le_bytes(d[12..14].try_into().unwrap());
            let next = u16::from_le_bytes(d[14..16].try_into().unwrap());
            if !ram.holds(addr, len as usize) {
                return Err(format!("buffer {addr:#x}+{len} outside guest RAM"));
            }
            if flags & DESC_F_WRITE != 0 {
                chain.writable.push((addr, len));
            } else {
                let start = chain.readable.len();
                chain.readable.resize(start + len as usize, 0);
                ram.read(addr, &mut chain.readable[start..]);
            }
            if flags & DESC_F_NEXT == 0 {
                return Ok(Some(chain));
            }
            i = next;
        }
        Err("descriptor chain loops".into())
    }

    /// Return chain `head` with `len` bytes written; whether the driver
    /// wants to be told.
    pub fn push(&mut self, ram: &GuestRam, head: u16, len: u32) -> bool {
        let slot = self.used + 4 + 8 * (self.used_idx % self.num) as u64;
        let mut e = [0u8; 8];
        e[..4].copy_from_slice(&(head as u32).to_le_bytes());
        e[4..].copy_from_slice(&len.to_le_bytes());
        ram.write(slot, &e);
        self.used_idx = self.used_idx.wrapping_add(1);
        fence(Ordering::Release);
        ram.write(self.used + 2, &self.used_idx.to_le_bytes());
        fence(Ordering::SeqCst);
        ram.read_u16(self.avail).unwrap_or(0) & AVAIL_F_NO_INTERRUPT == 0
    }

    /// Start over at `base` (SET_VRING_BASE): both rings continue from it.
    pub fn set_base(&mut self, base: u16) {
        self.last_avail = base;
        self.used_idx = base;
    }
}

#[cfg(test)]
mod tests {
    use super::super::guest_ram::scratch;
    use super::*;

    #[test]
    fn takes_a_chain_and_returns_it() {
        let ram = scratch(0x4000_0000, 0x4000_0000, 0x10000, 0);
        let base = 0x4000_0000u64;
        let mut q = Vring {
            num: 4,
            desc: base,
            avail: base + 0x100,
            used: base + 0x200,
            enabled: true,
            ..Vring::default()
        };
        // Descriptor 2: 3 readable bytes, then descriptor 0: 8 writable.
        let desc = |i: u64, addr: u64, len: u32, flags: u16, next: u16| {
            let mut d = addr.to_le_bytes().to_vec();
            d.extend(len.to_le_bytes());
            d.extend(flags.to_le_bytes());
            d.extend(next.to_le_bytes());
            ram.write(base + 16 * i, &d);
        };
        desc(2, base + 0x1000, 3, DESC_F_NEXT, 0);
        desc(0, base + 0x2000, 8, DESC_F_WRITE, 0);
        ram.write(base + 0x1000, b"abc");
        assert!(q.pop(&ram).unwrap().is_none());
        ram.write(base + 0x104, &2u16.to_le_bytes());
        ram.write(base + 0x102, &1u16.to_le_bytes());
        let c = q.pop(&ram).unwrap().unwrap();
        assert_eq!((c.head, &c.readable[..]), (2, &b"abc"[..]));
        assert_eq!(c.writable, vec![(base + 0x2000, 8)]);
        assert_eq!(c.fill(&ram, b"0123456789"), 8);
        assert!(q.push(&ram, c.head, 8));
        assert_eq!(ram.read_u16(base + 0x202), Some(1));
        assert_eq!(ram.read_u16(base + 0x204), Some(2));
        assert!(q.pop(&ram).unwrap().is_none());
        ram.write(base + 0x100, &AVAIL_F_NO_INTERRUPT.to_le_bytes());
        assert!(!q.push(&ram, 0, 0));
    }
}
