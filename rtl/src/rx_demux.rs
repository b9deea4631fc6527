//! Host -> device stream demultiplexer: completions (Cpl, CplD, CplLk,
//! CplDLk: Type 0101x) go to the DMA read engine, every other TLP to the
//! completer. The first beat decides from its header; the rest of the TLP
//! follows it.
//!
//! Timing: combinational forwarding, no added latency; `rx.ready` is the
//! chosen output's `ready`.

use crate::tlp_stream::{TlpSink, TlpSource};
use rust_hdl::prelude::*;
use vireo_regs::tlp::fmt_type;

/// Splits `rx` into `req` and `cpl`.
#[derive(LogicBlock)]
pub struct RxDemux {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Host -> device TLPs.
    pub rx: TlpSink,
    /// Requests, messages and anything not a completion.
    pub req: TlpSource,
    /// Completions.
    pub cpl: TlpSource,
    in_tlp: DFF<Bit>,
    in_cpl: DFF<Bit>,
    to_cpl: Signal<Local, Bit>,
    cpl_type: Constant<Bits<4>>,
}

impl Default for RxDemux {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            rx: Default::default(),
            req: Default::default(),
            cpl: Default::default(),
            in_tlp: Default::default(),
            in_cpl: Default::default(),
            to_cpl: Default::default(),
            // Type[4:1] of Cpl, CplD, CplLk and CplDLk.
            cpl_type: Constant::new(((fmt_type::CPL as u64 & 0x1F) >> 1).into()),
        }
    }
}

impl Logic for RxDemux {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, in_tlp, in_cpl);
        if self.in_tlp.q.val() {
            self.to_cpl.next = self.in_cpl.q.val();
        } else {
            self.to_cpl.next = self.rx.hdr.val().get_bits::<4>(121) == self.cpl_type.val();
        }
        self.req.hdr.next = self.rx.hdr.val();
        self.req.data.next = self.rx.data.val();
        self.req.strb.next = self.rx.strb.val();
        self.req.sop.next = self.rx.sop.val();
        self.req.eop.next = self.rx.eop.val();
        self.cpl.hdr.next = self.rx.hdr.val();
        self.cpl.data.next = self.rx.data.val();
        self.cpl.strb.next = self.rx.strb.val();
        self.cpl.sop.next = self.rx.sop.val();
        self.cpl.eop.next = self.rx.eop.val();
        self.req.valid.next = self.rx.valid.val() && !self.to_cpl.val();
        self.cpl.valid.next = self.rx.valid.val() && self.to_cpl.val();
        if self.to_cpl.val() {
            self.rx.ready.next = self.cpl.ready.val();
        } else {
            self.rx.ready.next = self.req.ready.val();
        }
        if self.rx.valid.val() && self.rx.ready.val() {
            self.in_tlp.d.next = !self.rx.eop.val();
            self.in_cpl.d.next = self.to_cpl.val();
        }
        if self.rst.val() {
            self.in_tlp.d.next = false;
            self.in_cpl.d.next = false;
        }
    }
}
