//! Completer: serves the host's configuration and memory requests.
//!
//! Receives request TLPs from the rx stream, classifies them with
//! [`ReqDecode`], performs the DW accesses on the configuration space or the
//! BAR register file one at a time, and sends the completion (Cpl or CplD,
//! built by [`CplHeader`]) on its completion stream.
//!
//! Interfaces:
//! - `rx` ([`TlpSink`]): requests. Beats outside a TLP (valid without sop)
//!   are discarded; a TLP longer than one beat is drained to its eop and
//!   counted for framing.
//! - `cpl` ([`TlpSource`]): completions, one beat each.
//! - access ports: `cfg_req` or `bar_req` strobes one DW access with
//!   `acc_write`, `acc_wmask`, `acc_wdata`; the target answers with its
//!   `*_ack` strobe and `*_rdata`, after any number of cycles.
//!
//! Timing: one request at a time. The completion is presented
//! 3 + L cycles after the header beat is taken (decide, issue, the target's
//! latency L, respond); each further DW of a memory request adds 1 + L.
//! `rx.ready` is low from the header beat's eop until the completion has
//! been accepted (back-pressure on the completion stream stalls rx).
//!
//! The completer captures its bus and device number from every well-formed
//! CfgWr0 to function 0 and uses them as the Completer ID.

use crate::bar_decode::BAR_OFFSET_BITS;
use crate::byte_mask::ByteMask;
use crate::cfg_space::CFG_DW_BITS;
use crate::cpl_header::CplHeader;
use crate::req_decode::{ReqAction, ReqDecode, LENGTH_BITS};
use crate::tlp_stream::{TlpSink, TlpSource};
use crate::{DATA_WIDTH, STRB_WIDTH};
use rust_hdl::prelude::*;
use vireo_regs::tlp::cpl_status;

/// Completer state.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum CompleterState {
    /// Waiting for a header beat.
    Idle,
    /// Consuming the rest of a multi-beat TLP.
    Drain,
    /// Registering the decoder's decision.
    Decide,
    /// Strobing one DW access.
    Issue,
    /// Waiting for the access to be acknowledged.
    Wait,
    /// Presenting the completion.
    Respond,
}

/// Serves configuration and memory requests, one at a time.
#[derive(LogicBlock)]
pub struct Completer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,

    /// Requests from the host.
    pub rx: TlpSink,
    /// Completions to the host (one beat each).
    pub cpl: TlpSource,

    // Configuration state.
    /// Memory Space Enable (and D0).
    pub mem_enable: Signal<In, Bit>,
    /// BAR 0 register.
    pub bar0: Signal<In, Bits<32>>,
    /// BAR 1 register.
    pub bar1: Signal<In, Bits<32>>,
    /// BAR 2 register.
    pub bar2: Signal<In, Bits<32>>,

    // Access ports.
    /// Configuration space access strobe.
    pub cfg_req: Signal<Out, Bit>,
    /// Configuration DW index.
    pub cfg_dw: Signal<Out, Bits<CFG_DW_BITS>>,
    /// Configuration access done.
    pub cfg_ack: Signal<In, Bit>,
    /// Configuration read data.
    pub cfg_rdata: Signal<In, Bits<32>>,
    /// BAR access strobe.
    pub bar_req: Signal<Out, Bit>,
    /// The BAR access is to the MSI-X BAR (else the virtio BAR).
    pub bar_msix: Signal<Out, Bit>,
    /// Byte offset of the DW inside the BAR.
    pub bar_offset: Signal<Out, Bits<BAR_OFFSET_BITS>>,
    /// BAR access done.
    pub bar_ack: Signal<In, Bit>,
    /// BAR read data.
    pub bar_rdata: Signal<In, Bits<32>>,
    /// The access is a write.
    pub acc_write: Signal<Out, Bit>,
    /// Byte-enable mask of the access.
    pub acc_wmask: Signal<Out, Bits<32>>,
    /// Write data.
    pub acc_wdata: Signal<Out, Bits<32>>,

    /// Bus and device number captured from CfgWr0 (function 0).
    pub completer_id: Signal<Out, Bits<16>>,

    // Error events (one-cycle pulses).
    /// A poisoned TLP was received.
    pub ev_poisoned: Signal<Out, Bit>,
    /// A malformed TLP was received.
    pub ev_malformed: Signal<Out, Bit>,
    /// An unsupported request was received.
    pub ev_unsupported: Signal<Out, Bit>,

    decode: ReqDecode,
    header: CplHeader,
    lane_mask: ByteMask,
    state: DFF<CompleterState>,
    req_hdr: DFF<Bits<128>>,
    req_data: DFF<Bits<DATA_WIDTH>>,
    dw_count: DFF<Bits<LENGTH_BITS>>,
    single_beat: DFF<Bit>,
    action: DFF<ReqAction>,
    target_msix: DFF<Bit>,
    target_offset: DFF<Bits<BAR_OFFSET_BITS>>,
    byte_count: DFF<Bits<12>>,
    lower_addr: DFF<Bits<7>>,
    idx: DFF<Bits<8>>,
    last: DFF<Bits<8>>,
    rdata_buf: DFF<Bits<DATA_WIDTH>>,
    own_id: DFF<Bits<16>>,
    status: DFF<Bits<3>>,
    beat_dws: [Signal<Local, Bits<LENGTH_BITS>>; STRB_WIDTH],
    beat_total: Signal<Local, Bits<LENGTH_BITS>>,
    is_cfg: Signal<Local, Bit>,
    is_read: Signal<Local, Bit>,
    ack: Signal<Local, Bit>,
    rdata: Signal<Local, Bits<32>>,
    lane_shift: Signal<Local, Bits<8>>,
    wdata_lanes: Signal<Local, Bits<DATA_WIDTH>>,
    strb_all: Signal<Local, Bits<32>>,
    status_sc: Constant<Bits<3>>,
    status_ur: Constant<Bits<3>>,
}

