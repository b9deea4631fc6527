//! DMA read engine: turns read commands of two clients into memory read
//! requests and puts the completion data into the on-chip buffers.
//!
//! Requests: each port hands its command to a [`CmdSlot`] (its `ready` is
//! the register's room, so nothing combinational runs from one client's
//! `valid` to the other's `ready`); the engine takes the commands from the
//! registers, round-robin when both hold one. A command that fits one
//! request goes as one; a longer one is cut at Max_Read_Request_Size
//! boundaries (which never cross 4 KiB; `request_split.rs`); each request
//! takes a free tag (32 tags, shared by both ports) and goes out as a
//! 1-beat MRd (3-DW header below 4 GiB, 4-DW above) with first/last byte
//! enables for any byte alignment. No request
//! is put on `req` while Bus Master Enable is clear (it waits, it is not
//! dropped) or while a virtio reset drains; one already on `req` stays
//! there until taken, as the stream requires.
//!
//! Completions (`cpl`, always accepted) are matched by tag; the byte count
//! gives each one's place in its request, so completions split at any DW
//! boundary and interleaved across tags land where they belong: every beat
//! is written to the buffer (`wr_*`: `target`, byte address, lanes) at its
//! byte position. A request finishes with its last completion, or fails
//! with an unsuccessful status, poisoned data, or no completion within
//! `COMPLETION_TIMEOUT_CYCLES` (the tag then stays unused until the next
//! virtio reset). Completions for tags not in use are dropped. Each port's
//! commands are reported `done` in order ([`ReadOrder`]).
//!
//! Virtio reset (`vreset`): commands are abandoned, nothing new is issued
//! (a request built but not shown, held back by Bus Master Enable, is
//! dropped), and `drained` goes low until every tag in use has completed
//! or timed out; then the ports start afresh.
//!
//! Timing: a request leaves 3 cycles after its command is handed over (2
//! after the engine takes it from the register, or after the previous
//! request of the command), then one every 2 cycles; the engine takes the
//! next command while the last request of the one before is presented, so
//! commands of one request each go out one every 2 cycles too; a port
//! hands over a command at most every 2 cycles; completion
//! beats reach the buffer write port 2 cycles after they arrive (and the
//! buffer 2 later); `done` follows 3 cycles after the last beat of a
//! command's last completion arrived, when the buffer reads its data.

use crate::byte_buffer::BUF_ADDR_BITS;
use crate::cmd_slot::CmdSlot;
use crate::dma_port::{ReadServer, LEN_BITS, TARGET_BITS};
use crate::lane_ram::LANES;
use crate::ram::Ram;
use crate::read_order::{ReadOrder, COOKIE_BITS, SEQ_BITS};
use crate::request_split::RequestSplit;
use crate::tlp_stream::{TlpSink, TlpSource};
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::dma::{COMPLETION_TIMEOUT_CYCLES, READ_TAGS};
use vireo_regs::tlp::fmt_type;

/// Width of a tag.
pub const TAG_BITS: usize = 5;
const _: () = assert!(1 << TAG_BITS == READ_TAGS);
/// A command in a port's register: host address 63:0, length 81:64, target
/// 83:82, buffer address 100:84, cookie 104:101.
const READ_CMD_BITS: usize = 64 + LEN_BITS + TARGET_BITS + BUF_ADDR_BITS + COOKIE_BITS;
const _: () =
    assert!(LEN_BITS == 18 && TARGET_BITS == 2 && BUF_ADDR_BITS == 17 && COOKIE_BITS == 4);
/// Tag table entry: port (1), sequence (5), target (2), buffer address
/// (17), request length in bytes (13).
const INFO_BITS: usize = 1 + SEQ_BITS + TARGET_BITS + BUF_ADDR_BITS + 13;
/// Timestamp entry: issue tick (16), port (1), sequence (5).
const STAMP_BITS: usize = 16 + 1 + SEQ_BITS;
/// The timestamp counts in ticks of 2^TICK_SHIFT cycles.
const TICK_SHIFT: usize = 8;
const _: () = assert!(COMPLETION_TIMEOUT_CYCLES >> TICK_SHIFT < 1 << 15);
// The tick is ticks[23:8] in the HDL.
const _: () = assert!(TICK_SHIFT == 8);

/// Request builder state.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum ReadState {
    /// Waiting for a command.
    Idle,
    /// Building the next request of the command.
    Build,
    /// Presenting the request.
    Present,
}

