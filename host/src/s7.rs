//! The root complex's side of the Xilinx 7-series PCIe block's 128-bit
//! AXI4-Stream interface (PG054), as the hard block presents it to user
//! logic: what the adapter in the RTL must understand.
//!
//! - Every DW in the order of the wire, its first byte in bits 31:24: header
//!   DWs as numbers, payload DWs byte-swapped from memory order.
//! - Receive (`m_axis_rx_*`): TLP boundaries in `tuser`: `is_sof` (bits
//!   14:10: 0b10000 starts at DW 0, 0b11000 at DW 2) and `is_eof` (bits
//!   21:17: 0b1_dd_11 ends at DW dd; 0b00011 none). A TLP may start at DW 2
//!   of the beat in which the previous one ends at DW 0 or 1, or at DW 2 of a
//!   beat of its own. Lanes that belong to no TLP carry garbage.
//! - Transmit (`s_axis_tx_*`): each TLP starts at DW 0 of a beat, header DWs
//!   then payload DWs, `tkeep` 0xFFFF on all beats but the last (0x000F,
//!   0x00FF, 0x0FFF or 0xFFFF), `tlast` on the last.
//!
//! BAR hit bits are left 0: vireo decodes addresses against its own BARs.

use crate::tlp::Tlp;
use std::collections::VecDeque;

/// One receive beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxBeat {
    /// `m_axis_rx_tdata`.
    pub tdata: u128,
    /// `m_axis_rx_tuser`.
    pub tuser: u64,
    /// Header DWs of TLPs that start in this beat.
    pub header_dws: u32,
    /// Payload DWs in this beat.
    pub payload_dws: u32,
}

const SOF: u64 = 1 << 14;
const SOF_DW2: u64 = 1 << 13;
const EOF: u64 = 1 << 21;
const EOF_NONE: u64 = 0b11 << 17;

impl RxBeat {
    /// DW of the end of a TLP in this beat.
    fn eof_dw(&self) -> Option<usize> {
        (self.tuser & EOF != 0).then_some(((self.tuser >> 19) & 3) as usize)
    }

    fn put(&mut self, lane: usize, dw: u32) {
        self.tdata &= !(0xFFFF_FFFFu128 << (32 * lane));
        self.tdata |= (dw as u128) << (32 * lane);
    }
}

/// The DWs of `tlp` on the wire, and how many are header.
pub fn wire_dws(tlp: &Tlp) -> (Vec<u32>, usize) {
    let h = tlp.header_dws() as usize;
    let mut dws = tlp.hdr[..h].to_vec();
    dws.extend(tlp.data.iter().map(|d| d.swap_bytes()));
    (dws, h)
}

/// A queue of receive beats.
pub trait RxQueue {
    /// Beats queued.
    fn beats(&self) -> usize;
    /// The last beat.
    fn last(&mut self) -> Option<&mut RxBeat>;
    /// Append a beat.
    fn push(&mut self, beat: RxBeat);
}

impl RxQueue for VecDeque<RxBeat> {
    fn beats(&self) -> usize {
        self.len()
    }
    fn last(&mut self) -> Option<&mut RxBeat> {
        self.back_mut()
    }
    fn push(&mut self, beat: RxBeat) {
        self.push_back(beat);
    }
}

/// Append `tlp` to the receive beats in `queue`, whose first `fixed` beats
/// may not change (they are on the bus). With `dw2` the TLP starts at DW 2:
/// of the last beat when a TLP ends there at DW 0 or 1 (straddling), else
/// of a new beat. `garbage` fills lanes that carry no TLP. Returns whether
/// the TLP straddles a beat with the previous one.
pub fn push_rx(
    queue: &mut impl RxQueue,
    fixed: usize,
    tlp: &Tlp,
    dw2: bool,
    mut garbage: impl FnMut() -> u128,
) -> bool {
    let (dws, h) = wire_dws(tlp);
    let movable = queue.beats() > fixed;
    let straddle = dw2
        && movable
        && queue
            .last()
            .is_some_and(|b| b.eof_dw().is_some_and(|e| e < 2) && b.tuser & SOF == 0);
    let mut new_beat = || RxBeat {
        tdata: garbage(),
        tuser: EOF_NONE,
        header_dws: 0,
        payload_dws: 0,
    };
    if !straddle {
        queue.push(new_beat());
    }
    let mut lane = if dw2 { 2 } else { 0 };
    let beat = queue.last().expect("a beat");
    beat.tuser |= SOF | if dw2 { SOF_DW2 } else { 0 };
    beat.header_dws += h as u32;
    for (i, &dw) in dws.iter().enumerate() {
        if lane == 4 {
            queue.push(new_beat());
            lane = 0;
        }
        let beat = queue.last().expect("a beat");
        beat.put(lane, dw);
        beat.payload_dws += (i >= h) as u32;
        lane += 1;
    }
    let last = queue.last().expect("a beat");
    last.tuser = (last.tuser & !(0x1F << 17)) | EOF | ((lane as u64 - 1) << 19) | EOF_NONE;
    straddle
}

