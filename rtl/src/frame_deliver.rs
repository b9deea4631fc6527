//! Receive side of the loopback: delivers held frames into receiveq chains
//! and returns both chains (virtio 2.7.8, 2.7.10, 5.1.6.4).
//!
//! For the oldest frame ([`crate::frame_fetch::FrameFetch`]): a frame
//! whose data read failed stops the side (`fault`); a frame too large for
//! the frame buffer is dropped. Otherwise its [`ChainWalker`] finds the next
//! receiveq chain (a chain with a device-readable buffer, or a malformed
//! one, is a fault); a chain too small for the frame drops the frame and
//! stays for the next one. A frame that fits is written into the chain's
//! buffers (one DMA write command per buffer, cut at 4 KiB boundaries of
//! the buffer's address where more than 4 KiB go into it; its header is
//! patched on the way out of the frame buffer,
//! [`crate::header_patch::HeaderPatch`], at `hdr_start`), then the
//! used elements follow: the receiveq chain with the frame length, the
//! transmitq chain with 0, each queue's written two at a time
//! ([`UsedPair`]: an element waits for the next one of its queue, or for
//! the end of the batch). Dropped frames pulse `dropped` and return their
//! transmitq chain only.
//!
//! The walker looks for the next receive chain while a frame's data is
//! written out (the chain in hand is taken once its writes are issued), and
//! while a frame is on the way from the transmit side. After a batch (no
//! frame ready and none on the way, no receive chain, 8 frames, or a
//! fault) the used indexes are written and the notifier takes over while
//! the side goes on: once the batch's writes have left, each queue whose
//! used index moved is notified (`irq_rx`, `irq_tx`) unless the driver
//! suppressed it: `used_event` with EVENT_IDX, else the available ring's
//! NO_INTERRUPT flag, read after the index write (both queues' fields are
//! read together). The next batch writes its used indexes once the
//! notifier is done. Before sleeping, with EVENT_IDX, the side publishes
//! `avail_event` for the receiveq (and looks once more when the ring was
//! empty). A failed notification read stops the side at the end of its
//! batch. `clear` (virtio reset: the DMA engines drain what is in flight)
//! starts again at once; `rx_clear`/`tx_clear` restart one queue's ring
//! state once nothing is in flight. All writes go through one write port,
//! in order, so data precede used elements, which precede the used index,
//! which precedes the notification.
//!
//! Timing: a chain is checked against the frame in the cycle the walker
//! presents it (or the frame arrives), and the first buffer's write command
//! follows the next cycle; per frame, a write command per buffer and,
//! every other frame, a used-element command per queue, each taken in a
//! cycle while the write engine's queue has room (each data write frees
//! the frame buffer bytes it carries once it has left, [`FrameFree`],
//! except that a frame within 4 KiB of the buffer's size is freed whole
//! with its last); the
//! notification decisions take one host read round trip, off the side's
//! path.

use crate::byte_buffer::{ByteBuffer, BUF_ADDR_BITS};
use crate::chain_walker::{ChainWalker, SEG_BITS, UNIT_SLOT};
use crate::dma_port::{
    ReadClient, WriteClient, CTL_BUFFER_BYTES, LEN_BITS, TARGET_BITS, TARGET_RX_CTL,
};
use crate::frame_fetch::FRAME_LEN_BITS;
use crate::frame_free::FrameFree;
use crate::lane_ram::LANES;
use crate::read_order::COOKIE_BITS;
use crate::used_pair::UsedPair;
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::virtio::ring;
use vireo_regs::DeviceConfig;

/// Frames per batch before the used indexes are written.
const BATCH: u64 = 8;
/// A data write longer than this is cut at 4 KiB boundaries, so that a
/// large frame's bytes are freed as they leave.
const WRITE_PIECE: u64 = 4096;
const _: () = assert!(WRITE_PIECE == 4096, "the cut is at the next 4 KiB boundary");
/// Control buffer slot of the suppression fields read for notifications.
const NOTE_SLOT: u64 = UNIT_SLOT;
/// Cookie of a notification read.
const COOKIE_NOTE: u64 = 0b1000;

/// What the receive side is doing.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum DeliverState {
    /// Waiting for a frame or a notification.
    Sleep,
    /// Looking at the oldest frame.
    Next,
    /// Waiting for the walker.
    Chain,
    /// Reading the next buffer of the chain.
    SegRead,
    /// Writing into it.
    SegCmd,
    /// The receiveq used element.
    UsedRx,
    /// The transmitq used element.
    UsedTx,
    /// The receiveq used index.
    IdxRx,
    /// The transmitq used index.
    IdxTx,
    /// Writing avail_event.
    Publish,
    /// Waiting for it (and every write before it) to leave.
    PubWait,
    /// Waiting for reads and writes in flight before starting again.
    Flush,
    /// Stopped on a fault until cleared.
    Stopped,
}

/// What the notifier of a batch is doing.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum NoteState {
    /// No batch to notify.
    Idle,
    /// Waiting for the batch's writes to leave.
    Drain,
    /// Reading the queues' suppression fields.
    Read,
    /// Waiting for them.
    Wait,
    /// Reading them from the control buffer.
    Load,
    /// Deciding whether to notify.
    Decide,
}

