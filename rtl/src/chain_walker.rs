//! Split virtqueue chain walker (virtio 2.7.5 - 2.7.6): finds the next
//! available descriptor chain of one queue and lists its buffers.
//!
//! On `go` it takes the ring entry at its `last_avail`: from the entries it
//! read before, else with a read of up to `RING_BATCH` entries (never past
//! the last one `avail->idx` showed or the end of the ring). Only when it
//! has used every entry the last `avail->idx` showed does it read the index
//! again; no new entry: `empty`. From the head it follows the chain:
//! descriptors one by one through NEXT, into an INDIRECT table. Each buffer
//! (address, length, device-writable) goes into the segment list (read
//! through `seg_*`), and the chain is presented (`found`: head, segment
//! count, total length, whether it has readable and writable buffers) until
//! the consumer `take`s it, which moves `last_avail` on. A consumer that
//! cannot use the chain yet leaves it presented.
//!
//! A malformed ring or chain stops the walker with `fault` (until `clear`):
//! `avail->idx` more than the queue size ahead, a descriptor index beyond
//! its table, more descriptors than the table has entries (a loop), INDIRECT
//! when not negotiated, inside an indirect table, together with NEXT, or
//! with a length that is 0, not a multiple of 16 or more entries than the
//! queue size, a readable buffer after a writable one, more than
//! `MAX_SEGMENTS` buffers, or a read that failed.
//!
//! Reads go through a DMA read port and land in the unit's control buffer
//! (`target`, from `base`: the index at +0, ring entries at +16, the
//! descriptor at +32, head descriptors at +64), which the walker reads
//! back. Right after a batch of ring entries arrives, the descriptors at
//! their heads are read all at once (one read each, all in flight
//! together); a walk then takes its head descriptor from there, once it has
//! arrived, and reads the rest of its chain one descriptor at a time. The
//! port completes reads in order, which tells the head reads' completions
//! apart from the walk's own. A failed head read is a fault of its chain
//! only, when that chain is walked.
//!
//! `hold` (a reset of the ring is coming) starts no further read; those in
//! flight complete (`reading` shows them), so that a later walk never takes
//! a stale completion for its own.
//!
//! Timing: one host read round trip per `RING_BATCH` ring entries, one for
//! the head descriptors of those entries together, one per further
//! descriptor, and one for the index when the known entries run out, plus 5
//! cycles each; a ring entry already read costs 3 cycles, a head descriptor
//! already read 4.

use crate::byte_buffer::BUF_ADDR_BITS;
use crate::dma_port::{ReadClient, TARGET_BITS};
use crate::ram::Ram;
use crate::DATA_WIDTH;
use rust_hdl::prelude::*;
use vireo_regs::dma::MAX_SEGMENTS;
use vireo_regs::virtio::ring;

/// Width of a segment index.
pub const SEG_BITS: usize = 8;
const _: () = assert!(1 << SEG_BITS == MAX_SEGMENTS);
/// A segment list entry: address (64), length (32), device-writable (1).
pub const SEG_ENTRY_BITS: usize = 97;

/// Ring entries read at once.
pub const RING_BATCH: u64 = 8;
/// Control buffer offset of the head descriptors of a batch (16 bytes each).
pub const HEADS_SLOT: u64 = 64;
const _: () = assert!(RING_BATCH == 8, "head read bookkeeping is 8 bits wide");
const _: () = assert!(
    2 * RING_BATCH <= 16,
    "the entries fit their control buffer slot"
);

