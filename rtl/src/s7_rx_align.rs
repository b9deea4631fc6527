//! Receive alignment for the Xilinx 7-series PCIe block (PG054, 128-bit
//! AXI4-Stream `m_axis_rx_*`).
//!
//! The block marks TLP boundaries in `tuser` instead of `tlast`: `is_sof`
//! (bits 14:10; bit 14 a TLP starts, bit 13 it starts at DW 2 instead of
//! DW 0) and `is_eof` (bits 21:17; bit 21 a TLP ends, bits 20:19 the DW of
//! its last byte). A TLP may start at DW 2 of the beat in which the
//! previous one ends at DW 0 or 1 (straddling), or of a beat of its own.
//!
//! This block turns that into a stream in which every TLP starts at DW 0 of
//! a beat and no beat holds two TLPs: `out.data` with `out.strb` valid DWs
//! from DW 0, `out.sop`/`out.eop`, `out.hdr` unused (0). A TLP that started
//! at DW 2 goes out shifted by two DWs: the upper half of each beat is held
//! until the lower half of the next one arrives.
//!
//! Timing: an aligned TLP passes combinationally (`tready` follows
//! `out.ready`). A shifted TLP comes out one beat later, and one extra
//! cycle (input held) is taken when its last beat ends at DW 2 or 3.

use crate::s7_axis::S7RxAxis;
use crate::tlp_stream::TlpSource;
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;

/// The receive aligner.
#[derive(LogicBlock, Default)]
pub struct S7RxAlign {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// The hard block's receive stream.
    pub axis: S7RxAxis,
    /// TLPs, each starting at DW 0 of a beat.
    pub out: TlpSource,
    /// An aligned TLP is in progress (its beats pass straight through).
    in_tlp: DFF<Bit>,
    /// DWs 2 and 3 of an earlier beat are held.
    hold_valid: DFF<Bit>,
    hold: DFF<Bits<64>>,
    /// The held DWs start a TLP.
    hold_sop: DFF<Bit>,
    /// The held DWs end a TLP (they go out on their own).
    hold_last: DFF<Bit>,
    /// Both held DWs are valid (else only the lower one).
    hold_two: DFF<Bit>,
    sof0: Signal<Local, Bit>,
    sof2: Signal<Local, Bit>,
    eof: Signal<Local, Bit>,
    eof_dw: Signal<Local, Bits<2>>,
    /// Strobes of DWs 0 ..= eof_dw.
    eof_strb: Signal<Local, Bits<4>>,
    take: Signal<Local, Bit>,
}

impl Logic for S7RxAlign {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, in_tlp, hold_valid, hold, hold_sop, hold_last, hold_two);
        self.sof0.next = self.axis.tuser.val().get_bit(14) && !self.axis.tuser.val().get_bit(13);
        self.sof2.next = self.axis.tuser.val().get_bit(14) && self.axis.tuser.val().get_bit(13);
        self.eof.next = self.axis.tuser.val().get_bit(21);
        self.eof_dw.next = self.axis.tuser.val().get_bits::<2>(19);
        self.eof_strb.next = 15.into();
        match self.eof_dw.val().index() {
            0 => self.eof_strb.next = 1.into(),
            1 => self.eof_strb.next = 3.into(),
            2 => self.eof_strb.next = 7.into(),
            _ => {}
        }
        self.out.hdr.next = 0.into();
        self.out.data.next = self.axis.tdata.val();
        self.out.strb.next = 15.into();
        self.out.sop.next = false;
        self.out.eop.next = false;
        self.out.valid.next = false;
        self.axis.tready.next = false;
        self.take.next = false;
        if self.hold_valid.q.val() && self.hold_last.q.val() {
            // The last one or two DWs of a shifted TLP, on their own.
            self.out.data.next = bit_cast::<DATA_WIDTH, 64>(self.hold.q.val());
            self.out.strb.next = 1.into();
            if self.hold_two.q.val() {
                self.out.strb.next = 3.into();
            }
            self.out.eop.next = true;
            self.out.valid.next = true;
            if self.out.ready.val() {
                self.hold_valid.d.next = false;
            }
        } else if self.hold_valid.q.val() {
            // A shifted TLP: held DWs, then DWs 0 and 1 of this beat.
            self.out.data.next = bit_cast::<DATA_WIDTH, 64>(self.hold.q.val())
                | (bit_cast::<DATA_WIDTH, 64>(self.axis.tdata.val().get_bits::<64>(0)) << 64);
            self.out.sop.next = self.hold_sop.q.val();
            if self.eof.val() && !self.eof_dw.val().get_bit(1) {
                self.out.eop.next = true;
                self.out.strb.next = 7.into();
                if self.eof_dw.val().get_bit(0) {
                    self.out.strb.next = 15.into();
                }
            }
            self.out.valid.next = self.axis.tvalid.val();
            self.axis.tready.next = self.out.ready.val();
            if self.axis.tvalid.val() && self.out.ready.val() {
                self.hold.d.next = self.axis.tdata.val().get_bits::<64>(64);
                self.hold_sop.d.next = false;
                self.hold_two.d.next = true;
                if self.eof.val() {
                    if self.eof_dw.val().get_bit(1) {
                        // DWs 2 ..= eof_dw still to go, on their own.
                        self.hold_last.d.next = true;
                        self.hold_two.d.next = self.eof_dw.val().get_bit(0);
                    } else if self.sof2.val() {
                        self.hold_sop.d.next = true;
                    } else {
                        self.hold_valid.d.next = false;
                    }
                }
            }
        } else if self.sof0.val() || self.in_tlp.q.val() {
            // An aligned TLP passes through.
            self.out.sop.next = self.sof0.val();
            if self.eof.val() {
                self.out.eop.next = true;
                self.out.strb.next = self.eof_strb.val();
            }
            self.out.valid.next = self.axis.tvalid.val();
            self.axis.tready.next = self.out.ready.val();
            self.take.next = self.axis.tvalid.val() && self.out.ready.val();
            if self.take.val() {
                self.in_tlp.d.next = !self.eof.val();
            }
        } else {
            // Between TLPs: a beat can only start one at DW 2.
            self.axis.tready.next = true;
            self.take.next = self.axis.tvalid.val();
        }
        if self.take.val() && self.sof2.val() {
            self.hold_valid.d.next = true;
            self.hold.d.next = self.axis.tdata.val().get_bits::<64>(64);
            self.hold_sop.d.next = true;
            self.hold_last.d.next = false;
            self.hold_two.d.next = true;
        }
        if self.rst.val() {
            self.in_tlp.d.next = false;
            self.hold_valid.d.next = false;
            self.hold.d.next = 0.into();
            self.hold_sop.d.next = false;
            self.hold_last.d.next = false;
            self.hold_two.d.next = false;
        }
    }
}
