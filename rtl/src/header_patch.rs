//! Receive header patch: rewrites the `virtio_net_hdr` of the frame being
//! delivered on its way out of the frame buffer (virtio 5.1.6.4.1: `flags`
//! and `gso_type` 0, `num_buffers` 1), so the frame buffer's write port
//! stays free for incoming data.
//!
//! Sits between the frame buffer's read port and the DMA write engine. It
//! follows the read addresses through the buffer's 2-cycle read latency;
//! in each 16-byte row read, the bytes at frame offsets 0, 1, 10 and 11 of
//! the frame starting at `start` are replaced. Bytes past a short frame's
//! end may be replaced too; the write engine never sends them. Rows of
//! other frames pass unchanged. The write engine may still read out a
//! frame after the receive side has moved on to the next (its commands
//! wait in the engine's queue), so the net engine puts two patches in
//! series: the frame in hand and the one before, each enabled while its
//! data may be read out.
//!
//! Timing: no added latency (combinational on the read data).

use crate::byte_buffer::BUF_ADDR_BITS;
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::virtio::net::{HDR_FLAGS, HDR_GSO_TYPE, HDR_NUM_BUFFERS};

/// The patch.
#[derive(LogicBlock)]
pub struct HeaderPatch {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Read address presented to the frame buffer this cycle.
    pub rd_addr: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Data the frame buffer returns (for the address of 2 cycles ago).
    pub rd_data: Signal<In, Bits<DATA_WIDTH>>,
    /// First byte (the header) of the frame being written out.
    pub start: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Patch (else every row passes unchanged).
    pub enable: Signal<In, Bit>,
    /// `rd_data` with the header bytes patched.
    pub out: Signal<Out, Bits<DATA_WIDTH>>,
    at1: DFF<Bits<BUF_ADDR_BITS>>,
    at2: DFF<Bits<BUF_ADDR_BITS>>,
    /// Frame offset of the row's first byte (mod the buffer size).
    rel: Signal<Local, Bits<BUF_ADDR_BITS>>,
    /// Lane of the frame's first byte (mod the buffer size).
    lane0: Signal<Local, Bits<BUF_ADDR_BITS>>,
    mask: Signal<Local, Bits<DATA_WIDTH>>,
    value: Signal<Local, Bits<DATA_WIDTH>>,
    wrap: Constant<Bits<BUF_ADDR_BITS>>,
    lanes: Constant<Bits<BUF_ADDR_BITS>>,
    hdr_mask: Constant<Bits<DATA_WIDTH>>,
    hdr_value: Constant<Bits<DATA_WIDTH>>,
}

impl HeaderPatch {
    /// A patch in front of a frame buffer of `size` bytes (a power of two).
    pub fn new(size: u64) -> Self {
        let mut mask = Bits::<DATA_WIDTH>::default();
        for b in [
            HDR_FLAGS,
            HDR_GSO_TYPE,
            HDR_NUM_BUFFERS,
            HDR_NUM_BUFFERS + 1,
        ] {
            mask.set_bits::<8>(8 * b, 0xFFu64.into());
        }
        let mut value = Bits::<DATA_WIDTH>::default();
        value.set_bits::<8>(8 * HDR_NUM_BUFFERS, 1u64.into());
        Self {
            clock: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            start: Default::default(),
            enable: Default::default(),
            out: Default::default(),
            at1: Default::default(),
            at2: Default::default(),
            rel: Default::default(),
            lane0: Default::default(),
            mask: Default::default(),
            value: Default::default(),
            wrap: Constant::new((size - 1).into()),
            lanes: Constant::new(((DATA_WIDTH / 8) as u64).into()),
            hdr_mask: Constant::new(mask),
            hdr_value: Constant::new(value),
        }
    }
}

impl Logic for HeaderPatch {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, at1, at2);
        self.at1.d.next = self.rd_addr.val();
        self.at2.d.next = self.at1.q.val();
        self.rel.next = (self.at2.q.val() - self.start.val()) & self.wrap.val();
        self.lane0.next = (self.start.val() - self.at2.q.val()) & self.wrap.val();
        self.mask.next = 0.into();
        self.value.next = 0.into();
        if self.enable.val() && (self.rel.val() < self.lanes.val()) {
            // The row starts inside the header.
            self.mask.next =
                self.hdr_mask.val() >> (bit_cast::<8, BUF_ADDR_BITS>(self.rel.val()) << 3);
            self.value.next =
                self.hdr_value.val() >> (bit_cast::<8, BUF_ADDR_BITS>(self.rel.val()) << 3);
        } else if self.enable.val() && (self.lane0.val() < self.lanes.val()) {
            // The header starts inside the row.
            self.mask.next =
                self.hdr_mask.val() << (bit_cast::<8, BUF_ADDR_BITS>(self.lane0.val()) << 3);
            self.value.next =
                self.hdr_value.val() << (bit_cast::<8, BUF_ADDR_BITS>(self.lane0.val()) << 3);
        }
        self.out.next = (self.rd_data.val() & !self.mask.val()) | self.value.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u64 = 64;

    fn cycle(uut: &mut HeaderPatch) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 100));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 100));
    }

    /// The 16 bytes at `addr` of a buffer whose byte at address a is a.
    fn row(addr: u64) -> Bits<DATA_WIDTH> {
        crate::byte_buffer::to_bits(&std::array::from_fn(|i| ((addr + i as u64) % SIZE) as u8))
    }

    #[test]
    fn header_bytes_are_replaced_in_every_row_that_holds_them_while_enabled() {
        for (start, enable) in [
            (0, true),
            (5, true),
            (16, true),
            (50, true),
            (60, true),
            (5, false),
        ] {
            let mut uut = HeaderPatch::new(SIZE);
            uut.connect_all();
            uut.start.next = start.into();
            uut.enable.next = enable;
            // Rows at every address, the data 2 cycles after the address.
            let addrs: Vec<u64> = (0..SIZE).collect();
            for (c, &a) in addrs.iter().enumerate() {
                uut.rd_addr.next = a.into();
                uut.rd_data.next = row(if c >= 2 { addrs[c - 2] } else { 0 });
                assert!(simulate(&mut uut, 100));
                if c >= 2 {
                    let at = addrs[c - 2];
                    for i in 0..16 {
                        let byte = (at + i) % SIZE;
                        let offset = (byte + SIZE - start) % SIZE;
                        let expected = match offset {
                            0 | 1 | 11 if enable => 0,
                            10 if enable => 1,
                            _ => byte,
                        };
                        let got = uut.out.val().get_bits::<8>(8 * i as usize).to_u64();
                        assert_eq!(got, expected, "start {start}, row {at}, lane {i}");
                    }
                }
                cycle(&mut uut);
            }
        }
    }
}