/// What the walker is doing.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum WalkState {
    /// Waiting for `go`.
    Idle,
    /// Presenting a read command.
    Fetch,
    /// Waiting for the read to complete.
    Wait,
    /// Reading the result from the control buffer.
    Load,
    /// Acting on `avail->idx`.
    Index,
    /// Getting the ring entry at `last_avail`.
    Ring,
    /// Reading the head descriptors of a new batch of ring entries.
    Heads,
    /// Acting on the ring entry.
    Entry,
    /// Waiting for the head descriptor read before.
    Cached,
    /// About to read the next descriptor.
    Step,
    /// Acting on a descriptor.
    Descriptor,
    /// A chain is presented.
    Found,
    /// No chain is available.
    Empty,
    /// Stopped on a malformed ring or chain.
    Faulted,
}

/// The walker.
#[derive(LogicBlock)]
pub struct ChainWalker {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Descriptor table address.
    pub desc: Signal<In, Bits<64>>,
    /// Driver area (available ring) address.
    pub driver: Signal<In, Bits<64>>,
    /// Queue size (a power of two).
    pub size: Signal<In, Bits<16>>,
    /// RING_INDIRECT_DESC was negotiated.
    pub indirect_ok: Signal<In, Bit>,
    /// The ring starts again (reset, queue reset).
    pub clear: Signal<In, Bit>,
    /// Start no read (the one in flight completes): before a `clear`.
    pub hold: Signal<In, Bit>,
    /// A read is in flight.
    pub reading: Signal<Out, Bit>,
    /// A walk is under way (reads, control buffer reads): not idle, found,
    /// empty or faulted.
    pub busy: Signal<Out, Bit>,
    /// Look for the next chain (when idle or empty).
    pub go: Signal<In, Bit>,
    /// The presented chain is consumed.
    pub take: Signal<In, Bit>,
    /// A chain is presented.
    pub found: Signal<Out, Bit>,
    /// No chain was available.
    pub empty: Signal<Out, Bit>,
    /// Stopped on a malformed ring or chain.
    pub fault: Signal<Out, Bit>,
    /// Head of the presented chain.
    pub head: Signal<Out, Bits<16>>,
    /// Its number of buffers.
    pub count: Signal<Out, Bits<16>>,
    /// Its total length.
    pub total: Signal<Out, Bits<40>>,
    /// It has a device-readable buffer.
    pub any_read: Signal<Out, Bit>,
    /// It has a device-writable buffer.
    pub any_write: Signal<Out, Bit>,
    /// Chains taken (the next available index to look at).
    pub last_avail: Signal<Out, Bits<16>>,
    /// Segment to read.
    pub seg_index: Signal<In, Bits<SEG_BITS>>,
    /// That segment, one cycle later (address, length, writable).
    pub seg: Signal<Out, Bits<SEG_ENTRY_BITS>>,
    /// DMA reads.
    pub read: ReadClient,
    /// Control buffer read.
    pub ctl_rd_en: Signal<Out, Bit>,
    /// Its address.
    pub ctl_rd_addr: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// The bytes read.
    pub ctl_rd_data: Signal<In, Bits<DATA_WIDTH>>,
    /// `ctl_rd_data` is valid.
    pub ctl_rd_valid: Signal<In, Bit>,
    segments: Ram<Bits<SEG_ENTRY_BITS>, SEG_BITS>,
    state: DFF<WalkState>,
    after: DFF<WalkState>,
    addr: DFF<Bits<64>>,
    len: DFF<Bits<16>>,
    slot: DFF<Bits<BUF_ADDR_BITS>>,
    word: DFF<Bits<DATA_WIDTH>>,
    avail: DFF<Bits<16>>,
    head_r: DFF<Bits<16>>,
    tbl: DFF<Bits<64>>,
    entries: DFF<Bits<32>>,
    idx: DFF<Bits<32>>,
    steps: DFF<Bits<32>>,
    nested: DFF<Bit>,
    count_r: DFF<Bits<16>>,
    total_r: DFF<Bits<40>>,
    any_read_r: DFF<Bit>,
    any_write_r: DFF<Bit>,
    /// `avail->idx` as last read.
    seen: DFF<Bits<16>>,
    /// Available index of the first entry in the control buffer.
    ent_base: DFF<Bits<16>>,
    /// Entries in the control buffer.
    ents: DFF<Bits<16>>,
    /// Next entry of the batch whose head descriptor is to be read.
    hd_k: DFF<Bits<4>>,
    /// Entries whose head descriptor was read, has arrived, failed.
    hd_issued: DFF<Bits<8>>,
    hd_arrived: DFF<Bits<8>>,
    hd_failed: DFF<Bits<8>>,
    /// Entries of the head reads in flight, oldest first (3 bits each).
    hd_order: DFF<Bits<24>>,
    /// Head reads in flight.
    hd_out: DFF<Bits<4>>,
    /// Batch entry of the chain being walked.
    cur_k: DFF<Bits<3>>,
    hd_word: Signal<Local, Bits<DATA_WIDTH>>,
    hd_head: Signal<Local, Bits<16>>,
    hd_read: Signal<Local, Bit>,
    hd_pop: Signal<Local, Bit>,
    hd_rest: Signal<Local, Bits<24>>,
    hd_left: Signal<Local, Bits<4>>,
    left: Signal<Local, Bits<16>>,
    to_end: Signal<Local, Bits<16>>,
    batch_n: Signal<Local, Bits<16>>,
    ent_off: Signal<Local, Bits<16>>,
    d_addr: Signal<Local, Bits<64>>,
    d_len: Signal<Local, Bits<32>>,
    d_flags: Signal<Local, Bits<16>>,
    d_next: Signal<Local, Bits<16>>,
    d_write: Signal<Local, Bit>,
    ahead: Signal<Local, Bits<16>>,
    bad_indirect: Signal<Local, Bit>,
    f_next: Constant<Bits<16>>,
    f_write: Constant<Bits<16>>,
    f_indirect: Constant<Bits<16>>,
    off_idx: Constant<Bits<64>>,
    off_ring: Constant<Bits<64>>,
    max_segments: Constant<Bits<16>>,
    ring_batch: Constant<Bits<16>>,
    seg_writable: Constant<Bits<SEG_ENTRY_BITS>>,
    target: Constant<Bits<TARGET_BITS>>,
    base: Constant<Bits<BUF_ADDR_BITS>>,
    heads_slot: Constant<Bits<BUF_ADDR_BITS>>,
}

