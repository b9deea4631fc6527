//! In-order completion tracker of one DMA read channel.
//!
//! Every memory read request of the channel gets the next sequence number
//! (`seq`, taken with `issue`); a command's last request also records the
//! command (its `cookie`). Requests finish in any order (`fin_a`, `fin_b`:
//! two per cycle, e.g. a completion and a timeout); the tracker retires
//! sequence numbers in order, one per cycle, and when a command's last
//! request retires it reports `done` with the command's cookie and whether
//! any of its requests failed. Up to `MAX_IN_FLIGHT` requests and
//! `CMD_DEPTH` commands are outstanding; `space` says whether another
//! request may be issued now.
//!
//! Timing: `done` follows the finish of the command's last outstanding
//! request by 1 cycle (plus one per older sequence number still to retire).

use rust_hdl::prelude::*;

/// Width of a sequence number.
pub const SEQ_BITS: usize = 5;
/// Requests in flight per channel.
pub const MAX_IN_FLIGHT: usize = 1 << SEQ_BITS;
/// Width of a command cookie.
pub const COOKIE_BITS: usize = 4;
/// Commands in flight per channel.
pub const CMD_DEPTH: usize = 16;
/// Width of a command count (0 ..= `CMD_DEPTH`).
const CMD_COUNT_BITS: usize = 5;
const _: () = assert!(CMD_DEPTH < 1 << CMD_COUNT_BITS);
const CMD_BITS: usize = SEQ_BITS + COOKIE_BITS;
const _: () = assert!(CMD_BITS == 9, "the FIFO slot offset is count * 9");
const _: () = assert!(SEQ_BITS == 5, "the cookie sits at bit 5 of a command");
const FIFO_BITS: usize = CMD_DEPTH * CMD_BITS;

/// The tracker.
#[derive(LogicBlock)]
pub struct ReadOrder {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Forget everything (reset, or a virtio reset after the drain).
    pub clear: Signal<In, Bit>,
    /// A request takes sequence number `seq`.
    pub issue: Signal<In, Bit>,
    /// It is the last request of its command.
    pub issue_last: Signal<In, Bit>,
    /// The command's cookie (with `issue_last`).
    pub issue_cookie: Signal<In, Bits<COOKIE_BITS>>,
    /// The sequence number the next request takes.
    pub seq: Signal<Out, Bits<SEQ_BITS>>,
    /// Another request may be issued.
    pub space: Signal<Out, Bit>,
    /// A request finished.
    pub fin_a: Signal<In, Bit>,
    /// Its sequence number.
    pub fin_a_seq: Signal<In, Bits<SEQ_BITS>>,
    /// It failed.
    pub fin_a_err: Signal<In, Bit>,
    /// Another request finished (failed).
    pub fin_b: Signal<In, Bit>,
    /// Its sequence number.
    pub fin_b_seq: Signal<In, Bits<SEQ_BITS>>,
    /// A command is complete (one cycle).
    pub done: Signal<Out, Bit>,
    /// Its cookie.
    pub done_cookie: Signal<Out, Bits<COOKIE_BITS>>,
    /// One of its requests failed.
    pub done_err: Signal<Out, Bit>,
    /// Nothing is outstanding.
    pub empty: Signal<Out, Bit>,
    issued: DFF<Bits<6>>,
    retired: DFF<Bits<6>>,
    finished: DFF<Bits<MAX_IN_FLIGHT>>,
    failed: DFF<Bits<MAX_IN_FLIGHT>>,
    err_acc: DFF<Bit>,
    cmds: DFF<Bits<FIFO_BITS>>,
    cmd_count: DFF<Bits<CMD_COUNT_BITS>>,
    done_r: DFF<Bit>,
    done_cookie_r: DFF<Bits<COOKIE_BITS>>,
    done_err_r: DFF<Bit>,
    head: Signal<Local, Bits<CMD_BITS>>,
    retire_seq: Signal<Local, Bits<SEQ_BITS>>,
    retire: Signal<Local, Bit>,
    retire_err: Signal<Local, Bit>,
    cmd_done: Signal<Local, Bit>,
    fin_mask: Signal<Local, Bits<MAX_IN_FLIGHT>>,
    err_mask: Signal<Local, Bits<MAX_IN_FLIGHT>>,
    retire_mask: Signal<Local, Bits<MAX_IN_FLIGHT>>,
    push: Signal<Local, Bit>,
    entry: Signal<Local, Bits<FIFO_BITS>>,
    count: Signal<Local, Bits<CMD_COUNT_BITS>>,
    shifted: Signal<Local, Bits<FIFO_BITS>>,
    tail_shift: Signal<Local, Bits<8>>,
    max_in_flight: Constant<Bits<6>>,
    cmd_depth: Constant<Bits<CMD_COUNT_BITS>>,
    cmd_bits: Constant<Bits<8>>,
    seq_bits: Constant<Bits<8>>,
}

