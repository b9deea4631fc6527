//! Receive header split for the Xilinx 7-series PCIe block: from TLPs that
//! start at DW 0 of a beat (the [`crate::s7_rx_align`] output) to vireo's
//! stream, header on `hdr` and payload DW-aligned on `data`.
//!
//! Fmt bit 0 (DW 0 bit 29) tells a 4-DW header from a 3-DW one. After a
//! 4-DW header the payload beats pass as they are; after a 3-DW header the
//! payload starts at DW 3 of the first beat, so each output beat is DW 3 of
//! one input beat and DWs 0-2 of the next (one DW carried). Payload DWs are
//! byte-swapped into memory order ([`crate::dw_swap`]).
//!
//! Timing: the first beat of a TLP with payload is taken without output
//! (its header is registered; its data waits for the next beat's); a TLP
//! without payload, or whose payload fits its first beat, passes
//! combinationally. One extra output cycle (input held) follows a 3-DW
//! header TLP whose last beat is full.

use crate::dw_swap::DwSwap;
use crate::tlp_stream::{TlpSink, TlpSource};
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;

/// The header split.
#[derive(LogicBlock, Default)]
pub struct S7RxSplit {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// TLPs starting at DW 0 of a beat, header and payload in the DWs.
    pub aligned: TlpSink,
    /// The same TLPs, header separate.
    pub out: TlpSource,
    swap: DwSwap,
    /// Between the first and the last beat of a TLP.
    busy: DFF<Bit>,
    /// The TLP has a 4-DW header.
    four: DFF<Bit>,
    /// The next output beat is the TLP's first.
    first: DFF<Bit>,
    hdr: DFF<Bits<128>>,
    /// DW 3 of the previous beat (3-DW headers).
    carry: DFF<Bits<32>>,
    /// The carried DW is the TLP's last and goes out on its own.
    flush: DFF<Bit>,
    /// Header of the beat on `aligned`, DW 0 in bits 127:96.
    beat_hdr: Signal<Local, Bits<128>>,
    /// Payload of the output beat, before the byte swap.
    payload: Signal<Local, Bits<DATA_WIDTH>>,
}

impl Logic for S7RxSplit {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, busy, four, first, hdr, carry, flush);
        self.beat_hdr.next = (bit_cast::<128, 32>(self.aligned.data.val().get_bits::<32>(0)) << 96)
            | (bit_cast::<128, 32>(self.aligned.data.val().get_bits::<32>(32)) << 64)
            | (bit_cast::<128, 32>(self.aligned.data.val().get_bits::<32>(64)) << 32);
        if self.aligned.data.val().get_bit(29) {
            self.beat_hdr.next = self.beat_hdr.val()
                | bit_cast::<128, 32>(self.aligned.data.val().get_bits::<32>(96));
        }
        self.payload.next = self.aligned.data.val();
        self.out.hdr.next = self.hdr.q.val();
        self.out.strb.next = self.aligned.strb.val();
        self.out.sop.next = self.first.q.val();
        self.out.eop.next = self.aligned.eop.val();
        self.out.valid.next = false;
        self.aligned.ready.next = false;
        if self.flush.q.val() {
            self.payload.next = bit_cast::<DATA_WIDTH, 32>(self.carry.q.val());
            self.out.strb.next = 1.into();
            self.out.sop.next = false;
            self.out.eop.next = true;
            self.out.valid.next = true;
            if self.out.ready.val() {
                self.flush.d.next = false;
                self.busy.d.next = false;
            }
        } else if !self.busy.q.val() {
            self.out.hdr.next = self.beat_hdr.val();
            self.out.sop.next = true;
            if self.aligned.eop.val() {
                // The whole TLP is in this beat.
                self.payload.next = 0.into();
                self.out.strb.next = 0.into();
                if !self.aligned.data.val().get_bit(29) && self.aligned.strb.val().get_bit(3) {
                    self.payload.next =
                        bit_cast::<DATA_WIDTH, 32>(self.aligned.data.val().get_bits::<32>(96));
                    self.out.strb.next = 1.into();
                }
                self.out.valid.next = self.aligned.valid.val();
                self.aligned.ready.next = self.out.ready.val();
            } else {
                self.aligned.ready.next = true;
                if self.aligned.valid.val() {
                    self.busy.d.next = true;
                    self.first.d.next = true;
                    self.four.d.next = self.aligned.data.val().get_bit(29);
                    self.hdr.d.next = self.beat_hdr.val();
                    self.carry.d.next = self.aligned.data.val().get_bits::<32>(96);
                }
            }
        } else {
            self.out.valid.next = self.aligned.valid.val();
            self.aligned.ready.next = self.out.ready.val();
            if !self.four.q.val() {
                // Carried DW 3, then DWs 0-2 of this beat.
                self.payload.next = bit_cast::<DATA_WIDTH, 32>(self.carry.q.val())
                    | (self.aligned.data.val() << 32);
                self.out.strb.next = 15.into();
                if !self.aligned.strb.val().get_bit(1) {
                    self.out.strb.next = 3.into();
                } else if !self.aligned.strb.val().get_bit(2) {
                    self.out.strb.next = 7.into();
                }
                self.out.eop.next = self.aligned.eop.val() && !self.aligned.strb.val().get_bit(3);
            }
            if self.aligned.valid.val() && self.out.ready.val() {
                self.first.d.next = false;
                self.carry.d.next = self.aligned.data.val().get_bits::<32>(96);
                if self.aligned.eop.val() {
                    if !self.four.q.val() && self.aligned.strb.val().get_bit(3) {
                        self.flush.d.next = true;
                    } else {
                        self.busy.d.next = false;
                    }
                }
            }
        }
        self.swap.raw.next = self.payload.val();
        self.out.data.next = self.swap.swapped.val();
        if self.rst.val() {
            self.busy.d.next = false;
            self.four.d.next = false;
            self.first.d.next = false;
            self.hdr.d.next = 0.into();
            self.carry.d.next = 0.into();
            self.flush.d.next = false;
        }
    }
}
