//! Two-way TLP stream arbiter.
//!
//! Merges two TLP sources into one, a whole TLP at a time (beats of two TLPs
//! never interleave). When idle it grants the source with a valid first
//! beat, alternating when both wait (round-robin); it then forwards that
//! source until its `eop` beat is taken.
//!
//! Timing: combinational forwarding (no added latency); the grant is made
//! in the cycle the first beat is presented.

use crate::tlp_stream::{TlpSink, TlpSource};
use rust_hdl::prelude::*;

/// Merges `a` and `b` into `out`.
#[derive(LogicBlock, Default)]
pub struct TxArbiter {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// First source.
    pub a: TlpSink,
    /// Second source.
    pub b: TlpSink,
    /// The merged stream.
    pub out: TlpSource,
    locked: DFF<Bit>,
    owner_b: DFF<Bit>,
    prefer_b: DFF<Bit>,
    grant_b: Signal<Local, Bit>,
}

impl Logic for TxArbiter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, locked, owner_b, prefer_b);
        // Who owns the output this cycle.
        if self.locked.q.val() {
            self.grant_b.next = self.owner_b.q.val();
        } else if self.a.valid.val() && self.b.valid.val() {
            self.grant_b.next = self.prefer_b.q.val();
        } else {
            self.grant_b.next = self.b.valid.val();
        }
        if self.grant_b.val() {
            self.out.hdr.next = self.b.hdr.val();
            self.out.data.next = self.b.data.val();
            self.out.strb.next = self.b.strb.val();
            self.out.sop.next = self.b.sop.val();
            self.out.eop.next = self.b.eop.val();
            self.out.valid.next = self.b.valid.val();
        } else {
            self.out.hdr.next = self.a.hdr.val();
            self.out.data.next = self.a.data.val();
            self.out.strb.next = self.a.strb.val();
            self.out.sop.next = self.a.sop.val();
            self.out.eop.next = self.a.eop.val();
            self.out.valid.next = self.a.valid.val();
        }
        self.a.ready.next = self.out.ready.val() && !self.grant_b.val();
        self.b.ready.next = self.out.ready.val() && self.grant_b.val();
        // A taken beat without eop locks the grant; an eop beat releases it.
        if self.out.valid.val() && self.out.ready.val() {
            self.locked.d.next = !self.out.eop.val();
            self.owner_b.d.next = self.grant_b.val();
            self.prefer_b.d.next = !self.grant_b.val();
        }
        if self.rst.val() {
            self.locked.d.next = false;
            self.owner_b.d.next = false;
            self.prefer_b.d.next = false;
        }
    }
}