impl Default for Completer {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            rx: Default::default(),
            cpl: Default::default(),
            mem_enable: Default::default(),
            bar0: Default::default(),
            bar1: Default::default(),
            bar2: Default::default(),
            cfg_req: Default::default(),
            cfg_dw: Default::default(),
            cfg_ack: Default::default(),
            cfg_rdata: Default::default(),
            bar_req: Default::default(),
            bar_msix: Default::default(),
            bar_offset: Default::default(),
            bar_ack: Default::default(),
            bar_rdata: Default::default(),
            acc_write: Default::default(),
            acc_wmask: Default::default(),
            acc_wdata: Default::default(),
            completer_id: Default::default(),
            ev_poisoned: Default::default(),
            ev_malformed: Default::default(),
            ev_unsupported: Default::default(),
            decode: Default::default(),
            header: Default::default(),
            lane_mask: Default::default(),
            state: Default::default(),
            req_hdr: Default::default(),
            req_data: Default::default(),
            dw_count: Default::default(),
            single_beat: Default::default(),
            action: Default::default(),
            target_msix: Default::default(),
            target_offset: Default::default(),
            byte_count: Default::default(),
            lower_addr: Default::default(),
            idx: Default::default(),
            last: Default::default(),
            rdata_buf: Default::default(),
            own_id: Default::default(),
            status: Default::default(),
            beat_dws: Default::default(),
            beat_total: Default::default(),
            is_cfg: Default::default(),
            is_read: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            lane_shift: Default::default(),
            wdata_lanes: Default::default(),
            strb_all: Default::default(),
            status_sc: Constant::new((cpl_status::SC as u64).into()),
            status_ur: Constant::new((cpl_status::UR as u64).into()),
        }
    }
}

