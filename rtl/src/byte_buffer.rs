//! Byte-addressed on-chip buffer: `size` bytes kept as 16-byte rows in two
//! banks (even and odd rows), so that 16 bytes at any byte address - which
//! touch two adjacent rows - are written or read in one cycle.
//!
//! Write port: `wr_data` lane i (bits 8i+7:8i) is the byte for address
//! `wr_addr + i`, written if `wr_lanes` bit i is set; the beat is rotated
//! into place and each bank writes its row. Read port: `rd_data` lane i is
//! the byte at `rd_addr + i`. Addresses wrap at `size` (a power of two), so
//! the buffer works as a ring.
//!
//! Timing: a write takes effect 2 edges after it is presented (one input
//! register, then the RAM); `rd_data`/`rd_valid` follow `rd_en` by 2 cycles
//! (RAM read, then the rotation register). Full throughput on both ports,
//! no back-pressure. A read sees every write presented at least 2 cycles
//! before it.

use crate::lane_ram::{LaneRam, LANES};
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;

/// Width of a byte address (the buffer holds at most 128 KiB).
pub const BUF_ADDR_BITS: usize = 17;
/// Width of a bank address.
const BANK_BITS: usize = BUF_ADDR_BITS - 5;

/// The buffer.
#[derive(LogicBlock)]
pub struct ByteBuffer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Write these lanes.
    pub wr_lanes: Signal<In, Bits<LANES>>,
    /// Address of lane 0 of the write.
    pub wr_addr: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Write data.
    pub wr_data: Signal<In, Bits<DATA_WIDTH>>,
    /// Read 16 bytes.
    pub rd_en: Signal<In, Bit>,
    /// Address of lane 0 of the read.
    pub rd_addr: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// The bytes read, 2 cycles after `rd_en`.
    pub rd_data: Signal<Out, Bits<DATA_WIDTH>>,
    /// `rd_data` is valid.
    pub rd_valid: Signal<Out, Bit>,
    even: LaneRam<BANK_BITS>,
    odd: LaneRam<BANK_BITS>,
    w_lanes: DFF<Bits<LANES>>,
    w_addr: DFF<Bits<BUF_ADDR_BITS>>,
    w_data: DFF<Bits<DATA_WIDTH>>,
    r_valid: DFF<Bit>,
    r_shift: DFF<Bits<4>>,
    r_odd: DFF<Bit>,
    out_valid: DFF<Bit>,
    out_data: DFF<Bits<DATA_WIDTH>>,
    addr_mask: Constant<Bits<BUF_ADDR_BITS>>,
    w_row: Signal<Local, Bits<BUF_ADDR_BITS>>,
    w_next: Signal<Local, Bits<BUF_ADDR_BITS>>,
    w_rot: Signal<Local, Bits<4>>,
    w_unrot: Signal<Local, Bits<4>>,
    w_shift: Signal<Local, Bits<8>>,
    w_rotated: Signal<Local, Bits<DATA_WIDTH>>,
    w_rlanes: Signal<Local, Bits<LANES>>,
    w_first: Signal<Local, Bits<LANES>>,
    r_row: Signal<Local, Bits<BUF_ADDR_BITS>>,
    r_next: Signal<Local, Bits<BUF_ADDR_BITS>>,
    r_lo: Signal<Local, Bits<DATA_WIDTH>>,
    r_hi: Signal<Local, Bits<DATA_WIDTH>>,
    r_bits: Signal<Local, Bits<8>>,
}

impl ByteBuffer {
    /// A buffer of `size` bytes (a power of two, 32 ..= 64 KiB).
    pub fn new(size: usize) -> Self {
        assert!(
            size.is_power_of_two() && (32..=1 << BUF_ADDR_BITS).contains(&size),
            "buffer size {size} is not a power of two in 32 ..= 64 KiB"
        );
        let rows_per_bank = size / 2 / LANES;
        Self {
            clock: Default::default(),
            wr_lanes: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            rd_en: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            rd_valid: Default::default(),
            even: LaneRam::new(rows_per_bank),
            odd: LaneRam::new(rows_per_bank),
            w_lanes: Default::default(),
            w_addr: Default::default(),
            w_data: Default::default(),
            r_valid: Default::default(),
            r_shift: Default::default(),
            r_odd: Default::default(),
            out_valid: Default::default(),
            out_data: Default::default(),
            addr_mask: Constant::new(((size - 1) as u64).into()),
            w_row: Default::default(),
            w_next: Default::default(),
            w_rot: Default::default(),
            w_unrot: Default::default(),
            w_shift: Default::default(),
            w_rotated: Default::default(),
            w_rlanes: Default::default(),
            w_first: Default::default(),
            r_row: Default::default(),
            r_next: Default::default(),
            r_lo: Default::default(),
            r_hi: Default::default(),
            r_bits: Default::default(),
        }
    }
}

