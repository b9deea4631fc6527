//! DMA write engine: turns write commands of two clients into memory write
//! requests.
//!
//! A command that fits one request goes as one; a longer one is cut at
//! Max_Payload_Size boundaries (which never cross 4 KiB;
//! `request_split.rs`); each piece is one MWr (3-DW header below 4 GiB, 4-DW above) with
//! first/last byte enables, so any byte alignment and length works. The
//! payload is DW-aligned to the host address: beat k carries the host bytes
//! from `(addr & !3) + 16k`, read from the frame buffer 16 bytes at a time
//! at the matching (realigned) buffer address, or taken from the command's
//! immediate bytes. Requests of one command, and commands, leave in order,
//! so a later command's write never passes an earlier one.
//!
//! Commands are taken into a [`WriteQueue`] of two while the engine sends
//! an earlier one (one port at a time, round-robin when both wait). A
//! request starts only while Bus Master Enable is set; once its first beat
//! is on `out` it is sent to the end. A virtio reset (`vreset`) abandons
//! the commands: the request under way is finished (one whose first beat
//! was not presented yet is dropped), the queued commands are dropped,
//! nothing else is sent, what was read ahead is dropped, and no `done` is
//! reported for the abandoned command (its client is reset with it).
//! Max_Payload_Size is taken while no command is queued or sent.
//!
//! Timing: a command taken while the engine is idle has its first beat on
//! `out` 2 cycles later with immediate bytes, 4 with buffer data (its first
//! buffer read is issued as it is loaded). After that one beat per cycle
//! while `out.ready` holds: the next request, of the same command or of
//! the next one in the queue, is loaded as the last beat of the one before
//! leaves. Its first beat is read as soon as the reads of the request
//! before are issued, the rest (up to 4 beats ahead of the output) from
//! the second cycle of the request before, so its first beat follows at
//! once after a request of 4 beats or more; after a shorter one, or after
//! immediate bytes, it waits up to 2 cycles for its first reads. (The
//! length of the next request is registered for the reads ahead, which
//! keeps the split of the next request off the path to the read pointer.)
//! `done` pulses as a command's last beat leaves.

use crate::byte_buffer::BUF_ADDR_BITS;
use crate::dma_port::{WriteServer, LEN_BITS};
use crate::request_split::RequestSplit;
use crate::tlp_stream::TlpSource;
use crate::write_queue::{WriteQueue, WRITE_CMD_BITS};
use crate::{DATA_WIDTH, STRB_WIDTH};
use rust_hdl::prelude::*;
use vireo_regs::tlp::fmt_type;

// The command word's fields (write_queue.rs) are placed for these widths.
const _: () = assert!(LEN_BITS == 18 && BUF_ADDR_BITS == 17);

/// Request builder state.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum WriteState {
    /// No request loaded; the next command is loaded from the queue.
    Idle,
    /// Sending the request's beats.
    Stream,
    /// Commands abandoned: waiting for the reads in flight, then dropping
    /// what was read ahead.
    Flush,
}