impl Default for ReadOrder {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            clear: Default::default(),
            issue: Default::default(),
            issue_last: Default::default(),
            issue_cookie: Default::default(),
            seq: Default::default(),
            space: Default::default(),
            fin_a: Default::default(),
            fin_a_seq: Default::default(),
            fin_a_err: Default::default(),
            fin_b: Default::default(),
            fin_b_seq: Default::default(),
            done: Default::default(),
            done_cookie: Default::default(),
            done_err: Default::default(),
            empty: Default::default(),
            issued: Default::default(),
            retired: Default::default(),
            finished: Default::default(),
            failed: Default::default(),
            err_acc: Default::default(),
            cmds: Default::default(),
            cmd_count: Default::default(),
            done_r: Default::default(),
            done_cookie_r: Default::default(),
            done_err_r: Default::default(),
            head: Default::default(),
            retire_seq: Default::default(),
            retire: Default::default(),
            retire_err: Default::default(),
            cmd_done: Default::default(),
            fin_mask: Default::default(),
            err_mask: Default::default(),
            retire_mask: Default::default(),
            push: Default::default(),
            entry: Default::default(),
            count: Default::default(),
            shifted: Default::default(),
            tail_shift: Default::default(),
            max_in_flight: Constant::new((MAX_IN_FLIGHT as u64).into()),
            cmd_depth: Constant::new((CMD_DEPTH as u64).into()),
            cmd_bits: Constant::new((CMD_BITS as u64).into()),
            seq_bits: Constant::new((SEQ_BITS as u64).into()),
        }
    }
}

impl Logic for ReadOrder {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            issued,
            retired,
            finished,
            failed,
            err_acc,
            cmds,
            cmd_count,
            done_r,
            done_cookie_r,
            done_err_r
        );
        self.seq.next = self.issued.q.val().get_bits::<SEQ_BITS>(0);
        self.space.next = ((self.issued.q.val() - self.retired.q.val()) < self.max_in_flight.val())
            && (self.cmd_count.q.val() < self.cmd_depth.val());
        self.empty.next = (self.issued.q.val() == self.retired.q.val()) && !self.done_r.q.val();

        // Finishes mark their sequence numbers.
        self.fin_mask.next = 0.into();
        self.err_mask.next = 0.into();
        if self.fin_a.val() {
            self.fin_mask.next = bits::<MAX_IN_FLIGHT>(1) << self.fin_a_seq.val();
            if self.fin_a_err.val() {
                self.err_mask.next = bits::<MAX_IN_FLIGHT>(1) << self.fin_a_seq.val();
            }
        }
        if self.fin_b.val() {
            self.fin_mask.next =
                self.fin_mask.val() | (bits::<MAX_IN_FLIGHT>(1) << self.fin_b_seq.val());
            self.err_mask.next =
                self.err_mask.val() | (bits::<MAX_IN_FLIGHT>(1) << self.fin_b_seq.val());
        }

        // Retire the oldest sequence number once it finished.
        self.retire_seq.next = self.retired.q.val().get_bits::<SEQ_BITS>(0);
        self.retire.next = (self.issued.q.val() != self.retired.q.val())
            && self.finished.q.val().get_bit(self.retire_seq.val().index());
        self.retire_err.next = self.failed.q.val().get_bit(self.retire_seq.val().index());
        self.retire_mask.next = 0.into();
        self.head.next = self.cmds.q.val().get_bits::<CMD_BITS>(0);
        self.cmd_done.next = self.retire.val()
            && (self.cmd_count.q.val() != 0)
            && (self.head.val().get_bits::<SEQ_BITS>(0) == self.retire_seq.val());
        self.done_r.d.next = self.cmd_done.val();
        self.done_cookie_r.d.next = self.head.val().get_bits::<COOKIE_BITS>(5);
        self.done_err_r.d.next = self.err_acc.q.val() || self.retire_err.val();
        if self.retire.val() {
            self.retire_mask.next = bits::<MAX_IN_FLIGHT>(1) << self.retire_seq.val();
            self.retired.d.next = self.retired.q.val() + 1;
            self.err_acc.d.next =
                (self.err_acc.q.val() || self.retire_err.val()) && !self.cmd_done.val();
        }
        self.finished.d.next =
            (self.finished.q.val() | self.fin_mask.val()) & !self.retire_mask.val();
        self.failed.d.next = (self.failed.q.val() | self.err_mask.val()) & !self.retire_mask.val();

        // Commands: pushed with their last request, popped when done.
        self.push.next = self.issue.val() && self.issue_last.val();
        self.entry.next = bit_cast::<FIFO_BITS, CMD_BITS>(
            (bit_cast::<CMD_BITS, COOKIE_BITS>(self.issue_cookie.val()) << self.seq_bits.val())
                | bit_cast::<CMD_BITS, SEQ_BITS>(self.seq.val()),
        );
        self.count.next = self.cmd_count.q.val();
        self.shifted.next = self.cmds.q.val();
        if self.cmd_done.val() {
            self.shifted.next = self.cmds.q.val() >> self.cmd_bits.val();
            self.count.next = self.cmd_count.q.val() - 1;
        }
        // The new entry goes after the `count` entries that stay.
        self.tail_shift.next = (bit_cast::<8, CMD_COUNT_BITS>(self.count.val()) << 3)
            + bit_cast::<8, CMD_COUNT_BITS>(self.count.val());
        self.cmds.d.next = self.shifted.val();
        self.cmd_count.d.next = self.count.val();
        if self.push.val() {
            self.cmds.d.next = self.shifted.val() | (self.entry.val() << self.tail_shift.val());
            self.cmd_count.d.next = self.count.val() + 1;
        }
        if self.issue.val() {
            self.issued.d.next = self.issued.q.val() + 1;
        }
        if self.clear.val() {
            self.issued.d.next = 0.into();
            self.retired.d.next = 0.into();
            self.finished.d.next = 0.into();
            self.failed.d.next = 0.into();
            self.err_acc.d.next = false;
            self.cmds.d.next = 0.into();
            self.cmd_count.d.next = 0.into();
            self.done_r.d.next = false;
        }
        self.done.next = self.done_r.q.val();
        self.done_cookie.next = self.done_cookie_r.q.val();
        self.done_err.next = self.done_err_r.q.val();
    }
}
