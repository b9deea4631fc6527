//! Two clients on one DMA read port: the commands of `a` and `b` go to
//! `port` in turn, and each `done` goes back to the client whose command
//! it was. The port reports its commands in order; `b`'s commands carry
//! the cookie bit `COOKIE_B` (which `b` leaves clear), by which their
//! `done` is told apart.
//!
//! The turn is a register: it stays with a client while its command waits
//! for the port and passes to the other in any other cycle, so a client's
//! `ready` depends on the port's `ready` and the turn only, never on the
//! other client's command (no combinational path from one client's
//! decision to issue a read to the other's bookkeeping).
//!
//! Timing: a command waits at most one cycle for its turn, then is taken
//! in the cycle the port takes it; `done` comes in the cycle the port's
//! does.

use crate::dma_port::{ReadClient, ReadServer};
use crate::read_order::COOKIE_BITS;
use rust_hdl::prelude::*;

/// Cookie bit of `b`'s commands.
pub const COOKIE_B: u64 = 0b0001;

/// The block.
#[derive(LogicBlock)]
pub struct ReadShare {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// The first client.
    pub a: ReadServer,
    /// The second client.
    pub b: ReadServer,
    /// The DMA read port.
    pub port: ReadClient,
    /// It is `b`'s turn.
    turn_b: DFF<Bit>,
    /// The port's `done` is `b`'s.
    done_b: Signal<Local, Bit>,
    cookie_b: Constant<Bits<COOKIE_BITS>>,
}

impl Default for ReadShare {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            a: Default::default(),
            b: Default::default(),
            port: Default::default(),
            turn_b: Default::default(),
            done_b: Default::default(),
            cookie_b: Constant::new(COOKIE_B.into()),
        }
    }
}

impl Logic for ReadShare {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, turn_b);
        self.port.valid.next = self.a.valid.val();
        self.port.addr.next = self.a.addr.val();
        self.port.len.next = self.a.len.val();
        self.port.target.next = self.a.target.val();
        self.port.buf.next = self.a.buf.val();
        self.port.cookie.next = self.a.cookie.val();
        if self.turn_b.q.val() {
            self.port.valid.next = self.b.valid.val();
            self.port.addr.next = self.b.addr.val();
            self.port.len.next = self.b.len.val();
            self.port.target.next = self.b.target.val();
            self.port.buf.next = self.b.buf.val();
            self.port.cookie.next = self.b.cookie.val() | self.cookie_b.val();
        }
        self.a.ready.next = self.port.ready.val() && !self.turn_b.q.val();
        self.b.ready.next = self.port.ready.val() && self.turn_b.q.val();
        self.turn_b.d.next = !self.turn_b.q.val();
        if self.port.valid.val() && !self.port.ready.val() {
            self.turn_b.d.next = self.turn_b.q.val();
        }
        if self.rst.val() {
            self.turn_b.d.next = false;
        }

        self.done_b.next = (self.port.done_cookie.val() & self.cookie_b.val()).any();
        self.a.done.next = self.port.done.val() && !self.done_b.val();
        self.b.done.next = self.port.done.val() && self.done_b.val();
        self.a.done_cookie.next = self.port.done_cookie.val();
        self.b.done_cookie.next = self.port.done_cookie.val() & !self.cookie_b.val();
        self.a.done_err.next = self.port.done_err.val();
        self.b.done_err.next = self.port.done_err.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(uut: &mut ReadShare) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 100));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 100));
    }

    #[test]
    fn both_clients_take_turns_and_each_done_goes_back_to_its_client() {
        let mut uut = ReadShare::default();
        uut.connect_all();
        uut.rst.next = true;
        cycle(&mut uut);
        uut.rst.next = false;
        uut.a.valid.next = true;
        uut.a.addr.next = 0xa000.into();
        uut.a.cookie.next = 0b1000.into();
        uut.b.valid.next = true;
        uut.b.addr.next = 0xb000.into();
        uut.port.ready.next = true;
        // Both wait: a, b, a, b.
        let mut order = Vec::new();
        for _ in 0..4 {
            assert!(simulate(&mut uut, 100));
            assert!(uut.port.valid.val());
            assert_ne!(uut.a.ready.val(), uut.b.ready.val());
            order.push((uut.port.addr.val().to_u64(), uut.port.cookie.val().to_u64()));
            cycle(&mut uut);
        }
        assert_eq!(
            order,
            [
                (0xa000, 0b1000),
                (0xb000, COOKIE_B),
                (0xa000, 0b1000),
                (0xb000, COOKIE_B)
            ]
        );
        // Only b waits: its turn comes every other cycle, and stays while
        // the port holds the command back.
        uut.a.valid.next = false;
        let mut taken = Vec::new();
        for _ in 0..4 {
            assert!(simulate(&mut uut, 100));
            taken.push(uut.b.ready.val());
            cycle(&mut uut);
        }
        assert_eq!(taken, [false, true, false, true]);
        uut.port.ready.next = false;
        for _ in 0..3 {
            assert!(simulate(&mut uut, 100));
            assert!(!uut.b.ready.val() && !uut.a.ready.val());
            cycle(&mut uut);
        }
        assert!(uut.port.valid.val() && uut.port.addr.val().to_u64() == 0xb000);
        uut.port.ready.next = true;
        assert!(simulate(&mut uut, 100));
        assert!(uut.b.ready.val());
        // Done: by the cookie bit.
        uut.port.done.next = true;
        uut.port.done_cookie.next = (COOKIE_B | 0b0100).into();
        assert!(simulate(&mut uut, 100));
        assert!(uut.b.done.val() && !uut.a.done.val());
        assert_eq!(uut.b.done_cookie.val().to_u64(), 0b0100);
        uut.port.done_cookie.next = 0b1000.into();
        assert!(simulate(&mut uut, 100));
        assert!(uut.a.done.val() && !uut.b.done.val());
        assert_eq!(uut.a.done_cookie.val().to_u64(), 0b1000);
    }
}