/// The write engine.
#[derive(LogicBlock)]
pub struct DmaWrite {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Commands of the first client.
    pub port0: WriteServer,
    /// Commands of the second client.
    pub port1: WriteServer,
    /// Memory write requests.
    pub out: TlpSource,
    /// Frame buffer read.
    pub rd_en: Signal<Out, Bit>,
    /// Its byte address.
    pub rd_addr: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// The bytes read (2 cycles after `rd_en`).
    pub rd_data: Signal<In, Bits<DATA_WIDTH>>,
    /// `rd_data` is valid.
    pub rd_valid: Signal<In, Bit>,
    /// Bus Master Enable.
    pub bus_master: Signal<In, Bit>,
    /// Max_Payload_Size field of Device Control.
    pub max_payload: Signal<In, Bits<3>>,
    /// Requester ID.
    pub requester_id: Signal<In, Bits<16>>,
    /// Virtio reset: abandon the commands.
    pub vreset: Signal<In, Bit>,
    /// No command is queued or being sent.
    pub idle: Signal<Out, Bit>,
    queue: WriteQueue,
    state: DFF<WriteState>,
    /// Max_Payload_Size, registered (as the read engine's MRRS), and taken
    /// only while no command is queued or sent.
    mps: DFF<Bits<3>>,
    prefer1: DFF<Bit>,
    abort: DFF<Bit>,
    /// The loaded request: its command's port, host address, bytes left
    /// from its first byte, bytes of the command before it, buffer address,
    /// immediate bytes, its length, and whether it is the command's last.
    port: DFF<Bit>,
    addr: DFF<Bits<64>>,
    left: DFF<Bits<LEN_BITS>>,
    sent: DFF<Bits<16>>,
    buf_addr: DFF<Bits<BUF_ADDR_BITS>>,
    imm: DFF<Bit>,
    data: DFF<Bits<128>>,
    chunk_r: DFF<Bits<13>>,
    last_req: DFF<Bit>,
    hdr: DFF<Bits<128>>,
    beats: DFF<Bits<9>>,
    last_strb: DFF<Bits<STRB_WIDTH>>,
    beat: DFF<Bits<9>>,
    /// A first beat is on `out`, not yet taken.
    shown: DFF<Bit>,
    reads: DFF<Bits<9>>,
    rd_ptr: DFF<Bits<BUF_ADDR_BITS>>,
    in_flight: DFF<Bits<2>>,
    slot0: DFF<Bits<DATA_WIDTH>>,
    slot1: DFF<Bits<DATA_WIDTH>>,
    slot2: DFF<Bits<DATA_WIDTH>>,
    slot3: DFF<Bits<DATA_WIDTH>>,
    wp: DFF<Bits<2>>,
    rp: DFF<Bits<2>>,
    stored: DFF<Bits<3>>,
    take0: Signal<Local, Bit>,
    take1: Signal<Local, Bit>,
    /// The command taken (from either port).
    c_addr: Signal<Local, Bits<64>>,
    c_len: Signal<Local, Bits<LEN_BITS>>,
    c_imm: Signal<Local, Bit>,
    c_data: Signal<Local, Bits<128>>,
    c_buf: Signal<Local, Bits<BUF_ADDR_BITS>>,
    c_flags: Signal<Local, Bits<WRITE_CMD_BITS>>,
    /// The queue's oldest command.
    q_cmd: Signal<Local, Bits<WRITE_CMD_BITS>>,
    split: RequestSplit,
    chunk: Signal<Local, Bits<LEN_BITS>>,
    first: Signal<Local, Bits<2>>,
    dws: Signal<Local, Bits<11>>,
    first_be: Signal<Local, Bits<4>>,
    last_be: Signal<Local, Bits<4>>,
    dw0: Signal<Local, Bits<32>>,
    dw1: Signal<Local, Bits<32>>,
    imm_beat: Signal<Local, Bits<DATA_WIDTH>>,
    push: Signal<Local, Bit>,
    push_data: Signal<Local, Bits<DATA_WIDTH>>,
    pop: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    /// The output queue is emptied (an abandoned command's reads ahead).
    flush: Signal<Local, Bit>,
    /// Beats already read for the next request.
    ahead: Signal<Local, Bits<9>>,
    /// Beats of the next request.
    next_beats: Signal<Local, Bits<9>>,
    /// The same, registered for the reads ahead (off the long path from
    /// the request's position through the split), and whether it still
    /// holds for the next request (none was loaded and the queue's oldest
    /// did not change since).
    nb: DFF<Bits<9>>,
    nb_ok: DFF<Bit>,
    /// Frame buffer address of the next read.
    rd_from: Signal<Local, Bits<BUF_ADDR_BITS>>,
    head: Signal<Local, Bits<DATA_WIDTH>>,
    last_beat: Signal<Local, Bit>,
    /// The loaded request's command goes on after it.
    cont: Signal<Local, Bit>,
    /// There is a next request to load (`at_*`).
    more: Signal<Local, Bit>,
    /// The last beat of a request leaves and the next request is loaded at
    /// once.
    follow: Signal<Local, Bit>,
    /// A request is loaded (from Idle, or following on).
    load: Signal<Local, Bit>,
    /// A command is loaded from Idle.
    load_idle: Signal<Local, Bit>,
    /// The next request's data may be read.
    next_ok: Signal<Local, Bit>,
    /// The next request: the loaded command's next piece, else the queue's
    /// oldest command.
    at_port: Signal<Local, Bit>,
    at_addr: Signal<Local, Bits<64>>,
    at_left: Signal<Local, Bits<LEN_BITS>>,
    at_sent: Signal<Local, Bits<16>>,
    at_buf: Signal<Local, Bits<BUF_ADDR_BITS>>,
    at_imm: Signal<Local, Bit>,
    at_data: Signal<Local, Bits<128>>,
    mwr_3dw: Constant<Bits<32>>,
    mwr_4dw: Constant<Bits<32>>,
    imm_flag: Constant<Bits<WRITE_CMD_BITS>>,
    port_flag: Constant<Bits<WRITE_CMD_BITS>>,
}

impl Default for DmaWrite {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            port0: Default::default(),
            port1: Default::default(),
            out: Default::default(),
            rd_en: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            rd_valid: Default::default(),
            bus_master: Default::default(),
            max_payload: Default::default(),
            requester_id: Default::default(),
            vreset: Default::default(),
            idle: Default::default(),
            queue: Default::default(),
            state: Default::default(),
            mps: Default::default(),
            prefer1: Default::default(),
            abort: Default::default(),
            port: Default::default(),
            addr: Default::default(),
            left: Default::default(),
            sent: Default::default(),
            buf_addr: Default::default(),
            imm: Default::default(),
            data: Default::default(),
            chunk_r: Default::default(),
            last_req: Default::default(),
            hdr: Default::default(),
            beats: Default::default(),
            last_strb: Default::default(),
            beat: Default::default(),
            shown: Default::default(),
            reads: Default::default(),
            rd_ptr: Default::default(),
            in_flight: Default::default(),
            slot0: Default::default(),
            slot1: Default::default(),
            slot2: Default::default(),
            slot3: Default::default(),
            wp: Default::default(),
            rp: Default::default(),
            stored: Default::default(),
            take0: Default::default(),
            take1: Default::default(),
            c_addr: Default::default(),
            c_len: Default::default(),
            c_imm: Default::default(),
            c_data: Default::default(),
            c_buf: Default::default(),
            c_flags: Default::default(),
            q_cmd: Default::default(),
            split: Default::default(),
            chunk: Default::default(),
            first: Default::default(),
            dws: Default::default(),
            first_be: Default::default(),
            last_be: Default::default(),
            dw0: Default::default(),
            dw1: Default::default(),
            imm_beat: Default::default(),
            push: Default::default(),
            push_data: Default::default(),
            pop: Default::default(),
            issue: Default::default(),
            flush: Default::default(),
            ahead: Default::default(),
            next_beats: Default::default(),
            nb: Default::default(),
            nb_ok: Default::default(),
            rd_from: Default::default(),
            head: Default::default(),
            last_beat: Default::default(),
            cont: Default::default(),
            more: Default::default(),
            follow: Default::default(),
            load: Default::default(),
            load_idle: Default::default(),
            next_ok: Default::default(),
            at_port: Default::default(),
            at_addr: Default::default(),
            at_left: Default::default(),
            at_sent: Default::default(),
            at_buf: Default::default(),
            at_imm: Default::default(),
            at_data: Default::default(),
            mwr_3dw: Constant::new(((fmt_type::MWR32 as u64) << 24).into()),
            mwr_4dw: Constant::new(((fmt_type::MWR64 as u64) << 24).into()),
            imm_flag: Constant::new(Bits::<WRITE_CMD_BITS>::from(1u64) << 227),
            port_flag: Constant::new(Bits::<WRITE_CMD_BITS>::from(1u64) << 228),
        }
    }
}