/// The receive side.
#[derive(LogicBlock)]
pub struct FrameDeliver {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Receiveq descriptor table.
    pub rx_desc: Signal<In, Bits<64>>,
    /// Receiveq driver area.
    pub rx_driver: Signal<In, Bits<64>>,
    /// Receiveq device area.
    pub rx_device: Signal<In, Bits<64>>,
    /// Receiveq size.
    pub rx_size: Signal<In, Bits<16>>,
    /// Receiveq enabled.
    pub rx_enabled: Signal<In, Bit>,
    /// Transmitq driver area.
    pub tx_driver: Signal<In, Bits<64>>,
    /// Transmitq device area.
    pub tx_device: Signal<In, Bits<64>>,
    /// Transmitq size.
    pub tx_size: Signal<In, Bits<16>>,
    /// Transmitq enabled.
    pub tx_enabled: Signal<In, Bit>,
    /// RING_INDIRECT_DESC negotiated.
    pub indirect_ok: Signal<In, Bit>,
    /// RING_EVENT_IDX negotiated.
    pub event_idx: Signal<In, Bit>,
    /// The device may work (DRIVER_OK, no fault).
    pub running: Signal<In, Bit>,
    /// A notification arrived.
    pub kick: Signal<In, Bit>,
    /// The transmit side stopped on a fault: publish nothing more.
    pub tx_fault: Signal<In, Bit>,
    /// Start again at once (virtio reset).
    pub clear: Signal<In, Bit>,
    /// The receiveq was reset: its ring state starts again once nothing is
    /// in flight.
    pub rx_clear: Signal<In, Bit>,
    /// The transmitq was reset: likewise.
    pub tx_clear: Signal<In, Bit>,
    /// DMA reads (walker and notifications).
    pub read: ReadClient,
    /// Control buffer write lanes (from the read engine).
    pub ctl_wr_lanes: Signal<In, Bits<LANES>>,
    /// Control buffer write address.
    pub ctl_wr_addr: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Control buffer write data.
    pub ctl_wr_data: Signal<In, Bits<DATA_WIDTH>>,
    /// DMA writes.
    pub write: WriteClient,
    /// The oldest frame is ready.
    pub frame_valid: Signal<In, Bit>,
    /// Its transmit chain head.
    pub frame_head: Signal<In, Bits<16>>,
    /// Its first byte in the frame buffer.
    pub frame_start: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Its length.
    pub frame_len: Signal<In, Bits<FRAME_LEN_BITS>>,
    /// It was too large for the frame buffer.
    pub frame_oversize: Signal<In, Bit>,
    /// One of its reads failed.
    pub frame_error: Signal<In, Bit>,
    /// A frame will be presented (its data is on the way).
    pub frame_coming: Signal<In, Bit>,
    /// The oldest frame is done with: the next one may be presented.
    pub frame_release: Signal<Out, Bit>,
    /// Frame buffer bytes the write engine has read out: they may be
    /// filled again.
    pub freed: Signal<Out, Bits<FRAME_LEN_BITS>>,
    /// First byte of the frame in hand (for the header patch on the way
    /// out of the frame buffer).
    pub hdr_start: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// Its data is being written out: patch it.
    pub hdr_live: Signal<Out, Bit>,
    /// Its length.
    pub hdr_len: Signal<Out, Bits<FRAME_LEN_BITS>>,
    /// First byte of the frame before: the write engine may still read it
    /// out once the side has moved on (its commands are queued).
    pub hdr_prev: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// Its data was written out and its bytes are not freed yet (once
    /// freed, they may hold a later frame).
    pub hdr_prev_live: Signal<Out, Bit>,
    /// Its length.
    pub hdr_prev_len: Signal<Out, Bits<FRAME_LEN_BITS>>,
    /// A frame was dropped (one cycle).
    pub dropped: Signal<Out, Bit>,
    /// Notify the receiveq's driver (one cycle).
    pub irq_rx: Signal<Out, Bit>,
    /// Notify the transmitq's driver (one cycle).
    pub irq_tx: Signal<Out, Bit>,
    /// Stopped on a fault.
    pub fault: Signal<Out, Bit>,
    /// Asleep or stopped with nothing in flight.
    pub quiet: Signal<Out, Bit>,
    /// An `rx_clear` is in progress.
    pub rx_flushing: Signal<Out, Bit>,
    /// A `tx_clear` is in progress.
    pub tx_flushing: Signal<Out, Bit>,
    walker: ChainWalker,
    ctl: ByteBuffer,
    free: FrameFree,
    /// The used elements of each queue, written two at a time.
    rx_used: UsedPair,
    tx_used: UsedPair,
    state: DFF<DeliverState>,
    kicked: DFF<Bit>,
    starved: DFF<Bit>,
    rechecked: DFF<Bit>,
    /// The walker was started for the next frame (while this one's data is
    /// written, or for a frame still on the way).
    looked: DFF<Bit>,
    /// Head of the receive chain being filled.
    r_head: DFF<Bits<16>>,
    /// The notification's control buffer read in the last two cycles.
    note_rd: DFF<Bits<2>>,
    note_ctl: Signal<Local, Bit>,
    faulted: DFF<Bit>,
    rx_clearing: DFF<Bit>,
    tx_clearing: DFF<Bit>,
    f_head: DFF<Bits<16>>,
    f_start: DFF<Bits<BUF_ADDR_BITS>>,
    /// A write of the frame in hand's data was taken.
    f_written: DFF<Bit>,
    /// First byte and length of the frame before, and the writes to leave
    /// until its last if it was written out (0 otherwise: its bytes are
    /// freed, and may hold a later frame). Its header's row is not taken by
    /// the next frame's first rows before that last write.
    p_start: DFF<Bits<BUF_ADDR_BITS>>,
    p_len: DFF<Bits<FRAME_LEN_BITS>>,
    p_left: DFF<Bits<6>>,
    /// The writes to leave until the frame in hand's last data write
    /// (counted from when it was taken), before and after this cycle's
    /// `done`.
    u_left: DFF<Bits<6>>,
    u_next: Signal<Local, Bits<6>>,
    /// Frame buffer bytes to free with the next write taken (a frame
    /// without data writes whose transmit used element is held).
    owed: DFF<Bits<FRAME_LEN_BITS>>,
    /// Bytes of the frame in hand freed with this cycle's write.
    frees: Signal<Local, Bits<FRAME_LEN_BITS>>,
    f_len: DFF<Bits<FRAME_LEN_BITS>>,
    /// The frame in hand is freed whole with its last data write.
    f_whole: DFF<Bit>,
    seg_i: DFF<Bits<16>>,
    /// Bytes of the frame in hand whose writes are taken.
    sent: DFF<Bits<FRAME_LEN_BITS>>,
    /// A piece of the current buffer is written: the next one starts at
    /// `piece_addr`, a 4 KiB boundary, with `piece_rest` bytes of the
    /// buffer left (registered, off the path from the buffer list to the
    /// write command).
    mid: DFF<Bit>,
    piece_addr: DFF<Bits<64>>,
    piece_rest: DFF<Bits<32>>,
    used_rx: DFF<Bits<16>>,
    used_tx: DFF<Bits<16>>,
    idx_rx: DFF<Bits<16>>,
    idx_tx: DFF<Bits<16>>,
    note_rx: DFF<Bits<16>>,
    note_tx: DFF<Bits<16>>,
    published: DFF<Bits<16>>,
    note_q: DFF<Bit>,
    /// The notifier, and the writes still to leave before it reads.
    nstate: DFF<NoteState>,
    drain_left: DFF<Bits<6>>,
    writes_next: Signal<Local, Bits<6>>,
    batch: DFF<Bits<5>>,
    writes: DFF<Bits<6>>,
    reads: DFF<Bits<6>>,
    /// Suppression fields read: receiveq (bits 0..16), transmitq (16..32).
    word: DFF<Bits<32>>,
    /// The queues still to decide a notification for.
    note_rx_due: DFF<Bit>,
    note_tx_due: DFF<Bit>,
    /// Notification reads in flight.
    notes: DFF<Bits<2>>,
    /// One of them failed.
    note_err: DFF<Bit>,
    note_sent: Signal<Local, Bit>,
    rx_due: Signal<Local, Bit>,
    tx_due: Signal<Local, Bit>,
    /// The suppression field of the queue being decided.
    field: Signal<Local, Bits<16>>,
    /// The chain found is checked against the frame (in `Next` or
    /// `Chain`), whose length is `chk_len`.
    check: Signal<Local, Bit>,
    chk_len: Signal<Local, Bits<FRAME_LEN_BITS>>,
    seg_addr: Signal<Local, Bits<64>>,
    seg_len: Signal<Local, Bits<32>>,
    left: Signal<Local, Bits<FRAME_LEN_BITS>>,
    /// Bytes of the current buffer still to write, and the address of the
    /// next one.
    seg_left: Signal<Local, Bits<32>>,
    data_addr: Signal<Local, Bits<64>>,
    /// Bytes from it to the 4 KiB boundary.
    page_room: Signal<Local, Bits<13>>,
    /// The buffer takes more of the frame than the rest of the buffer.
    more: Signal<Local, Bit>,
    /// The write is cut at the 4 KiB boundary (frame and buffer both have
    /// more than 4 KiB left).
    cut: Signal<Local, Bit>,
    /// Bytes of the next data write.
    n: Signal<Local, Bits<FRAME_LEN_BITS>>,
    note_used: Signal<Local, Bits<16>>,
    note_from: Signal<Local, Bits<16>>,
    note_driver: Signal<Local, Bits<64>>,
    note_size: Signal<Local, Bits<16>>,
    note_enabled: Signal<Local, Bit>,
    wanted: Signal<Local, Bit>,
    since_event: Signal<Local, Bits<16>>,
    since_note: Signal<Local, Bits<16>>,
    note_done: Signal<Local, Bit>,
    wr_taken: Signal<Local, Bit>,
    rd_taken: Signal<Local, Bit>,
    pub_needed: Signal<Local, Bit>,
    used_ring: Constant<Bits<64>>,
    used_idx: Constant<Bits<64>>,
    avail_ring: Constant<Bits<64>>,
    avail_flags: Constant<Bits<64>>,
    no_interrupt: Constant<Bits<16>>,
    batch_size: Constant<Bits<5>>,
    note_slot: Constant<Bits<BUF_ADDR_BITS>>,
    cookie_note: Constant<Bits<COOKIE_BITS>>,
    rx_ctl: Constant<Bits<TARGET_BITS>>,
    /// Frames longer than this are freed whole.
    whole_above: Constant<Bits<FRAME_LEN_BITS>>,
}