impl Logic for Completer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            req_hdr,
            req_data,
            dw_count,
            single_beat,
            action,
            target_msix,
            target_offset,
            byte_count,
            lower_addr,
            idx,
            last,
            rdata_buf,
            own_id,
            status
        );

        // Payload DWs in the current rx beat (prefix sum of the strobes).
        self.beat_dws[0].next = bit_cast::<LENGTH_BITS, 1>(self.rx.strb.val().get_bits::<1>(0));
        for i in 1..STRB_WIDTH {
            self.beat_dws[i].next = self.beat_dws[i - 1].val() + self.rx.strb.val().get_bit(i);
            self.beat_total.next = self.beat_dws[i].val();
        }

        // Decoder on the held header.
        self.decode.hdr.next = self.req_hdr.q.val();
        self.decode.dw_count.next = self.dw_count.q.val();
        self.decode.single_beat.next = self.single_beat.q.val();
        self.decode.mem_enable.next = self.mem_enable.val();
        self.decode.bar0.next = self.bar0.val();
        self.decode.bar1.next = self.bar1.val();
        self.decode.bar2.next = self.bar2.val();

        self.is_cfg.next = (self.action.q.val() == ReqAction::CfgRead)
            || (self.action.q.val() == ReqAction::CfgWrite);
        self.is_read.next = (self.action.q.val() == ReqAction::CfgRead)
            || (self.action.q.val() == ReqAction::MemRead);
        self.ack.next = self.cfg_ack.val() || self.bar_ack.val();
        if self.cfg_ack.val() {
            self.rdata.next = self.cfg_rdata.val();
        } else {
            self.rdata.next = self.bar_rdata.val();
        }
        self.lane_shift.next = self.idx.q.val() << 5;

        self.rx.ready.next = false;
        match self.state.q.val() {
            CompleterState::Idle => {
                self.rx.ready.next = true;
                if self.rx.valid.val() && self.rx.sop.val() {
                    self.req_hdr.d.next = self.rx.hdr.val();
                    self.req_data.d.next = self.rx.data.val();
                    self.dw_count.d.next = self.beat_total.val();
                    self.single_beat.d.next = self.rx.eop.val();
                    if self.rx.eop.val() {
                        self.state.d.next = CompleterState::Decide;
                    } else {
                        self.state.d.next = CompleterState::Drain;
                    }
                }
            }
            CompleterState::Drain => {
                self.rx.ready.next = true;
                if self.rx.valid.val() {
                    self.dw_count.d.next = self.dw_count.q.val() + self.beat_total.val();
                    if self.rx.eop.val() {
                        self.state.d.next = CompleterState::Decide;
                    }
                }
            }
            CompleterState::Decide => {
                self.action.d.next = self.decode.action.val();
                self.target_msix.d.next = self.decode.bar_msix.val();
                self.target_offset.d.next = self.decode.bar_offset.val();
                self.byte_count.d.next = self.decode.byte_count.val();
                self.lower_addr.d.next = self.decode.lower_addr.val();
                self.idx.d.next = 0.into();
                self.last.d.next = 0.into();
                self.rdata_buf.d.next = 0.into();
                self.status.d.next = self.status_sc.val();
                if self.decode.capture_id.val() {
                    self.own_id.d.next = (bit_cast::<16, 8>(self.decode.cfg_bus.val()) << 8)
                        | (bit_cast::<16, 5>(self.decode.cfg_dev.val()) << 3);
                }
                match self.decode.action.val() {
                    ReqAction::Drop => {
                        self.state.d.next = CompleterState::Idle;
                    }
                    ReqAction::Unsupported => {
                        self.status.d.next = self.status_ur.val();
                        self.state.d.next = CompleterState::Respond;
                    }
                    ReqAction::CfgRead => {
                        self.state.d.next = CompleterState::Issue;
                    }
                    ReqAction::CfgWrite => {
                        self.state.d.next = CompleterState::Issue;
                    }
                    _ => {
                        self.last.d.next = self.decode.length.val().get_bits::<8>(0) - 1;
                        self.state.d.next = CompleterState::Issue;
                    }
                }
            }
            CompleterState::Issue => {
                self.state.d.next = CompleterState::Wait;
            }
            CompleterState::Wait => {
                if self.ack.val() {
                    if self.is_read.val() {
                        self.rdata_buf.d.next = self.rdata_buf.q.val()
                            | (bit_cast::<DATA_WIDTH, 32>(self.rdata.val())
                                << self.lane_shift.val());
                    }
                    if self.idx.q.val() == self.last.q.val() {
                        if self.action.q.val() == ReqAction::MemWrite {
                            self.state.d.next = CompleterState::Idle;
                        } else {
                            self.state.d.next = CompleterState::Respond;
                        }
                    } else {
                        self.idx.d.next = self.idx.q.val() + 1;
                        self.state.d.next = CompleterState::Issue;
                    }
                }
            }
            CompleterState::Respond => {
                if self.cpl.ready.val() {
                    self.state.d.next = CompleterState::Idle;
                }
            }
            _ => {
                self.state.d.next = CompleterState::Idle;
            }
        }

        // Error events, once per TLP.
        self.ev_poisoned.next =
            (self.state.q.val() == CompleterState::Decide) && self.decode.ev_poisoned.val();
        self.ev_malformed.next =
            (self.state.q.val() == CompleterState::Decide) && self.decode.ev_malformed.val();
        self.ev_unsupported.next =
            (self.state.q.val() == CompleterState::Decide) && self.decode.ev_unsupported.val();

        // DW access.
        if self.idx.q.val() == 0 {
            self.lane_mask.be.next = self.decode.first_be.val();
        } else if self.idx.q.val() == self.last.q.val() {
            self.lane_mask.be.next = self.decode.last_be.val();
        } else {
            self.lane_mask.be.next = 0xF.into();
        }
        self.wdata_lanes.next = self.req_data.q.val() >> self.lane_shift.val();
        self.acc_write.next = !self.is_read.val();
        self.acc_wmask.next = self.lane_mask.mask.val();
        self.acc_wdata.next = self.wdata_lanes.val().get_bits::<32>(0);
        self.cfg_req.next = (self.state.q.val() == CompleterState::Issue) && self.is_cfg.val();
        self.cfg_dw.next = self.decode.cfg_dw.val();
        self.bar_req.next = (self.state.q.val() == CompleterState::Issue) && !self.is_cfg.val();
        self.bar_msix.next = self.target_msix.q.val();
        self.bar_offset.next =
            self.target_offset.q.val() + (bit_cast::<BAR_OFFSET_BITS, 8>(self.idx.q.val()) << 2);

        // Completion.
        self.header.with_data.next =
            self.is_read.val() && (self.status.q.val() == self.status_sc.val());
        self.header.length.next = bit_cast::<10, 8>(self.last.q.val()) + 1;
        self.header.status.next = self.status.q.val();
        self.header.completer_id.next = self.own_id.q.val();
        self.completer_id.next = self.own_id.q.val();
        self.header.byte_count.next = self.byte_count.q.val();
        self.header.requester_id.next = self.decode.requester_id.val();
        self.header.tag.next = self.decode.tag.val();
        self.header.tag_hi.next = self.decode.tag_hi.val();
        self.header.tc.next = self.decode.tc.val();
        self.header.attr.next = self.decode.attr.val();
        self.header.lower_addr.next = self.lower_addr.q.val();
        self.strb_all.next = (bits::<32>(1) << (bit_cast::<32, 8>(self.last.q.val()) + 1)) - 1;
        self.cpl.hdr.next = self.header.hdr.val();
        self.cpl.data.next = self.rdata_buf.q.val();
        self.cpl.strb.next = 0.into();
        if self.header.with_data.val() {
            self.cpl.strb.next = self.strb_all.val().get_bits::<STRB_WIDTH>(0);
        }
        self.cpl.sop.next = true;
        self.cpl.eop.next = true;
        self.cpl.valid.next = self.state.q.val() == CompleterState::Respond;

        if self.rst.val() {
            self.state.d.next = CompleterState::Idle;
            self.req_hdr.d.next = 0.into();
            self.req_data.d.next = 0.into();
            self.dw_count.d.next = 0.into();
            self.single_beat.d.next = false;
            self.action.d.next = ReqAction::Drop;
            self.target_msix.d.next = false;
            self.target_offset.d.next = 0.into();
            self.byte_count.d.next = 0.into();
            self.lower_addr.d.next = 0.into();
            self.idx.d.next = 0.into();
            self.last.d.next = 0.into();
            self.rdata_buf.d.next = 0.into();
            self.own_id.d.next = 0.into();
            self.status.d.next = 0.into();
        }
    }
}
