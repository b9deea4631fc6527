//! Frame buffer bytes freed behind the write engine: the receive side's
//! write commands in flight, each with the bytes of the frame buffer it
//! frees once it has left.
//!
//! The receive side is done with a frame once it has handed the engine its
//! commands; the engine reads the frame's data from the frame buffer later,
//! while it sends them. So a data command's bytes are freed with its
//! `done` (a dropped frame's, which has none, with a later command), not
//! when the command is taken: the transmit side may then fill them again.
//!
//! `take` with `bytes` (0 for a command that frees nothing) enters a
//! command; `done` (in the order taken) puts its bytes on `freed` in that
//! cycle, 0 otherwise (also for a `done` with no command held). Holds
//! [`FREE_SLOTS`] commands, more than the write engine holds (one loaded,
//! two queued).
//!
//! Timing: `take` and `bytes` are registered (they come at the end of the
//! receive side's longest path), so a command enters its lane the cycle
//! after it is taken; a `done` in that cycle, the command being the only
//! one, takes its bytes from that register. `freed` is combinational on
//! `done`; a command taken and another done in one cycle is fine.

use crate::frame_fetch::FRAME_LEN_BITS;
use rust_hdl::prelude::*;

/// Commands held.
pub const FREE_SLOTS: usize = 4;

/// The byte counts of the commands held, oldest in the low lanes.
const LANE_BITS: usize = FREE_SLOTS * FRAME_LEN_BITS;

// The lane shifts below are written for 18-bit lanes.
const _: () = assert!(FRAME_LEN_BITS == 18);

/// The block.
#[derive(LogicBlock, Default)]
pub struct FrameFree {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset (or a virtio reset: the commands are dropped).
    pub rst: Signal<In, Bit>,
    /// A command is taken.
    pub take: Signal<In, Bit>,
    /// The bytes it frees.
    pub bytes: Signal<In, Bits<FRAME_LEN_BITS>>,
    /// The oldest command has left.
    pub done: Signal<In, Bit>,
    /// Bytes freed this cycle.
    pub freed: Signal<Out, Bits<FRAME_LEN_BITS>>,
    lanes: DFF<Bits<LANE_BITS>>,
    count: DFF<Bits<3>>,
    /// The command taken last cycle, entered now.
    take_q: DFF<Bit>,
    bytes_q: DFF<Bits<FRAME_LEN_BITS>>,
    /// It enters a lane (it is not done at once).
    enter: Signal<Local, Bit>,
    /// The oldest lane leaves.
    pop: Signal<Local, Bit>,
    kept: Signal<Local, Bits<LANE_BITS>>,
    pos: Signal<Local, Bits<8>>,
}

impl Logic for FrameFree {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, lanes, count, take_q, bytes_q);
        self.take_q.d.next = self.take.val();
        self.bytes_q.d.next = self.bytes.val();
        self.freed.next = 0.into();
        self.kept.next = self.lanes.q.val();
        self.pos.next = bit_cast::<8, 3>(self.count.q.val());
        self.enter.next = self.take_q.q.val();
        self.pop.next = self.done.val() && self.count.q.val().any();
        if self.pop.val() {
            self.freed.next = self.lanes.q.val().get_bits::<FRAME_LEN_BITS>(0);
            self.kept.next = self.lanes.q.val() >> 18;
            self.pos.next = bit_cast::<8, 3>(self.count.q.val()) - 1;
        }
        if self.done.val() && !self.count.q.val().any() && self.take_q.q.val() {
            // The only command, taken last cycle.
            self.freed.next = self.bytes_q.q.val();
            self.enter.next = false;
        }
        self.lanes.d.next = self.kept.val();
        if self.enter.val() {
            // Lane `pos` starts at bit 18 * pos.
            self.lanes.d.next = self.kept.val()
                | (bit_cast::<LANE_BITS, FRAME_LEN_BITS>(self.bytes_q.q.val())
                    << ((self.pos.val() << 4) + (self.pos.val() << 1)));
        }
        if self.enter.val() && !self.pop.val() {
            self.count.d.next = self.count.q.val() + 1;
        }
        if !self.enter.val() && self.pop.val() {
            self.count.d.next = self.count.q.val() - 1;
        }
        if self.rst.val() {
            self.lanes.d.next = 0.into();
            self.count.d.next = 0.into();
            self.take_q.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn bytes_are_freed_in_order_when_their_command_leaves() {
        let mut uut = FrameFree::default();
        uut.connect_all();
        uut.rst.next = true;
        uut.clock.next = Clock::from(true);
        assert!(simulate(&mut uut, 50));
        uut.clock.next = Clock::from(false);
        uut.rst.next = false;
        let mut rnd = crate::test_rng(5);
        let mut held: VecDeque<u64> = VecDeque::new();
        let mut freed = 0;
        for _ in 0..3000 {
            let done = !held.is_empty() && rnd(2) == 0;
            let take = held.len() - usize::from(done) < FREE_SLOTS && rnd(2) == 0;
            let bytes = if rnd(3) == 0 { 0 } else { rnd(1 << 17) };
            uut.take.next = take;
            uut.bytes.next = bytes.into();
            uut.done.next = done;
            assert!(simulate(&mut uut, 50));
            let expected = if done { held.pop_front().unwrap() } else { 0 };
            assert_eq!(uut.freed.val().to_u64(), expected);
            freed += expected;
            if take {
                held.push_back(bytes);
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 50));
            uut.clock.next = Clock::from(false);
        }
        assert!(freed > 1 << 20, "too little traffic: {freed}");
    }

    #[test]
    fn a_done_with_no_command_held_frees_nothing() {
        let mut uut = FrameFree::default();
        uut.connect_all();
        let mut cycle = |take: bool, bytes: u64, done: bool| -> u64 {
            uut.take.next = take;
            uut.bytes.next = bytes.into();
            uut.done.next = done;
            assert!(simulate(&mut uut, 50));
            let freed = uut.freed.val().to_u64();
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 50));
            uut.clock.next = Clock::from(false);
            freed
        };
        cycle(false, 0, false);
        cycle(true, 1000, false);
        assert_eq!(cycle(false, 0, true), 1000);
        // Bytes presented without a take, then a stray done.
        cycle(false, 777, false);
        assert_eq!(cycle(false, 0, true), 0);
    }
}
