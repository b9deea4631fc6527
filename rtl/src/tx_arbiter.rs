//! Two-way TLP stream arbiter.
//!
//! Merges two TLP sources into one, a whole TLP at a time (beats of two TLPs
//! never interleave). When idle it grants the source with a valid first
//! beat, alternating when both wait (round-robin); it then forwards that
//! source until its `eop` beat is taken. A beat on the output stays there
//! until it is taken, as the stream requires (the grant holds from the
//! first cycle it is presented).
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
        // A presented beat locks the grant until the TLP's eop beat is taken.
        if self.out.valid.val() {
            self.locked.d.next = !(self.out.ready.val() && self.out.eop.val());
            self.owner_b.d.next = self.grant_b.val();
        }
        if self.out.valid.val() && self.out.ready.val() {
            self.prefer_b.d.next = !self.grant_b.val();
        }
        if self.rst.val() {
            self.locked.d.next = false;
            self.owner_b.d.next = false;
            self.prefer_b.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One clock cycle: settle, take the handshakes, rising edge.
    fn cycle(uut: &mut TxArbiter) -> (bool, bool, Option<(u64, bool)>) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 100));
        let a = uut.a.valid.val() && uut.a.ready.val();
        let b = uut.b.valid.val() && uut.b.ready.val();
        let out = (uut.out.valid.val() && uut.out.ready.val()).then(|| {
            (
                uut.out.hdr.val().get_bits::<64>(0).to_u64(),
                uut.out.eop.val(),
            )
        });
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 100));
        (a, b, out)
    }

    #[test]
    fn whole_tlps_alternate_between_waiting_sources() {
        let mut uut = TxArbiter::default();
        uut.connect_all();
        uut.rst.next = true;
        cycle(&mut uut);
        uut.rst.next = false;
        uut.out.ready.next = true;
        // Source a sends 3-beat TLPs tagged 0xA.., source b 2-beat TLPs tagged 0xB..
        let (mut a_beat, mut b_beat) = (0u64, 0u64);
        let mut seen = Vec::new();
        for _ in 0..20 {
            uut.a.valid.next = true;
            uut.a.hdr.next = (0xA0 + a_beat / 3).into();
            uut.a.sop.next = a_beat % 3 == 0;
            uut.a.eop.next = a_beat % 3 == 2;
            uut.b.valid.next = true;
            uut.b.hdr.next = (0xB0 + b_beat / 2).into();
            uut.b.sop.next = b_beat % 2 == 0;
            uut.b.eop.next = b_beat % 2 == 1;
            let (a, b, out) = cycle(&mut uut);
            assert!(!(a && b), "both sources moved in one cycle");
            a_beat += a as u64;
            b_beat += b as u64;
            seen.extend(out);
        }
        // Beats of one TLP stay together; TLPs alternate a, b, a, b.
        let tlps: Vec<u64> = seen
            .iter()
            .filter(|(_, eop)| *eop)
            .map(|(h, _)| *h)
            .collect();
        assert_eq!(&tlps[..4], &[0xA0, 0xB0, 0xA1, 0xB1]);
        for w in seen.windows(2) {
            if !w[0].1 {
                assert_eq!(w[0].0, w[1].0, "a TLP was interleaved: {seen:x?}");
            }
        }
    }

    #[test]
    fn a_presented_beat_stays_until_taken() {
        let mut uut = TxArbiter::default();
        uut.connect_all();
        uut.rst.next = true;
        cycle(&mut uut);
        uut.rst.next = false;
        // a single-beat TLP on a, then one on b, then a again: the grant
        // prefers b, but a's beat is already on the output.
        for (ready, step) in [(true, 0), (false, 1), (false, 2), (true, 3)] {
            uut.out.ready.next = ready;
            uut.a.valid.next = true;
            uut.a.hdr.next = 0xA0.into();
            uut.a.sop.next = true;
            uut.a.eop.next = true;
            uut.b.valid.next = step >= 2;
            uut.b.hdr.next = 0xB0.into();
            uut.b.sop.next = true;
            uut.b.eop.next = true;
            uut.clock.next = Clock::from(false);
            assert!(simulate(&mut uut, 100));
            if step >= 1 {
                assert_eq!(
                    uut.out.hdr.val().get_bits::<64>(0).to_u64(),
                    0xA0,
                    "step {step}: the waiting beat was replaced"
                );
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 100));
        }
    }
}
