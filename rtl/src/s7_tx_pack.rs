//! Transmit packer for the Xilinx 7-series PCIe block (PG054, 128-bit
//! AXI4-Stream `s_axis_tx_*`): from vireo's stream (header separate,
//! payload DW-aligned in memory byte order) to the block's, where the
//! payload follows the header DWs directly, every DW has its first byte in
//! bits 31:24, `tkeep` marks valid bytes in whole DWs (0x000F, 0x00FF,
//! 0x0FFF or 0xFFFF, and 0xFFFF on every beat but the last) and `tlast`
//! the last beat. Every TLP starts at DW 0 of a beat (the block does not
//! take straddled TLPs). `tuser` (ECRC, poison, streaming, discontinue) is
//! always 0.
//!
//! A 4-DW header takes a beat of its own and the payload beats follow as
//! they are. After a 3-DW header, payload DW 0 fills DW 3 of the header
//! beat and every later beat is three carried DWs and one new one.
//!
//! Timing: combinational (`tlp.ready` follows `tready`); one extra beat
//! (input held) for the header of a 4-DW TLP with payload, and for the
//! carried DWs after the last input beat of a 3-DW TLP when they do not fit.

use crate::dw_swap::DwSwap;
use crate::s7_axis::S7TxAxis;
use crate::tlp_stream::TlpSink;
use crate::{DATA_WIDTH, STRB_WIDTH};
use rust_hdl::prelude::*;

/// The transmit packer.
#[derive(LogicBlock, Default)]
pub struct S7TxPack {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// TLPs from the endpoint.
    pub tlp: TlpSink,
    /// The hard block's transmit stream.
    pub axis: S7TxAxis,
    swap: DwSwap,
    /// Past the first beat of a TLP.
    busy: DFF<Bit>,
    /// The TLP has a 4-DW header.
    four: DFF<Bit>,
    /// The 4-DW header beat of the TLP on `tlp` has gone out.
    hdr_sent: DFF<Bit>,
    /// Payload DWs 1-3 of the previous input beat (3-DW headers).
    carry: DFF<Bits<96>>,
    /// The carried DWs end the TLP and go out on their own.
    flush: DFF<Bit>,
    /// Which carried DWs are valid when flushing.
    flush_strb: DFF<Bits<STRB_WIDTH>>,
    /// Payload of the input beat in the block's byte order.
    payload: Signal<Local, Bits<DATA_WIDTH>>,
    /// The header DWs in beat order (DW 0 in bits 31:0).
    hdr_dws: Signal<Local, Bits<DATA_WIDTH>>,
    /// The valid DWs of the output beat.
    lanes: Signal<Local, Bits<STRB_WIDTH>>,
    take: Signal<Local, Bit>,
}

impl Logic for S7TxPack {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, busy, four, hdr_sent, carry, flush, flush_strb);
        self.swap.raw.next = self.tlp.data.val();
        self.payload.next = self.swap.swapped.val();
        self.hdr_dws.next = bit_cast::<DATA_WIDTH, 32>(self.tlp.hdr.val().get_bits::<32>(96))
            | (bit_cast::<DATA_WIDTH, 32>(self.tlp.hdr.val().get_bits::<32>(64)) << 32)
            | (bit_cast::<DATA_WIDTH, 32>(self.tlp.hdr.val().get_bits::<32>(32)) << 64)
            | (bit_cast::<DATA_WIDTH, 32>(self.tlp.hdr.val().get_bits::<32>(0)) << 96);
        self.axis.tuser.next = 0.into();
        self.axis.tdata.next = self.payload.val();
        self.lanes.next = self.tlp.strb.val();
        self.axis.tlast.next = self.tlp.eop.val();
        self.axis.tvalid.next = self.tlp.valid.val();
        self.tlp.ready.next = self.axis.tready.val();
        self.take.next = self.tlp.valid.val() && self.axis.tready.val();
        if self.flush.q.val() {
            self.axis.tdata.next = bit_cast::<DATA_WIDTH, 96>(self.carry.q.val());
            self.lanes.next = self.flush_strb.q.val();
            self.axis.tlast.next = true;
            self.axis.tvalid.next = true;
            self.tlp.ready.next = false;
            if self.axis.tready.val() {
                self.flush.d.next = false;
            }
        } else if (!self.busy.q.val() && self.tlp.hdr.val().get_bit(125)) || self.four.q.val() {
            // 4-DW header: a header beat, then the payload beats as they are.
            if !self.busy.q.val() && !self.hdr_sent.q.val() {
                self.axis.tdata.next = self.hdr_dws.val();
                self.lanes.next = 15.into();
                self.axis.tlast.next = self.tlp.eop.val() && !self.tlp.strb.val().any();
                if self.tlp.strb.val().any() {
                    self.tlp.ready.next = false;
                    if self.take.val() {
                        self.hdr_sent.d.next = true;
                    }
                }
            } else if self.take.val() {
                self.hdr_sent.d.next = false;
                self.busy.d.next = !self.tlp.eop.val();
                self.four.d.next = !self.tlp.eop.val();
            }
        } else {
            // 3-DW header: one payload DW rides in the header beat, later
            // beats are three carried DWs and one new one.
            if self.busy.q.val() {
                self.axis.tdata.next =
                    bit_cast::<DATA_WIDTH, 96>(self.carry.q.val()) | (self.payload.val() << 96);
            } else {
                self.axis.tdata.next = self.hdr_dws.val() | (self.payload.val() << 96);
            }
            self.lanes.next = 7.into();
            if self.tlp.strb.val().get_bit(0) {
                self.lanes.next = 15.into();
            }
            self.axis.tlast.next = self.tlp.eop.val() && !self.tlp.strb.val().get_bit(1);
            if self.take.val() {
                self.carry.d.next = self.payload.val().get_bits::<96>(32);
                self.busy.d.next = !self.tlp.eop.val();
                self.four.d.next = false;
                if self.tlp.eop.val() && self.tlp.strb.val().get_bit(1) {
                    self.flush.d.next = true;
                    self.flush_strb.d.next = self.tlp.strb.val() >> 1;
                }
            }
        }
        self.axis.tkeep.next = 0.into();
        if self.lanes.val().get_bit(0) {
            self.axis.tkeep.next = 0x000F.into();
        }
        if self.lanes.val().get_bit(1) {
            self.axis.tkeep.next = 0x00FF.into();
        }
        if self.lanes.val().get_bit(2) {
            self.axis.tkeep.next = 0x0FFF.into();
        }
        if self.lanes.val().get_bit(3) {
            self.axis.tkeep.next = 0xFFFF.into();
        }
        if self.rst.val() {
            self.busy.d.next = false;
            self.four.d.next = false;
            self.hdr_sent.d.next = false;
            self.carry.d.next = 0.into();
            self.flush.d.next = false;
            self.flush_strb.d.next = 0.into();
        }
    }
}