/// Collects transmit beats into TLPs.
#[derive(Debug, Default)]
pub struct TxCollector {
    dws: Vec<u32>,
}

impl TxCollector {
    /// The header DWs of the TLP that starts with `dw0`.
    pub fn header_dws(dw0: u32) -> u32 {
        Tlp::raw(&[dw0], Vec::new()).header_dws()
    }

    /// A TLP is being collected.
    pub fn in_tlp(&self) -> bool {
        !self.dws.is_empty()
    }

    /// Take one beat; the TLP when it is the last. An illegal `tkeep` is an
    /// error.
    pub fn beat(&mut self, tdata: u128, tkeep: u16, tlast: bool) -> Result<Option<Tlp>, String> {
        let n = match tkeep {
            0x000F => 1,
            0x00FF => 2,
            0x0FFF => 3,
            0xFFFF => 4,
            _ => {
                return Err(format!(
                    "tkeep {tkeep:#06x} is not 0x000F, 0x00FF, 0x0FFF or 0xFFFF"
                ))
            }
        };
        if n < 4 && !tlast {
            return Err(format!("tkeep {tkeep:#06x} before the last beat"));
        }
        self.dws.extend((0..n).map(|i| (tdata >> (32 * i)) as u32));
        if !tlast {
            return Ok(None);
        }
        let dws = std::mem::take(&mut self.dws);
        let h = Self::header_dws(dws[0]) as usize;
        if dws.len() < h {
            return Err(format!(
                "a TLP of {} DWs, shorter than its header",
                dws.len()
            ));
        }
        let mut hdr = [0u32; 4];
        hdr[..h].copy_from_slice(&dws[..h]);
        let data = dws[h..].iter().map(|d| d.swap_bytes()).collect();
        Ok(Some(Tlp { hdr, data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlp::ReqId;

    /// A 32-bit MemWr of `len` DWs.
    fn mem_write(len: u32) -> Tlp {
        Tlp::mem_wr(
            ReqId::default(),
            0x1000,
            (0..len).map(|i| 0x0403_0201 * (i + 1)).collect(),
            0xF,
            0xF,
        )
    }

    #[test]
    fn straddled_tlp_starts_at_dw2_of_the_beat_where_the_last_ends() {
        let mut q: VecDeque<RxBeat> = VecDeque::new();
        // 3-DW header + 2 DWs: ends at DW 0 of beat 1.
        push_rx(&mut q, 0, &mem_write(2), false, || 0);
        assert_eq!(q.len(), 2);
        assert_eq!(q[1].eof_dw(), Some(0));
        assert!(push_rx(&mut q, 0, &mem_write(1), true, || 0));
        assert_eq!(q.len(), 3);
        assert_eq!(q[1].tuser & (SOF | SOF_DW2), SOF | SOF_DW2);
        assert_eq!((q[1].tdata >> 64) as u32, mem_write(1).hdr[0]);
        assert_eq!(q[2].eof_dw(), Some(1));
        // Payload bytes in wire order.
        let w = mem_write(1);
        assert_eq!(wire_dws(&w).0[3], w.data[0].swap_bytes());
    }

    #[test]
    fn fixed_beats_are_not_straddled_into() {
        let mut q: VecDeque<RxBeat> = VecDeque::new();
        push_rx(&mut q, 0, &mem_write(2), false, || 0);
        assert!(!push_rx(&mut q, 2, &mem_write(1), true, || 0));
        assert_eq!(q.len(), 4);
        assert_eq!(q[2].tuser & 0x1F << 10, SOF | SOF_DW2);
        assert_eq!(q[2].eof_dw(), None);
    }

    #[test]
    fn collector_rebuilds_the_tlp_and_checks_tkeep() {
        let tlp = mem_write(3);
        let (dws, _) = wire_dws(&tlp);
        let mut c = TxCollector::default();
        let beat = |d: &[u32]| d.iter().rev().fold(0u128, |a, &x| a << 32 | x as u128);
        assert_eq!(c.beat(beat(&dws[0..4]), 0xFFFF, false), Ok(None));
        assert_eq!(c.beat(beat(&dws[4..6]), 0x00FF, true), Ok(Some(tlp)));
        assert!(c.beat(0, 0x00F0, true).is_err());
        assert!(c.beat(0, 0x00FF, false).is_err());
    }
}