impl Logic for ByteBuffer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, w_lanes, w_addr, w_data, r_valid, r_shift, r_odd, out_valid, out_data
        );
        clock!(self, clock, even, odd);

        // Write: register the beat, rotate it to its byte lanes; lanes at or
        // above the rotation go to the first row, the others to the next.
        self.w_lanes.d.next = self.wr_lanes.val();
        self.w_addr.d.next = self.wr_addr.val() & self.addr_mask.val();
        self.w_data.d.next = self.wr_data.val();
        self.w_rot.next = self.w_addr.q.val().get_bits::<4>(0);
        self.w_shift.next = bit_cast::<8, 4>(self.w_rot.val()) << 3;
        self.w_rotated.next = (self.w_data.q.val() << self.w_shift.val())
            | (self.w_data.q.val() >> (bits::<8>(128) - self.w_shift.val()));
        // 16 - rotation, modulo 16 (a 4-bit signal: Verilog would widen it).
        self.w_unrot.next = bits::<4>(0) - self.w_rot.val();
        self.w_rlanes.next = (self.w_lanes.q.val() << self.w_rot.val())
            | (self.w_lanes.q.val() >> self.w_unrot.val());
        self.w_first.next = bits::<LANES>(0xFFFF) << self.w_rot.val();
        self.w_row.next = self.w_addr.q.val() >> 4;
        self.w_next.next = ((self.w_addr.q.val() + 16) & self.addr_mask.val()) >> 4;
        self.even.write_data.next = self.w_rotated.val();
        self.odd.write_data.next = self.w_rotated.val();
        if self.w_row.val().get_bit(0) {
            self.odd.write_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.w_row.val() >> 1);
            self.odd.write_lanes.next = self.w_rlanes.val() & self.w_first.val();
            self.even.write_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.w_next.val() >> 1);
            self.even.write_lanes.next = self.w_rlanes.val() & !self.w_first.val();
        } else {
            self.even.write_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.w_row.val() >> 1);
            self.even.write_lanes.next = self.w_rlanes.val() & self.w_first.val();
            self.odd.write_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.w_next.val() >> 1);
            self.odd.write_lanes.next = self.w_rlanes.val() & !self.w_first.val();
        }

        // Read: both rows in one cycle, then shift the 32 bytes down.
        self.r_row.next = (self.rd_addr.val() & self.addr_mask.val()) >> 4;
        self.r_next.next = ((self.rd_addr.val() + 16) & self.addr_mask.val()) >> 4;
        if self.r_row.val().get_bit(0) {
            self.odd.read_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.r_row.val() >> 1);
            self.even.read_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.r_next.val() >> 1);
        } else {
            self.even.read_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.r_row.val() >> 1);
            self.odd.read_address.next =
                bit_cast::<BANK_BITS, BUF_ADDR_BITS>(self.r_next.val() >> 1);
        }
        self.r_valid.d.next = self.rd_en.val();
        self.r_shift.d.next = self.rd_addr.val().get_bits::<4>(0);
        self.r_odd.d.next = self.r_row.val().get_bit(0);
        if self.r_odd.q.val() {
            self.r_lo.next = self.odd.read_data.val();
            self.r_hi.next = self.even.read_data.val();
        } else {
            self.r_lo.next = self.even.read_data.val();
            self.r_hi.next = self.odd.read_data.val();
        }
        self.r_bits.next = bit_cast::<8, 4>(self.r_shift.q.val()) << 3;
        self.out_valid.d.next = self.r_valid.q.val();
        self.out_data.d.next = (self.r_lo.val() >> self.r_bits.val())
            | (self.r_hi.val() << (bits::<8>(128) - self.r_bits.val()));
        self.rd_valid.next = self.out_valid.q.val();
        self.rd_data.next = self.out_data.q.val();
    }
}

/// A beat of 16 bytes, the first in the low bits (test benches).
#[cfg(test)]
pub(crate) fn to_bits(bytes: &[u8; 16]) -> Bits<DATA_WIDTH> {
    let mut b = Bits::<DATA_WIDTH>::default();
    for (i, &v) in bytes.iter().enumerate() {
        b.set_bits::<8>(8 * i, (v as u64).into());
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(uut: &mut ByteBuffer) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 100));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 100));
    }

    #[test]
    fn writes_and_reads_at_any_byte_address_wrapping_at_the_end() {
        let size = 256;
        let mut uut = ByteBuffer::new(size);
        uut.connect_all();
        let mut shadow = vec![0u8; size];
        let mut rnd = crate::test_rng(0x1234_5678);
        let mut next = move || rnd(u64::MAX);
        // Fill everything, then overwrite random lanes at random addresses.
        let plan: Vec<(usize, u16)> = (0..size / 16)
            .map(|r| (16 * r, 0xFFFF))
            .chain((0..60).map(|_| (next() as usize % size, next() as u16)))
            .collect();
        for (addr, lanes) in plan {
            let data: [u8; 16] = std::array::from_fn(|_| next() as u8);
            for i in (0..16).filter(|i| lanes >> i & 1 != 0) {
                shadow[(addr + i) % size] = data[i];
            }
            uut.wr_addr.next = (addr as u64).into();
            uut.wr_lanes.next = (lanes as u64).into();
            uut.wr_data.next = to_bits(&data);
            cycle(&mut uut);
        }
        uut.wr_lanes.next = 0.into();
        cycle(&mut uut);
        cycle(&mut uut);
        // Read every address, one per cycle; the data comes in order.
        let mut reads = Vec::new();
        for addr in 0..size + 3 {
            uut.rd_en.next = addr < size;
            uut.rd_addr.next = (addr as u64).into();
            cycle(&mut uut);
            if uut.rd_valid.val() {
                reads.push(uut.rd_data.val());
            }
        }
        assert_eq!(reads.len(), size);
        for (at, data) in reads.iter().enumerate() {
            for i in 0..16 {
                let got = data.get_bits::<8>(8 * i).to_u64() as u8;
                assert_eq!(got, shadow[(at + i) % size], "byte {i} of a read at {at}");
            }
        }
    }
}
