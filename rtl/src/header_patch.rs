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
use crate::frame_fetch::FRAME_LEN_BITS;
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::virtio::net::{HDR_FLAGS, HDR_GSO_TYPE, HDR_NUM_BUFFERS};

// The patch takes the flags byte for any frame not empty.
const _: () = assert!(HDR_FLAGS == 0);

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
    /// The frame's length: header bytes past its end are not patched (they
    /// belong to the next frame; a frame may be shorter than its header).
    pub len: Signal<In, Bits<FRAME_LEN_BITS>>,
    /// `rd_data` with the header bytes patched.
    pub out: Signal<Out, Bits<DATA_WIDTH>>,
    at1: DFF<Bits<BUF_ADDR_BITS>>,
    at2: DFF<Bits<BUF_ADDR_BITS>>,
    /// Frame offset of the row's first byte (mod the buffer size).
    rel: Signal<Local, Bits<BUF_ADDR_BITS>>,
    /// Lane of the frame's first byte (mod the buffer size).
    lane0: Signal<Local, Bits<BUF_ADDR_BITS>>,
    /// The header bytes to patch (those the frame has), in frame order.
    fmask: Signal<Local, Bits<DATA_WIDTH>>,
    fvalue: Signal<Local, Bits<DATA_WIDTH>>,
    mask: Signal<Local, Bits<DATA_WIDTH>>,
    value: Signal<Local, Bits<DATA_WIDTH>>,
    wrap: Constant<Bits<BUF_ADDR_BITS>>,
    lanes: Constant<Bits<BUF_ADDR_BITS>>,
    /// Each header byte's lane, and its offset (the frame must be longer).
    m_flags: Constant<Bits<DATA_WIDTH>>,
    m_gso: Constant<Bits<DATA_WIDTH>>,
    m_nb0: Constant<Bits<DATA_WIDTH>>,
    m_nb1: Constant<Bits<DATA_WIDTH>>,
    o_gso: Constant<Bits<FRAME_LEN_BITS>>,
    o_nb0: Constant<Bits<FRAME_LEN_BITS>>,
    o_nb1: Constant<Bits<FRAME_LEN_BITS>>,
    /// num_buffers = 1 (its low byte).
    hdr_value: Constant<Bits<DATA_WIDTH>>,
}

/// The lane of header byte `b`.
fn lane(b: usize) -> Bits<DATA_WIDTH> {
    let mut mask = Bits::<DATA_WIDTH>::default();
    mask.set_bits::<8>(8 * b, 0xFFu64.into());
    mask
}

impl HeaderPatch {
    /// A patch in front of a frame buffer of `size` bytes (a power of two).
    pub fn new(size: u64) -> Self {
        let mut value = Bits::<DATA_WIDTH>::default();
        value.set_bits::<8>(8 * HDR_NUM_BUFFERS, 1u64.into());
        Self {
            clock: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            start: Default::default(),
            enable: Default::default(),
            len: Default::default(),
            fmask: Default::default(),
            fvalue: Default::default(),
            out: Default::default(),
            at1: Default::default(),
            at2: Default::default(),
            rel: Default::default(),
            lane0: Default::default(),
            mask: Default::default(),
            value: Default::default(),
            wrap: Constant::new((size - 1).into()),
            lanes: Constant::new(((DATA_WIDTH / 8) as u64).into()),
            m_flags: Constant::new(lane(HDR_FLAGS)),
            m_gso: Constant::new(lane(HDR_GSO_TYPE)),
            m_nb0: Constant::new(lane(HDR_NUM_BUFFERS)),
            m_nb1: Constant::new(lane(HDR_NUM_BUFFERS + 1)),
            o_gso: Constant::new((HDR_GSO_TYPE as u64).into()),
            o_nb0: Constant::new((HDR_NUM_BUFFERS as u64).into()),
            o_nb1: Constant::new((HDR_NUM_BUFFERS as u64 + 1).into()),
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
        // (HDR_FLAGS is 0: any frame has it.)
        self.fmask.next = 0.into();
        self.fvalue.next = 0.into();
        if self.len.val().any() {
            self.fmask.next = self.m_flags.val();
        }
        if self.len.val() > self.o_gso.val() {
            self.fmask.next = self.fmask.val() | self.m_gso.val();
        }
        if self.len.val() > self.o_nb0.val() {
            self.fmask.next = self.fmask.val() | self.m_nb0.val();
            self.fvalue.next = self.hdr_value.val();
        }
        if self.len.val() > self.o_nb1.val() {
            self.fmask.next = self.fmask.val() | self.m_nb1.val();
        }
        self.mask.next = 0.into();
        self.value.next = 0.into();
        if self.enable.val() && (self.rel.val() < self.lanes.val()) {
            // The row starts inside the header.
            self.mask.next =
                self.fmask.val() >> (bit_cast::<8, BUF_ADDR_BITS>(self.rel.val()) << 3);
            self.value.next =
                self.fvalue.val() >> (bit_cast::<8, BUF_ADDR_BITS>(self.rel.val()) << 3);
        } else if self.enable.val() && (self.lane0.val() < self.lanes.val()) {
            // The header starts inside the row.
            self.mask.next =
                self.fmask.val() << (bit_cast::<8, BUF_ADDR_BITS>(self.lane0.val()) << 3);
            self.value.next =
                self.fvalue.val() << (bit_cast::<8, BUF_ADDR_BITS>(self.lane0.val()) << 3);
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
        for (start, enable, len) in [
            (0, true, 60),
            (5, true, 12),
            (16, true, 40),
            (50, true, 20),
            (60, true, 30),
            (5, false, 30),
            (20, true, 11),
            (30, true, 5),
            (40, true, 1),
        ] {
            let mut uut = HeaderPatch::new(SIZE);
            uut.connect_all();
            uut.start.next = start.into();
            uut.enable.next = enable;
            uut.len.next = len.into();
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
                            _ if !enable || offset >= len => byte,
                            0 | 1 | 11 => 0,
                            10 => 1,
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