/// The read engine.
#[derive(LogicBlock)]
pub struct DmaRead {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Commands of the first client.
    pub port0: ReadServer,
    /// Commands of the second client.
    pub port1: ReadServer,
    /// Memory read requests.
    pub req: TlpSource,
    /// Completions.
    pub cpl: TlpSink,
    /// Buffer written.
    pub wr_target: Signal<Out, Bits<TARGET_BITS>>,
    /// Byte address of lane 0.
    pub wr_addr: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// Data.
    pub wr_data: Signal<Out, Bits<DATA_WIDTH>>,
    /// Lanes written (none: no write).
    pub wr_lanes: Signal<Out, Bits<LANES>>,
    /// Bus Master Enable.
    pub bus_master: Signal<In, Bit>,
    /// Max_Read_Request_Size field of Device Control.
    pub max_read: Signal<In, Bits<3>>,
    /// Requester ID.
    pub requester_id: Signal<In, Bits<16>>,
    /// Virtio reset: abandon and drain.
    pub vreset: Signal<In, Bit>,
    /// No virtio reset is draining.
    pub drained: Signal<Out, Bit>,
    /// Nothing in flight and no command being split.
    pub idle: Signal<Out, Bit>,
    slot0: CmdSlot<READ_CMD_BITS>,
    slot1: CmdSlot<READ_CMD_BITS>,
    order0: ReadOrder,
    order1: ReadOrder,
    info: Ram<Bits<INFO_BITS>, TAG_BITS>,
    stamps: Ram<Bits<STAMP_BITS>, TAG_BITS>,
    state: DFF<ReadState>,
    /// Max_Read_Request_Size, registered: Device Control changes only when
    /// software writes it, and the register keeps the configuration space
    /// off the path to the request header.
    mrrs: DFF<Bits<3>>,
    port: DFF<Bits<1>>,
    prefer1: DFF<Bit>,
    addr: DFF<Bits<64>>,
    left: DFF<Bits<LEN_BITS>>,
    buf_addr: DFF<Bits<BUF_ADDR_BITS>>,
    /// The request is on `req`, not yet taken.
    shown: DFF<Bit>,
    target: DFF<Bits<TARGET_BITS>>,
    cookie: DFF<Bits<COOKIE_BITS>>,
    hdr: DFF<Bits<128>>,
    busy: DFF<Bits<READ_TAGS>>,
    dead: DFF<Bits<READ_TAGS>>,
    halting: DFF<Bit>,
    ticks: DFF<Bits<32>>,
    scan: DFF<Bits<TAG_BITS>>,
    scan_prev: DFF<Bits<TAG_BITS>>,
    scan_fresh: DFF<Bit>,
    // Completion stage 1: the beat as it arrived.
    c_valid: DFF<Bit>,
    c_sop: DFF<Bit>,
    c_eop: DFF<Bit>,
    c_tag: DFF<Bits<8>>,
    c_status: DFF<Bits<3>>,
    c_count: DFF<Bits<12>>,
    c_lower: DFF<Bits<2>>,
    /// Bytes of the completion's payload that belong to the request.
    c_bytes: DFF<Bits<13>>,
    /// The completion is its request's last.
    c_last: DFF<Bit>,
    c_poisoned: DFF<Bit>,
    c_data: DFF<Bits<DATA_WIDTH>>,
    // Completion stage 2: the TLP being written.
    t_match: DFF<Bit>,
    t_fail: DFF<Bit>,
    t_last: DFF<Bit>,
    t_tag: DFF<Bits<TAG_BITS>>,
    t_port: DFF<Bit>,
    t_seq: DFF<Bits<SEQ_BITS>>,
    t_target: DFF<Bits<TARGET_BITS>>,
    t_addr: DFF<Bits<BUF_ADDR_BITS>>,
    t_left: DFF<Bits<13>>,
    o_target: DFF<Bits<TARGET_BITS>>,
    o_addr: DFF<Bits<BUF_ADDR_BITS>>,
    o_data: DFF<Bits<DATA_WIDTH>>,
    o_lanes: DFF<Bits<LANES>>,
    f1_valid: DFF<Bit>,
    f1_port: DFF<Bit>,
    f1_seq: DFF<Bits<SEQ_BITS>>,
    f1_err: DFF<Bit>,
    f2_valid: DFF<Bit>,
    f2_port: DFF<Bit>,
    f2_seq: DFF<Bits<SEQ_BITS>>,
    f2_err: DFF<Bit>,
    // Request building.
    /// A port's command may be taken.
    ready0: Signal<Local, Bit>,
    ready1: Signal<Local, Bit>,
    take0: Signal<Local, Bit>,
    take1: Signal<Local, Bit>,
    taken: Signal<Local, Bits<READ_CMD_BITS>>,
    split: RequestSplit,
    chunk: Signal<Local, Bits<LEN_BITS>>,
    dws: Signal<Local, Bits<11>>,
    first_be: Signal<Local, Bits<4>>,
    last_be: Signal<Local, Bits<4>>,
    free: Signal<Local, Bits<READ_TAGS>>,
    lowest: Signal<Local, Bits<READ_TAGS>>,
    tag: Signal<Local, Bits<TAG_BITS>>,
    space: Signal<Local, Bit>,
    seq: Signal<Local, Bits<SEQ_BITS>>,
    go: Signal<Local, Bit>,
    dw0: Signal<Local, Bits<32>>,
    dw1: Signal<Local, Bits<32>>,
    issue_mask: Signal<Local, Bits<READ_TAGS>>,
    /// The tag of a request dropped unsent.
    drop_mask: Signal<Local, Bits<READ_TAGS>>,
    // Completion handling.
    info_word: Signal<Local, Bits<INFO_BITS>>,
    count: Signal<Local, Bits<13>>,
    offset: Signal<Local, Bits<13>>,
    payload: Signal<Local, Bits<13>>,
    h_count: Signal<Local, Bits<13>>,
    lane_lo: Signal<Local, Bits<5>>,
    /// Lane after the beat's last byte, if it ends inside the beat.
    lane_end: Signal<Local, Bits<13>>,
    beat_bytes: Signal<Local, Bits<13>>,
    left_now: Signal<Local, Bits<13>>,
    addr_now: Signal<Local, Bits<BUF_ADDR_BITS>>,
    match_now: Signal<Local, Bit>,
    fail_now: Signal<Local, Bit>,
    last_now: Signal<Local, Bit>,
    tag_now: Signal<Local, Bits<TAG_BITS>>,
    port_now: Signal<Local, Bit>,
    seq_now: Signal<Local, Bits<SEQ_BITS>>,
    target_now: Signal<Local, Bits<TARGET_BITS>>,
    lanes: Signal<Local, Bits<LANES>>,
    finish: Signal<Local, Bit>,
    finish_mask: Signal<Local, Bits<READ_TAGS>>,
    // Timeouts.
    stamp_word: Signal<Local, Bits<STAMP_BITS>>,
    age: Signal<Local, Bits<16>>,
    expire: Signal<Local, Bit>,
    expire_mask: Signal<Local, Bits<READ_TAGS>>,
    limit: Constant<Bits<16>>,
    /// Bit b of a tag number is set for the one-hot positions in
    /// `tag_masks[b]`.
    tag_masks: [Constant<Bits<READ_TAGS>>; TAG_BITS],
    tag_bits: [Constant<Bits<TAG_BITS>>; TAG_BITS],
    mrd_4dw: Constant<Bits<32>>,
    sc: Constant<Bits<3>>,
}