impl ChainWalker {
    /// A walker whose reads land in buffer `target` from byte `base`.
    pub fn new(target: u64, base: u64) -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            desc: Default::default(),
            driver: Default::default(),
            size: Default::default(),
            indirect_ok: Default::default(),
            clear: Default::default(),
            hold: Default::default(),
            reading: Default::default(),
            busy: Default::default(),
            go: Default::default(),
            take: Default::default(),
            found: Default::default(),
            empty: Default::default(),
            fault: Default::default(),
            head: Default::default(),
            count: Default::default(),
            total: Default::default(),
            any_read: Default::default(),
            any_write: Default::default(),
            last_avail: Default::default(),
            seg_index: Default::default(),
            seg: Default::default(),
            read: Default::default(),
            ctl_rd_en: Default::default(),
            ctl_rd_addr: Default::default(),
            ctl_rd_data: Default::default(),
            ctl_rd_valid: Default::default(),
            segments: Ram::new(MAX_SEGMENTS),
            state: Default::default(),
            after: Default::default(),
            addr: Default::default(),
            len: Default::default(),
            slot: Default::default(),
            word: Default::default(),
            avail: Default::default(),
            head_r: Default::default(),
            tbl: Default::default(),
            entries: Default::default(),
            idx: Default::default(),
            steps: Default::default(),
            nested: Default::default(),
            count_r: Default::default(),
            total_r: Default::default(),
            any_read_r: Default::default(),
            any_write_r: Default::default(),
            seen: Default::default(),
            ent_base: Default::default(),
            ents: Default::default(),
            hd_k: Default::default(),
            hd_issued: Default::default(),
            hd_arrived: Default::default(),
            hd_failed: Default::default(),
            hd_order: Default::default(),
            hd_out: Default::default(),
            cur_k: Default::default(),
            hd_word: Default::default(),
            hd_head: Default::default(),
            hd_read: Default::default(),
            hd_pop: Default::default(),
            hd_rest: Default::default(),
            hd_left: Default::default(),
            left: Default::default(),
            to_end: Default::default(),
            batch_n: Default::default(),
            ent_off: Default::default(),
            d_addr: Default::default(),
            d_len: Default::default(),
            d_flags: Default::default(),
            d_next: Default::default(),
            d_write: Default::default(),
            ahead: Default::default(),
            bad_indirect: Default::default(),
            f_next: Constant::new((ring::F_NEXT as u64).into()),
            f_write: Constant::new((ring::F_WRITE as u64).into()),
            f_indirect: Constant::new((ring::F_INDIRECT as u64).into()),
            off_idx: Constant::new(ring::AVAIL_IDX.into()),
            off_ring: Constant::new(ring::AVAIL_RING.into()),
            max_segments: Constant::new((MAX_SEGMENTS as u64).into()),
            ring_batch: Constant::new(RING_BATCH.into()),
            seg_writable: Constant::new(Bits::<SEG_ENTRY_BITS>::from(1u64) << 96u64),
            target: Constant::new(target.into()),
            base: Constant::new(base.into()),
            heads_slot: Constant::new((base + HEADS_SLOT).into()),
        }
    }
}

