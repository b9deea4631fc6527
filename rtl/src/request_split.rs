//! Request splitter of the DMA engines: the next memory request of a
//! transfer, at most the size that Device Control sets (MRRS for reads, MPS
//! for writes), with its length in DWs and its first/last byte enables for
//! any byte alignment. No request crosses 4 KiB.
//!
//! [`RequestSplit::aligned`] cuts at multiples of the size (both sizes
//! divide 4 KiB): the write engine's choice, so that every payload but a
//! transfer's first and last fills whole beats. [`RequestSplit::from_start`]
//! cuts the size from the DW of the transfer's first byte, and at 4 KiB:
//! the read engine's choice. A read request is one beat whatever its
//! length, so fewer of them leave the stream freer: a 1526-byte read at
//! MRRS 512 takes 3 requests (4 when it crosses 4 KiB) instead of 4 at
//! most alignments.
//!
//! Purely combinational; zero latency.

use rust_hdl::prelude::*;

/// One request of a transfer of `left` bytes at an address ending in
/// `addr_lo`.
#[derive(LogicBlock)]
pub struct RequestSplit {
    /// The Device Control size field (128 << field bytes; 4096 from 5 on).
    pub size_field: Signal<In, Bits<3>>,
    /// The low 14 bits of the transfer's next byte address.
    pub addr_lo: Signal<In, Bits<14>>,
    /// Bytes left in the transfer (at least 1).
    pub left: Signal<In, Bits<17>>,
    /// Bytes in this request: up to the boundary.
    pub chunk: Signal<Out, Bits<17>>,
    /// Byte offset of the first byte in its DW.
    pub first: Signal<Out, Bits<2>>,
    /// DWs the request spans.
    pub dws: Signal<Out, Bits<11>>,
    /// First DW byte enables.
    pub first_be: Signal<Out, Bits<4>>,
    /// Last DW byte enables (0 for a 1-DW request).
    pub last_be: Signal<Out, Bits<4>>,
    limit: Signal<Local, Bits<14>>,
    /// Bytes to the next 4 KiB boundary.
    page_room: Signal<Local, Bits<14>>,
    room: Signal<Local, Bits<14>>,
    tail: Signal<Local, Bits<2>>,
    /// Cut the size from the first byte (else at multiples of it).
    from_first: Constant<Bit>,
}

impl RequestSplit {
    /// Requests end at multiples of the size (or at the transfer's end).
    pub fn aligned() -> Self {
        Self::new(false)
    }

    /// Requests are the size from their first byte, cut at 4 KiB.
    pub fn from_start() -> Self {
        Self::new(true)
    }

    fn new(from_first: bool) -> Self {
        Self {
            size_field: Default::default(),
            addr_lo: Default::default(),
            left: Default::default(),
            chunk: Default::default(),
            first: Default::default(),
            dws: Default::default(),
            first_be: Default::default(),
            last_be: Default::default(),
            limit: Default::default(),
            page_room: Default::default(),
            room: Default::default(),
            tail: Default::default(),
            from_first: Constant::new(from_first),
        }
    }
}

impl Logic for RequestSplit {
    #[hdl_gen]
    fn update(&mut self) {
        self.limit.next = bits::<14>(128) << bit_cast::<14, 3>(self.size_field.val());
        if self.size_field.val() > bits::<3>(5) {
            self.limit.next = bits::<14>(4096);
        }
        self.room.next = self.limit.val() - (self.addr_lo.val() & (self.limit.val() - 1));
        self.page_room.next = bits::<14>(4096) - (self.addr_lo.val() & 4095);
        if self.from_first.val() {
            // The size counts DWs: from the first byte's DW.
            self.room.next =
                self.limit.val() - bit_cast::<14, 2>(self.addr_lo.val().get_bits::<2>(0));
            if self.page_room.val() < self.room.val() {
                self.room.next = self.page_room.val();
            }
        }
        self.chunk.next = self.left.val();
        if self.left.val() > bit_cast::<17, 14>(self.room.val()) {
            self.chunk.next = bit_cast::<17, 14>(self.room.val());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_within_the_size_and_4_kib_and_cover_the_transfer() {
        let mut rnd = crate::test_rng(11);
        for from_first in [false, true] {
            let mut uut = RequestSplit::new(from_first);
            uut.connect_all();
            for _ in 0..3000 {
                let (field, mut addr) = (rnd(6), rnd(1 << 20));
                let range = if rnd(2) == 0 { 100 } else { 1 << 16 };
                let mut left = 1 + rnd(range);
                let size = 128 << field;
                let mut requests = 0;
                while left > 0 {
                    uut.size_field.next = field.into();
                    uut.addr_lo.next = (addr & 0x3FFF).into();
                    uut.left.next = left.into();
                    assert!(simulate(&mut uut, 50));
                    let chunk = uut.chunk.val().to_u64();
                    let end = addr + chunk;
                    assert!(chunk >= 1 && chunk <= size.min(left), "{chunk} of {left}");
                    assert_eq!(addr / 4096, (end - 1) / 4096, "{addr:#x} + {chunk}");
                    let full = if from_first {
                        (size - addr % 4).min(4096 - addr % 4096)
                    } else {
                        size - addr % size
                    };
                    assert_eq!(chunk, full.min(left), "{addr:#x}, {left} left, size {size}");
                    let dws = end.div_ceil(4) - addr / 4;
                    assert!(dws * 4 <= size, "{dws} DWs");
                    assert_eq!(uut.dws.val().to_u64(), dws);
                    let (first_be, last_be) =
                        (uut.first_be.val().to_u64(), uut.last_be.val().to_u64());
                    let be = |b: u64| 0xF & (0xF << (b % 4));
                    if dws == 1 {
                        assert_eq!(first_be, be(addr) & (0xF >> ((4 - end % 4) % 4)));
                        assert_eq!(last_be, 0);
                    } else {
                        assert_eq!(first_be, be(addr));
                        assert_eq!(last_be, 0xF >> ((4 - end % 4) % 4));
                    }
                    (addr, left, requests) = (end, left - chunk, requests + 1);
                }
                assert!(requests >= 1);
            }
        }
    }
}