impl Default for DmaRead {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            port0: Default::default(),
            port1: Default::default(),
            req: Default::default(),
            cpl: Default::default(),
            wr_target: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            wr_lanes: Default::default(),
            bus_master: Default::default(),
            max_read: Default::default(),
            requester_id: Default::default(),
            vreset: Default::default(),
            drained: Default::default(),
            idle: Default::default(),
            slot0: Default::default(),
            slot1: Default::default(),
            order0: Default::default(),
            order1: Default::default(),
            info: Ram::new(READ_TAGS),
            stamps: Ram::new(READ_TAGS),
            state: Default::default(),
            mrrs: Default::default(),
            port: Default::default(),
            prefer1: Default::default(),
            addr: Default::default(),
            left: Default::default(),
            buf_addr: Default::default(),
            shown: Default::default(),
            target: Default::default(),
            cookie: Default::default(),
            hdr: Default::default(),
            busy: Default::default(),
            dead: Default::default(),
            halting: Default::default(),
            ticks: Default::default(),
            scan: Default::default(),
            scan_prev: Default::default(),
            scan_fresh: Default::default(),
            c_valid: Default::default(),
            c_sop: Default::default(),
            c_eop: Default::default(),
            c_tag: Default::default(),
            c_status: Default::default(),
            c_count: Default::default(),
            c_lower: Default::default(),
            c_bytes: Default::default(),
            c_last: Default::default(),
            c_poisoned: Default::default(),
            c_data: Default::default(),
            t_match: Default::default(),
            t_fail: Default::default(),
            t_last: Default::default(),
            t_tag: Default::default(),
            t_port: Default::default(),
            t_seq: Default::default(),
            t_target: Default::default(),
            t_addr: Default::default(),
            t_left: Default::default(),
            o_target: Default::default(),
            o_addr: Default::default(),
            o_data: Default::default(),
            o_lanes: Default::default(),
            f1_valid: Default::default(),
            f1_port: Default::default(),
            f1_seq: Default::default(),
            f1_err: Default::default(),
            f2_valid: Default::default(),
            f2_port: Default::default(),
            f2_seq: Default::default(),
            f2_err: Default::default(),
            ready0: Default::default(),
            ready1: Default::default(),
            take0: Default::default(),
            take1: Default::default(),
            taken: Default::default(),
            split: Default::default(),
            chunk: Default::default(),
            dws: Default::default(),
            first_be: Default::default(),
            last_be: Default::default(),
            free: Default::default(),
            lowest: Default::default(),
            tag: Default::default(),
            space: Default::default(),
            seq: Default::default(),
            go: Default::default(),
            dw0: Default::default(),
            dw1: Default::default(),
            issue_mask: Default::default(),
            drop_mask: Default::default(),
            info_word: Default::default(),
            count: Default::default(),
            offset: Default::default(),
            payload: Default::default(),
            h_count: Default::default(),
            lane_end: Default::default(),
            lane_lo: Default::default(),
            beat_bytes: Default::default(),
            left_now: Default::default(),
            addr_now: Default::default(),
            match_now: Default::default(),
            fail_now: Default::default(),
            last_now: Default::default(),
            tag_now: Default::default(),
            port_now: Default::default(),
            seq_now: Default::default(),
            target_now: Default::default(),
            lanes: Default::default(),
            finish: Default::default(),
            finish_mask: Default::default(),
            stamp_word: Default::default(),
            age: Default::default(),
            expire: Default::default(),
            expire_mask: Default::default(),
            limit: Constant::new((COMPLETION_TIMEOUT_CYCLES >> TICK_SHIFT).into()),
            tag_masks: std::array::from_fn(|b| {
                let mask = (0..READ_TAGS as u64)
                    .filter(|t| t >> b & 1 != 0)
                    .fold(0, |m, t| m | 1 << t);
                Constant::new(mask.into())
            }),
            tag_bits: std::array::from_fn(|b| Constant::new((1u64 << b).into())),
            mrd_4dw: Constant::new(((fmt_type::MRD64 as u64) << 24).into()),
            sc: Constant::new((vireo_regs::tlp::cpl_status::SC as u64).into()),
        }
    }
}

