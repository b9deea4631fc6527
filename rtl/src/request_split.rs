//! Request splitter of the DMA engines: the next memory request of a
//! transfer, with its length in DWs and its first/last byte enables for any
//! byte alignment. A transfer that fits one request (no more DWs than the
//! size that Device Control sets, MRRS for reads and MPS for writes, and
//! within 4 KiB) goes as one, wherever it starts. A longer one is cut at
//! multiples of the size (both divide 4 KiB, so no request crosses 4 KiB):
//! that keeps every write payload but a transfer's first and last whole
//! beats, and every read request's end on a read completion boundary, so
//! the completer splits no more than it must.
//!
//! Purely combinational; zero latency.

use crate::dma_port::LEN_BITS;
use rust_hdl::prelude::*;

/// One request of a transfer of `left` bytes at an address ending in
/// `addr_lo`.
#[derive(LogicBlock, Default)]
pub struct RequestSplit {
    /// The Device Control size field (128 << field bytes; 4096 from 5 on).
    pub size_field: Signal<In, Bits<3>>,
    /// The low 14 bits of the transfer's next byte address.
    pub addr_lo: Signal<In, Bits<14>>,
    /// Bytes left in the transfer (at least 1).
    pub left: Signal<In, Bits<LEN_BITS>>,
    /// Bytes in this request: all that are left if they fit one request,
    /// else up to the size boundary.
    pub chunk: Signal<Out, Bits<LEN_BITS>>,
    /// Byte offset of the first byte in its DW.
    pub first: Signal<Out, Bits<2>>,
    /// DWs the request spans.
    pub dws: Signal<Out, Bits<11>>,
    /// First DW byte enables.
    pub first_be: Signal<Out, Bits<4>>,
    /// Last DW byte enables (0 for a 1-DW request).
    pub last_be: Signal<Out, Bits<4>>,
    limit: Signal<Local, Bits<14>>,
    room: Signal<Local, Bits<14>>,
    tail: Signal<Local, Bits<2>>,
    /// Bytes from the address that fit the size in DWs.
    dw_room: Signal<Local, Bits<14>>,
    /// Bytes from the address to the next 4 KiB boundary.
    page_room: Signal<Local, Bits<14>>,
}

impl Logic for RequestSplit {
    #[hdl_gen]
    fn update(&mut self) {
        self.limit.next = bits::<14>(128) << bit_cast::<14, 3>(self.size_field.val());
        if self.size_field.val() > bits::<3>(5) {
            self.limit.next = bits::<14>(4096);
        }
        self.room.next = self.limit.val() - (self.addr_lo.val() & (self.limit.val() - 1));
        self.chunk.next = self.left.val();
        self.dw_room.next =
            self.limit.val() - bit_cast::<14, 2>(self.addr_lo.val().get_bits::<2>(0));
        self.page_room.next =
            bits::<14>(4096) - bit_cast::<14, 12>(self.addr_lo.val().get_bits::<12>(0));
        // (`room` is never more than either: a transfer that does not fit
        // one request is longer than `room` too.)
        if (self.left.val() > bit_cast::<LEN_BITS, 14>(self.dw_room.val()))
            || (self.left.val() > bit_cast::<LEN_BITS, 14>(self.page_room.val()))
        {
            self.chunk.next = bit_cast::<LEN_BITS, 14>(self.room.val());
        }
        self.first.next = self.addr_lo.val().get_bits::<2>(0);
        self.tail.next = self.addr_lo.val().get_bits::<2>(0) + self.chunk.val().get_bits::<2>(0);
        self.dws.next = bit_cast::<11, 13>(
            (bit_cast::<13, 2>(self.first.val()) + self.chunk.val().get_bits::<13>(0) + 3) >> 2,
        );
        self.first_be.next = bits::<4>(15) << bit_cast::<4, 2>(self.first.val());
        self.last_be.next = bits::<4>(15) >> (bits::<4>(4) - bit_cast::<4, 2>(self.tail.val()));
        if self.tail.val() == 0 {
            self.last_be.next = bits::<4>(15);
        }
        if self.dws.val() == 1 {
            self.first_be.next =
                (bits::<4>(15) << bit_cast::<4, 2>(self.first.val())) & self.last_be.val();
            self.last_be.next = bits::<4>(0);
        }
    }
}

/// Whether `len` bytes at `addr` fit one request of at most `size` bytes
/// (the splitter's rule, for the engines' tests).
#[cfg(test)]
pub(crate) fn fits_one_request(addr: u64, len: u64, size: u64) -> bool {
    (addr % 4 + len).div_ceil(4) * 4 <= size && addr % 4096 + len <= 4096
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_that_fits_goes_whole_and_a_longer_one_is_cut_at_the_size_boundary() {
        let mut rnd = crate::test_rng(11);
        let mut uut = RequestSplit::default();
        uut.connect_all();
        for _ in 0..3000 {
            // (Size fields from 5 on are 4096 bytes.)
            let (field, mut addr) = (rnd(8), rnd(1 << 20));
            let size = 128 << field.min(5);
            let range = [100, size + 8, 1 << 16][rnd(3) as usize];
            let mut left = 1 + rnd(range);
            while left > 0 {
                uut.size_field.next = field.into();
                uut.addr_lo.next = (addr & 0x3FFF).into();
                uut.left.next = left.into();
                assert!(simulate(&mut uut, 50));
                let chunk = uut.chunk.val().to_u64();
                let end = addr + chunk;
                let expected = if fits_one_request(addr, left, size) {
                    left
                } else {
                    size - addr % size
                };
                assert_eq!(chunk, expected, "{addr:#x}, {left} left, size {size}");
                assert_eq!(addr / 4096, (end - 1) / 4096, "{addr:#x} + {chunk}");
                let dws = end.div_ceil(4) - addr / 4;
                assert!(dws * 4 <= size, "{dws} DWs");
                assert_eq!(uut.dws.val().to_u64(), dws);
                let (first_be, last_be) = (uut.first_be.val().to_u64(), uut.last_be.val().to_u64());
                let last = 0xF >> ((4 - end % 4) % 4);
                if dws == 1 {
                    assert_eq!((first_be, last_be), ((0xF << (addr % 4)) & last & 0xF, 0));
                } else {
                    assert_eq!((first_be, last_be), ((0xF << (addr % 4)) & 0xF, last));
                }
                (addr, left) = (end, left - chunk);
            }
        }
    }
}