impl FrameDeliver {
    /// The receive side of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            rx_desc: Default::default(),
            rx_driver: Default::default(),
            rx_device: Default::default(),
            rx_size: Default::default(),
            rx_enabled: Default::default(),
            tx_driver: Default::default(),
            tx_device: Default::default(),
            tx_size: Default::default(),
            tx_enabled: Default::default(),
            indirect_ok: Default::default(),
            event_idx: Default::default(),
            running: Default::default(),
            kick: Default::default(),
            tx_fault: Default::default(),
            clear: Default::default(),
            rx_clear: Default::default(),
            tx_clear: Default::default(),
            read: Default::default(),
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
            freed: Default::default(),
            hdr_start: Default::default(),
            hdr_live: Default::default(),
            hdr_len: Default::default(),
            hdr_prev: Default::default(),
            hdr_prev_live: Default::default(),
            hdr_prev_len: Default::default(),
            dropped: Default::default(),
            irq_rx: Default::default(),
            irq_tx: Default::default(),
            fault: Default::default(),
            quiet: Default::default(),
            rx_flushing: Default::default(),
            tx_flushing: Default::default(),
            walker: ChainWalker::new(TARGET_RX_CTL, 0),
            ctl: ByteBuffer::new(CTL_BUFFER_BYTES),
            free: Default::default(),
            rx_used: Default::default(),
            tx_used: Default::default(),
            state: Default::default(),
            kicked: Default::default(),
            starved: Default::default(),
            rechecked: Default::default(),
            looked: Default::default(),
            r_head: Default::default(),
            note_rd: Default::default(),
            note_ctl: Default::default(),
            faulted: Default::default(),
            rx_clearing: Default::default(),
            tx_clearing: Default::default(),
            f_head: Default::default(),
            f_start: Default::default(),
            f_written: Default::default(),
            p_start: Default::default(),
            p_len: Default::default(),
            p_left: Default::default(),
            u_left: Default::default(),
            u_next: Default::default(),
            owed: Default::default(),
            frees: Default::default(),
            f_len: Default::default(),
            f_whole: Default::default(),
            seg_i: Default::default(),
            sent: Default::default(),
            mid: Default::default(),
            piece_addr: Default::default(),
            piece_rest: Default::default(),
            used_rx: Default::default(),
            used_tx: Default::default(),
            idx_rx: Default::default(),
            idx_tx: Default::default(),
            note_rx: Default::default(),
            note_tx: Default::default(),
            published: Default::default(),
            note_q: Default::default(),
            nstate: Default::default(),
            drain_left: Default::default(),
            writes_next: Default::default(),
            batch: Default::default(),
            writes: Default::default(),
            reads: Default::default(),
            word: Default::default(),
            note_rx_due: Default::default(),
            note_tx_due: Default::default(),
            notes: Default::default(),
            note_err: Default::default(),
            note_sent: Default::default(),
            rx_due: Default::default(),
            tx_due: Default::default(),
            field: Default::default(),
            check: Default::default(),
            chk_len: Default::default(),
            seg_addr: Default::default(),
            seg_len: Default::default(),
            left: Default::default(),
            seg_left: Default::default(),
            data_addr: Default::default(),
            page_room: Default::default(),
            more: Default::default(),
            cut: Default::default(),
            n: Default::default(),
            note_used: Default::default(),
            note_from: Default::default(),
            note_driver: Default::default(),
            note_size: Default::default(),
            note_enabled: Default::default(),
            wanted: Default::default(),
            since_event: Default::default(),
            since_note: Default::default(),
            note_done: Default::default(),
            wr_taken: Default::default(),
            rd_taken: Default::default(),
            pub_needed: Default::default(),
            used_ring: Constant::new(ring::USED_RING.into()),
            used_idx: Constant::new(ring::USED_IDX.into()),
            avail_ring: Constant::new(ring::AVAIL_RING.into()),
            avail_flags: Constant::new(ring::AVAIL_FLAGS.into()),
            no_interrupt: Constant::new((ring::AVAIL_F_NO_INTERRUPT as u64).into()),
            batch_size: Constant::new(BATCH.into()),
            note_slot: Constant::new(NOTE_SLOT.into()),
            cookie_note: Constant::new(COOKIE_NOTE.into()),
            rx_ctl: Constant::new(TARGET_RX_CTL.into()),
            whole_above: Constant::new((cfg.frame_buffer as u64 - WRITE_PIECE).into()),
        }
    }
}

