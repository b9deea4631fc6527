//! Transmit side of the loopback: takes transmitq chains into the frame
//! buffer.
//!
//! Woken by a notification, it has its [`ChainWalker`] find the next chain.
//! A chain with a device-writable buffer, or a malformed one, stops the side
//! (`fault`). A chain longer than the whole frame buffer becomes a dropped
//! frame; any other waits for a free frame slot, is given the next bytes of
//! the ring-shaped frame buffer, and its buffers are read there while the
//! walker moves on to the next chain: a buffer goes in one DMA read command
//! if the bytes not held by older frames (the room) take all of it,
//! otherwise in pieces that end at 4 KiB boundaries of its address, each
//! issued once the frames before have left room for it (so a large frame's
//! reads start while the frame before it still leaves the buffer). The
//! commands of all frames are in flight together. A slot
//! is presented to the receive side (`frame_*`) in order once its data has
//! arrived (`frame_error` if a read failed); `frame_release` frees its
//! slot and presents the next, `frame_freed` frees bytes (in order, once
//! the write engine has read them out). `frame_coming` says a frame is held that will be presented,
//! so the receive side can keep its batch open for it.
//!
//! With no chain left it publishes `avail_event` (with EVENT_IDX) and looks
//! once more before sleeping, so a chain added meanwhile is not missed. A
//! chain waiting for a slot or room publishes nothing: the side takes the
//! chains after it without being notified (the walker reads the index
//! ahead).
//! `halt` (the receive side faulted) stops it taking chains. `flush` (a
//! reset of the transmitq) presents no further frame and waits for its
//! reads and writes, the walker's read and the receive side's frame in
//! hand (`rx_side_flushing`) to finish, then starts again with an empty
//! buffer; `clear` (virtio reset: the DMA
//! engines drain what is in flight) starts again at once. `quiet` says it
//! is stopped or asleep with nothing in flight.
//!
//! Timing: a chain's buffers are read 2 cycles apart after the walk, the
//! pieces of one buffer a cycle apart while there is room; the data of up
//! to `FRAME_SLOTS` frames is in flight at once; the next
//! frame is presented the cycle after a release.

use crate::byte_buffer::{ByteBuffer, BUF_ADDR_BITS};
use crate::chain_walker::{ChainWalker, SEG_BITS};
use crate::dma_port::{
    ReadClient, WriteClient, CTL_BUFFER_BYTES, LEN_BITS, TARGET_BITS, TARGET_FRAMES, TARGET_TX_CTL,
};
use crate::lane_ram::LANES;
use crate::ram::Ram;
use crate::read_order::COOKIE_BITS;
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::virtio::ring;
use vireo_regs::DeviceConfig;

pub use vireo_regs::dma::FRAME_SLOTS;
/// Width of a slot index.
const SLOT_INDEX_BITS: usize = FRAME_SLOTS.trailing_zeros() as usize;
const _: () = assert!(
    FRAME_SLOTS.is_power_of_two() && SLOT_INDEX_BITS <= 4,
    "slot indexes fit the pending list's 4-bit entries"
);
/// Width of a slot pointer (with a wrap bit).
pub const SLOT_PTR_BITS: usize = SLOT_INDEX_BITS + 1;
/// The frames with data reads in flight, oldest first: one 4-bit entry
/// (a slot index, padded so an entry's place is a shift) per slot.
const PENDING_BITS: usize = 4 * FRAME_SLOTS;
/// A slot: head (16), start (17), length (18), dropped as too large (1).
const SLOT_BITS: usize = 52;
const _: () = assert!(
    BUF_ADDR_BITS == 17 && FRAME_LEN_BITS == 18,
    "the slot's fields"
);
/// Width of a frame length.
pub const FRAME_LEN_BITS: usize = 18;
// A piece of a frame is one read command.
const _: () = assert!(LEN_BITS == FRAME_LEN_BITS);
/// Cookie of a frame's last data read.
pub const COOKIE_END: u64 = 0b0100;

