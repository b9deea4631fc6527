//! Command register in front of a DMA engine port: takes one command from
//! the client and holds it until the engine takes it.
//!
//! A command is one word of `W` bits (the engine defines the packing). It
//! is at `head` while `valid`; `pop` removes it; `push` stores `cmd` while
//! there is `room`; `clear` drops the command, one pushed in the same cycle
//! too.
//!
//! Timing: a pushed command is at `head` the next cycle, and `room` returns
//! the cycle after the pop. `room` is a register, so nothing combinational
//! leads from the engine's choice between its ports back to a client's
//! `ready`. A client hands over at most one command every 2 cycles, as
//! fast as the engine takes them.

use rust_hdl::prelude::*;

/// The register.
#[derive(LogicBlock, Default)]
pub struct CmdSlot<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: empty.
    pub rst: Signal<In, Bit>,
    /// Store `cmd` (only with `room`).
    pub push: Signal<In, Bit>,
    /// The command to store.
    pub cmd: Signal<In, Bits<W>>,
    /// A command may be pushed.
    pub room: Signal<Out, Bit>,
    /// Remove the command.
    pub pop: Signal<In, Bit>,
    /// The command held.
    pub head: Signal<Out, Bits<W>>,
    /// `head` holds a command.
    pub valid: Signal<Out, Bit>,
    /// Drop the command.
    pub clear: Signal<In, Bit>,
    entry: DFF<Bits<W>>,
    full: DFF<Bit>,
}

impl<const W: usize> Logic for CmdSlot<W> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, entry, full);
        self.room.next = !self.full.q.val();
        self.head.next = self.entry.q.val();
        self.valid.next = self.full.q.val();
        if self.pop.val() {
            self.full.d.next = false;
        }
        if self.push.val() {
            self.entry.d.next = self.cmd.val();
            self.full.d.next = true;
        }
        if self.rst.val() || self.clear.val() {
            self.full.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_waits_until_taken_and_a_clear_drops_it() {
        let mut uut = CmdSlot::<70>::default();
        uut.connect_all();
        let mut rnd = crate::test_rng(11);
        let (mut held, mut next): (Option<u64>, u64) = (None, 1);
        let (mut taken, mut cleared) = (0, 0);
        uut.rst.next = true;
        for step in 0..2000 {
            uut.clock.next = Clock::from(false);
            uut.push.next = false;
            uut.pop.next = false;
            uut.clear.next = step > 0 && rnd(40) == 0;
            uut.cmd.next = Bits::<70>::from(next) << 6;
            assert!(simulate(&mut uut, 50));
            if step > 0 {
                assert_eq!(uut.valid.val(), held.is_some());
                assert_eq!(uut.room.val(), held.is_none());
                if let Some(cmd) = held {
                    assert_eq!(uut.head.val(), Bits::<70>::from(cmd) << 6);
                }
                let pop = held.is_some() && rnd(2) == 0;
                let push = held.is_none() && rnd(3) != 0;
                uut.pop.next = pop;
                uut.push.next = push;
                assert!(simulate(&mut uut, 50));
                if pop {
                    held = None;
                    taken += 1;
                }
                if push {
                    held = Some(next);
                    next += 1;
                }
                if uut.clear.val() {
                    cleared += held.is_some() as u32;
                    held = None;
                }
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 50));
            uut.rst.next = false;
        }
        assert!(
            taken > 300 && cleared > 10,
            "{taken} taken, {cleared} cleared"
        );
    }
}