impl Logic for FrameDeliver {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            kicked,
            starved,
            rechecked,
            looked,
            r_head,
            note_rd,
            faulted,
            rx_clearing,
            tx_clearing,
            f_head,
            f_start,
            f_written,
            p_start,
            p_len,
            p_left,
            u_left,
            owed,
            f_len,
            f_whole,
            seg_i,
            sent,
            mid,
            piece_addr,
            piece_rest,
            used_rx,
            used_tx,
            idx_rx,
            idx_tx,
            note_rx,
            note_tx,
            published,
            note_q,
            nstate,
            drain_left,
            note_rx_due,
            note_tx_due,
            notes,
            note_err,
            batch,
            writes,
            reads,
            word
        );
        clock!(self, clock, walker, ctl, free, rx_used, tx_used);

        // Walker: the receiveq, its reads into the control buffer.
        self.walker.rst.next = self.rst.val();
        self.walker.desc.next = self.rx_desc.val();
        self.walker.driver.next = self.rx_driver.val();
        self.walker.size.next = self.rx_size.val();
        self.walker.indirect_ok.next = self.indirect_ok.val();
        self.walker.clear.next = false;
        self.walker.hold.next =
            self.rx_clearing.q.val() && (self.state.q.val() == DeliverState::Flush);
        self.walker.go.next = false;
        self.walker.take.next = false;
        self.walker.seg_index.next = self.seg_i.q.val().get_bits::<SEG_BITS>(0);
        self.seg_addr.next = self.walker.seg.val().get_bits::<64>(0);
        self.seg_len.next = self.walker.seg.val().get_bits::<32>(64);
        self.ctl.wr_lanes.next = self.ctl_wr_lanes.val();
        self.ctl.wr_addr.next = self.ctl_wr_addr.val();
        self.ctl.wr_data.next = self.ctl_wr_data.val();
        self.ctl.rd_en.next = self.walker.ctl_rd_en.val();
        self.ctl.rd_addr.next = self.walker.ctl_rd_addr.val();
        self.walker.ctl_rd_data.next = self.ctl.rd_data.val();
        self.walker.ctl_rd_valid.next = self.ctl.rd_valid.val();

        // Notifications: the queue's used index against its last notification.
        if self.note_q.q.val() {
            self.note_used.next = self.idx_tx.q.val();
            self.note_from.next = self.note_tx.q.val();
            self.note_driver.next = self.tx_driver.val();
            self.note_size.next = self.tx_size.val();
            self.note_enabled.next = self.tx_enabled.val();
        } else {
            self.note_used.next = self.idx_rx.q.val();
            self.note_from.next = self.note_rx.q.val();
            self.note_driver.next = self.rx_driver.val();
            self.note_size.next = self.rx_size.val();
            self.note_enabled.next = self.rx_enabled.val();
        }
        // The read port: notification reads first, else the walker's.
        if self.nstate.q.val() == NoteState::Read {
            self.read.valid.next = true;
            self.read.addr.next = self.note_driver.val() + self.avail_flags.val();
            if self.event_idx.val() {
                self.read.addr.next = self.note_driver.val()
                    + self.avail_ring.val()
                    + (bit_cast::<64, 16>(self.note_size.val()) << 1);
            }
            self.read.len.next = 2.into();
            self.read.target.next = self.rx_ctl.val();
            self.read.buf.next = self.note_slot.val();
            if self.note_q.q.val() {
                self.read.buf.next = self.note_slot.val() + 2;
            }
            self.read.cookie.next = self.cookie_note.val();
            self.walker.read.ready.next = false;
        } else {
            self.read.valid.next = self.walker.read.valid.val();
            self.read.addr.next = self.walker.read.addr.val();
            self.read.len.next = self.walker.read.len.val();
            self.read.target.next = self.walker.read.target.val();
            self.read.buf.next = self.walker.read.buf.val();
            self.read.cookie.next = self.walker.read.cookie.val();
            self.walker.read.ready.next = self.read.ready.val();
        }
        self.note_done.next =
            self.read.done.val() && (self.read.done_cookie.val() & self.cookie_note.val()).any();
        self.walker.read.done.next = self.read.done.val() && !self.note_done.val();
        self.walker.read.done_cookie.next = self.read.done_cookie.val();
        self.walker.read.done_err.next = self.read.done_err.val();
        // The control buffer port: the notification read takes a cycle the
        // walker leaves free.
        self.note_ctl.next = (self.nstate.q.val() == NoteState::Load)
            && !self.note_rd.q.val().any()
            && !self.walker.ctl_rd_en.val();
        if self.note_ctl.val() {
            self.ctl.rd_en.next = true;
            self.ctl.rd_addr.next = self.note_slot.val();
        }
        self.note_rd.d.next = self.note_rd.q.val() << 1;
        if self.note_ctl.val() {
            self.note_rd.d.next = (self.note_rd.q.val() << 1) | 1;
        }
        self.rd_taken.next = self.read.valid.val() && self.read.ready.val();
        if self.rd_taken.val() && !self.read.done.val() {
            self.reads.d.next = self.reads.q.val() + 1;
        }
        self.note_sent.next = (self.nstate.q.val() == NoteState::Read) && self.read.ready.val();
        if self.note_sent.val() && !self.note_done.val() {
            self.notes.d.next = self.notes.q.val() + 1;
        }
        if !self.note_sent.val() && self.note_done.val() {
            self.notes.d.next = self.notes.q.val() - 1;
        }
        if self.note_done.val() && self.read.done_err.val() {
            self.note_err.d.next = true;
        }
        self.rx_due.next = (self.idx_rx.q.val() != self.note_rx.q.val()) && self.rx_enabled.val();
        self.tx_due.next = (self.idx_tx.q.val() != self.note_tx.q.val()) && self.tx_enabled.val();
        if !self.rd_taken.val() && self.read.done.val() {
            self.reads.d.next = self.reads.q.val() - 1;
        }

        // avail_event is written with EVENT_IDX when it moved, and never
        // after a fault.
        self.pub_needed.next = self.event_idx.val()
            && !self.faulted.q.val()
            && !self.tx_fault.val()
            && self.rx_enabled.val()
            && (self.walker.last_avail.val() != self.published.q.val());

        // Used elements: the receiveq's with the frame's length, the
        // transmitq's with 0; a held one is written before the used index.
        self.rx_used.clear.next = self.rst.val() || self.clear.val();
        self.rx_used.device.next = self.rx_device.val();
        self.rx_used.size.next = self.rx_size.val();
        self.rx_used.used.next = self.used_rx.q.val();
        self.rx_used.put.next = self.state.q.val() == DeliverState::UsedRx;
        self.rx_used.elem.next = (bit_cast::<64, FRAME_LEN_BITS>(self.f_len.q.val()) << 32)
            | bit_cast::<64, 16>(self.r_head.q.val());
        self.rx_used.flush.next = self.state.q.val() == DeliverState::IdxRx;
        self.rx_used.ready.next = self.write.ready.val();
        self.tx_used.clear.next = self.rst.val() || self.clear.val();
        self.tx_used.device.next = self.tx_device.val();
        self.tx_used.size.next = self.tx_size.val();
        self.tx_used.used.next = self.used_tx.q.val();
        self.tx_used.put.next = self.state.q.val() == DeliverState::UsedTx;
        self.tx_used.elem.next = bit_cast::<64, 16>(self.f_head.q.val());
        self.tx_used.flush.next =
            (self.state.q.val() == DeliverState::IdxRx) && !self.rx_used.held.val();
        self.tx_used.ready.next = self.write.ready.val();

        // Writes: data, used elements, used indexes, avail_event.
        self.left.next = self.f_len.q.val() - self.sent.q.val();
        self.seg_left.next = self.seg_len.val();
        self.data_addr.next = self.seg_addr.val();
        if self.mid.q.val() {
            self.seg_left.next = self.piece_rest.q.val();
            self.data_addr.next = self.piece_addr.q.val();
        }
        self.page_room.next =
            bits::<13>(4096) - bit_cast::<13, 12>(self.data_addr.val().get_bits::<12>(0));
        // The write is the smaller of the two rests, cut at the boundary
        // when both pass 4 KiB (compared side by side, not one after the
        // other).
        self.more.next = bit_cast::<32, FRAME_LEN_BITS>(self.left.val()) > self.seg_left.val();
        self.cut.next = (self.left.val() > bits::<FRAME_LEN_BITS>(4096))
            && (self.seg_left.val() > bits::<32>(4096));
        self.n.next = self.left.val();
        if self.more.val() {
            self.n.next = self.seg_left.val().get_bits::<FRAME_LEN_BITS>(0);
        }
        if self.cut.val() {
            self.n.next = bit_cast::<FRAME_LEN_BITS, 13>(self.page_room.val());
        }
        self.write.valid.next = false;
        self.write.addr.next = self.data_addr.val();
        self.write.len.next = self.n.val();
        self.write.imm.next = false;
        self.write.data.next = 0.into();
        self.write.buf.next = self.f_start.q.val() + self.sent.q.val().get_bits::<BUF_ADDR_BITS>(0);
        match self.state.q.val() {
            DeliverState::SegCmd => {
                self.write.valid.next = self.n.val().any();
            }
            DeliverState::IdxRx => {
                self.write.valid.next = (self.used_rx.q.val() != self.idx_rx.q.val())
                    && (self.nstate.q.val() == NoteState::Idle);
                self.write.addr.next = self.rx_device.val() + self.used_idx.val();
                self.write.len.next = 2.into();
                self.write.imm.next = true;
                self.write.data.next = bit_cast::<128, 16>(self.used_rx.q.val());
            }
            DeliverState::IdxTx => {
                self.write.valid.next = self.used_tx.q.val() != self.idx_tx.q.val();
                self.write.addr.next = self.tx_device.val() + self.used_idx.val();
                self.write.len.next = 2.into();
                self.write.imm.next = true;
                self.write.data.next = bit_cast::<128, 16>(self.used_tx.q.val());
            }
            DeliverState::Publish => {
                self.write.valid.next = self.pub_needed.val();
                self.write.addr.next = self.rx_device.val()
                    + self.used_ring.val()
                    + (bit_cast::<64, 16>(self.rx_size.val()) << 3);
                self.write.len.next = 2.into();
                self.write.imm.next = true;
                self.write.data.next = bit_cast::<128, 16>(self.walker.last_avail.val());
            }
            _ => {}
        }
        // Used elements: a frame's (UsedRx, UsedTx), or those held, before
        // the used index (IdxRx; the transmitq's too: they need not wait
        // for the notifier).
        if self.rx_used.valid.val() {
            self.write.valid.next = true;
            self.write.addr.next = self.rx_used.addr.val();
            self.write.len.next = bit_cast::<LEN_BITS, 16>(self.rx_used.len.val());
            self.write.imm.next = true;
            self.write.data.next = self.rx_used.data.val();
        } else if self.tx_used.valid.val() {
            self.write.valid.next = true;
            self.write.addr.next = self.tx_used.addr.val();
            self.write.len.next = bit_cast::<LEN_BITS, 16>(self.tx_used.len.val());
            self.write.imm.next = true;
            self.write.data.next = self.tx_used.data.val();
        }
        self.wr_taken.next = self.write.valid.val() && self.write.ready.val();
        self.writes_next.next = self.writes.q.val();
        if self.wr_taken.val() && !self.write.done.val() {
            self.writes_next.next = self.writes.q.val() + 1;
        }
        if !self.wr_taken.val() && self.write.done.val() {
            self.writes_next.next = self.writes.q.val() - 1;
        }
        self.writes.d.next = self.writes_next.val();

        self.hdr_start.next = self.f_start.q.val();
        self.hdr_live.next = self.f_written.q.val();
        self.hdr_len.next = self.f_len.q.val();
        self.hdr_prev.next = self.p_start.q.val();
        self.hdr_prev_len.next = self.p_len.q.val();
        self.hdr_prev_live.next = self.p_left.q.val().any();
        if self.write.done.val() && self.p_left.q.val().any() {
            self.p_left.d.next = self.p_left.q.val() - 1;
        }
        self.u_next.next = self.u_left.q.val();
        if self.write.done.val() && self.u_left.q.val().any() {
            self.u_next.next = self.u_left.q.val() - 1;
        }
        self.u_left.d.next = self.u_next.val();
        // A frame's bytes are freed as its data writes leave, each write's
        // own; a frame without one (dropped) frees them with the next write.
        // A frame within `WRITE_PIECE` bytes of the buffer's size is freed
        // whole with its last write: the next frame's first bytes could
        // otherwise take its header's row while its header patch is on.
        self.free.rst.next = self.rst.val() || self.clear.val();
        self.free.take.next = self.wr_taken.val();
        self.frees.next = 0.into();
        if self.state.q.val() == DeliverState::SegCmd {
            if !self.f_whole.q.val() {
                self.frees.next = self.n.val();
            } else if self.n.val() == self.left.val() {
                self.frees.next = self.f_len.q.val();
            }
        }
        if (self.state.q.val() == DeliverState::UsedTx) && !self.f_written.q.val() {
            self.frees.next = self.f_len.q.val();
        }
        self.free.bytes.next = self.owed.q.val() + self.frees.val();
        if self.wr_taken.val() {
            self.owed.d.next = 0.into();
        } else if self.tx_used.taken.val() {
            self.owed.d.next = self.owed.q.val() + self.frees.val();
        }
        self.free.done.next = self.write.done.val();
        self.freed.next = self.free.freed.val();

        // virtio 2.7.10: notify if new - event - 1 < new - old (mod 2^16).
        self.field.next = self.word.q.val().get_bits::<16>(0);
        if self.note_q.q.val() {
            self.field.next = self.word.q.val().get_bits::<16>(16);
        }
        self.wanted.next = !(self.field.val() & self.no_interrupt.val()).any();
        // (16-bit signals: Verilog would widen the expressions.)
        self.since_event.next = self.note_used.val() - self.field.val() - 1;
        self.since_note.next = self.note_used.val() - self.note_from.val();
        if self.event_idx.val() {
            self.wanted.next = self.since_event.val() < self.since_note.val();
        }

        self.frame_release.next = false;
        self.check.next = false;
        self.chk_len.next = self.f_len.q.val();
        self.dropped.next = false;
        self.irq_rx.next = false;
        self.irq_tx.next = false;
        match self.state.q.val() {
            DeliverState::Sleep => {
                if self.running.val()
                    && (self.kicked.q.val()
                        || self.kick.val()
                        || (self.frame_valid.val() && !self.starved.q.val()))
                {
                    self.kicked.d.next = false;
                    self.starved.d.next = false;
                    self.state.d.next = DeliverState::Next;
                }
            }
            DeliverState::Next => {
                if self.faulted.q.val() {
                    // The notifier failed: the batch ends.
                    self.state.d.next = DeliverState::IdxRx;
                } else if self.frame_valid.val() && (self.batch.q.val() != self.batch_size.val()) {
                    self.looked.d.next = false;
                    self.f_head.d.next = self.frame_head.val();
                    self.f_start.d.next = self.frame_start.val();
                    self.f_written.d.next = false;
                    // The frame in hand becomes the one before if its data
                    // was written (else the one before stays).
                    if self.f_written.q.val() {
                        self.p_start.d.next = self.f_start.q.val();
                        self.p_len.d.next = self.f_len.q.val();
                        self.p_left.d.next = self.u_next.val();
                    }
                    self.f_len.d.next = self.frame_len.val();
                    self.f_whole.d.next = self.frame_len.val() > self.whole_above.val();
                    if self.frame_error.val() {
                        self.faulted.d.next = true;
                        self.state.d.next = DeliverState::IdxRx;
                    } else if self.frame_oversize.val() {
                        self.dropped.next = true;
                        self.state.d.next = DeliverState::UsedTx;
                    } else if !self.rx_enabled.val() {
                        self.starved.d.next = true;
                        self.state.d.next = DeliverState::IdxRx;
                    } else if self.walker.found.val() {
                        self.check.next = true;
                        self.chk_len.next = self.frame_len.val();
                    } else {
                        self.walker.go.next = true;
                        self.state.d.next = DeliverState::Chain;
                    }
                } else if !self.frame_coming.val()
                    || (self.batch.q.val() == self.batch_size.val())
                    || self.rx_clearing.q.val()
                    || self.tx_clearing.q.val()
                {
                    // Nothing ready and nothing on the way: the batch ends.
                    self.looked.d.next = false;
                    self.state.d.next = DeliverState::IdxRx;
                } else if !self.looked.q.val() && self.rx_enabled.val() {
                    // A frame is on the way: find its receive chain meanwhile.
                    self.looked.d.next = true;
                    self.walker.go.next = true;
                }
            }
            DeliverState::Chain => {
                if self.walker.fault.val() {
                    self.faulted.d.next = true;
                    self.state.d.next = DeliverState::IdxRx;
                } else if self.walker.empty.val() {
                    if self.pub_needed.val() && !self.rechecked.q.val() {
                        self.state.d.next = DeliverState::Publish;
                    } else {
                        self.rechecked.d.next = false;
                        self.starved.d.next = true;
                        self.state.d.next = DeliverState::IdxRx;
                    }
                } else if self.walker.found.val() {
                    self.check.next = true;
                }
            }
            DeliverState::SegRead => {
                self.state.d.next = DeliverState::SegCmd;
            }
            DeliverState::SegCmd => {
                if !self.n.val().any() || self.write.ready.val() {
                    self.f_written.d.next = self.f_written.q.val() || self.n.val().any();
                    self.sent.d.next = self.sent.q.val() + self.n.val();
                    if self.cut.val() {
                        // The next piece starts at the boundary.
                        self.mid.d.next = true;
                        self.piece_addr.d.next =
                            (self.data_addr.val() & !bits::<64>(4095)) + bits::<64>(4096);
                        self.piece_rest.d.next =
                            self.seg_left.val() - bit_cast::<32, 13>(self.page_room.val());
                    } else if !self.more.val() {
                        // Every buffer has its write: the chain is taken.
                        self.u_left.d.next = self.writes_next.val();
                        self.walker.take.next = true;
                        self.state.d.next = DeliverState::UsedRx;
                    } else {
                        self.seg_i.d.next = self.seg_i.q.val() + 1;
                        self.mid.d.next = false;
                        self.state.d.next = DeliverState::SegRead;
                    }
                }
            }
            DeliverState::UsedRx => {
                if self.rx_used.taken.val() {
                    self.used_rx.d.next = self.used_rx.q.val() + 1;
                    self.state.d.next = DeliverState::UsedTx;
                }
            }
            DeliverState::UsedTx => {
                if self.tx_used.taken.val() {
                    self.used_tx.d.next = self.used_tx.q.val() + 1;
                    self.frame_release.next = true;
                    self.batch.d.next = self.batch.q.val() + 1;
                    self.state.d.next = DeliverState::Next;
                }
            }
            DeliverState::IdxRx => {
                if !self.rx_used.held.val()
                    && !self.tx_used.held.val()
                    && (self.nstate.q.val() == NoteState::Idle)
                    && (!self.write.valid.val() || self.write.ready.val())
                {
                    self.idx_rx.d.next = self.used_rx.q.val();
                    self.state.d.next = DeliverState::IdxTx;
                }
            }
            DeliverState::IdxTx => {
                if !self.write.valid.val() || self.write.ready.val() {
                    // The notifier takes over once these writes have left.
                    self.idx_tx.d.next = self.used_tx.q.val();
                    self.batch.d.next = 0.into();
                    self.drain_left.d.next = self.writes_next.val();
                    self.nstate.d.next = NoteState::Drain;
                    self.state.d.next = DeliverState::Publish;
                }
            }
            DeliverState::Publish => {
                if !self.pub_needed.val() {
                    self.state.d.next = DeliverState::Sleep;
                    if self.faulted.q.val() {
                        self.state.d.next = DeliverState::Stopped;
                    }
                } else if self.write.ready.val() {
                    self.published.d.next = self.walker.last_avail.val();
                    self.state.d.next = DeliverState::PubWait;
                }
            }
            DeliverState::PubWait => {
                if !self.writes.q.val().any() {
                    if self.walker.empty.val() && !self.rechecked.q.val() {
                        // The ring was empty: look once more (from Next: the
                        // frame presented may not be the one in hand).
                        self.rechecked.d.next = true;
                        self.walker.go.next = true;
                        self.state.d.next = DeliverState::Next;
                    } else {
                        self.state.d.next = DeliverState::Sleep;
                    }
                }
            }
            _ => {}
        }
        // The chain found against the frame: its first buffer is read
        // meanwhile (`seg_i` is 0 outside SegRead and SegCmd).
        if self.check.val() {
            self.rechecked.d.next = false;
            if self.walker.any_read.val() {
                self.faulted.d.next = true;
                self.state.d.next = DeliverState::IdxRx;
            } else if self.walker.total.val() < bit_cast::<40, FRAME_LEN_BITS>(self.chk_len.val()) {
                // Too small: the frame is dropped, the chain stays.
                self.dropped.next = true;
                self.state.d.next = DeliverState::UsedTx;
            } else {
                self.sent.d.next = 0.into();
                self.r_head.d.next = self.walker.head.val();
                self.state.d.next = DeliverState::SegCmd;
                if !self.chk_len.val().any() {
                    self.walker.take.next = true;
                    self.state.d.next = DeliverState::UsedRx;
                }
            }
        }
        if (self.state.q.val() != DeliverState::SegRead)
            && (self.state.q.val() != DeliverState::SegCmd)
        {
            self.seg_i.d.next = 0.into();
            self.mid.d.next = false;
        }

        // A chain taken: find the next frame's receive chain while this
        // one's data is written (the walk starts with the take).
        if self.walker.take.val()
            && self.rx_enabled.val()
            && !self.rx_clearing.q.val()
            && !self.tx_clearing.q.val()
        {
            self.looked.d.next = true;
            self.walker.go.next = true;
        }
        if self.kick.val() && (self.state.q.val() != DeliverState::Sleep) {
            self.kicked.d.next = true;
        }

        // The notifier: once the batch's writes up to its used indexes have
        // left, the suppression fields of the queues whose used index moved
        // since their last notification are read together (receiveq first)
        // and decide; the side goes on meanwhile.
        match self.nstate.q.val() {
            NoteState::Drain => {
                if !self.drain_left.q.val().any()
                    || (self.write.done.val() && (self.drain_left.q.val() == 1))
                {
                    self.note_err.d.next = false;
                    self.note_rx_due.d.next = self.rx_due.val();
                    self.note_tx_due.d.next = self.tx_due.val();
                    self.note_q.d.next = !self.rx_due.val();
                    self.nstate.d.next = NoteState::Read;
                    if !self.rx_due.val() && !self.tx_due.val() {
                        self.nstate.d.next = NoteState::Idle;
                    }
                } else if self.write.done.val() {
                    self.drain_left.d.next = self.drain_left.q.val() - 1;
                }
            }
            NoteState::Read => {
                if self.read.ready.val() {
                    self.nstate.d.next = NoteState::Wait;
                    if !self.note_q.q.val() && self.note_tx_due.q.val() {
                        self.note_q.d.next = true;
                        self.nstate.d.next = NoteState::Read;
                    }
                }
            }
            NoteState::Wait => {
                // Both reads back: a failed one stops the side.
                if !self.notes.q.val().any() || (self.note_done.val() && (self.notes.q.val() == 1))
                {
                    self.nstate.d.next = NoteState::Load;
                    if self.note_err.q.val() || (self.note_done.val() && self.read.done_err.val()) {
                        self.faulted.d.next = true;
                        self.nstate.d.next = NoteState::Idle;
                    }
                }
            }
            NoteState::Load => {
                if self.note_rd.q.val().get_bit(1) && self.ctl.rd_valid.val() {
                    self.word.d.next = self.ctl.rd_data.val().get_bits::<32>(0);
                    self.note_q.d.next = !self.note_rx_due.q.val();
                    self.nstate.d.next = NoteState::Decide;
                }
            }
            NoteState::Decide => {
                if self.note_q.q.val() {
                    self.irq_tx.next = self.wanted.val();
                    self.note_tx.d.next = self.idx_tx.q.val();
                    self.nstate.d.next = NoteState::Idle;
                } else {
                    self.irq_rx.next = self.wanted.val();
                    self.note_rx.d.next = self.idx_rx.q.val();
                    self.note_q.d.next = true;
                    self.nstate.d.next = NoteState::Idle;
                    if self.note_tx_due.q.val() {
                        self.nstate.d.next = NoteState::Decide;
                    }
                }
            }
            _ => {}
        }
        // A fault found by the notifier stops the side once it is idle.
        if self.faulted.q.val() && (self.state.q.val() == DeliverState::Sleep) {
            self.state.d.next = DeliverState::Stopped;
        }

        // Queue resets: the ring state of that queue starts again.
        if self.rx_clear.val() {
            self.rx_clearing.d.next = true;
        }
        if self.tx_clear.val() {
            self.tx_clearing.d.next = true;
        }
        if self.rx_clearing.q.val() || self.tx_clearing.q.val() {
            if (self.state.q.val() == DeliverState::Sleep)
                || (self.state.q.val() == DeliverState::Stopped)
            {
                self.state.d.next = DeliverState::Flush;
            }
            if (self.state.q.val() == DeliverState::Flush)
                && (self.nstate.q.val() == NoteState::Idle)
                && !self.writes.q.val().any()
                && !self.reads.q.val().any()
                && !self.walker.reading.val()
            {
                self.state.d.next = DeliverState::Sleep;
                self.f_written.d.next = false;
                self.p_left.d.next = 0.into();
                if self.rx_clearing.q.val() {
                    self.walker.clear.next = true;
                    self.rx_used.clear.next = true;
                    self.used_rx.d.next = 0.into();
                    self.idx_rx.d.next = 0.into();
                    self.note_rx.d.next = 0.into();
                    self.published.d.next = 0.into();
                }
                if self.tx_clearing.q.val() {
                    self.tx_used.clear.next = true;
                    self.used_tx.d.next = 0.into();
                    self.idx_tx.d.next = 0.into();
                    self.note_tx.d.next = 0.into();
                }
                self.starved.d.next = false;
                self.rechecked.d.next = false;
                self.looked.d.next = false;
                self.batch.d.next = 0.into();
                self.rx_clearing.d.next = false;
                self.tx_clearing.d.next = false;
            }
        }
        self.fault.next = self.faulted.q.val();
        self.rx_flushing.next = self.rx_clearing.q.val();
        self.tx_flushing.next = self.tx_clearing.q.val();
        // Quiet: nothing in flight and nothing that would wake it.
        self.quiet.next = (((self.state.q.val() == DeliverState::Sleep)
            && !self.kicked.q.val()
            && (!self.frame_valid.val() || self.starved.q.val()))
            || (self.state.q.val() == DeliverState::Stopped))
            && (self.nstate.q.val() == NoteState::Idle)
            && !self.writes.q.val().any()
            && !self.reads.q.val().any()
            && self.walker.idle.val();
        self.walker.clear.next = self.walker.clear.val() || self.clear.val();
        if self.rst.val() || self.clear.val() {
            self.state.d.next = DeliverState::Sleep;
            self.nstate.d.next = NoteState::Idle;
            self.kicked.d.next = false;
            self.starved.d.next = false;
            self.rechecked.d.next = false;
            self.looked.d.next = false;
            self.faulted.d.next = false;
            self.rx_clearing.d.next = false;
            self.tx_clearing.d.next = false;
            self.f_written.d.next = false;
            self.p_left.d.next = 0.into();
            self.u_left.d.next = 0.into();
            self.owed.d.next = 0.into();
            self.used_rx.d.next = 0.into();
            self.used_tx.d.next = 0.into();
            self.idx_rx.d.next = 0.into();
            self.idx_tx.d.next = 0.into();
            self.note_rx.d.next = 0.into();
            self.note_tx.d.next = 0.into();
            self.published.d.next = 0.into();
            self.batch.d.next = 0.into();
            self.writes.d.next = 0.into();
            self.reads.d.next = 0.into();
            self.notes.d.next = 0.into();
        }
    }
}
