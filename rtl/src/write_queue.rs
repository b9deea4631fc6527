//! Command queue of the DMA write engine: holds up to two write commands
//! taken while the engine sends an earlier one, so that the engine can load
//! the next command as the last beat of the one before leaves.
//!
//! A command is one word of [`WRITE_CMD_BITS`] bits (the engine packs it:
//! host address 63:0, immediate bytes 191:64, length 209:192, frame buffer
//! address 226:210, `imm` 227, port 228). The oldest is at `head` while
//! `valid`; `pop` removes it and `push` appends `cmd` while there is `room`,
//! both in one cycle if need be; `clear` drops every command, one pushed in the same cycle too.
//!
//! Timing: a pushed command is at `head` the next cycle. `room` comes from
//! registers only, so nothing combinational leads from `pop` (the engine's
//! output handshake) back to the clients' `ready`: with two commands held,
//! the next push waits for the cycle after a pop.

use rust_hdl::prelude::*;

/// Bits of a queued command.
pub const WRITE_CMD_BITS: usize = 229;

/// The queue.
#[derive(LogicBlock, Default)]
pub struct WriteQueue {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: empty.
    pub rst: Signal<In, Bit>,
    /// Append `cmd`.
    pub push: Signal<In, Bit>,
    /// The command to append.
    pub cmd: Signal<In, Bits<WRITE_CMD_BITS>>,
    /// A command may be pushed.
    pub room: Signal<Out, Bit>,
    /// Remove the oldest command.
    pub pop: Signal<In, Bit>,
    /// The oldest command.
    pub head: Signal<Out, Bits<WRITE_CMD_BITS>>,
    /// `head` holds a command.
    pub valid: Signal<Out, Bit>,
    /// Drop every command.
    pub clear: Signal<In, Bit>,
    e0: DFF<Bits<WRITE_CMD_BITS>>,
    e1: DFF<Bits<WRITE_CMD_BITS>>,
    v0: DFF<Bit>,
    v1: DFF<Bit>,
}

impl Logic for WriteQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, e0, e1, v0, v1);
        self.room.next = !self.v1.q.val();
        self.head.next = self.e0.q.val();
        self.valid.next = self.v0.q.val();
        if self.pop.val() {
            self.e0.d.next = self.e1.q.val();
            self.v0.d.next = self.v1.q.val();
            self.v1.d.next = false;
        }
        if self.push.val() {
            if self.v0.q.val() && !self.pop.val() {
                self.e1.d.next = self.cmd.val();
                self.v1.d.next = true;
            } else {
                self.e0.d.next = self.cmd.val();
                self.v0.d.next = true;
            }
        }
        if self.rst.val() || self.clear.val() {
            self.v0.d.next = false;
            self.v1.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn cycle(uut: &mut WriteQueue) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 50));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 50));
    }

    #[test]
    fn commands_leave_in_order_and_a_clear_drops_them_all() {
        let mut uut = WriteQueue::default();
        uut.connect_all();
        uut.rst.next = true;
        cycle(&mut uut);
        uut.rst.next = false;
        let mut rnd = crate::test_rng(7);
        let mut model: VecDeque<u64> = VecDeque::new();
        let (mut next, mut popped, mut cleared) = (1u64, 0, 0);
        for _ in 0..2000 {
            let want_push = rnd(3) != 0;
            let clear = rnd(50) == 0;
            uut.cmd.next =
                (Bits::<WRITE_CMD_BITS>::from(next) << 100) | Bits::<WRITE_CMD_BITS>::from(next);
            uut.clock.next = Clock::from(false);
            uut.push.next = false;
            uut.pop.next = false;
            uut.clear.next = clear;
            assert!(simulate(&mut uut, 50));
            assert_eq!(uut.valid.val(), !model.is_empty());
            assert_eq!(uut.room.val(), model.len() < 2);
            if let Some(&oldest) = model.front() {
                let head = uut.head.val();
                assert_eq!(head.get_bits::<64>(0).to_u64(), oldest);
                assert_eq!(head.get_bits::<62>(100).to_u64(), oldest);
            }
            let pop = !model.is_empty() && rnd(2) == 0;
            let push = want_push && uut.room.val();
            uut.pop.next = pop;
            uut.push.next = push;
            assert!(simulate(&mut uut, 50));
            if pop {
                model.pop_front();
                popped += 1;
            }
            if push {
                model.push_back(next);
                next += 1;
            }
            if clear {
                cleared += model.len();
                model.clear();
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 50));
        }
        assert!(
            popped > 500 && cleared > 10,
            "{popped} popped, {cleared} cleared"
        );
    }
}