/// What the transmit side is doing.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum FetchState {
    /// Waiting for a notification.
    Sleep,
    /// Starting a walk.
    Look,
    /// Waiting for the walker, then placing its chain.
    Walk,
    /// Reading the next segment of the chain.
    SegRead,
    /// Issuing the segment's data read.
    SegCmd,
    /// The chain's reads are issued.
    Finish,
    /// Writing avail_event.
    Publish,
    /// Waiting for it to leave.
    PubWait,
    /// Waiting for reads and writes in flight before starting again.
    Flush,
    /// Stopped (fault or halt) until cleared.
    Stopped,
}

/// The transmit side.
#[derive(LogicBlock)]
pub struct FrameFetch {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Transmitq descriptor table.
    pub desc: Signal<In, Bits<64>>,
    /// Transmitq driver area.
    pub driver: Signal<In, Bits<64>>,
    /// Transmitq device area.
    pub device: Signal<In, Bits<64>>,
    /// Transmitq size.
    pub size: Signal<In, Bits<16>>,
    /// Transmitq enabled.
    pub enabled: Signal<In, Bit>,
    /// RING_INDIRECT_DESC negotiated.
    pub indirect_ok: Signal<In, Bit>,
    /// RING_EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// The device may work (DRIVER_OK, no fault).
    pub running: Signal<In, Bit>,
    /// A notification arrived.
    pub kick: Signal<In, Bit>,
    /// Start again at once (virtio reset).
    pub clear: Signal<In, Bit>,
    /// Start again once nothing is in flight (queue reset).
    pub flush: Signal<In, Bit>,
    /// Stop taking chains.
    pub halt: Signal<In, Bit>,
    /// DMA reads of frame data.
    pub read: ReadClient,
    /// DMA reads of the walker.
    pub walk_read: ReadClient,
    /// Control buffer write lanes (from the read engine).
    pub ctl_wr_lanes: Signal<In, Bits<LANES>>,
    /// Control buffer write address.
    pub ctl_wr_addr: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Control buffer write data.
    pub ctl_wr_data: Signal<In, Bits<DATA_WIDTH>>,
    /// DMA writes (avail_event).
    pub write: WriteClient,
    /// The oldest frame is ready.
    pub frame_valid: Signal<Out, Bit>,
    /// Its transmit chain head.
    pub frame_head: Signal<Out, Bits<16>>,
    /// Its first byte in the frame buffer.
    pub frame_start: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// Its length.
    pub frame_len: Signal<Out, Bits<FRAME_LEN_BITS>>,
    /// It was too large for the frame buffer (no data).
    pub frame_oversize: Signal<Out, Bit>,
    /// One of its reads failed.
    pub frame_error: Signal<Out, Bit>,
    /// A frame is held that will be presented (its data may still be in
    /// flight); not while a flush is pending.
    pub frame_coming: Signal<Out, Bit>,
    /// The oldest frame is done with: the next one may be presented.
    pub frame_release: Signal<In, Bit>,
    /// Bytes of frames released that may be filled again (once the write
    /// engine has read them out).
    pub frame_freed: Signal<In, Bits<FRAME_LEN_BITS>>,
    /// Stopped on a malformed ring or chain.
    pub fault: Signal<Out, Bit>,
    /// Stopped or asleep with nothing in flight.
    pub quiet: Signal<Out, Bit>,
    /// A `flush` is in progress.
    pub flushing: Signal<Out, Bit>,
    /// The receive side is still finishing with this queue's frames (its
    /// own flush for the same queue reset).
    pub rx_side_flushing: Signal<In, Bit>,
    walker: ChainWalker,
    ctl: ByteBuffer,
    slots: Ram<Bits<SLOT_BITS>, SLOT_INDEX_BITS>,
    state: DFF<FetchState>,
    kicked: DFF<Bit>,
    rechecked: DFF<Bit>,
    faulted: DFF<Bit>,
    clearing: DFF<Bit>,
    wp: DFF<Bits<SLOT_PTR_BITS>>,
    rp: DFF<Bits<SLOT_PTR_BITS>>,
    /// The oldest frame's slot was written as it was read: the entry is
    /// read again before the frame is presented.
    reread: DFF<Bit>,
    held: DFF<Bits<FRAME_LEN_BITS>>,
    wr_ptr: DFF<Bits<BUF_ADDR_BITS>>,
    complete: DFF<Bits<FRAME_SLOTS>>,
    errors: DFF<Bits<FRAME_SLOTS>>,
    /// Slots of the frames with reads in flight, oldest in the low 4 bits;
    /// 0 beyond `pending_count` (a frame's slot is OR-ed in), so a reset
    /// clears both.
    pending: DFF<Bits<PENDING_BITS>>,
    pending_count: DFF<Bits<SLOT_PTR_BITS>>,
    err_acc: DFF<Bit>,
    outstanding: DFF<Bits<7>>,
    writing: DFF<Bit>,
    seg_i: DFF<Bits<16>>,
    /// The frame's bytes whose reads are issued.
    seg_off: DFF<Bits<FRAME_LEN_BITS>>,
    /// A piece of the current segment is read: the next one starts at
    /// `piece_addr`, a 4 KiB boundary, with `piece_rest` bytes of the
    /// segment left (registered, off the path from the buffer list to the
    /// read command).
    mid: DFF<Bit>,
    piece_addr: DFF<Bits<64>>,
    piece_rest: DFF<Bits<FRAME_LEN_BITS>>,
    total: Signal<Local, Bits<40>>,
    blocked: Signal<Local, Bit>,
    taken: Signal<Local, Bits<FRAME_LEN_BITS>>,
    seg_addr: Signal<Local, Bits<64>>,
    seg_len: Signal<Local, Bits<32>>,
    /// Bytes of the frame buffer not held by frames.
    room: Signal<Local, Bits<FRAME_LEN_BITS>>,
    /// Bytes of the segment still to read.
    left: Signal<Local, Bits<FRAME_LEN_BITS>>,
    /// Bytes from the next one to read to the 4 KiB boundary.
    page_room: Signal<Local, Bits<13>>,
    /// The room takes the rest of the segment.
    fits: Signal<Local, Bit>,
    /// The rest of the segment crosses the 4 KiB boundary.
    over_page: Signal<Local, Bit>,
    /// The rest of the segment goes in one read command.
    whole: Signal<Local, Bit>,
    /// Bytes of the next read command.
    piece: Signal<Local, Bits<FRAME_LEN_BITS>>,
    /// The segment's last read command is taken (or it is empty).
    seg_next: Signal<Local, Bit>,
    data_cmd: Signal<Local, Bit>,
    frame_end: Signal<Local, Bit>,
    done_slot: Signal<Local, Bits<SLOT_INDEX_BITS>>,
    done_mask: Signal<Local, Bits<FRAME_SLOTS>>,
    release_mask: Signal<Local, Bits<FRAME_SLOTS>>,
    wslot: Signal<Local, Bits<SLOT_INDEX_BITS>>,
    rslot: Signal<Local, Bits<SLOT_INDEX_BITS>>,
    /// The oldest frame's slot pointer after this cycle's release.
    rp_next: Signal<Local, Bits<SLOT_PTR_BITS>>,
    entry: Signal<Local, Bits<SLOT_BITS>>,
    push: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    cmd_taken: Signal<Local, Bit>,
    capacity: Constant<Bits<40>>,
    all_slots: Constant<Bits<SLOT_PTR_BITS>>,
    oversize_flag: Constant<Bits<SLOT_BITS>>,
    avail_event: Constant<Bits<64>>,
    cookie_end: Constant<Bits<COOKIE_BITS>>,
    frames: Constant<Bits<TARGET_BITS>>,
}

