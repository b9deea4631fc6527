//! Golden model of the MSI-X table and PBA (PCIe Base 6.1.4).

use super::byte_mask;
use crate::tlp::{ReqId, Tlp};
use vireo_regs::pci::msix::{
    CTRL_MASK_BIT, ENTRY_ADDR_HI, ENTRY_ADDR_LO, ENTRY_BYTES, ENTRY_CTRL, ENTRY_DATA,
};

/// One table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    addr: u64,
    data: u32,
    masked: bool,
}

/// The MSI-X table and pending bits.
#[derive(Clone, Debug)]
pub struct Msix {
    entries: Vec<Entry>,
    pending: Vec<bool>,
}

/// The conditions under which a message may leave.
#[derive(Clone, Copy, Debug)]
pub struct Gate {
    /// MSI-X Enable.
    pub enable: bool,
    /// Function Mask.
    pub function_mask: bool,
    /// Bus Master Enable.
    pub bus_master: bool,
    /// Requester ID of the function.
    pub requester: u16,
}

impl Msix {
    /// `vectors` entries, all masked, nothing pending.
    pub fn new(vectors: u16) -> Self {
        let n = vectors as usize;
        Self {
            entries: vec![
                Entry {
                    addr: 0,
                    data: 0,
                    masked: true
                };
                n
            ],
            pending: vec![false; n],
        }
    }

    /// Forget every pending request (device reset).
    pub fn clear_pending(&mut self) {
        self.pending.iter_mut().for_each(|p| *p = false);
    }

    /// Request an interrupt on `vector` (while MSI-X is enabled).
    pub fn request(&mut self, vector: u16, gate: Gate) {
        if gate.enable {
            if let Some(p) = self.pending.get_mut(vector as usize) {
                *p = true;
            }
        }
    }

    /// Send every pending, unmasked vector the gate lets through.
    pub fn deliver(&mut self, gate: Gate, out: &mut Vec<Tlp>) {
        if !gate.enable || gate.function_mask || !gate.bus_master {
            return;
        }
        for (e, p) in self.entries.iter().zip(self.pending.iter_mut()) {
            if *p && !e.masked {
                *p = false;
                let id = ReqId {
                    requester: gate.requester,
                    tag: 0,
                };
                out.push(Tlp::mem_wr(id, e.addr, vec![e.data], 0xF, 0));
            }
        }
    }

    fn entry_dw(e: &Entry, at: usize) -> u32 {
        match at {
            ENTRY_ADDR_LO => e.addr as u32,
            ENTRY_ADDR_HI => (e.addr >> 32) as u32,
            ENTRY_DATA => e.data,
            _ => e.masked as u32,
        }
    }

    /// Read the table DW at `offset`.
    pub fn read_table(&self, offset: u32) -> u32 {
        let (vector, at) = (offset as usize / ENTRY_BYTES, offset as usize % ENTRY_BYTES);
        self.entries
            .get(vector)
            .map_or(0, |e| Self::entry_dw(e, at))
    }

    /// Write the enabled bytes of `value` to the table DW at `offset`.
    pub fn write_table(&mut self, offset: u32, be: u8, value: u32) {
        let (vector, at) = (offset as usize / ENTRY_BYTES, offset as usize % ENTRY_BYTES);
        let Some(e) = self.entries.get_mut(vector) else {
            return;
        };
        let mask = byte_mask(be);
        let merged = (Self::entry_dw(e, at) & !mask) | (value & mask);
        match at {
            ENTRY_ADDR_LO => e.addr = (e.addr & !0xFFFF_FFFF) | (merged & !3) as u64,
            ENTRY_ADDR_HI => e.addr = (e.addr & 0xFFFF_FFFF) | (merged as u64) << 32,
            ENTRY_DATA => e.data = merged,
            ENTRY_CTRL if be & 1 != 0 => e.masked = merged & CTRL_MASK_BIT != 0,
            _ => {}
        }
    }

    /// Read the PBA DW at `offset`.
    pub fn read_pba(&self, offset: u32) -> u32 {
        let first = offset as usize / 4 * 32;
        (0..32).fold(0u32, |acc, i| {
            acc | (*self.pending.get(first + i).unwrap_or(&false) as u32) << i
        })
    }
}