impl Logic for DmaWrite {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, mps, prefer1, abort, port, addr, left, sent, buf_addr, imm, data,
            chunk_r, last_req, hdr, beats, last_strb, beat, shown, reads, rd_ptr, in_flight, slot0,
            slot1, slot2, slot3, wp, rp, stored, nb, nb_ok
        );
        clock!(self, clock, queue);
        self.queue.rst.next = self.rst.val();

        // ---- Commands into the queue: one port at a time, round-robin
        // when both wait (`room` is a register: no path from `out`).
        self.take0.next = false;
        self.take1.next = false;
        if self.queue.room.val() {
            if self.port0.valid.val() && self.port1.valid.val() {
                self.take1.next = self.prefer1.q.val();
                self.take0.next = !self.prefer1.q.val();
            } else {
                self.take0.next = self.port0.valid.val();
                self.take1.next = self.port1.valid.val();
            }
        }
        self.port0.ready.next = self.take0.val();
        self.port1.ready.next = self.take1.val();
        self.c_addr.next = self.port0.addr.val();
        self.c_len.next = self.port0.len.val();
        self.c_imm.next = self.port0.imm.val();
        self.c_data.next = self.port0.data.val();
        self.c_buf.next = self.port0.buf.val();
        self.c_flags.next = 0.into();
        if self.take0.val() {
            self.prefer1.d.next = true;
        }
        if self.take1.val() {
            self.prefer1.d.next = false;
            self.c_addr.next = self.port1.addr.val();
            self.c_len.next = self.port1.len.val();
            self.c_imm.next = self.port1.imm.val();
            self.c_data.next = self.port1.data.val();
            self.c_buf.next = self.port1.buf.val();
            self.c_flags.next = self.port_flag.val();
        }
        if self.c_imm.val() {
            self.c_flags.next = self.c_flags.val() | self.imm_flag.val();
        }
        self.queue.push.next = self.take0.val() || self.take1.val();
        self.queue.cmd.next = bit_cast::<WRITE_CMD_BITS, 64>(self.c_addr.val())
            | (bit_cast::<WRITE_CMD_BITS, 128>(self.c_data.val()) << 64)
            | (bit_cast::<WRITE_CMD_BITS, LEN_BITS>(self.c_len.val()) << 192)
            | (bit_cast::<WRITE_CMD_BITS, BUF_ADDR_BITS>(self.c_buf.val()) << 210)
            | self.c_flags.val();
        self.queue.clear.next = self.vreset.val();

        // ---- The next request: the loaded command's next piece while it
        // goes on, else the queue's oldest command from its first byte.
        self.q_cmd.next = self.queue.head.val();
        self.cont.next = (self.state.q.val() == WriteState::Stream) && !self.last_req.q.val();
        self.more.next = self.queue.valid.val();
        self.at_port.next = self.q_cmd.val().get_bit(228);
        self.at_addr.next = self.q_cmd.val().get_bits::<64>(0);
        self.at_left.next = self.q_cmd.val().get_bits::<LEN_BITS>(192);
        self.at_sent.next = bits::<16>(0);
        self.at_buf.next = self.q_cmd.val().get_bits::<BUF_ADDR_BITS>(210);
        self.at_imm.next = self.q_cmd.val().get_bit(227);
        self.at_data.next = self.q_cmd.val().get_bits::<128>(64);
        if self.cont.val() {
            self.more.next = true;
            self.at_port.next = self.port.q.val();
            self.at_addr.next = self.addr.q.val() + bit_cast::<64, 13>(self.chunk_r.q.val());
            self.at_left.next = self.left.q.val() - bit_cast::<LEN_BITS, 13>(self.chunk_r.q.val());
            self.at_sent.next = self.sent.q.val() + bit_cast::<16, 13>(self.chunk_r.q.val());
            self.at_buf.next =
                self.buf_addr.q.val() + bit_cast::<BUF_ADDR_BITS, 13>(self.chunk_r.q.val());
            self.at_imm.next = self.imm.q.val();
            self.at_data.next = self.data.q.val();
        }

        // ---- The output handshake (the next request is loaded as the last
        // beat of the one before leaves).
        self.last_beat.next = (self.beat.q.val() + 1) == self.beats.q.val();
        // A TLP starts only with Bus Master Enable set; a beat once shown
        // stays until taken, as the stream requires.
        self.out.valid.next = (self.state.q.val() == WriteState::Stream)
            && self.stored.q.val().any()
            && (self.bus_master.val() || self.beat.q.val().any() || self.shown.q.val());
        self.pop.next = self.out.valid.val() && self.out.ready.val();
        self.follow.next = self.pop.val()
            && self.last_beat.val()
            && self.more.val()
            && !self.abort.q.val()
            && !self.vreset.val();
        self.load_idle.next = (self.state.q.val() == WriteState::Idle)
            && self.queue.valid.val()
            && !self.vreset.val();
        self.load.next = self.load_idle.val() || self.follow.val();
        self.queue.pop.next = self.load.val() && !self.cont.val();

        // ---- That request: the rest, or up to the MPS boundary.
        // (Taken while idle: the reads ahead count the next request's
        // beats at the size in use.)
        if (self.state.q.val() == WriteState::Idle) && !self.queue.valid.val() {
            self.mps.d.next = self.max_payload.val();
        }
        self.split.size_field.next = self.mps.q.val();
        self.split.addr_lo.next = self.at_addr.val().get_bits::<14>(0);
        self.split.left.next = self.at_left.val();
        self.chunk.next = self.split.chunk.val();
        self.first.next = self.split.first.val();
        self.dws.next = self.split.dws.val();
        self.first_be.next = self.split.first_be.val();
        self.last_be.next = self.split.last_be.val();
        self.next_beats.next = bit_cast::<9, 11>((self.dws.val() + 3) >> 2);
        self.dw0.next = self.mwr_3dw.val() | bit_cast::<32, 11>(self.dws.val() & 1023);
        if self.at_addr.val().get_bits::<32>(32).any() {
            self.dw0.next = self.mwr_4dw.val() | bit_cast::<32, 11>(self.dws.val() & 1023);
        }
        self.dw1.next = (bit_cast::<32, 16>(self.requester_id.val()) << 16)
            | (bit_cast::<32, 4>(self.last_be.val()) << 4)
            | bit_cast::<32, 4>(self.first_be.val());
        // Immediate bytes not yet sent, at the lane of their host address.
        // (Immediate bytes split at a 4 KiB boundary start at a DW: the
        // bytes sent before are 4, 8 or 12.)
        self.imm_beat.next = (self.at_data.val()
            >> (bit_cast::<8, 2>(self.at_sent.val().get_bits::<2>(2)) << 5))
            << (bit_cast::<8, 2>(self.first.val()) << 3);
        // Beats read beyond the loaded request: the next one's.
        self.ahead.next = bits::<9>(0);
        if (self.state.q.val() == WriteState::Stream) && (self.reads.q.val() > self.beats.q.val()) {
            self.ahead.next = self.reads.q.val() - self.beats.q.val();
        }
        self.push.next = false;
        self.flush.next = false;
        self.push_data.next = self.rd_data.val();
        // Abandoned: once the reads in flight are back, drop what was read
        // ahead.
        if (self.state.q.val() == WriteState::Flush) && !self.in_flight.q.val().any() {
            self.state.d.next = WriteState::Idle;
            self.flush.next = true;
        }
        // ---- Frame buffer reads, up to 4 beats ahead of the output: the
        // loaded request's, then the next one's (not once abandoned; from
        // Idle in the cycle the command is loaded).
        self.next_ok.next = self.load_idle.val()
            || ((self.state.q.val() == WriteState::Stream)
                && !self.abort.q.val()
                && !self.vreset.val());
        self.nb.d.next = self.next_beats.val();
        self.nb_ok.d.next = !self.load.val()
            && (!self.queue.push.val() || self.queue.valid.val())
            && !self.vreset.val();
        self.issue.next = (((self.state.q.val() == WriteState::Stream)
            && (self.reads.q.val() < self.beats.q.val()))
            || (self.next_ok.val()
                && self.more.val()
                && !self.at_imm.val()
                && (self.load_idle.val()
                    || !self.ahead.val().any()
                    || (self.nb_ok.q.val() && (self.ahead.val() < self.nb.q.val())))))
            && ((bit_cast::<3, 2>(self.in_flight.q.val()) + self.stored.q.val()) < bits::<3>(4));
        // The next request's beats start with the DW of its first byte.
        self.rd_from.next = self.rd_ptr.q.val();
        if self.load_idle.val() || (self.reads.q.val() == self.beats.q.val()) {
            self.rd_from.next = self.at_buf.val() - bit_cast::<BUF_ADDR_BITS, 2>(self.first.val());
        }
        self.rd_en.next = self.issue.val();
        self.rd_addr.next = self.rd_from.val();
        if self.issue.val() {
            self.rd_ptr.d.next = self.rd_from.val() + 16;
            self.reads.d.next = self.reads.q.val() + 1;
        }
        if self.rd_valid.val() {
            self.push.next = true;
        }
        if self.issue.val() && !self.rd_valid.val() {
            self.in_flight.d.next = self.in_flight.q.val() + 1;
        }
        if !self.issue.val() && self.rd_valid.val() {
            self.in_flight.d.next = self.in_flight.q.val() - 1;
        }

        // ---- The output beat.
        self.head.next = self.slot0.q.val();
        if self.rp.q.val() == 1 {
            self.head.next = self.slot1.q.val();
        }
        if self.rp.q.val() == 2 {
            self.head.next = self.slot2.q.val();
        }
        if self.rp.q.val() == 3 {
            self.head.next = self.slot3.q.val();
        }
        self.out.hdr.next = self.hdr.q.val();
        self.out.data.next = self.head.val();
        self.out.strb.next = bits::<STRB_WIDTH>(15);
        if self.last_beat.val() {
            self.out.strb.next = self.last_strb.q.val();
        }
        self.out.sop.next = self.beat.q.val() == 0;
        self.out.eop.next = self.last_beat.val();
        self.shown.d.next = self.out.valid.val() && !self.out.ready.val();
        // Abandoned before its first beat was presented (Bus Master Enable
        // off, or its data not read yet): the request is dropped too.
        if (self.state.q.val() == WriteState::Stream)
            && (self.abort.q.val() || self.vreset.val())
            && !self.beat.q.val().any()
            && !self.out.valid.val()
        {
            self.state.d.next = WriteState::Flush;
        }
        self.port0.done.next = false;
        self.port1.done.next = false;
        if self.pop.val() {
            self.rp.d.next = self.rp.q.val() + 1;
            self.beat.d.next = self.beat.q.val() + 1;
            if self.last_beat.val() {
                // (Not for a command abandoned: its client was reset.)
                self.port0.done.next = self.last_req.q.val()
                    && !self.port.q.val()
                    && !self.abort.q.val()
                    && !self.vreset.val();
                self.port1.done.next = self.last_req.q.val()
                    && self.port.q.val()
                    && !self.abort.q.val()
                    && !self.vreset.val();
                self.state.d.next = WriteState::Idle;
                if self.abort.q.val() || self.vreset.val() {
                    self.state.d.next = WriteState::Flush;
                }
            }
        }
        // ---- Loading a request: its position, header, length in beats,
        // last strobe; the reads of its data (some may have been issued
        // already, during the request before), or its immediate beat.
        if self.load.val() {
            self.port.d.next = self.at_port.val();
            self.addr.d.next = self.at_addr.val();
            self.left.d.next = self.at_left.val();
            self.sent.d.next = self.at_sent.val();
            self.buf_addr.d.next = self.at_buf.val();
            self.imm.d.next = self.at_imm.val();
            self.data.d.next = self.at_data.val();
            self.chunk_r.d.next = self.chunk.val().get_bits::<13>(0);
            self.last_req.d.next = self.chunk.val() == self.at_left.val();
            self.abort.d.next = false;
            self.hdr.d.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
                | (bit_cast::<128, 32>(self.dw1.val()) << 64)
                | (bit_cast::<128, 32>(self.at_addr.val().get_bits::<32>(0) & 0xFFFF_FFFC_u64)
                    << 32);
            if self.at_addr.val().get_bits::<32>(32).any() {
                self.hdr.d.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
                    | (bit_cast::<128, 32>(self.dw1.val()) << 64)
                    | (bit_cast::<128, 32>(self.at_addr.val().get_bits::<32>(32)) << 32)
                    | bit_cast::<128, 32>(self.at_addr.val().get_bits::<32>(0) & 0xFFFF_FFFC_u64);
            }
            self.beats.d.next = self.next_beats.val();
            self.last_strb.d.next = bits::<STRB_WIDTH>(15)
                >> (bits::<STRB_WIDTH>(4) - bit_cast::<STRB_WIDTH, 11>(self.dws.val() & 3));
            if (self.dws.val() & 3) == 0 {
                self.last_strb.d.next = bits::<STRB_WIDTH>(15);
            }
            self.beat.d.next = bits::<9>(0);
            self.reads.d.next = self.ahead.val();
            if self.issue.val() {
                self.reads.d.next = self.ahead.val() + 1;
            } else if !self.ahead.val().any() {
                self.rd_ptr.d.next =
                    self.at_buf.val() - bit_cast::<BUF_ADDR_BITS, 2>(self.first.val());
            }
            if self.at_imm.val() {
                // One beat: at most 16 bytes from the DW of the address.
                self.push.next = true;
                self.push_data.next = self.imm_beat.val();
                self.reads.d.next = bits::<9>(1);
            }
            self.state.d.next = WriteState::Stream;
        }

        if self.push.val() {
            self.wp.d.next = self.wp.q.val() + 1;
            if self.wp.q.val() == 0 {
                self.slot0.d.next = self.push_data.val();
            }
            if self.wp.q.val() == 1 {
                self.slot1.d.next = self.push_data.val();
            }
            if self.wp.q.val() == 2 {
                self.slot2.d.next = self.push_data.val();
            }
            if self.wp.q.val() == 3 {
                self.slot3.d.next = self.push_data.val();
            }
        }
        if self.push.val() && !self.pop.val() {
            self.stored.d.next = self.stored.q.val() + 1;
        }
        if !self.push.val() && self.pop.val() {
            self.stored.d.next = self.stored.q.val() - 1;
        }
        if self.flush.val() {
            self.wp.d.next = bits::<2>(0);
            self.rp.d.next = bits::<2>(0);
            self.stored.d.next = bits::<3>(0);
        }

        if self.vreset.val() {
            self.abort.d.next = true;
        }
        self.idle.next = (self.state.q.val() == WriteState::Idle) && !self.queue.valid.val();
        if self.rst.val() {
            self.shown.d.next = false;
            self.state.d.next = WriteState::Idle;
            self.prefer1.d.next = false;
            self.abort.d.next = false;
            self.in_flight.d.next = bits::<2>(0);
            self.wp.d.next = bits::<2>(0);
            self.rp.d.next = bits::<2>(0);
            self.stored.d.next = bits::<3>(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::byte_buffer::{to_bits, ByteBuffer};
    use std::collections::{BTreeMap, VecDeque};

    /// The engine reading a frame buffer.
    #[derive(LogicBlock)]
    struct Bench {
        clock: Signal<In, Clock>,
        engine: DmaWrite,
        frames: ByteBuffer,
    }

    impl Logic for Bench {
        #[hdl_gen]
        fn update(&mut self) {
            clock!(self, clock, engine, frames);
            self.frames.rd_en.next = self.engine.rd_en.val();
            self.frames.rd_addr.next = self.engine.rd_addr.val();
            self.engine.rd_data.next = self.frames.rd_data.val();
            self.engine.rd_valid.next = self.frames.rd_valid.val();
        }
    }

    fn buffer_byte(at: u64) -> u8 {
        (at * 7 + 3) as u8
    }

    fn cycle(uut: &mut Bench) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 200));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 200));
    }

    const SIZE: usize = 8192;

    /// The engine after reset, its frame buffer filled with `buffer_byte`.
    fn bench() -> Bench {
        let mut uut = Bench {
            clock: Default::default(),
            engine: DmaWrite::default(),
            frames: ByteBuffer::new(SIZE),
        };
        uut.connect_all();
        uut.engine.rst.next = true;
        cycle(&mut uut);
        uut.engine.rst.next = false;
        for row in 0..SIZE as u64 / 16 {
            uut.frames.wr_addr.next = (16 * row).into();
            uut.frames.wr_data.next =
                to_bits(&std::array::from_fn(|i| buffer_byte(16 * row + i as u64)));
            uut.frames.wr_lanes.next = 0xFFFF.into();
            cycle(&mut uut);
        }
        uut.frames.wr_lanes.next = 0.into();
        uut
    }

    /// A TLP being received: header and payload DWs so far.
    type Partial = Option<(u128, Vec<u32>)>;

    /// Take the beat on `out` if it moves this cycle; a complete MWr goes
    /// into `memory` (after checks of its length, 4 KiB and byte enables).
    fn take_beat(uut: &Bench, tlp: &mut Partial, memory: &mut BTreeMap<u64, u8>) {
        let out = &uut.engine.out;
        if out.valid.val() && out.ready.val() {
            let hdr = out.hdr.val().to_u128();
            let t = tlp.get_or_insert((hdr, Vec::new()));
            assert_eq!(out.sop.val(), t.1.is_empty());
            let data = out.data.val().to_u128();
            for i in 0..out.strb.val().to_u64().count_ones() {
                t.1.push((data >> (32 * i)) as u32);
            }
            if out.eop.val() {
                let (hdr, dws) = tlp.take().unwrap();
                let n = match (hdr >> 96 & 0x3FF) as usize {
                    0 => 1024,
                    n => n,
                };
                assert_eq!(dws.len(), n, "payload length");
                let four = hdr >> 125 & 1 == 1;
                let addr = if four {
                    ((hdr >> 32 & 0xFFFF_FFFF) as u64) << 32 | (hdr & 0xFFFF_FFFF) as u64
                } else {
                    (hdr >> 32 & 0xFFFF_FFFF) as u64
                };
                assert_eq!(four, addr >> 32 != 0);
                let mps = 128 << uut.engine.max_payload.val().to_u64().min(5);
                assert!(n * 4 <= mps && addr / 4096 == (addr + 4 * n as u64 - 1) / 4096);
                let (last_be, first_be) = ((hdr >> 68 & 0xF) as u32, (hdr >> 64 & 0xF) as u32);
                for (k, dw) in dws.iter().enumerate() {
                    let be = if k == 0 {
                        first_be
                    } else if k + 1 == n {
                        last_be
                    } else {
                        0xF
                    };
                    for b in (0..4).filter(|b| be >> b & 1 != 0) {
                        memory.insert(addr + 4 * k as u64 + b, (dw >> (8 * b)) as u8);
                    }
                }
            }
        }
    }

    #[test]
    fn buffer_and_immediate_bytes_reach_host_memory_at_any_alignment() {
        let size = SIZE;
        let mut uut = bench();
        uut.engine.bus_master.next = true;
        uut.engine.max_payload.next = 0.into(); // 128 bytes
                                                // (port, addr, len, imm data or buffer address)
        let mut rnd = crate::test_rng(99);
        let mut commands: Vec<(usize, u64, u64, Option<u128>, u64)> = Vec::new();
        let mut at = 0x1_0000_0FF0u64;
        for i in 0..24 {
            let imm = i % 3 == 0;
            let addr = if i % 4 == 1 {
                0x7FF0 + rnd(32)
            } else {
                at + rnd(16)
            };
            // Immediate bytes: up to 16 from the DW of the address; those
            // that cross 4 KiB start at a DW.
            let len = if imm {
                1 + rnd(16 - addr % 4)
            } else {
                1 + rnd(700)
            };
            let addr = if imm && addr % 4096 + len > 4096 {
                addr & !3
            } else {
                addr
            };
            at = addr + len + 0x100;
            let data = u128::from(rnd(u64::MAX)) << 64 | u128::from(rnd(u64::MAX));
            commands.push((i % 2, addr, len, imm.then_some(data), rnd(size as u64)));
        }
        // Immediate bytes across an MPS boundary (one request) and cut at
        // 4 KiB: used element pairs and a single used element.
        let data = u128::from(rnd(u64::MAX)) << 64 | u128::from(rnd(u64::MAX));
        commands.push((0, 0x2_0000_0078, 16, Some(data), 0));
        commands.push((0, 0x2_0000_0FF8, 16, Some(data), 0));
        commands.push((1, 0x2_0000_1FFC, 8, Some(data), 0));
        let mut queued: [VecDeque<_>; 2] = Default::default();
        for c in &commands {
            queued[c.0].push_back(*c);
        }
        let mut memory: BTreeMap<u64, u8> = BTreeMap::new();
        let mut done = [0usize; 2];
        let mut tlp: Option<(u128, Vec<u32>)> = None;
        for _ in 0..5000 {
            for (p, q) in queued.iter().enumerate() {
                let port = if p == 0 {
                    &mut uut.engine.port0
                } else {
                    &mut uut.engine.port1
                };
                port.valid.next = !q.is_empty();
                if let Some(&(_, addr, len, imm, buf)) = q.front() {
                    port.addr.next = addr.into();
                    port.len.next = len.into();
                    port.imm.next = imm.is_some();
                    port.data.next = crate::wide(imm.unwrap_or(0));
                    port.buf.next = buf.into();
                }
            }
            uut.engine.out.ready.next = rnd(3) != 0;
            uut.clock.next = Clock::from(false);
            assert!(simulate(&mut uut, 200));
            for (p, q) in queued.iter_mut().enumerate() {
                let port = if p == 0 {
                    &uut.engine.port0
                } else {
                    &uut.engine.port1
                };
                if port.valid.val() && port.ready.val() {
                    q.pop_front();
                }
                done[p] += port.done.val() as usize;
            }
            take_beat(&uut, &mut tlp, &mut memory);
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 200));
        }
        assert_eq!(
            done,
            [0, 1].map(|p| commands.iter().filter(|c| c.0 == p).count())
        );
        let mut expected = BTreeMap::new();
        for &(_, addr, len, imm, buf) in &commands {
            for k in 0..len {
                let b = match imm {
                    Some(d) => (d >> (8 * k)) as u8,
                    None => buffer_byte((buf + k) % size as u64),
                };
                expected.insert(addr + k, b);
            }
        }
        let wrong = expected.iter().find(|(a, b)| memory.get(a) != Some(b));
        assert_eq!(wrong, None, "first wrong byte (address, expected)");
        assert_eq!(
            memory.len(),
            expected.len(),
            "bytes written outside the commands"
        );
    }

    #[test]
    fn commands_follow_each_other_without_idle_cycles() {
        // With `out` always ready and commands always presented, a command's
        // first beat follows the last beat of the one before at once; only
        // buffer data after immediate bytes or after a request of 1 to 3
        // beats waits for its first reads, issued as the last beat before
        // leaves at the latest.
        let mut uut = bench();
        uut.engine.bus_master.next = true;
        uut.engine.max_payload.next = 0.into(); // 128 bytes
        uut.engine.out.ready.next = true;
        // (address, length, immediate)
        let commands: Vec<(u64, u64, bool)> = (0..24u64)
            .map(|i| {
                let imm = matches!(i % 6, 2 | 3 | 5);
                let len = if imm {
                    2 + 6 * (i % 2)
                } else {
                    1 + (i * 397) % 900
                };
                (0x10_0000 * (i + 1) + (i * 13) % 256, len, imm)
            })
            .collect();
        let mut memory = BTreeMap::new();
        let mut tlp: Partial = None;
        let (mut next, mut done) = (0, 0);
        let (mut first_beat, mut last_beat) = (vec![None; 24], vec![0; 24]);
        for now in 0..2000 {
            let (addr, len, imm) = commands[next.min(23)];
            uut.engine.port0.valid.next = next < 24;
            uut.engine.port0.addr.next = addr.into();
            uut.engine.port0.len.next = len.into();
            uut.engine.port0.imm.next = imm;
            uut.engine.port0.data.next = 0x0807_0605_0403_0201u64.into();
            uut.engine.port0.buf.next = (addr % 4096).into();
            uut.clock.next = Clock::from(false);
            assert!(simulate(&mut uut, 200));
            if uut.engine.port0.valid.val() && uut.engine.port0.ready.val() {
                next += 1;
            }
            if uut.engine.out.valid.val() && uut.engine.out.ready.val() {
                first_beat[done].get_or_insert(now);
                last_beat[done] = now;
            }
            done += uut.engine.port0.done.val() as usize;
            take_beat(&uut, &mut tlp, &mut memory);
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 200));
        }
        assert_eq!(done, 24);
        // Beats of a command's last request (of at most 128 bytes): the
        // whole command if it fits one.
        let last_beats = |(addr, len, _): (u64, u64, bool)| {
            let end = addr + len;
            let start = if crate::request_split::fits_one_request(addr, len, 128) {
                addr
            } else {
                addr.max((end - 1) & !127)
            };
            (end.div_ceil(4) - start / 4).div_ceil(4)
        };
        for k in 1..24 {
            let gap = first_beat[k].unwrap() - last_beat[k - 1] - 1;
            let before = commands[k - 1];
            let waits = !commands[k].2 && (before.2 || last_beats(before) < 4);
            assert!(
                gap == 0 || (waits && gap <= 2),
                "{gap} idle cycles before command {k}"
            );
        }
        for &(addr, len, imm) in &commands {
            for k in 0..len {
                let expected = if imm {
                    k as u8 + 1
                } else {
                    buffer_byte(addr % 4096 + k)
                };
                assert_eq!(memory.get(&(addr + k)), Some(&expected));
            }
        }
    }

    /// Run `cycles` cycles with port 0 presenting `cmd` (address, length,
    /// buffer address) until taken; `vreset` pulses in the cycle after
    /// `reset_when` first holds. Returns the `done` pulses of port 0.
    fn run_with_reset(
        uut: &mut Bench,
        cmd: (u64, u64, u64),
        cycles: usize,
        memory: &mut BTreeMap<u64, u8>,
        mut reset_when: impl FnMut(&Bench) -> bool,
    ) -> usize {
        let (mut taken, mut reset, mut done) = (false, false, 0);
        let mut tlp: Partial = None;
        for _ in 0..cycles {
            uut.engine.port0.valid.next = !taken;
            uut.engine.port0.addr.next = cmd.0.into();
            uut.engine.port0.len.next = cmd.1.into();
            uut.engine.port0.buf.next = cmd.2.into();
            uut.engine.port0.imm.next = false;
            uut.engine.vreset.next = false;
            uut.clock.next = Clock::from(false);
            assert!(simulate(uut, 200));
            if !reset && reset_when(uut) {
                reset = true;
                uut.engine.vreset.next = true;
                assert!(simulate(uut, 200));
            }
            taken |= uut.engine.port0.valid.val() && uut.engine.port0.ready.val();
            done += uut.engine.port0.done.val() as usize;
            take_beat(uut, &mut tlp, memory);
            uut.clock.next = Clock::from(true);
            assert!(simulate(uut, 200));
        }
        done
    }

    #[test]
    fn a_command_finished_after_a_reset_reports_no_done() {
        // The reset comes inside the command's last request: the request
        // is finished, but the client, reset with the engine, must not see
        // a `done` for it.
        let mut uut = bench();
        uut.engine.bus_master.next = true;
        uut.engine.max_payload.next = 0.into(); // 128 bytes
        uut.engine.out.ready.next = true;
        let mut memory = BTreeMap::new();
        let mut beats = 0;
        let done = run_with_reset(&mut uut, (0x2000, 100, 64), 40, &mut memory, |u| {
            beats += (u.engine.out.valid.val() && u.engine.out.ready.val()) as usize;
            beats == 3
        });
        assert_eq!(done, 0, "done of the command abandoned by the reset");
        assert_eq!(memory.len(), 100, "the request under way is finished");
        let done = run_with_reset(&mut uut, (0x3000, 40, 500), 40, &mut memory, |_| false);
        assert_eq!(done, 1, "the next command");
    }

    #[test]
    fn a_request_not_begun_is_dropped_by_a_reset_without_bus_master_enable() {
        // Without Bus Master Enable the loaded request waits; a reset then
        // drops it, so the engine goes idle (a device reset completes once
        // the engines are idle) and nothing is sent once BME is set again.
        let mut uut = bench();
        uut.engine.bus_master.next = false;
        uut.engine.max_payload.next = 0.into();
        uut.engine.out.ready.next = true;
        let mut memory = BTreeMap::new();
        let mut n = 0;
        run_with_reset(&mut uut, (0x2000, 100, 64), 30, &mut memory, |_| {
            n += 1;
            n == 12
        });
        assert!(uut.engine.idle.val(), "not idle after the reset");
        uut.engine.bus_master.next = true;
        uut.engine.port0.valid.next = false;
        for _ in 0..20 {
            cycle(&mut uut);
            assert!(!uut.engine.out.valid.val(), "a request after the reset");
        }
        assert!(memory.is_empty());
    }

    #[test]
    fn max_payload_size_changes_only_while_the_engine_is_idle() {
        // Device Control is written while a command is sent: its requests
        // keep the size they started with (the reads ahead count their
        // beats at it); a command after it takes the new size.
        let mut uut = bench();
        uut.engine.bus_master.next = true;
        uut.engine.max_payload.next = 1.into(); // 256 bytes
        uut.engine.out.ready.next = true;
        let cmds = [(0x1_0000u64, 1024u64, 0u64), (0x2_0000, 1024, 2048)];
        let (mut next, mut done, mut idle_for) = (0, 0, 0);
        let mut tlps: Vec<(u64, u64)> = Vec::new();
        for _ in 0..600 {
            // The second command comes once the first is done and the
            // engine has been idle a few cycles.
            uut.engine.port0.valid.next = next < done + 1 && next < cmds.len() && idle_for >= 4;
            if let Some(&(addr, len, buf)) = cmds.get(next) {
                uut.engine.port0.addr.next = addr.into();
                uut.engine.port0.len.next = len.into();
                uut.engine.port0.buf.next = buf.into();
                uut.engine.port0.imm.next = false;
            }
            uut.clock.next = Clock::from(false);
            assert!(simulate(&mut uut, 200));
            if uut.engine.port0.valid.val() && uut.engine.port0.ready.val() {
                next += 1;
                idle_for = 0;
            }
            done += uut.engine.port0.done.val() as usize;
            let out = &uut.engine.out;
            if out.valid.val() && out.ready.val() && out.sop.val() {
                let hdr = out.hdr.val().to_u128();
                tlps.push((
                    (hdr >> 32 & 0xFFFF_FFFF) as u64,
                    4 * (hdr >> 96 & 0x3FF) as u64,
                ));
                if tlps.len() == 1 {
                    uut.engine.max_payload.next = 0.into(); // 128 bytes
                }
            }
            if done == next {
                idle_for += 1;
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 200));
        }
        assert_eq!(done, 2);
        let want: Vec<(u64, u64)> = (0..4)
            .map(|k| (0x1_0000 + 256 * k, 256))
            .chain((0..8).map(|k| (0x2_0000 + 128 * k, 128)))
            .collect();
        assert_eq!(tlps, want, "(address, bytes) of each request");
    }

    #[test]
    fn requests_of_up_to_4096_bytes_are_sent_whole() {
        let mut uut = bench();
        uut.engine.bus_master.next = true;
        uut.engine.max_payload.next = 5.into(); // 4096 bytes
        uut.engine.out.ready.next = true;
        let mut memory = BTreeMap::new();
        let (addr, len, buf) = (0x2_0000u64, 4096u64, 100u64);
        let done = run_with_reset(&mut uut, (addr, len, buf), 400, &mut memory, |_| false);
        assert_eq!(done, 1);
        for k in 0..len {
            assert_eq!(
                memory.get(&(addr + k)),
                Some(&buffer_byte((buf + k) % SIZE as u64))
            );
        }
    }

    #[test]
    fn a_virtio_reset_abandons_the_command_and_leaves_nothing_behind() {
        // The reset comes with the last beat of a request, or inside one:
        // that request is finished, nothing more of the command is sent,
        // the command queued behind it is dropped, and the next command
        // goes out intact.
        for reset_on_last_beat in [true, false] {
            let mut uut = bench();
            uut.engine.bus_master.next = true;
            uut.engine.max_payload.next = 0.into(); // 128 bytes
            uut.engine.out.ready.next = true;
            // (address, length, buffer address); `queued` waits in the
            // queue behind the first when the reset comes.
            let (first, queued, second) = (
                (0x1_0000_1006u64, 600u64, 100u64),
                (0x5000u64, 300u64, 900u64),
                (0x2000u64, 40u64, 3000u64),
            );
            let mut memory = BTreeMap::new();
            let mut tlp: Partial = None;
            let (mut sent_tlps, mut phase, mut waiting) = (0, 0, true);
            for _ in 0..400 {
                let cmd = if phase == 0 { first } else { second };
                uut.engine.port0.valid.next = phase == 0 || phase == 2;
                uut.engine.port0.addr.next = cmd.0.into();
                uut.engine.port0.len.next = cmd.1.into();
                uut.engine.port0.buf.next = cmd.2.into();
                uut.engine.port0.imm.next = false;
                uut.engine.port1.valid.next = phase == 1 && waiting;
                uut.engine.port1.addr.next = queued.0.into();
                uut.engine.port1.len.next = queued.1.into();
                uut.engine.port1.buf.next = queued.2.into();
                uut.engine.port1.imm.next = false;
                uut.engine.vreset.next = false;
                uut.clock.next = Clock::from(false);
                assert!(simulate(&mut uut, 200));
                let out = &uut.engine.out;
                let beat = out.valid.val() && out.ready.val();
                if uut.engine.port0.valid.val() && uut.engine.port0.ready.val() {
                    phase += 1;
                }
                if uut.engine.port1.valid.val() && uut.engine.port1.ready.val() {
                    waiting = false;
                }
                if phase == 1 && beat {
                    sent_tlps += out.eop.val() as usize;
                    let now = if reset_on_last_beat {
                        out.eop.val() && sent_tlps == 2
                    } else {
                        sent_tlps == 2 && !out.sop.val() && !out.eop.val()
                    };
                    if now {
                        uut.engine.vreset.next = true;
                        assert!(simulate(&mut uut, 200));
                        phase = 2;
                    }
                }
                take_beat(&uut, &mut tlp, &mut memory);
                uut.clock.next = Clock::from(true);
                assert!(simulate(&mut uut, 200));
            }
            assert_eq!(phase, 3, "the second command was not taken");
            assert!(!waiting, "the command to drop was not queued");
            assert_eq!(
                memory.range(queued.0..queued.0 + queued.1).next(),
                None,
                "bytes of the queued command sent after the reset"
            );
            // The second command's bytes, exactly.
            for k in 0..second.1 {
                assert_eq!(
                    memory.get(&(second.0 + k)),
                    Some(&buffer_byte((second.2 + k) % SIZE as u64)),
                    "byte {k} of the command after the reset"
                );
            }
            // Of the first, at most the requests begun before the reset.
            let first_bytes = memory.keys().filter(|a| **a >= first.0).count() as u64;
            let third_request = 3 * 128 - (first.0 & 127);
            assert!(
                first_bytes <= third_request,
                "{first_bytes} bytes of the abandoned command sent (on last beat: {reset_on_last_beat})"
            );
        }
    }
}
