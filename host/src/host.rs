//! The host's view of one function: configuration and memory accesses of
//! 1, 2, 4 (and for memory 8) bytes, as a CPU and root complex issue them.

use crate::endpoint::{Endpoint, HostError};
use crate::tlp::{Bdf, Completion, ReqId, Tlp};
use vireo_regs::tlp::cpl_status;

/// What an access returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Successful completion; for a read, the value (the accessed bytes).
    Done(u64),
    /// Completion with a status other than Successful Completion.
    Status(u8),
    /// No completion (posted request, or dropped).
    Posted,
}

impl Outcome {
    /// What a CPU load would see: the value, or all-ones for a failed read.
    pub fn cpu_value(self, size: u8) -> u64 {
        match self {
            Outcome::Done(v) => v,
            _ => u64::MAX >> (64 - 8 * size as u32),
        }
    }
}

/// Byte enables of a `size`-byte access at byte `offset` within a DW.
pub fn size_be(offset: u64, size: u8) -> u8 {
    (((1u16 << size) - 1) << (offset % 4)) as u8
}

/// The root complex's requester and the function it talks to.
pub struct Host<E: Endpoint> {
    /// The device side.
    pub ep: E,
    /// Requester ID of the root port.
    pub requester: Bdf,
    /// The function's bus/device/function.
    pub target: Bdf,
    tag: u8,
}

impl<E: Endpoint> Host<E> {
    /// A host that addresses the function as 01:00.0 from root port 00:00.0.
    pub fn new(ep: E) -> Self {
        Self {
            ep,
            requester: Bdf::default(),
            target: Bdf {
                bus: 1,
                dev: 0,
                func: 0,
            },
            tag: 0,
        }
    }

    /// A fresh request ID (tags roll over 0..=255).
    pub fn next_id(&mut self) -> ReqId {
        self.tag = self.tag.wrapping_add(1);
        ReqId {
            requester: self.requester.id(),
            tag: self.tag,
        }
    }

    /// Send one TLP; return the completion, if any.
    pub fn send(&mut self, tlp: Tlp) -> Result<Option<Tlp>, HostError> {
        Ok(self
            .ep
            .transact(std::slice::from_ref(&tlp))?
            .pop()
            .flatten())
    }

    fn outcome(cpl: Option<Tlp>, shift: u32, size: u8) -> Outcome {
        let Some(c) = cpl.as_ref().and_then(Completion::parse) else {
            return Outcome::Posted;
        };
        if c.status != cpl_status::SC {
            return Outcome::Status(c.status);
        }
        let raw = c
            .data
            .iter()
            .rev()
            .fold(0u64, |acc, &dw| acc << 32 | dw as u64);
        let mask = if size >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * size as u32)) - 1
        };
        Outcome::Done((raw >> shift) & mask)
    }

    /// Configuration read of DW `dw` with byte enables `be` (the whole DW).
    pub fn cfg_read_dw(&mut self, dw: u16, be: u8) -> Result<Outcome, HostError> {
        let id = self.next_id();
        let cpl = self.send(Tlp::cfg_rd0(id, self.target, dw, be))?;
        Ok(Self::outcome(cpl, 0, 4))
    }

    /// Configuration write of DW `dw` with byte enables `be`.
    pub fn cfg_write_dw(&mut self, dw: u16, be: u8, value: u32) -> Result<Outcome, HostError> {
        let id = self.next_id();
        let cpl = self.send(Tlp::cfg_wr0(id, self.target, dw, be, value))?;
        Ok(Self::outcome(cpl, 0, 4))
    }

    /// Configuration read of `size` (1, 2, 4) bytes at `offset`.
    pub fn cfg_read(&mut self, offset: u16, size: u8) -> Result<Outcome, HostError> {
        let id = self.next_id();
        let cpl = self.send(Tlp::cfg_rd0(
            id,
            self.target,
            offset / 4,
            size_be(offset as u64, size),
        ))?;
        Ok(Self::outcome(cpl, 8 * (offset as u32 % 4), size))
    }

    /// Configuration write of `size` bytes at `offset`.
    pub fn cfg_write(&mut self, offset: u16, size: u8, value: u32) -> Result<Outcome, HostError> {
        let shifted = value << (8 * (offset % 4));
        self.cfg_write_dw(offset / 4, size_be(offset as u64, size), shifted)
    }

    /// Configuration read that must succeed.
    pub fn cfg_read_ok(&mut self, offset: u16, size: u8) -> Result<u32, HostError> {
        match self.cfg_read(offset, size)? {
            Outcome::Done(v) => Ok(v as u32),
            other => Err(HostError::Expectation(format!(
                "config read of {offset:#x} failed: {other:?}"
            ))),
        }
    }

    /// The memory request TLP for an access of `size` bytes at `addr`.
    pub fn mem_request(&mut self, addr: u64, size: u8, write: Option<u64>) -> Tlp {
        let id = self.next_id();
        let dw_addr = addr & !3;
        let (len, first, last) = if size == 8 {
            (2, 0xF, 0xF)
        } else {
            (1, size_be(addr, size), 0)
        };
        match write {
            None => Tlp::mem_rd(id, dw_addr, len, first, last),
            Some(v) => {
                let v = if size == 8 { v } else { v << (8 * (addr % 4)) };
                let data = (0..len).map(|i| (v >> (32 * i)) as u32).collect();
                Tlp::mem_wr(id, dw_addr, data, first, last)
            }
        }
    }

    /// Memory read of `size` (1, 2, 4, 8) bytes at naturally aligned `addr`.
    pub fn mem_read(&mut self, addr: u64, size: u8) -> Result<Outcome, HostError> {
        let tlp = self.mem_request(addr, size, None);
        let cpl = self.send(tlp)?;
        let shift = if size == 8 { 0 } else { 8 * (addr % 4) as u32 };
        Ok(Self::outcome(cpl, shift, size))
    }

    /// Memory write of `size` bytes at naturally aligned `addr`.
    pub fn mem_write(&mut self, addr: u64, size: u8, value: u64) -> Result<Outcome, HostError> {
        let tlp = self.mem_request(addr, size, Some(value));
        let cpl = self.send(tlp)?;
        Ok(Self::outcome(cpl, 0, 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_enables_of_sub_dw_accesses() {
        assert_eq!(size_be(0x06, 2), 0b1100);
        assert_eq!(size_be(0x05, 1), 0b0010);
        assert_eq!(size_be(0x10, 4), 0b1111);
        assert_eq!(Outcome::Status(1).cpu_value(2), 0xFFFF);
    }
}