impl FrameFetch {
    /// The transmit side of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            desc: Default::default(),
            driver: Default::default(),
            device: Default::default(),
            size: Default::default(),
            enabled: Default::default(),
            indirect_ok: Default::default(),
            event_idx: Default::default(),
            running: Default::default(),
            kick: Default::default(),
            clear: Default::default(),
            flush: Default::default(),
            halt: Default::default(),
            read: Default::default(),
            walk_read: Default::default(),
            ctl_wr_lanes: Default::default(),
            ctl_wr_addr: Default::default(),
            ctl_wr_data: Default::default(),
            write: Default::default(),
            frame_valid: Default::default(),
            frame_head: Default::default(),
            frame_start: Default::default(),
            frame_len: Default::default(),
            frame_oversize: Default::default(),
            frame_error: Default::default(),
            frame_coming: Default::default(),
            frame_release: Default::default(),
            frame_freed: Default::default(),
            fault: Default::default(),
            quiet: Default::default(),
            flushing: Default::default(),
            rx_side_flushing: Default::default(),
            walker: ChainWalker::new(TARGET_TX_CTL, 0),
            ctl: ByteBuffer::new(CTL_BUFFER_BYTES),
            slots: Ram::new(FRAME_SLOTS),
            state: Default::default(),
            kicked: Default::default(),
            rechecked: Default::default(),
            faulted: Default::default(),
            clearing: Default::default(),
            wp: Default::default(),
            rp: Default::default(),
            reread: Default::default(),
            held: Default::default(),
            wr_ptr: Default::default(),
            complete: Default::default(),
            errors: Default::default(),
            pending: Default::default(),
            pending_count: Default::default(),
            err_acc: Default::default(),
            outstanding: Default::default(),
            writing: Default::default(),
            seg_i: Default::default(),
            seg_off: Default::default(),
            mid: Default::default(),
            piece_addr: Default::default(),
            piece_rest: Default::default(),
            total: Default::default(),
            blocked: Default::default(),
            taken: Default::default(),
            seg_addr: Default::default(),
            seg_len: Default::default(),
            room: Default::default(),
            left: Default::default(),
            page_room: Default::default(),
            fits: Default::default(),
            over_page: Default::default(),
            whole: Default::default(),
            piece: Default::default(),
            seg_next: Default::default(),
            data_cmd: Default::default(),
            frame_end: Default::default(),
            done_slot: Default::default(),
            done_mask: Default::default(),
            release_mask: Default::default(),
            wslot: Default::default(),
            rslot: Default::default(),
            rp_next: Default::default(),
            entry: Default::default(),
            push: Default::default(),
            pop: Default::default(),
            cmd_taken: Default::default(),
            capacity: Constant::new((cfg.frame_buffer as u64).into()),
            all_slots: Constant::new((FRAME_SLOTS as u64).into()),
            oversize_flag: Constant::new(Bits::<SLOT_BITS>::from(1u64) << 51u64),
            avail_event: Constant::new(ring::avail_event_offset(0).into()),
            cookie_end: Constant::new(COOKIE_END.into()),
            frames: Constant::new(TARGET_FRAMES.into()),
        }
    }
}