impl Logic for DmaRead {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, mrrs, port, prefer1, addr, left, buf_addr, shown, target, cookie,
            hdr, busy, dead, halting, ticks, scan, scan_prev, scan_fresh, c_valid, c_sop, c_eop,
            c_tag, c_status, c_count, c_lower, c_bytes, c_last, c_poisoned, c_data, t_match,
            t_fail, t_last, t_tag, t_port, t_seq, t_target, t_addr, t_left, o_target, o_addr,
            o_data, o_lanes, f1_valid, f1_port, f1_seq, f1_err, f2_valid, f2_port, f2_seq, f2_err
        );
        clock!(self, clock, slot0, slot1, order0, order1, info, stamps);
        self.ticks.d.next = self.ticks.q.val() + 1;

        // ---- Commands: each port's into its register, then one register
        // at a time, round-robin when both hold one.
        self.slot0.rst.next = self.rst.val();
        self.slot1.rst.next = self.rst.val();
        self.slot0.clear.next = self.vreset.val();
        self.slot1.clear.next = self.vreset.val();
        self.port0.ready.next = self.slot0.room.val();
        self.port1.ready.next = self.slot1.room.val();
        self.slot0.push.next = self.port0.valid.val() && self.slot0.room.val();
        self.slot1.push.next = self.port1.valid.val() && self.slot1.room.val();
        self.slot0.cmd.next = bit_cast::<READ_CMD_BITS, 64>(self.port0.addr.val())
            | (bit_cast::<READ_CMD_BITS, LEN_BITS>(self.port0.len.val()) << 64)
            | (bit_cast::<READ_CMD_BITS, TARGET_BITS>(self.port0.target.val()) << 82)
            | (bit_cast::<READ_CMD_BITS, BUF_ADDR_BITS>(self.port0.buf.val()) << 84)
            | (bit_cast::<READ_CMD_BITS, COOKIE_BITS>(self.port0.cookie.val()) << 101);
        self.slot1.cmd.next = bit_cast::<READ_CMD_BITS, 64>(self.port1.addr.val())
            | (bit_cast::<READ_CMD_BITS, LEN_BITS>(self.port1.len.val()) << 64)
            | (bit_cast::<READ_CMD_BITS, TARGET_BITS>(self.port1.target.val()) << 82)
            | (bit_cast::<READ_CMD_BITS, BUF_ADDR_BITS>(self.port1.buf.val()) << 84)
            | (bit_cast::<READ_CMD_BITS, COOKIE_BITS>(self.port1.cookie.val()) << 101);
        self.take0.next = false;
        self.take1.next = false;
        // The next command is taken when idle, or while the last request of
        // the one before is presented (Present uses none of the command's
        // registers); not from a port whose tracker is full, which would
        // hold up the other port's commands for a read round trip.
        self.ready0.next = self.slot0.valid.val() && self.order0.space.val();
        self.ready1.next = self.slot1.valid.val() && self.order1.space.val();
        if ((self.state.q.val() == ReadState::Idle)
            || ((self.state.q.val() == ReadState::Present) && !self.left.q.val().any()))
            && !self.halting.q.val()
        {
            if self.ready0.val() && self.ready1.val() {
                self.take1.next = self.prefer1.q.val();
                self.take0.next = !self.prefer1.q.val();
            } else {
                self.take0.next = self.ready0.val();
                self.take1.next = self.ready1.val();
            }
        }
        self.slot0.pop.next = self.take0.val();
        self.slot1.pop.next = self.take1.val();
        self.taken.next = self.slot0.head.val();
        if self.take1.val() {
            self.taken.next = self.slot1.head.val();
        }
        if self.take0.val() || self.take1.val() {
            self.port.d.next = bits::<1>(0);
            if self.take1.val() {
                self.port.d.next = bits::<1>(1);
            }
            self.prefer1.d.next = self.take0.val();
            self.addr.d.next = self.taken.val().get_bits::<64>(0);
            self.left.d.next = self.taken.val().get_bits::<LEN_BITS>(64);
            self.target.d.next = self.taken.val().get_bits::<TARGET_BITS>(82);
            self.buf_addr.d.next = self.taken.val().get_bits::<BUF_ADDR_BITS>(84);
            self.cookie.d.next = self.taken.val().get_bits::<COOKIE_BITS>(101);
            self.state.d.next = ReadState::Build;
        }

        // ---- The next request of the command: the rest, or up to the MRRS
        // boundary.
        self.mrrs.d.next = self.max_read.val();
        self.split.size_field.next = self.mrrs.q.val();
        self.split.addr_lo.next = self.addr.q.val().get_bits::<14>(0);
        self.split.left.next = self.left.q.val();
        self.chunk.next = self.split.chunk.val();
        self.dws.next = self.split.dws.val();
        self.first_be.next = self.split.first_be.val();
        self.last_be.next = self.split.last_be.val();
        // Lowest free tag (one-hot), and its number.
        self.free.next = !(self.busy.q.val() | self.dead.q.val());
        self.lowest.next = self.free.val() & (!self.free.val() + 1);
        self.tag.next = bits::<TAG_BITS>(0);
        for i in 0..TAG_BITS {
            if (self.lowest.val() & self.tag_masks[i].val()).any() {
                self.tag.next = self.tag.val() | self.tag_bits[i].val();
            }
        }
        if self.port.q.val().any() {
            self.space.next = self.order1.space.val();
            self.seq.next = self.order1.seq.val();
        } else {
            self.space.next = self.order0.space.val();
            self.seq.next = self.order0.seq.val();
        }
        self.go.next = (self.state.q.val() == ReadState::Build)
            && !self.halting.q.val()
            && self.bus_master.val()
            && self.free.val().any()
            && self.space.val();
        self.dw0.next = bit_cast::<32, 11>(self.dws.val() & 1023);
        if self.addr.q.val().get_bits::<32>(32).any() {
            self.dw0.next = self.mrd_4dw.val() | bit_cast::<32, 11>(self.dws.val() & 1023);
        }
        self.dw1.next = (bit_cast::<32, 16>(self.requester_id.val()) << 16)
            | (bit_cast::<32, TAG_BITS>(self.tag.val()) << 8)
            | (bit_cast::<32, 4>(self.last_be.val()) << 4)
            | bit_cast::<32, 4>(self.first_be.val());
        self.issue_mask.next = bits::<READ_TAGS>(0);
        self.info.write_enable.next = false;
        self.info.write_address.next = self.tag.val();
        self.info.write_data.next = (bit_cast::<INFO_BITS, 13>(self.chunk.val().get_bits::<13>(0))
            << 25)
            | (bit_cast::<INFO_BITS, BUF_ADDR_BITS>(self.buf_addr.q.val()) << 8)
            | (bit_cast::<INFO_BITS, TARGET_BITS>(self.target.q.val()) << 6)
            | (bit_cast::<INFO_BITS, SEQ_BITS>(self.seq.val()) << 1)
            | bit_cast::<INFO_BITS, 1>(self.port.q.val());
        self.stamps.write_enable.next = false;
        self.stamps.write_address.next = self.tag.val();
        self.stamps.write_data.next =
            (bit_cast::<STAMP_BITS, 16>(self.ticks.q.val().get_bits::<16>(8)) << 6)
                | (bit_cast::<STAMP_BITS, SEQ_BITS>(self.seq.val()) << 1)
                | bit_cast::<STAMP_BITS, 1>(self.port.q.val());
        self.order0.issue.next = false;
        self.order1.issue.next = false;
        self.order0.issue_last.next = self.chunk.val() == self.left.q.val();
        self.order1.issue_last.next = self.chunk.val() == self.left.q.val();
        self.order0.issue_cookie.next = self.cookie.q.val();
        self.order1.issue_cookie.next = self.cookie.q.val();
        if self.go.val() {
            self.issue_mask.next = self.lowest.val();
            self.info.write_enable.next = true;
            self.stamps.write_enable.next = true;
            self.order0.issue.next = !self.port.q.val().any();
            self.order1.issue.next = self.port.q.val().any();
            self.hdr.d.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
                | (bit_cast::<128, 32>(self.dw1.val()) << 64)
                | (bit_cast::<128, 32>(self.addr.q.val().get_bits::<32>(0) & 0xFFFF_FFFC_u64)
                    << 32);
            if self.addr.q.val().get_bits::<32>(32).any() {
                self.hdr.d.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
                    | (bit_cast::<128, 32>(self.dw1.val()) << 64)
                    | (bit_cast::<128, 32>(self.addr.q.val().get_bits::<32>(32)) << 32)
                    | bit_cast::<128, 32>(self.addr.q.val().get_bits::<32>(0) & 0xFFFF_FFFC_u64);
            }
            self.addr.d.next = self.addr.q.val() + bit_cast::<64, LEN_BITS>(self.chunk.val());
            self.left.d.next = self.left.q.val() - self.chunk.val();
            self.buf_addr.d.next =
                self.buf_addr.q.val() + self.chunk.val().get_bits::<BUF_ADDR_BITS>(0);
            self.state.d.next = ReadState::Present;
        }
        if (self.state.q.val() == ReadState::Build) && self.halting.q.val() {
            self.state.d.next = ReadState::Idle;
        }
        // The request goes out unless Bus Master Enable was cleared before it
        // was shown; once shown it stays until taken, as the stream requires.
        self.req.hdr.next = self.hdr.q.val();
        self.req.data.next = 0.into();
        self.req.strb.next = 0.into();
        self.req.sop.next = true;
        self.req.eop.next = true;
        self.req.valid.next = (self.state.q.val() == ReadState::Present)
            && (self.bus_master.val() || self.shown.q.val());
        self.shown.d.next = self.req.valid.val() && !self.req.ready.val();
        if self.state.q.val() == ReadState::Present {
            self.state.d.next = ReadState::Present;
            if self.req.valid.val() && self.req.ready.val() {
                self.state.d.next = ReadState::Idle;
                if self.left.q.val().any() || self.take0.val() || self.take1.val() {
                    self.state.d.next = ReadState::Build;
                }
            }
        }

        // ---- Completion stage 1: register the beat; look up its tag.
        self.cpl.ready.next = true;
        self.c_valid.d.next = self.cpl.valid.val();
        self.c_sop.d.next = self.cpl.sop.val();
        self.c_eop.d.next = self.cpl.eop.val();
        self.c_data.d.next = self.cpl.data.val();
        self.h_count.next = bit_cast::<13, 12>(self.cpl.hdr.val().get_bits::<12>(64));
        if !self.cpl.hdr.val().get_bits::<12>(64).any() {
            self.h_count.next = bits::<13>(4096);
        }
        self.payload.next = (bit_cast::<13, 10>(self.cpl.hdr.val().get_bits::<10>(96)) << 2)
            - bit_cast::<13, 2>(self.cpl.hdr.val().get_bits::<2>(32));
        if !self.cpl.hdr.val().get_bits::<10>(96).any() {
            self.payload.next =
                bits::<13>(4096) - bit_cast::<13, 2>(self.cpl.hdr.val().get_bits::<2>(32));
        }
        if self.cpl.valid.val() && self.cpl.sop.val() {
            self.c_tag.d.next = self.cpl.hdr.val().get_bits::<8>(40);
            self.c_status.d.next = self.cpl.hdr.val().get_bits::<3>(77);
            self.c_count.d.next = self.cpl.hdr.val().get_bits::<12>(64);
            self.c_lower.d.next = self.cpl.hdr.val().get_bits::<2>(32);
            self.c_poisoned.d.next = self.cpl.hdr.val().get_bit(110);
            // The payload holds Length DWs from Lower Address[1:0]; the
            // request's bytes are the Byte Count left, or the payload.
            self.c_bytes.d.next = self.h_count.val();
            self.c_last.d.next = true;
            if self.h_count.val() > self.payload.val() {
                self.c_bytes.d.next = self.payload.val();
                self.c_last.d.next = false;
            }
        }
        self.info.read_address.next = self.cpl.hdr.val().get_bits::<TAG_BITS>(40);

        // ---- Completion stage 2: place each beat.
        self.info_word.next = self.info.read_data.val();
        self.count.next = bit_cast::<13, 12>(self.c_count.q.val());
        if self.c_count.q.val() == 0 {
            self.count.next = bits::<13>(4096);
        }
        self.offset.next = self.info_word.val().get_bits::<13>(25) - self.count.val();
        if self.c_sop.q.val() {
            self.tag_now.next = self.c_tag.q.val().get_bits::<TAG_BITS>(0);
            self.match_now.next = (self.c_tag.q.val().get_bits::<3>(5) == 0)
                && self
                    .busy
                    .q
                    .val()
                    .get_bit(self.c_tag.q.val().get_bits::<TAG_BITS>(0).index());
            self.fail_now.next =
                (self.c_status.q.val() != self.sc.val()) || self.c_poisoned.q.val();
            self.last_now.next = self.c_last.q.val();
            self.port_now.next = self.info_word.val().get_bit(0);
            self.seq_now.next = self.info_word.val().get_bits::<SEQ_BITS>(1);
            self.target_now.next = self.info_word.val().get_bits::<TARGET_BITS>(6);
            self.addr_now.next = self.info_word.val().get_bits::<BUF_ADDR_BITS>(8)
                + bit_cast::<BUF_ADDR_BITS, 13>(self.offset.val())
                - bit_cast::<BUF_ADDR_BITS, 2>(self.c_lower.q.val());
            self.left_now.next = self.c_bytes.q.val();
            self.lane_lo.next = bit_cast::<5, 2>(self.c_lower.q.val());
        } else {
            self.tag_now.next = self.t_tag.q.val();
            self.match_now.next = self.t_match.q.val();
            self.fail_now.next = self.t_fail.q.val();
            self.last_now.next = self.t_last.q.val();
            self.port_now.next = self.t_port.q.val();
            self.seq_now.next = self.t_seq.q.val();
            self.target_now.next = self.t_target.q.val();
            self.addr_now.next = self.t_addr.q.val();
            self.left_now.next = self.t_left.q.val();
            self.lane_lo.next = bits::<5>(0);
        }
        // The beat's bytes: from lane_lo to the end of the beat or of the
        // request's data, whichever comes first.
        self.lane_end.next = self.left_now.val() + bit_cast::<13, 5>(self.lane_lo.val());
        self.beat_bytes.next = self.left_now.val();
        self.lanes.next =
            (bits::<LANES>(1) << bit_cast::<LANES, 4>(self.lane_end.val().get_bits::<4>(0))) - 1;
        if self.lane_end.val() >= bits::<13>(16) {
            self.beat_bytes.next = bits::<13>(16) - bit_cast::<13, 5>(self.lane_lo.val());
            self.lanes.next = bits::<LANES>(0xFFFF);
        }
        self.lanes.next =
            self.lanes.val() & (bits::<LANES>(0xFFFF) << bit_cast::<LANES, 5>(self.lane_lo.val()));
        if self.c_valid.q.val() {
            self.t_tag.d.next = self.tag_now.val();
            self.t_match.d.next = self.match_now.val();
            self.t_fail.d.next = self.fail_now.val();
            self.t_last.d.next = self.last_now.val();
            self.t_port.d.next = self.port_now.val();
            self.t_seq.d.next = self.seq_now.val();
            self.t_target.d.next = self.target_now.val();
            self.t_addr.d.next = self.addr_now.val() + 16;
            self.t_left.d.next = self.left_now.val() - self.beat_bytes.val();
        }
        self.o_target.d.next = self.target_now.val();
        self.o_addr.d.next = self.addr_now.val();
        self.o_data.d.next = self.c_data.q.val();
        self.o_lanes.d.next = bits::<LANES>(0);
        if self.c_valid.q.val()
            && self.match_now.val()
            && !self.fail_now.val()
            && !self.halting.q.val()
        {
            self.o_lanes.d.next = self.lanes.val();
        }
        self.wr_target.next = self.o_target.q.val();
        self.wr_addr.next = self.o_addr.q.val();
        self.wr_data.next = self.o_data.q.val();
        self.wr_lanes.next = self.o_lanes.q.val();
        // A request finishes at the end of its last completion, or of a
        // failed one.
        self.finish.next = self.c_valid.q.val()
            && self.c_eop.q.val()
            && self.match_now.val()
            && (self.last_now.val() || self.fail_now.val());
        self.finish_mask.next = bits::<READ_TAGS>(0);
        if self.finish.val() {
            self.finish_mask.next = bits::<READ_TAGS>(1) << self.tag_now.val();
        }
        // Reported once the last beat is in the buffer (2 stages on).
        self.f1_valid.d.next = self.finish.val() && !self.halting.q.val();
        self.f1_port.d.next = self.port_now.val();
        self.f1_seq.d.next = self.seq_now.val();
        self.f1_err.d.next = self.fail_now.val();
        self.f2_valid.d.next = self.f1_valid.q.val() && !self.halting.q.val();
        self.f2_port.d.next = self.f1_port.q.val();
        self.f2_seq.d.next = self.f1_seq.q.val();
        self.f2_err.d.next = self.f1_err.q.val();
        self.order0.fin_a.next =
            self.f2_valid.q.val() && !self.f2_port.q.val() && !self.halting.q.val();
        self.order1.fin_a.next =
            self.f2_valid.q.val() && self.f2_port.q.val() && !self.halting.q.val();
        self.order0.fin_a_seq.next = self.f2_seq.q.val();
        self.order1.fin_a_seq.next = self.f2_seq.q.val();
        self.order0.fin_a_err.next = self.f2_err.q.val();
        self.order1.fin_a_err.next = self.f2_err.q.val();

        // ---- Timeouts: one tag per cycle is checked.
        self.scan.d.next = self.scan.q.val() + 1;
        self.scan_prev.d.next = self.scan.q.val();
        self.scan_fresh.d.next = self.go.val() && (self.tag.val() == self.scan.q.val());
        self.stamps.read_address.next = self.scan.q.val();
        self.stamp_word.next = self.stamps.read_data.val();
        self.age.next =
            self.ticks.q.val().get_bits::<16>(8) - self.stamp_word.val().get_bits::<16>(6);
        self.expire.next = self.busy.q.val().get_bit(self.scan_prev.q.val().index())
            && !self.scan_fresh.q.val()
            && (self.age.val() > self.limit.val())
            && !(self.c_valid.q.val() && (self.tag_now.val() == self.scan_prev.q.val()));
        self.expire_mask.next = bits::<READ_TAGS>(0);
        if self.expire.val() {
            self.expire_mask.next = bits::<READ_TAGS>(1) << self.scan_prev.q.val();
        }
        self.order0.fin_b.next =
            self.expire.val() && !self.stamp_word.val().get_bit(0) && !self.halting.q.val();
        self.order1.fin_b.next =
            self.expire.val() && self.stamp_word.val().get_bit(0) && !self.halting.q.val();
        self.order0.fin_b_seq.next = self.stamp_word.val().get_bits::<SEQ_BITS>(1);
        self.order1.fin_b_seq.next = self.stamp_word.val().get_bits::<SEQ_BITS>(1);
        // A request not shown yet when a virtio reset drains without Bus
        // Master Enable (or after DEVICE_NEEDS_RESET) never leaves: it is
        // dropped with its tag, or the drain would wait for it.
        self.drop_mask.next = bits::<READ_TAGS>(0);
        if self.halting.q.val()
            && (self.state.q.val() == ReadState::Present)
            && !self.req.valid.val()
        {
            self.state.d.next = ReadState::Idle;
            self.drop_mask.next = bits::<READ_TAGS>(1)
                << bit_cast::<READ_TAGS, TAG_BITS>(self.hdr.q.val().get_bits::<TAG_BITS>(72));
        }
        self.busy.d.next = (self.busy.q.val() | self.issue_mask.val())
            & !self.finish_mask.val()
            & !self.expire_mask.val()
            & !self.drop_mask.val();
        self.dead.d.next = self.dead.q.val() | self.expire_mask.val();

        // ---- Ports report their commands in order (nothing while a virtio
        // reset drains: the clients have started again).
        self.port0.done.next = self.order0.done.val() && !self.halting.q.val();
        self.port0.done_cookie.next = self.order0.done_cookie.val();
        self.port0.done_err.next = self.order0.done_err.val();
        self.port1.done.next = self.order1.done.val() && !self.halting.q.val();
        self.port1.done_cookie.next = self.order1.done_cookie.val();
        self.port1.done_err.next = self.order1.done_err.val();

        // ---- Virtio reset: drain, then start afresh.
        self.order0.clear.next = false;
        self.order1.clear.next = false;
        if self.vreset.val() {
            self.halting.d.next = true;
        }
        if self.halting.q.val()
            && !self.busy.q.val().any()
            && (self.state.q.val() == ReadState::Idle)
        {
            self.halting.d.next = false;
            self.dead.d.next = bits::<READ_TAGS>(0);
            self.order0.clear.next = true;
            self.order1.clear.next = true;
        }
        self.drained.next = !self.halting.q.val();
        self.idle.next = !self.busy.q.val().any() && (self.state.q.val() == ReadState::Idle);
        if self.rst.val() {
            self.state.d.next = ReadState::Idle;
            self.shown.d.next = false;
            self.prefer1.d.next = false;
            self.busy.d.next = bits::<READ_TAGS>(0);
            self.dead.d.next = bits::<READ_TAGS>(0);
            self.halting.d.next = false;
            self.ticks.d.next = bits::<32>(0);
            self.scan.d.next = bits::<TAG_BITS>(0);
            self.scan_fresh.d.next = false;
            self.c_valid.d.next = false;
            self.o_lanes.d.next = bits::<LANES>(0);
            self.f1_valid.d.next = false;
            self.f2_valid.d.next = false;
            self.order0.clear.next = true;
            self.order1.clear.next = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, VecDeque};

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn host_byte(addr: u64) -> u8 {
        (addr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
    }

    /// A `done` report: port, cookie, failed.
    type Done = (usize, u64, bool);

    /// A memory read the bench owes completions for: bytes addr..end.
    struct Owed {
        tag: u64,
        addr: u64,
        end: u64,
        due: u64,
        status: u64,
    }

    /// The beats (hdr, data, strb, sop, eop) of a completion for bytes
    /// from..end of a request ending at `last_end`.
    fn completion(
        tag: u64,
        from: u64,
        end: u64,
        last_end: u64,
        status: u64,
    ) -> Vec<(u128, u128, u64, bool, bool)> {
        let dw_start = from / 4;
        let dws = if status == 0 {
            end.div_ceil(4) - dw_start
        } else {
            0
        };
        let ft: u128 = if status == 0 { 0x4A } else { 0x0A };
        let hdr = ft << 120
            | (dws as u128 & 0x3FF) << 96
            | (status as u128) << 77
            | ((last_end - from) as u128 & 0xFFF) << 64
            | (tag as u128) << 40
            | (from as u128 & 0x7F) << 32;
        let beats = dws.div_ceil(4).max(1);
        (0..beats)
            .map(|b| {
                let (mut data, mut strb) = (0u128, 0);
                for i in (0..4).filter(|i| 4 * b + i < dws) {
                    let a = 4 * (dw_start + 4 * b + i);
                    let v = u32::from_le_bytes(std::array::from_fn(|k| host_byte(a + k as u64)));
                    data |= (v as u128) << (32 * i);
                    strb |= 1 << i;
                }
                (hdr, data, strb, b == 0, b + 1 == beats)
            })
            .collect()
    }

    /// Runs `commands` (port, addr, len, buf) through the engine against a
    /// host that completes after random delays, split at random 64-byte
    /// boundaries and interleaved across tags, answering request number
    /// `fail` with Unsupported Request. Returns the buffer image and the
    /// `done` reports (port, cookie, err) in order.
    fn run(
        commands: &[(usize, u64, u64, u64)],
        max_read: u64,
        fail: Option<usize>,
    ) -> (BTreeMap<u64, u8>, Vec<Done>) {
        let mut uut = DmaRead::default();
        uut.connect_all();
        let mut rng = Rng(0xDEAD_BEEF);
        uut.rst.next = true;
        uut.clock.next = Clock::from(false);
        assert!(simulate(&mut uut, 200));
        uut.clock.next = Clock::from(true);
        assert!(simulate(&mut uut, 200));
        uut.rst.next = false;
        uut.bus_master.next = true;
        uut.max_read.next = max_read.into();
        uut.requester_id.next = 0x0100.into();
        let mut queued: [VecDeque<(u64, u64, u64, u64)>; 2] = Default::default();
        for (i, &(p, addr, len, buf)) in commands.iter().enumerate() {
            queued[p].push_back((addr, len, buf, i as u64 & 15));
        }
        let (mut owed, mut beats) = (Vec::<Owed>::new(), VecDeque::new());
        let (mut buffer, mut done) = (BTreeMap::new(), Vec::new());
        let mrrs = 128u64 << max_read;
        let mut requests = 0;
        for now in 0..50_000u64 {
            for (p, q) in queued.iter().enumerate() {
                let port = if p == 0 {
                    &mut uut.port0
                } else {
                    &mut uut.port1
                };
                port.valid.next = !q.is_empty();
                if let Some(&(addr, len, buf, cookie)) = q.front() {
                    port.addr.next = addr.into();
                    port.len.next = len.into();
                    port.buf.next = buf.into();
                    port.cookie.next = cookie.into();
                    port.target.next = 1.into();
                }
            }
            uut.req.ready.next = rng.below(4) != 0;
            // Completions: the next beat of the TLP under way, or a new one.
            if beats.is_empty() {
                let ready: Vec<usize> = (0..owed.len()).filter(|&i| owed[i].due <= now).collect();
                if !ready.is_empty() {
                    let i = ready[rng.below(ready.len() as u64) as usize];
                    let o = &mut owed[i];
                    let mut end = o.end;
                    if o.status == 0 && rng.below(2) == 0 {
                        end = end.min((o.addr / 64 + 1 + rng.below(4)) * 64);
                    }
                    beats.extend(completion(o.tag, o.addr, end, o.end, o.status));
                    o.addr = end;
                    if o.addr == o.end || o.status != 0 {
                        owed.remove(i);
                    }
                }
            }
            uut.cpl.valid.next = false;
            if let Some((hdr, data, strb, sop, eop)) = beats.pop_front() {
                uut.cpl.valid.next = true;
                uut.cpl.hdr.next = crate::wide(hdr);
                uut.cpl.data.next = crate::wide(data);
                uut.cpl.strb.next = strb.into();
                uut.cpl.sop.next = sop;
                uut.cpl.eop.next = eop;
            }
            // Sample the outputs before the edge.
            uut.clock.next = Clock::from(false);
            assert!(simulate(&mut uut, 200));
            for (p, q) in queued.iter_mut().enumerate() {
                let port = if p == 0 { &uut.port0 } else { &uut.port1 };
                if port.valid.val() && port.ready.val() {
                    q.pop_front();
                }
                if port.done.val() {
                    done.push((p, port.done_cookie.val().to_u64(), port.done_err.val()));
                }
            }
            let lanes = uut.wr_lanes.val().to_u64();
            assert!(lanes == 0 || uut.wr_target.val().to_u64() == 1);
            for i in (0..16).filter(|i| lanes >> i & 1 != 0) {
                let b = (uut.wr_data.val().to_u128() >> (8 * i)) as u8;
                buffer.insert((uut.wr_addr.val().to_u64() + i) & 0xFFFF, b);
            }
            if uut.req.valid.val() && uut.req.ready.val() {
                let h = uut.req.hdr.val().to_u128();
                let four = h >> 125 & 1 == 1;
                let dws = match (h >> 96 & 0x3FF) as u64 {
                    0 => 1024,
                    n => n,
                };
                let tag = (h >> 72 & 0xFF) as u64;
                let (last_be, first_be) = ((h >> 68 & 0xF) as u64, (h >> 64 & 0xF) as u64);
                let addr = if four {
                    ((h >> 32 & 0xFFFF_FFFF) as u64) << 32 | (h & 0xFFFF_FFFF) as u64
                } else {
                    (h >> 32 & 0xFFFF_FFFF) as u64
                };
                assert_eq!(four, addr >> 32 != 0, "header size follows the address");
                assert!(dws * 4 <= mrrs, "{} bytes > MRRS {mrrs}", dws * 4);
                assert_eq!(addr / 4096, (addr + dws * 4 - 1) / 4096, "crosses 4 KiB");
                assert!(owed.iter().all(|o| o.tag != tag), "tag {tag} in use");
                let start = addr + first_be.trailing_zeros() as u64;
                let end = match dws {
                    1 => addr + 4 - first_be.leading_zeros() as u64 + 60,
                    _ => addr + 4 * dws - last_be.leading_zeros() as u64 + 60,
                };
                let status = if Some(requests) == fail { 1 } else { 0 };
                owed.push(Owed {
                    tag,
                    addr: start,
                    end,
                    due: now + 20 + rng.below(200),
                    status,
                });
                requests += 1;
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 200));
            if done.len() == commands.len() && owed.is_empty() && beats.is_empty() {
                break;
            }
        }
        (buffer, done)
    }

    #[test]
    fn commands_of_both_ports_land_in_the_buffer_and_complete_in_order() {
        let mut rng = Rng(7);
        // Buffer areas do not overlap: 2 KiB each.
        let commands: Vec<(usize, u64, u64, u64)> = (0..12)
            .map(|i| {
                let addr = if i % 3 == 0 {
                    0x1_2345_0000
                } else {
                    0x8000_0000
                } + rng.below(0x3000);
                (
                    i % 2,
                    addr,
                    1 + rng.below(1500),
                    2048 * i as u64 + rng.below(16),
                )
            })
            .collect();
        let (buffer, done) = run(&commands, 1, None);
        for port in 0..2 {
            let cookies: Vec<u64> = done.iter().filter(|d| d.0 == port).map(|d| d.1).collect();
            let expected: Vec<u64> = (0..12)
                .filter(|i| i % 2 == port)
                .map(|i| i as u64 & 15)
                .collect();
            assert_eq!(cookies, expected, "port {port} reports in command order");
        }
        assert!(done.iter().all(|d| !d.2));
        for &(_, addr, len, buf) in &commands {
            for k in 0..len {
                assert_eq!(
                    buffer.get(&(buf + k)),
                    Some(&host_byte(addr + k)),
                    "byte {k} of the read at {addr:#x}"
                );
            }
        }
        assert_eq!(
            buffer.len() as u64,
            commands.iter().map(|c| c.2).sum::<u64>(),
            "nothing else written"
        );
    }

    /// One clock cycle; the address of the 3-DW request shown before the
    /// edge, if one was.
    fn edge(uut: &mut DmaRead) -> Option<u32> {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 200));
        let shown = uut.req.valid.val();
        let addr = (uut.req.hdr.val().to_u128() >> 32) as u32;
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 200));
        shown.then_some(addr)
    }

    /// An engine out of reset, Bus Master Enable set, MRRS 512.
    fn started() -> DmaRead {
        let mut uut = DmaRead::default();
        uut.connect_all();
        uut.rst.next = true;
        edge(&mut uut);
        uut.rst.next = false;
        uut.bus_master.next = true;
        uut.max_read.next = 2.into();
        uut
    }

    #[test]
    fn a_request_not_shown_is_dropped_by_a_reset_without_bus_master_enable() {
        let mut uut = started();
        uut.port0.valid.next = true;
        uut.port0.addr.next = 0x1000.into();
        uut.port0.len.next = 64.into();
        uut.port0.target.next = 1.into();
        // The request is built; Bus Master Enable goes off before it is
        // shown, and a virtio reset follows.
        for _ in 0..20 {
            if uut.state.q.val() == ReadState::Present {
                break;
            }
            edge(&mut uut);
            if uut.port0.ready.val() {
                uut.port0.valid.next = false;
            }
        }
        assert_eq!(uut.state.q.val(), ReadState::Present);
        uut.bus_master.next = false;
        uut.vreset.next = true;
        edge(&mut uut);
        uut.vreset.next = false;
        for _ in 0..20 {
            assert_eq!(
                edge(&mut uut),
                None,
                "a request went out without Bus Master Enable"
            );
        }
        assert!(
            uut.drained.val(),
            "the reset waits for a request that never left"
        );
    }

    #[test]
    fn an_unsupported_request_fails_its_command_only() {
        let commands = [
            (0, 0x1000, 600, 0),
            (0, 0x5000, 100, 0x1000),
            (1, 0x9000, 64, 0x2000),
        ];
        // 600 bytes at MRRS 256: requests 0..2; the second fails.
        let (_, done) = run(&commands, 1, Some(1));
        let port = |p: usize| {
            done.iter()
                .copied()
                .filter(|d| d.0 == p)
                .collect::<Vec<_>>()
        };
        assert_eq!(port(0), vec![(0, 0, true), (0, 1, false)]);
        assert_eq!(port(1), vec![(1, 2, false)]);
    }

    #[test]
    fn a_port_with_every_command_in_flight_does_not_hold_up_the_other() {
        use crate::read_order::CMD_DEPTH;
        let mut uut = started();
        uut.req.ready.next = true;
        // Port 1: its tracker's commands, never completed, and one more.
        uut.port1.valid.next = true;
        uut.port1.len.next = 4.into();
        uut.port1.target.next = 1.into();
        let mut sent = Vec::new();
        let mut handed = 0;
        for _ in 0..200 {
            uut.port1.addr.next = (0x1000 + 16 * handed as u64).into();
            let ready = uut.port1.ready.val();
            sent.extend(edge(&mut uut));
            if ready {
                handed += 1;
            }
            if handed == CMD_DEPTH + 1 {
                uut.port1.valid.next = false;
                break;
            }
        }
        for _ in 0..10 {
            sent.extend(edge(&mut uut));
        }
        assert_eq!(sent.len(), CMD_DEPTH, "the tracker's depth of requests");
        // Port 0's command goes out while port 1's last one waits.
        uut.port0.valid.next = true;
        uut.port0.addr.next = 0x8000.into();
        uut.port0.len.next = 4.into();
        uut.port0.target.next = 1.into();
        let mut port0_sent = false;
        for _ in 0..20 {
            let handed = uut.port0.ready.val();
            port0_sent |= edge(&mut uut) == Some(0x8000);
            if handed {
                uut.port0.valid.next = false;
            }
        }
        assert!(port0_sent, "port 0 waited behind port 1's full tracker");
    }
}