impl Logic for ChainWalker {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            after,
            addr,
            len,
            slot,
            word,
            avail,
            head_r,
            tbl,
            entries,
            idx,
            steps,
            nested,
            count_r,
            total_r,
            any_read_r,
            any_write_r,
            seen,
            ent_base,
            ents,
            hd_k,
            hd_issued,
            hd_arrived,
            hd_failed,
            hd_order,
            hd_out,
            cur_k
        );
        clock!(self, clock, segments);

        // Reads: one command, its completion, then the control buffer.
        self.read.valid.next = (self.state.q.val() == WalkState::Fetch) && !self.hold.val();
        self.read.addr.next = self.addr.q.val();
        self.read.len.next = self.len.q.val();
        self.read.target.next = self.target.val();
        self.read.buf.next = self.base.val() + self.slot.q.val();
        self.read.cookie.next = 0.into();
        self.ctl_rd_en.next = false;
        self.ctl_rd_addr.next = self.base.val() + self.slot.q.val();
        if (self.state.q.val() == WalkState::Fetch) && !self.hold.val() && self.read.ready.val() {
            self.state.d.next = WalkState::Wait;
        }
        // Completions come in order: while head reads are in flight, the
        // next completion is the oldest of them.
        self.hd_pop.next = self.read.done.val() && self.hd_out.q.val().any();
        self.hd_rest.next = self.hd_order.q.val();
        self.hd_left.next = self.hd_out.q.val();
        if self.hd_pop.val() {
            self.hd_arrived.d.next =
                self.hd_arrived.q.val() | (bits::<8>(1) << self.hd_order.q.val().get_bits::<3>(0));
            if self.read.done_err.val() {
                self.hd_failed.d.next = self.hd_failed.q.val()
                    | (bits::<8>(1) << self.hd_order.q.val().get_bits::<3>(0));
            }
            self.hd_rest.next = self.hd_order.q.val() >> 3;
            self.hd_left.next = self.hd_out.q.val() - 1;
        }
        self.hd_order.d.next = self.hd_rest.val();
        self.hd_out.d.next = self.hd_left.val();
        // A new batch's head descriptors: one read per entry whose head is
        // inside the table (the walk faults on the others).
        self.hd_word.next = self.word.q.val() >> (bit_cast::<8, 4>(self.hd_k.q.val()) << 4);
        self.hd_head.next = self.hd_word.val().get_bits::<16>(0);
        self.hd_read.next = (self.state.q.val() == WalkState::Heads)
            && !self.hold.val()
            && (bit_cast::<16, 4>(self.hd_k.q.val()) < self.ents.q.val())
            && (self.hd_head.val() < self.size.val());
        if self.hd_read.val() {
            self.read.valid.next = true;
            self.read.addr.next = self.desc.val() + (bit_cast::<64, 16>(self.hd_head.val()) << 4);
            self.read.len.next = 16.into();
            self.read.buf.next =
                self.heads_slot.val() + (bit_cast::<BUF_ADDR_BITS, 4>(self.hd_k.q.val()) << 4);
        }
        if self.hd_read.val() && self.read.ready.val() {
            self.hd_issued.d.next =
                self.hd_issued.q.val() | (bits::<8>(1) << self.hd_k.q.val().get_bits::<3>(0));
            self.hd_order.d.next = self.hd_rest.val()
                | (bit_cast::<24, 4>(self.hd_k.q.val())
                    << ((bit_cast::<24, 4>(self.hd_left.val()) << 1)
                        + bit_cast::<24, 4>(self.hd_left.val())));
            self.hd_out.d.next = self.hd_left.val() + 1;
        }
        if (self.state.q.val() == WalkState::Wait)
            && self.read.done.val()
            && !self.hd_out.q.val().any()
        {
            if self.read.done_err.val() {
                self.state.d.next = WalkState::Faulted;
            } else {
                self.ctl_rd_en.next = true;
                self.state.d.next = WalkState::Load;
            }
        }
        if (self.state.q.val() == WalkState::Load) && self.ctl_rd_valid.val() {
            self.word.d.next = self.ctl_rd_data.val();
            self.state.d.next = self.after.q.val();
        }

        // The descriptor in the control buffer.
        self.d_addr.next = self.word.q.val().get_bits::<64>(0);
        self.d_len.next = self.word.q.val().get_bits::<32>(64);
        self.d_flags.next = self.word.q.val().get_bits::<16>(96);
        self.d_next.next = self.word.q.val().get_bits::<16>(112);
        self.d_write.next = (self.d_flags.val() & self.f_write.val()).any();
        self.bad_indirect.next = !self.indirect_ok.val()
            || self.nested.q.val()
            || (self.d_flags.val() & self.f_next.val()).any()
            || !self.d_len.val().any()
            || self.d_len.val().get_bits::<4>(0).any()
            || ((self.d_len.val() >> 4) > bit_cast::<32, 16>(self.size.val()));
        self.ahead.next = self.word.q.val().get_bits::<16>(0) - self.avail.q.val();
        self.segments.write_enable.next = false;
        self.segments.write_address.next = self.count_r.q.val().get_bits::<SEG_BITS>(0);
        self.segments.write_data.next = (bit_cast::<SEG_ENTRY_BITS, 32>(self.d_len.val()) << 64)
            | bit_cast::<SEG_ENTRY_BITS, 64>(self.d_addr.val());
        if self.d_write.val() {
            self.segments.write_data.next =
                self.segments.write_data.val() | self.seg_writable.val();
        }
        self.segments.read_address.next = self.seg_index.val();
        self.seg.next = self.segments.read_data.val();

        // The entries to read at once: up to the last index seen, the end
        // of the ring and RING_BATCH.
        self.left.next = self.seen.q.val() - self.avail.q.val();
        self.to_end.next = self.size.val() - (self.avail.q.val() & (self.size.val() - 1));
        self.batch_n.next = self.left.val();
        if self.to_end.val() < self.batch_n.val() {
            self.batch_n.next = self.to_end.val();
        }
        if self.ring_batch.val() < self.batch_n.val() {
            self.batch_n.next = self.ring_batch.val();
        }
        self.ent_off.next = self.avail.q.val() - self.ent_base.q.val();

        if ((self.state.q.val() == WalkState::Idle) || (self.state.q.val() == WalkState::Empty))
            && self.go.val()
        {
            if self.avail.q.val() == self.seen.q.val() {
                self.addr.d.next = self.driver.val() + self.off_idx.val();
                self.len.d.next = 2.into();
                self.slot.d.next = 0.into();
                self.after.d.next = WalkState::Index;
                self.state.d.next = WalkState::Fetch;
            } else {
                self.state.d.next = WalkState::Ring;
            }
        }
        match self.state.q.val() {
            WalkState::Index => {
                if self.ahead.val() > self.size.val() {
                    self.state.d.next = WalkState::Faulted;
                } else if !self.ahead.val().any() {
                    self.state.d.next = WalkState::Empty;
                } else {
                    self.seen.d.next = self.word.q.val().get_bits::<16>(0);
                    self.state.d.next = WalkState::Ring;
                }
            }
            WalkState::Ring => {
                if self.ent_off.val() < self.ents.q.val() {
                    // Read before: straight from the control buffer.
                    self.ctl_rd_en.next = true;
                    self.ctl_rd_addr.next = self.base.val()
                        + 16
                        + (bit_cast::<BUF_ADDR_BITS, 16>(self.ent_off.val()) << 1);
                    self.after.d.next = WalkState::Entry;
                    self.state.d.next = WalkState::Load;
                } else {
                    self.addr.d.next = self.driver.val()
                        + self.off_ring.val()
                        + (bit_cast::<64, 16>(self.avail.q.val() & (self.size.val() - 1)) << 1);
                    self.len.d.next = self.batch_n.val() << 1;
                    self.slot.d.next = 16.into();
                    self.ent_base.d.next = self.avail.q.val();
                    self.ents.d.next = self.batch_n.val();
                    self.hd_k.d.next = 0.into();
                    self.hd_issued.d.next = 0.into();
                    self.hd_arrived.d.next = 0.into();
                    self.hd_failed.d.next = 0.into();
                    self.after.d.next = WalkState::Heads;
                    self.state.d.next = WalkState::Fetch;
                }
            }
            WalkState::Heads => {
                if self.hold.val() || (bit_cast::<16, 4>(self.hd_k.q.val()) >= self.ents.q.val()) {
                    self.state.d.next = WalkState::Entry;
                } else if !self.hd_read.val() || self.read.ready.val() {
                    self.hd_k.d.next = self.hd_k.q.val() + 1;
                }
            }
            WalkState::Entry => {
                self.cur_k.d.next = self.ent_off.val().get_bits::<3>(0);
                self.head_r.d.next = self.word.q.val().get_bits::<16>(0);
                self.tbl.d.next = self.desc.val();
                self.entries.d.next = bit_cast::<32, 16>(self.size.val());
                self.idx.d.next = bit_cast::<32, 16>(self.word.q.val().get_bits::<16>(0));
                self.steps.d.next = 0.into();
                self.nested.d.next = false;
                self.count_r.d.next = 0.into();
                self.total_r.d.next = 0.into();
                self.any_read_r.d.next = false;
                self.any_write_r.d.next = false;
                self.state.d.next = WalkState::Step;
            }
            WalkState::Step => {
                if (self.idx.q.val() >= self.entries.q.val())
                    || (self.steps.q.val() >= self.entries.q.val())
                {
                    self.state.d.next = WalkState::Faulted;
                } else if !self.nested.q.val()
                    && !self.steps.q.val().any()
                    && self.hd_issued.q.val().get_bit(self.cur_k.q.val().index())
                {
                    self.steps.d.next = 1.into();
                    self.state.d.next = WalkState::Cached;
                } else {
                    self.addr.d.next =
                        self.tbl.q.val() + (bit_cast::<64, 32>(self.idx.q.val()) << 4);
                    self.len.d.next = 16.into();
                    self.slot.d.next = 32.into();
                    self.steps.d.next = self.steps.q.val() + 1;
                    self.after.d.next = WalkState::Descriptor;
                    self.state.d.next = WalkState::Fetch;
                }
            }
            WalkState::Cached => {
                if self.hd_arrived.q.val().get_bit(self.cur_k.q.val().index()) {
                    if self.hd_failed.q.val().get_bit(self.cur_k.q.val().index()) {
                        self.state.d.next = WalkState::Faulted;
                    } else {
                        self.ctl_rd_en.next = true;
                        self.ctl_rd_addr.next = self.heads_slot.val()
                            + (bit_cast::<BUF_ADDR_BITS, 3>(self.cur_k.q.val()) << 4);
                        self.after.d.next = WalkState::Descriptor;
                        self.state.d.next = WalkState::Load;
                    }
                }
            }
            WalkState::Descriptor => {
                if (self.d_flags.val() & self.f_indirect.val()).any() {
                    if self.bad_indirect.val() {
                        self.state.d.next = WalkState::Faulted;
                    } else {
                        self.tbl.d.next = self.d_addr.val();
                        self.entries.d.next = self.d_len.val() >> 4;
                        self.idx.d.next = 0.into();
                        self.steps.d.next = 0.into();
                        self.nested.d.next = true;
                        self.state.d.next = WalkState::Step;
                    }
                } else if (!self.d_write.val() && self.any_write_r.q.val())
                    || (self.count_r.q.val() >= self.max_segments.val())
                {
                    self.state.d.next = WalkState::Faulted;
                } else {
                    self.segments.write_enable.next = true;
                    self.count_r.d.next = self.count_r.q.val() + 1;
                    self.total_r.d.next =
                        self.total_r.q.val() + bit_cast::<40, 32>(self.d_len.val());
                    self.any_read_r.d.next = self.any_read_r.q.val() || !self.d_write.val();
                    self.any_write_r.d.next = self.any_write_r.q.val() || self.d_write.val();
                    if (self.d_flags.val() & self.f_next.val()).any() {
                        self.idx.d.next = bit_cast::<32, 16>(self.d_next.val());
                        self.state.d.next = WalkState::Step;
                    } else {
                        self.state.d.next = WalkState::Found;
                    }
                }
            }
            WalkState::Found => {
                if self.take.val() {
                    self.avail.d.next = self.avail.q.val() + 1;
                    self.state.d.next = WalkState::Idle;
                }
            }
            _ => {}
        }
        self.reading.next = (self.state.q.val() == WalkState::Wait) || self.hd_out.q.val().any();
        self.found.next = self.state.q.val() == WalkState::Found;
        self.empty.next = self.state.q.val() == WalkState::Empty;
        self.fault.next = self.state.q.val() == WalkState::Faulted;
        self.busy.next = !((self.state.q.val() == WalkState::Idle)
            || (self.state.q.val() == WalkState::Found)
            || (self.state.q.val() == WalkState::Empty)
            || (self.state.q.val() == WalkState::Faulted));
        self.head.next = self.head_r.q.val();
        self.count.next = self.count_r.q.val();
        self.total.next = self.total_r.q.val();
        self.any_read.next = self.any_read_r.q.val();
        self.any_write.next = self.any_write_r.q.val();
        self.last_avail.next = self.avail.q.val();
        if self.rst.val() || self.clear.val() {
            self.state.d.next = WalkState::Idle;
            self.avail.d.next = 0.into();
            self.seen.d.next = 0.into();
            self.ent_base.d.next = 0.into();
            self.ents.d.next = 0.into();
            self.hd_issued.d.next = 0.into();
            self.hd_arrived.d.next = 0.into();
            self.hd_failed.d.next = 0.into();
            self.hd_order.d.next = 0.into();
            self.hd_out.d.next = 0.into();
        }
    }
}