impl Logic for FrameFetch {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            kicked,
            rechecked,
            faulted,
            clearing,
            wp,
            rp,
            reread,
            held,
            wr_ptr,
            complete,
            errors,
            pending,
            pending_count,
            err_acc,
            outstanding,
            writing,
            seg_i,
            seg_off,
            mid,
            piece_addr,
            piece_rest
        );
        clock!(self, clock, walker, ctl, slots);

        // Walker: the transmitq, its reads into the control buffer.
        self.walker.rst.next = self.rst.val();
        self.walker.desc.next = self.desc.val();
        self.walker.driver.next = self.driver.val();
        self.walker.size.next = self.size.val();
        self.walker.indirect_ok.next = self.indirect_ok.val();
        self.walker.clear.next = false;
        self.walker.hold.next = self.clearing.q.val() || self.flush.val();
        self.walker.go.next = (self.state.q.val() == FetchState::Look) && !self.halt.val();
        self.walker.take.next = false;
        self.ctl.wr_lanes.next = self.ctl_wr_lanes.val();
        self.ctl.wr_addr.next = self.ctl_wr_addr.val();
        self.ctl.wr_data.next = self.ctl_wr_data.val();
        self.ctl.rd_en.next = self.walker.ctl_rd_en.val();
        self.ctl.rd_addr.next = self.walker.ctl_rd_addr.val();
        self.walker.ctl_rd_data.next = self.ctl.rd_data.val();
        self.walker.ctl_rd_valid.next = self.ctl.rd_valid.val();
        self.walker.seg_index.next = self.seg_i.q.val().get_bits::<SEG_BITS>(0);
        self.total.next = self.walker.total.val();
        self.seg_addr.next = self.walker.seg.val().get_bits::<64>(0);
        self.seg_len.next = self.walker.seg.val().get_bits::<32>(64);
        // No slot free.
        self.blocked.next = (self.wp.q.val() - self.rp.q.val()) == self.all_slots.val();

        // The read port: data reads while issuing a segment (the walker has
        // a port of its own). A segment is in a chain that fits the buffer,
        // so its length fits a frame length.
        self.room.next = self.capacity.val().get_bits::<FRAME_LEN_BITS>(0) - self.held.q.val();
        self.left.next = self.seg_len.val().get_bits::<FRAME_LEN_BITS>(0);
        self.read.addr.next = self.seg_addr.val();
        if self.mid.q.val() {
            self.left.next = self.piece_rest.q.val();
            self.read.addr.next = self.piece_addr.q.val();
        }
        self.page_room.next =
            bits::<13>(4096) - bit_cast::<13, 12>(self.read.addr.val().get_bits::<12>(0));
        // The rest in one command if the room takes it or it does not cross
        // the boundary (then it waits for room), else a piece to the
        // boundary once the room takes that; the comparisons side by side.
        self.fits.next = self.left.val() <= self.room.val();
        self.over_page.next =
            self.left.val() > bit_cast::<FRAME_LEN_BITS, 13>(self.page_room.val());
        self.whole.next = self.fits.val() || !self.over_page.val();
        self.piece.next = bit_cast::<FRAME_LEN_BITS, 13>(self.page_room.val());
        if self.whole.val() {
            self.piece.next = self.left.val();
        }
        self.data_cmd.next = (self.state.q.val() == FetchState::SegCmd)
            && self.left.val().any()
            && (self.fits.val()
                || (self.over_page.val()
                    && (bit_cast::<FRAME_LEN_BITS, 13>(self.page_room.val()) <= self.room.val())));
        self.frame_end.next = self.whole.val()
            && ((self.seg_off.q.val() + self.left.val())
                == self.total.val().get_bits::<FRAME_LEN_BITS>(0));
        self.read.valid.next = self.data_cmd.val();
        self.read.len.next = self.piece.val();
        self.read.target.next = self.frames.val();
        self.read.buf.next =
            self.wr_ptr.q.val() + self.seg_off.q.val().get_bits::<BUF_ADDR_BITS>(0);
        self.read.cookie.next = 0.into();
        if self.frame_end.val() {
            self.read.cookie.next = self.cookie_end.val();
        }
        ReadClient::link(&mut self.walk_read, &mut self.walker.read);
        self.cmd_taken.next = self.read.valid.val() && self.read.ready.val();
        self.seg_next.next = !self.left.val().any() || (self.cmd_taken.val() && self.whole.val());
        if self.cmd_taken.val() && !self.read.done.val() {
            self.outstanding.d.next = self.outstanding.q.val() + 1;
        }
        if !self.cmd_taken.val() && self.read.done.val() {
            self.outstanding.d.next = self.outstanding.q.val() - 1;
        }

        // Slots: written at allocation, read at the oldest.
        self.wslot.next = self.wp.q.val().get_bits::<SLOT_INDEX_BITS>(0);
        self.rslot.next = self.rp.q.val().get_bits::<SLOT_INDEX_BITS>(0);
        self.slots.write_enable.next = false;
        self.slots.write_address.next = self.wslot.val();
        self.slots.write_data.next =
            (bit_cast::<SLOT_BITS, FRAME_LEN_BITS>(self.total.val().get_bits::<FRAME_LEN_BITS>(0))
                << 33)
                | (bit_cast::<SLOT_BITS, BUF_ADDR_BITS>(self.wr_ptr.q.val()) << 16)
                | bit_cast::<SLOT_BITS, 16>(self.walker.head.val());
        self.entry.next = self.slots.read_data.val();
        self.push.next = false;
        self.taken.next = 0.into();

        // Data completions, in order: a frame is complete with its last read.
        self.done_slot.next = self.pending.q.val().get_bits::<SLOT_INDEX_BITS>(0);
        self.done_mask.next = 0.into();
        self.pop.next =
            self.read.done.val() && (self.read.done_cookie.val() & self.cookie_end.val()).any();
        if self.read.done.val() {
            self.err_acc.d.next = self.err_acc.q.val() || self.read.done_err.val();
        }
        if self.pop.val() {
            self.done_mask.next = bits::<FRAME_SLOTS>(1) << self.done_slot.val();
            self.err_acc.d.next = false;
        }

        match self.state.q.val() {
            FetchState::Sleep => {
                if (self.kicked.q.val() || self.kick.val())
                    && self.running.val()
                    && self.enabled.val()
                    && !self.halt.val()
                {
                    self.state.d.next = FetchState::Look;
                }
            }
            FetchState::Look => {
                self.kicked.d.next = false;
                self.state.d.next = FetchState::Walk;
            }
            FetchState::Walk => {
                if self.walker.fault.val() {
                    self.faulted.d.next = true;
                    self.state.d.next = FetchState::Stopped;
                } else if self.walker.empty.val() {
                    if self.kicked.q.val() {
                        self.state.d.next = FetchState::Look;
                    } else if self.event_idx.val() && !self.rechecked.q.val() && self.enabled.val()
                    {
                        self.state.d.next = FetchState::Publish;
                    } else {
                        self.rechecked.d.next = false;
                        self.state.d.next = FetchState::Sleep;
                    }
                } else if self.walker.found.val() {
                    self.rechecked.d.next = false;
                    if self.halt.val() {
                        self.state.d.next = FetchState::Stopped;
                    } else if self.walker.any_write.val() {
                        self.faulted.d.next = true;
                        self.state.d.next = FetchState::Stopped;
                    } else if self.blocked.val() {
                        // Wait for a release (`avail_event` stays: the side
                        // comes back to the ring by itself).
                    } else if self.total.val() > self.capacity.val() {
                        // Too large ever to fit: a dropped frame, in order.
                        self.slots.write_enable.next = true;
                        self.slots.write_data.next = self.oversize_flag.val()
                            | bit_cast::<SLOT_BITS, 16>(self.walker.head.val());
                        self.done_mask.next =
                            self.done_mask.val() | (bits::<FRAME_SLOTS>(1) << self.wslot.val());
                        self.wp.d.next = self.wp.q.val() + 1;
                        self.walker.take.next = true;
                        self.state.d.next = FetchState::Look;
                    } else {
                        self.slots.write_enable.next = true;
                        self.seg_i.d.next = 0.into();
                        self.seg_off.d.next = 0.into();
                        self.mid.d.next = false;
                        if self.total.val().any() {
                            self.push.next = true;
                            self.state.d.next = FetchState::SegRead;
                        } else {
                            self.done_mask.next =
                                self.done_mask.val() | (bits::<FRAME_SLOTS>(1) << self.wslot.val());
                            self.state.d.next = FetchState::Finish;
                        }
                    }
                }
            }
            FetchState::SegRead => {
                self.state.d.next = FetchState::SegCmd;
            }
            FetchState::SegCmd => {
                if self.cmd_taken.val() {
                    self.taken.next = self.piece.val();
                    self.seg_off.d.next = self.seg_off.q.val() + self.piece.val();
                    // The next piece starts at the boundary.
                    self.mid.d.next = true;
                    self.piece_addr.d.next =
                        (self.read.addr.val() & !bits::<64>(4095)) + bits::<64>(4096);
                    self.piece_rest.d.next =
                        self.left.val() - bit_cast::<FRAME_LEN_BITS, 13>(self.page_room.val());
                }
                if self.seg_next.val() {
                    self.seg_i.d.next = self.seg_i.q.val() + 1;
                    self.mid.d.next = false;
                    if (self.cmd_taken.val() && self.frame_end.val())
                        || ((self.seg_i.q.val() + 1) == self.walker.count.val())
                    {
                        self.state.d.next = FetchState::Finish;
                    } else {
                        self.state.d.next = FetchState::SegRead;
                    }
                } else if self.halt.val() && !self.data_cmd.val() {
                    // Waiting for room the receive side will not leave.
                    self.state.d.next = FetchState::Stopped;
                }
            }
            FetchState::Finish => {
                self.wr_ptr.d.next =
                    self.wr_ptr.q.val() + self.total.val().get_bits::<BUF_ADDR_BITS>(0);
                self.wp.d.next = self.wp.q.val() + 1;
                self.walker.take.next = true;
                self.state.d.next = FetchState::Look;
            }
            FetchState::Publish => {
                if self.write.ready.val() {
                    self.state.d.next = FetchState::PubWait;
                }
            }
            FetchState::PubWait => {
                if self.write.done.val() {
                    // After an empty ring: look once more.
                    if self.walker.found.val() {
                        self.state.d.next = FetchState::Walk;
                    } else {
                        self.rechecked.d.next = true;
                        self.state.d.next = FetchState::Look;
                    }
                }
            }
            _ => {}
        }

        // avail_event: the next available index the side will take.
        self.write.valid.next = self.state.q.val() == FetchState::Publish;
        self.write.addr.next =
            self.device.val() + self.avail_event.val() + (bit_cast::<64, 16>(self.size.val()) << 3);
        self.write.len.next = 2.into();
        self.write.imm.next = true;
        self.write.data.next = bit_cast::<128, 16>(self.walker.last_avail.val());
        self.write.buf.next = 0.into();
        if self.write.valid.val() && self.write.ready.val() {
            self.writing.d.next = true;
        }
        if self.write.done.val() {
            self.writing.d.next = false;
        }

        // Pending data frames, oldest in the low bits.
        if self.pop.val() && !self.push.val() {
            self.pending.d.next = self.pending.q.val() >> 4;
            self.pending_count.d.next = self.pending_count.q.val() - 1;
        }
        if self.push.val() && !self.pop.val() {
            self.pending.d.next = self.pending.q.val()
                | (bit_cast::<PENDING_BITS, SLOT_INDEX_BITS>(self.wslot.val())
                    << (bit_cast::<8, SLOT_PTR_BITS>(self.pending_count.q.val()) << 2));
            self.pending_count.d.next = self.pending_count.q.val() + 1;
        }
        if self.push.val() && self.pop.val() {
            self.pending.d.next = (self.pending.q.val() >> 4)
                | (bit_cast::<PENDING_BITS, SLOT_INDEX_BITS>(self.wslot.val())
                    << ((bit_cast::<8, SLOT_PTR_BITS>(self.pending_count.q.val()) - 1) << 2));
        }

        // The oldest frame, once complete, goes to the receive side.
        self.frame_valid.next = (self.wp.q.val() != self.rp.q.val())
            && self.complete.q.val().get_bit(self.rslot.val().index())
            && !self.reread.q.val()
            && !self.clearing.q.val();
        self.frame_coming.next = (self.wp.q.val() != self.rp.q.val()) && !self.clearing.q.val();
        self.frame_head.next = self.entry.val().get_bits::<16>(0);
        self.frame_start.next = self.entry.val().get_bits::<BUF_ADDR_BITS>(16);
        self.frame_len.next = self.entry.val().get_bits::<FRAME_LEN_BITS>(33);
        self.frame_oversize.next = self.entry.val().get_bit(51);
        self.frame_error.next = self.errors.q.val().get_bit(self.rslot.val().index());
        self.release_mask.next = 0.into();
        self.rp_next.next = self.rp.q.val();
        if self.frame_release.val() {
            self.release_mask.next = bits::<FRAME_SLOTS>(1) << self.rslot.val();
            self.rp_next.next = self.rp.q.val() + 1;
        }
        self.rp.d.next = self.rp_next.val();
        // The slot read follows the release, so that the next frame is
        // presented the cycle after it.
        self.slots.read_address.next = self.rp_next.val().get_bits::<SLOT_INDEX_BITS>(0);
        // A slot written as it is read (a frame complete at once, too large
        // or empty, that is the oldest) reads the entry before: it is read
        // again.
        self.reread.d.next = self.slots.write_enable.val()
            && (self.slots.write_address.val() == self.slots.read_address.val());
        // Bytes held: a frame may come and another go in one cycle.
        self.held.d.next = self.held.q.val() + self.taken.val() - self.frame_freed.val();
        self.complete.d.next =
            (self.complete.q.val() | self.done_mask.val()) & !self.release_mask.val();
        self.errors.d.next = self.errors.q.val() & !self.release_mask.val();
        if self.pop.val() && (self.err_acc.q.val() || self.read.done_err.val()) {
            self.errors.d.next =
                (self.errors.q.val() | self.done_mask.val()) & !self.release_mask.val();
        }

        if self.kick.val() && (self.state.q.val() != FetchState::Sleep) {
            self.kicked.d.next = true;
        }
        if self.halt.val()
            && ((self.state.q.val() == FetchState::Sleep)
                || (self.state.q.val() == FetchState::Look))
        {
            self.state.d.next = FetchState::Stopped;
        }
        // Start again: nothing new, then wait for what is in flight.
        if self.flush.val() {
            self.clearing.d.next = true;
        }
        if self.clearing.q.val() {
            self.state.d.next = FetchState::Flush;
            if (self.state.q.val() == FetchState::Flush)
                && !self.outstanding.q.val().any()
                && !self.writing.q.val()
                && !self.walker.reading.val()
                && !self.rx_side_flushing.val()
            {
                self.clearing.d.next = false;
                self.walker.clear.next = true;
                self.state.d.next = FetchState::Sleep;
                self.kicked.d.next = false;
                self.rechecked.d.next = false;
                self.faulted.d.next = false;
                self.wp.d.next = 0.into();
                self.rp.d.next = 0.into();
                self.held.d.next = 0.into();
                self.wr_ptr.d.next = 0.into();
                self.complete.d.next = 0.into();
                self.errors.d.next = 0.into();
                self.pending.d.next = 0.into();
                self.pending_count.d.next = 0.into();
                self.err_acc.d.next = false;
            }
        }
        self.fault.next = self.faulted.q.val();
        self.flushing.next = self.clearing.q.val();
        self.quiet.next = (((self.state.q.val() == FetchState::Sleep) && !self.kicked.q.val())
            || (self.state.q.val() == FetchState::Stopped))
            && !self.outstanding.q.val().any()
            && !self.writing.q.val()
            && self.walker.idle.val();
        self.walker.clear.next = self.walker.clear.val() || self.clear.val();
        if self.rst.val() || self.clear.val() {
            self.state.d.next = FetchState::Sleep;
            self.kicked.d.next = false;
            self.rechecked.d.next = false;
            self.faulted.d.next = false;
            self.clearing.d.next = false;
            self.wp.d.next = 0.into();
            self.rp.d.next = 0.into();
            self.held.d.next = 0.into();
            self.wr_ptr.d.next = 0.into();
            self.complete.d.next = 0.into();
            self.errors.d.next = 0.into();
            self.pending.d.next = 0.into();
            self.pending_count.d.next = 0.into();
            self.err_acc.d.next = false;
            self.outstanding.d.next = 0.into();
            self.writing.d.next = false;
        }
    }
}
