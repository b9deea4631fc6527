//! Split virtqueue chain walker (virtio 2.7.5 - 2.7.6): finds the next
//! available descriptor chain of one queue and lists its buffers.
//!
//! On `go` it takes the ring entry at its `last_avail` from the entries
//! loaded (below: batches of up to `RING_BATCH`, never past the last entry
//! `avail->idx` showed or the end of the ring), waiting for them to arrive
//! if need be. When it has used every entry the last `avail->idx` showed,
//! it reads the index again; no new entry: `empty`. The walker looks
//! ahead as well: once every entry known is loaded or being loaded, it
//! reads the index in the background, alongside the loads (at most once
//! per entry the walks take), so that
//! entries the driver adds while the walks go on are loaded before the
//! walks need them (a driver that does not notify a busy device is not
//! kept waiting). A look-ahead only ever moves the known index forward and
//! never faults; the walk's own read of the index judges it. From the head
//! it follows the chain:
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
//! (`target`, from `base`: the index at +0, the index read ahead at +16,
//! the descriptor at +32, ring
//! entries at +64 and head descriptors at +128, each of the last two in two
//! banks; +48 is left to the unit), which the walker reads back. Ring entries are loaded in the
//! background, a batch of up to `RING_BATCH` at a time into one bank, and
//! the descriptors at the heads of the entries are read right after their
//! batch arrives, all reads in flight together: one read for each run of
//! entries whose heads follow each other up or down the table (a driver
//! that hands out descriptors from a free list mostly makes such runs: up
//! at first, down once descriptors come back in order and go out again
//! last in, first out), so a batch takes one head read at best and one per
//! entry at worst. A run's heads land in the bank from its lowest one, so
//! the heads of a run that goes down are found at the entries' mirrors in
//! the run. While the walk takes the entries of one bank, the next batch is
//! loaded into the other. A walk
//! takes its ring entry and head descriptor from its bank, once they have
//! arrived, and reads the rest of its chain one descriptor at a time. The
//! port completes reads in order; a queue of the reads in flight tells the
//! completions apart. A failed ring or head read is a fault of the walk
//! that needs it.
//!
//! The control buffer's read port is shared with the unit: the walker reads
//! it whenever it needs to (`ctl_rd_en`) and takes `ctl_rd_valid` only for
//! its own reads, so the unit may read in any cycle the walker does not.
//!
//! `hold` (a reset of the ring is coming) starts no further read; those in
//! flight complete (`reading` shows them), so that a later walk never takes
//! a stale completion for its own.
//!
//! Timing: a chain whose ring entry and head descriptor are loaded is found
//! 5 cycles after `go` (which may come with the `take` of the chain
//! before), plus one host read round trip per further descriptor, and
//! one for the index when the known entries run out before a look ahead
//! found more. Loading a batch takes
//! two round trips (entries, then heads; a head read is issued once the
//! entry after its run is looked at, a cycle per entry) and overlaps the
//! walks of the batch before; a walk waits for it only when the entries
//! are taken faster than that.

use crate::byte_buffer::BUF_ADDR_BITS;
use crate::dma_port::{ReadClient, CTL_BUFFER_BYTES, LEN_BITS, TARGET_BITS};
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

/// Ring entries loaded at once (into one bank).
pub const RING_BATCH: u64 = 16;
const _: () = assert!(RING_BATCH < 32, "`l_rem` counts a batch in 5 bits");
/// Control buffer offset of the index the loader reads ahead.
const PEEK_SLOT: u64 = 16;
/// Control buffer offset of the descriptor read by a walk.
const DESC_SLOT: u64 = 32;
/// Control buffer offset of the ring entry banks (32 bytes each).
const ENTRIES_SLOT: u64 = 64;
/// Control buffer offset of the head descriptor banks (256 bytes each).
const HEADS_SLOT: u64 = 128;
/// Control buffer offset of 16 bytes the walker leaves to its unit (the
/// slots are offsets from the walker's `base`; both units use base 0).
pub const UNIT_SLOT: u64 = 48;
const _: () = assert!(2 <= PEEK_SLOT && PEEK_SLOT + 2 <= DESC_SLOT);
const _: () = assert!(DESC_SLOT + 16 <= UNIT_SLOT && UNIT_SLOT + 16 <= ENTRIES_SLOT);
const _: () = assert!(
    HEADS_SLOT + 2 * 16 * RING_BATCH <= CTL_BUFFER_BYTES as u64,
    "the head banks fit the control buffer"
);
const _: () = assert!(
    RING_BATCH == 16,
    "a bank's head bookkeeping is 16 bits; bank and entry make a 5-bit index; a bank's entries are two buffer words"
);
const _: () = assert!(
    ENTRIES_SLOT + 2 * 2 * RING_BATCH <= HEADS_SLOT,
    "the entries fit their control buffer slots"
);
/// Reads in flight the walker keeps track of.
const ORDER_DEPTH: u64 = 16;
/// Width of a read-queue entry: heads in the read less one (4), kind (2),
/// bank (1), first entry (4).
const ORDER_BITS: usize = 11;
const _: () = assert!(
    ORDER_BITS == 11 && ORDER_DEPTH as usize * ORDER_BITS == 176,
    "the queue is 176 bits, an entry's position count * 11"
);
/// Read kinds in the read queue.
const KIND_OWN: u64 = 0;
const KIND_RING: u64 = 1;
const KIND_HEAD: u64 = 2;
const KIND_PEEK: u64 = 3;

/// What a walk is doing.
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
    /// Getting the ring entry at `last_avail` from its bank.
    Ring,
    /// Getting its head descriptor from its bank too, if it has arrived.
    Head,
    /// Acting on the ring entry.
    Entry,
    /// Waiting for the head descriptor to be loaded.
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

/// What the loader of ring entries is doing.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum LoadState {
    /// Waiting for a free bank and entries to load.
    Idle,
    /// Presenting the read of the entries.
    Ring,
    /// Waiting for them.
    RingWait,
    /// Reading them from the control buffer.
    Entries,
    /// Reading their head descriptors.
    Heads,
}

/// What the look ahead at `avail->idx` is doing (alongside the loader).
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum PeekState {
    /// Waiting until every entry known is loaded or being loaded.
    Idle,
    /// Presenting the read of the index.
    Read,
    /// Waiting for it.
    Wait,
    /// Reading it from the control buffer.
    Load,
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
    /// Start no read (those in flight complete): before a `clear`.
    pub hold: Signal<In, Bit>,
    /// Reads are in flight.
    pub reading: Signal<Out, Bit>,
    /// Nothing under way or about to start: no read in flight, no walk
    /// (idle, found, empty or faulted) and no batch to load.
    pub idle: Signal<Out, Bit>,
    /// Look for the next chain (when idle or empty, or with `take`).
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
    /// `ctl_rd_data` is valid (for whichever read was made 2 cycles before).
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
    /// `last_avail` when the loader last read the index ahead.
    peeked: DFF<Bits<16>>,
    /// The bank the walks take entries from.
    cur_b: DFF<Bits<1>>,
    /// Available index of its first entry, and its entries.
    cur_base: DFF<Bits<16>>,
    cur_n: DFF<Bits<16>>,
    /// The other bank holds (or is loading) the entries that follow: the
    /// loader's last load, `l_n` of them.
    next_on: DFF<Bit>,
    /// Per bank: its entries arrived, their read failed.
    ring_arrived: DFF<Bits<2>>,
    ring_failed: DFF<Bits<2>>,
    /// Per bank and entry (bank * 16 + entry): head read issued, arrived,
    /// failed.
    hd_issued: DFF<Bits<32>>,
    hd_arrived: DFF<Bits<32>>,
    hd_failed: DFF<Bits<32>>,
    /// Entry of the chain being walked (bank * 16 + entry), and where its
    /// head descriptor landed (bank * 16 + position).
    cur_k: DFF<Bits<5>>,
    cur_pos: DFF<Bits<5>>,
    /// Its head descriptor was read back right after its ring entry.
    hd_early: DFF<Bit>,
    /// The descriptor is read back this cycle (a head read back right
    /// after its entry): taken from the control buffer's output, not from
    /// `word`.
    direct: DFF<Bit>,
    /// The loader: its state, bank, first available index, entries, the
    /// entries read back (the next one whose head is to be read in the low
    /// bits; the first eight, then the last eight), that entry's number,
    /// whether the last eight are read back.
    lstate: DFF<LoadState>,
    /// The look ahead.
    pstate: DFF<PeekState>,
    l_bank: DFF<Bits<1>>,
    l_at: DFF<Bits<16>>,
    l_n: DFF<Bits<16>>,
    l_word: DFF<Bits<DATA_WIDTH>>,
    l_k: DFF<Bits<5>>,
    /// Entries whose heads are still to be gathered (`l_n - l_k`: a
    /// counter, which keeps a comparator off the head read's path).
    l_rem: DFF<Bits<5>>,
    l_hi: DFF<Bit>,
    /// The head read being gathered: heads that follow each other up or
    /// down the table, of entries that follow each other in the bank
    /// (lowest head, first entry, count; none while the count is 0), and
    /// whether the heads go down.
    r_head: DFF<Bits<16>>,
    r_k: DFF<Bits<4>>,
    r_len: DFF<Bits<5>>,
    r_down: DFF<Bit>,
    /// The heads that would join it going up (one past the highest) and
    /// going down (one below `r_head`).
    r_up: DFF<Bits<16>>,
    r_dn: DFF<Bits<16>>,
    /// Per bank and entry: the head read that covered it, whether its
    /// heads go down (bit 5) and its first plus last entry (the sum of an
    /// entry and its mirror in the read, where its head landed).
    hd_run: [DFF<Bits<6>>; 32],
    /// Control buffer reads of the walk and of the loader in the last two
    /// cycles (bit 1: two cycles ago).
    w_rd: DFF<Bits<2>>,
    l_rd: DFF<Bits<2>>,
    p_rd: DFF<Bits<2>>,
    /// Reads in flight, oldest first (`ORDER_BITS` each), and their count.
    order: DFF<Bits<176>>,
    out: DFF<Bits<5>>,
    own_req: Signal<Local, Bit>,
    /// The loader may issue a read this cycle.
    l_may_read: Signal<Local, Bit>,
    ring_req: Signal<Local, Bit>,
    head_req: Signal<Local, Bit>,
    peek_req: Signal<Local, Bit>,
    start_peek: Signal<Local, Bit>,
    /// The walk is reading the index itself.
    walk_indexing: Signal<Local, Bit>,
    /// The next `seen`: the furthest ahead of `last_avail` of the index
    /// known and the ones read this cycle.
    seen_next: Signal<Local, Bits<16>>,
    seen_ahead: Signal<Local, Bits<16>>,
    peek_ahead: Signal<Local, Bits<16>>,
    issued: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    pushed: Signal<Local, Bits<11>>,
    popped: Signal<Local, Bits<11>>,
    pop_bank: Signal<Local, Bits<2>>,
    own_done: Signal<Local, Bit>,
    rest: Signal<Local, Bits<176>>,
    left_n: Signal<Local, Bits<5>>,
    w_ctl: Signal<Local, Bit>,
    l_ctl: Signal<Local, Bit>,
    p_ctl: Signal<Local, Bit>,
    /// Entries the index shows beyond both banks.
    unknown: Signal<Local, Bits<16>>,
    l_head: Signal<Local, Bits<16>>,
    /// The next entry's head extends the head read being gathered, going
    /// up or down.
    r_cont: Signal<Local, Bit>,
    r_cont_up: Signal<Local, Bit>,
    r_cont_dn: Signal<Local, Bit>,
    /// First plus last entry of the head read (in its bank).
    r_mirror: Signal<Local, Bits<5>>,
    /// The head read that covered the walk's next entry (as `hd_run`), and
    /// that entry's mirror in it.
    cur_run: Signal<Local, Bits<6>>,
    cur_mirror: Signal<Local, Bits<5>>,
    /// Entries of the bank the head read covers.
    r_mask: Signal<Local, Bits<32>>,
    /// Entries the completion at the front of the queue covers.
    pop_mask: Signal<Local, Bits<32>>,
    /// The loader has reached the last eight entries and is to read them
    /// back first.
    l_need: Signal<Local, Bit>,
    l_bit: Signal<Local, Bits<2>>,
    start_load: Signal<Local, Bit>,
    other_b: Signal<Local, Bits<1>>,
    new_bit: Signal<Local, Bits<2>>,
    new_mask: Signal<Local, Bits<32>>,
    hd_set: Signal<Local, Bits<32>>,
    hd_clear: Signal<Local, Bits<32>>,
    load_end: Signal<Local, Bits<16>>,
    left: Signal<Local, Bits<16>>,
    to_end: Signal<Local, Bits<16>>,
    batch_n: Signal<Local, Bits<16>>,
    ent_off: Signal<Local, Bits<16>>,
    d_word: Signal<Local, Bits<DATA_WIDTH>>,
    d_addr: Signal<Local, Bits<64>>,
    d_len: Signal<Local, Bits<32>>,
    d_flags: Signal<Local, Bits<16>>,
    d_next: Signal<Local, Bits<16>>,
    d_write: Signal<Local, Bit>,
    ahead: Signal<Local, Bits<16>>,
    /// The available index a walk started this cycle looks at.
    go_avail: Signal<Local, Bits<16>>,
    bad_indirect: Signal<Local, Bit>,
    f_next: Constant<Bits<16>>,
    f_write: Constant<Bits<16>>,
    f_indirect: Constant<Bits<16>>,
    off_idx: Constant<Bits<64>>,
    off_ring: Constant<Bits<64>>,
    max_segments: Constant<Bits<16>>,
    ring_batch: Constant<Bits<16>>,
    order_depth: Constant<Bits<5>>,
    kind_own: Constant<Bits<2>>,
    kind_ring: Constant<Bits<2>>,
    kind_head: Constant<Bits<2>>,
    kind_peek: Constant<Bits<2>>,
    seg_writable: Constant<Bits<SEG_ENTRY_BITS>>,
    target: Constant<Bits<TARGET_BITS>>,
    base: Constant<Bits<BUF_ADDR_BITS>>,
    desc_slot: Constant<Bits<BUF_ADDR_BITS>>,
    peek_slot: Constant<Bits<BUF_ADDR_BITS>>,
    entries_slot: Constant<Bits<BUF_ADDR_BITS>>,
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
            idle: Default::default(),
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
            peeked: Default::default(),
            cur_b: Default::default(),
            cur_base: Default::default(),
            cur_n: Default::default(),
            next_on: Default::default(),
            ring_arrived: Default::default(),
            ring_failed: Default::default(),
            hd_issued: Default::default(),
            hd_arrived: Default::default(),
            hd_failed: Default::default(),
            cur_k: Default::default(),
            hd_early: Default::default(),
            direct: Default::default(),
            lstate: Default::default(),
            pstate: Default::default(),
            l_bank: Default::default(),
            l_at: Default::default(),
            l_n: Default::default(),
            l_word: Default::default(),
            l_k: Default::default(),
            l_rem: Default::default(),
            l_hi: Default::default(),
            r_head: Default::default(),
            r_k: Default::default(),
            r_len: Default::default(),
            r_down: Default::default(),
            r_up: Default::default(),
            r_dn: Default::default(),
            hd_run: std::array::from_fn(|_| Default::default()),
            w_rd: Default::default(),
            l_rd: Default::default(),
            p_rd: Default::default(),
            order: Default::default(),
            out: Default::default(),
            own_req: Default::default(),
            l_may_read: Default::default(),
            ring_req: Default::default(),
            head_req: Default::default(),
            peek_req: Default::default(),
            start_peek: Default::default(),
            walk_indexing: Default::default(),
            seen_next: Default::default(),
            seen_ahead: Default::default(),
            peek_ahead: Default::default(),
            issued: Default::default(),
            pop: Default::default(),
            pushed: Default::default(),
            popped: Default::default(),
            pop_bank: Default::default(),
            own_done: Default::default(),
            rest: Default::default(),
            left_n: Default::default(),
            w_ctl: Default::default(),
            l_ctl: Default::default(),
            p_ctl: Default::default(),
            unknown: Default::default(),
            l_head: Default::default(),
            r_cont: Default::default(),
            r_cont_up: Default::default(),
            r_cont_dn: Default::default(),
            r_mirror: Default::default(),
            cur_run: Default::default(),
            cur_mirror: Default::default(),
            cur_pos: Default::default(),
            r_mask: Default::default(),
            l_need: Default::default(),
            pop_mask: Default::default(),
            l_bit: Default::default(),
            start_load: Default::default(),
            other_b: Default::default(),
            new_bit: Default::default(),
            new_mask: Default::default(),
            hd_set: Default::default(),
            hd_clear: Default::default(),
            load_end: Default::default(),
            left: Default::default(),
            to_end: Default::default(),
            batch_n: Default::default(),
            ent_off: Default::default(),
            d_word: Default::default(),
            d_addr: Default::default(),
            d_len: Default::default(),
            d_flags: Default::default(),
            d_next: Default::default(),
            d_write: Default::default(),
            ahead: Default::default(),
            go_avail: Default::default(),
            bad_indirect: Default::default(),
            f_next: Constant::new((ring::F_NEXT as u64).into()),
            f_write: Constant::new((ring::F_WRITE as u64).into()),
            f_indirect: Constant::new((ring::F_INDIRECT as u64).into()),
            off_idx: Constant::new(ring::AVAIL_IDX.into()),
            off_ring: Constant::new(ring::AVAIL_RING.into()),
            max_segments: Constant::new((MAX_SEGMENTS as u64).into()),
            ring_batch: Constant::new(RING_BATCH.into()),
            order_depth: Constant::new(ORDER_DEPTH.into()),
            kind_own: Constant::new(KIND_OWN.into()),
            kind_ring: Constant::new(KIND_RING.into()),
            kind_head: Constant::new(KIND_HEAD.into()),
            kind_peek: Constant::new(KIND_PEEK.into()),
            seg_writable: Constant::new(Bits::<SEG_ENTRY_BITS>::from(1u64) << 96u64),
            target: Constant::new(target.into()),
            base: Constant::new(base.into()),
            desc_slot: Constant::new(DESC_SLOT.into()),
            peek_slot: Constant::new((base + PEEK_SLOT).into()),
            entries_slot: Constant::new((base + ENTRIES_SLOT).into()),
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
            peeked,
            cur_b,
            cur_base,
            cur_n,
            next_on,
            ring_arrived,
            ring_failed,
            hd_issued,
            hd_arrived,
            hd_failed,
            cur_k,
            cur_pos,
            hd_early,
            direct,
            lstate,
            pstate,
            l_bank,
            l_at,
            l_n,
            l_word,
            l_k,
            l_rem,
            l_hi,
            r_head,
            r_k,
            r_len,
            r_down,
            r_up,
            r_dn,
            w_rd,
            l_rd,
            p_rd,
            order,
            out
        );
        clock!(self, clock, segments);

        // The read port: the walk's own reads first, then the loader's.
        // Every read issued joins the queue; completions come in order and
        // leave it from the front.
        self.l_head.next = self.l_word.q.val().get_bits::<16>(0);
        self.own_req.next = (self.state.q.val() == WalkState::Fetch)
            && !self.hold.val()
            && (self.out.q.val() < self.order_depth.val());
        self.l_may_read.next = !self.hold.val()
            && !self.own_req.val()
            && (self.state.q.val() != WalkState::Faulted)
            && (self.out.q.val() < self.order_depth.val());
        self.ring_req.next = (self.lstate.q.val() == LoadState::Ring) && self.l_may_read.val();
        self.l_need.next =
            (self.l_k.q.val() == 8) && !self.l_hi.q.val() && self.l_rem.q.val().any();
        self.r_cont_up.next = (self.l_head.val() == self.r_up.q.val()) && !self.r_down.q.val();
        self.r_cont_dn.next = (self.l_head.val() == self.r_dn.q.val())
            && (self.r_down.q.val() || (self.r_len.q.val() == 1));
        self.r_cont.next = self.r_len.q.val().any()
            && self.l_rem.q.val().any()
            && (self.l_head.val() < self.size.val())
            && (self.r_cont_up.val() || self.r_cont_dn.val());
        self.head_req.next = (self.lstate.q.val() == LoadState::Heads)
            && self.l_may_read.val()
            && self.r_len.q.val().any()
            && !self.r_cont.val()
            && !self.l_need.val();
        self.peek_req.next = (self.pstate.q.val() == PeekState::Read)
            && self.l_may_read.val()
            && !self.ring_req.val()
            && !self.head_req.val();
        self.read.valid.next =
            self.own_req.val() || self.ring_req.val() || self.head_req.val() || self.peek_req.val();
        self.read.target.next = self.target.val();
        self.read.cookie.next = 0.into();
        self.read.addr.next = self.addr.q.val();
        self.read.len.next = bit_cast::<LEN_BITS, 16>(self.len.q.val());
        self.read.buf.next = self.base.val() + self.slot.q.val();
        self.pushed.next = bit_cast::<11, 2>(self.kind_own.val()) << 5;
        if self.ring_req.val() {
            self.read.addr.next = self.driver.val()
                + self.off_ring.val()
                + (bit_cast::<64, 16>(self.l_at.q.val() & (self.size.val() - 1)) << 1);
            self.read.len.next = bit_cast::<LEN_BITS, 16>(self.l_n.q.val()) << 1;
            self.read.buf.next =
                self.entries_slot.val() + (bit_cast::<BUF_ADDR_BITS, 1>(self.l_bank.q.val()) << 5);
            self.pushed.next = (bit_cast::<11, 2>(self.kind_ring.val()) << 5)
                | (bit_cast::<11, 1>(self.l_bank.q.val()) << 4);
        }
        if self.head_req.val() {
            self.read.addr.next = self.desc.val() + (bit_cast::<64, 16>(self.r_head.q.val()) << 4);
            self.read.len.next = bit_cast::<LEN_BITS, 5>(self.r_len.q.val()) << 4;
            self.read.buf.next = self.heads_slot.val()
                + (bit_cast::<BUF_ADDR_BITS, 1>(self.l_bank.q.val()) << 8)
                + (bit_cast::<BUF_ADDR_BITS, 4>(self.r_k.q.val()) << 4);
            self.pushed.next = (bit_cast::<11, 5>(self.r_len.q.val() - 1) << 7)
                | (bit_cast::<11, 2>(self.kind_head.val()) << 5)
                | (bit_cast::<11, 1>(self.l_bank.q.val()) << 4)
                | bit_cast::<11, 4>(self.r_k.q.val());
        }
        if self.peek_req.val() {
            self.read.addr.next = self.driver.val() + self.off_idx.val();
            self.read.len.next = 2.into();
            self.read.buf.next = self.peek_slot.val();
            self.pushed.next = bit_cast::<11, 2>(self.kind_peek.val()) << 5;
        }
        self.issued.next = self.read.valid.val() && self.read.ready.val();
        self.popped.next = self.order.q.val().get_bits::<11>(0);
        self.pop_mask.next =
            ((bits::<32>(2) << bit_cast::<32, 4>(self.popped.val().get_bits::<4>(7))) - 1)
                << bit_cast::<32, 5>(self.popped.val().get_bits::<5>(0));
        self.r_mask.next = ((bits::<32>(1) << bit_cast::<32, 5>(self.r_len.q.val())) - 1)
            << ((bit_cast::<32, 1>(self.l_bank.q.val()) << 4)
                + bit_cast::<32, 4>(self.r_k.q.val()));
        self.pop_bank.next = bits::<2>(1) << bit_cast::<2, 1>(self.popped.val().get_bits::<1>(4));
        // (A completion with nothing in flight - reported just after a
        // clear - is not the walker's.)
        self.pop.next = self.read.done.val() && self.out.q.val().any();
        self.own_done.next =
            self.pop.val() && (self.popped.val().get_bits::<2>(5) == self.kind_own.val());
        self.rest.next = self.order.q.val();
        self.left_n.next = self.out.q.val();
        if self.pop.val() {
            self.rest.next = self.order.q.val() >> 11;
            self.left_n.next = self.out.q.val() - 1;
        }
        self.order.d.next = self.rest.val();
        self.out.d.next = self.left_n.val();
        if self.issued.val() {
            self.order.d.next = self.rest.val()
                | (bit_cast::<176, 11>(self.pushed.val())
                    << ((bit_cast::<8, 5>(self.left_n.val()) << 3)
                        + (bit_cast::<8, 5>(self.left_n.val()) << 1)
                        + bit_cast::<8, 5>(self.left_n.val())));
            self.out.d.next = self.left_n.val() + 1;
        }

        // The control buffer's read port: the walk's reads first, then the
        // loader's; each takes back only its own.
        self.w_ctl.next = false;
        self.l_ctl.next = false;
        self.ctl_rd_addr.next = self.base.val() + self.slot.q.val();

        // The descriptor in the control buffer.
        self.d_word.next = self.word.q.val();
        if self.direct.q.val() {
            self.d_word.next = self.ctl_rd_data.val();
        }
        self.d_addr.next = self.d_word.val().get_bits::<64>(0);
        self.d_len.next = self.d_word.val().get_bits::<32>(64);
        self.d_flags.next = self.d_word.val().get_bits::<16>(96);
        self.d_next.next = self.d_word.val().get_bits::<16>(112);
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

        // The loader: the next entries after the banks' up to the last
        // index seen, the end of the ring and RING_BATCH.
        self.load_end.next = self.cur_base.q.val() + self.cur_n.q.val();
        self.left.next = self.seen.q.val() - self.load_end.val();
        self.to_end.next = self.size.val() - (self.load_end.val() & (self.size.val() - 1));
        self.batch_n.next = self.left.val();
        if self.to_end.val() < self.batch_n.val() {
            self.batch_n.next = self.to_end.val();
        }
        if self.ring_batch.val() < self.batch_n.val() {
            self.batch_n.next = self.ring_batch.val();
        }
        self.l_bit.next = bits::<2>(1) << bit_cast::<2, 1>(self.l_bank.q.val());
        self.start_load.next = (self.lstate.q.val() == LoadState::Idle)
            && !self.next_on.q.val()
            && self.left.val().any()
            && !self.hold.val()
            && (self.state.q.val() != WalkState::Faulted);
        // The index ahead: everything known is loaded or being loaded, the
        // walks still have entries, one was taken since the last look, and
        // the walk is not reading the index itself.
        self.unknown.next = self.left.val();
        if self.next_on.q.val() {
            self.unknown.next = self.left.val() - self.l_n.q.val();
        }
        self.walk_indexing.next = (self.after.q.val() == WalkState::Index)
            && ((self.state.q.val() == WalkState::Fetch)
                || (self.state.q.val() == WalkState::Wait)
                || (self.state.q.val() == WalkState::Load));
        self.seen_ahead.next = self.seen.q.val() - self.avail.q.val();
        self.start_peek.next = (self.pstate.q.val() == PeekState::Idle)
            && !self.unknown.val().any()
            && self.seen_ahead.val().any()
            && (self.avail.q.val() != self.peeked.q.val())
            && !self.walk_indexing.val()
            && !self.hold.val()
            && (self.state.q.val() != WalkState::Faulted);
        self.seen_next.next = self.seen.q.val();
        self.peek_ahead.next = self.ctl_rd_data.val().get_bits::<16>(0) - self.avail.q.val();
        // (The other bank in a signal of its own: inverted inside a wider
        // expression, Verilog would invert the widened value.)
        self.other_b.next = !self.cur_b.q.val();
        self.new_bit.next = bits::<2>(1) << bit_cast::<2, 1>(self.other_b.val());
        self.new_mask.next = bits::<32>(0xffff) << (bit_cast::<32, 1>(self.other_b.val()) << 4);
        match self.lstate.q.val() {
            LoadState::Idle => {
                if self.start_load.val() {
                    self.l_bank.d.next = self.other_b.val();
                    self.l_at.d.next = self.load_end.val();
                    self.l_n.d.next = self.batch_n.val();
                    self.l_k.d.next = 0.into();
                    self.l_rem.d.next = self.batch_n.val().get_bits::<5>(0);
                    self.next_on.d.next = true;
                    self.lstate.d.next = LoadState::Ring;
                }
            }
            LoadState::Ring => {
                if self.ring_req.val() && self.read.ready.val() {
                    self.lstate.d.next = LoadState::RingWait;
                }
            }
            LoadState::RingWait => {
                if (self.ring_arrived.q.val() & self.l_bit.val()).any() {
                    self.lstate.d.next = LoadState::Entries;
                    if (self.ring_failed.q.val() & self.l_bit.val()).any() {
                        self.lstate.d.next = LoadState::Idle;
                    }
                }
            }
            LoadState::Entries => {
                if self.l_rd.q.val().get_bit(1) && self.ctl_rd_valid.val() {
                    // (The first eight entries start afresh; the last
                    // eight go on with the head read being gathered.)
                    self.l_word.d.next = self.ctl_rd_data.val();
                    self.l_hi.d.next = self.l_k.q.val().get_bit(3);
                    if !self.l_k.q.val().get_bit(3) {
                        self.r_len.d.next = 0.into();
                    }
                    self.lstate.d.next = LoadState::Heads;
                }
            }
            LoadState::Heads => {
                // Entry by entry: a head next to the last one in the table,
                // on in the run's direction (up or down, either after the
                // first), joins its read, another one starts the next read
                // once this one is issued (a head not inside the table is
                // not read: the walk faults on it).
                if self.head_req.val() && self.read.ready.val() {
                    self.r_len.d.next = 0.into();
                }
                if self.l_need.val() {
                    self.lstate.d.next = LoadState::Entries;
                } else if !self.l_rem.q.val().any() {
                    if !self.r_len.q.val().any() {
                        self.lstate.d.next = LoadState::Idle;
                    }
                } else if self.r_cont.val() {
                    self.r_len.d.next = self.r_len.q.val() + 1;
                    if self.r_cont_up.val() {
                        self.r_up.d.next = self.r_up.q.val() + 1;
                    } else {
                        self.r_down.d.next = true;
                        self.r_head.d.next = self.l_head.val();
                        self.r_dn.d.next = self.r_dn.q.val() - 1;
                    }
                    self.l_k.d.next = self.l_k.q.val() + 1;
                    self.l_rem.d.next = self.l_rem.q.val() - 1;
                    self.l_word.d.next = self.l_word.q.val() >> 16;
                } else if !self.r_len.q.val().any()
                    || (self.head_req.val() && self.read.ready.val())
                {
                    self.r_head.d.next = self.l_head.val();
                    self.r_up.d.next = self.l_head.val() + 1;
                    self.r_dn.d.next = self.l_head.val() - 1;
                    self.r_down.d.next = false;
                    self.r_k.d.next = self.l_k.q.val().get_bits::<4>(0);
                    self.r_len.d.next = 0.into();
                    if self.l_head.val() < self.size.val() {
                        self.r_len.d.next = 1.into();
                    }
                    self.l_k.d.next = self.l_k.q.val() + 1;
                    self.l_rem.d.next = self.l_rem.q.val() - 1;
                    self.l_word.d.next = self.l_word.q.val() >> 16;
                }
            }
        }

        match self.pstate.q.val() {
            PeekState::Idle => {
                if self.start_peek.val() {
                    self.pstate.d.next = PeekState::Read;
                }
            }
            PeekState::Read => {
                if self.peek_req.val() && self.read.ready.val() {
                    self.peeked.d.next = self.avail.q.val();
                    self.pstate.d.next = PeekState::Wait;
                }
            }
            PeekState::Wait => {
                // (A failed look is no fault: the walk reads the index
                // again before it relies on it.)
                if self.pop.val() && (self.popped.val().get_bits::<2>(5) == self.kind_peek.val()) {
                    self.pstate.d.next = PeekState::Load;
                    if self.read.done_err.val() {
                        self.pstate.d.next = PeekState::Idle;
                    }
                }
            }
            PeekState::Load => {
                if self.p_rd.q.val().get_bit(1) && self.ctl_rd_valid.val() {
                    if (self.peek_ahead.val() <= self.size.val())
                        && (self.peek_ahead.val() > self.seen_ahead.val())
                    {
                        self.seen_next.next = self.ctl_rd_data.val().get_bits::<16>(0);
                    }
                    self.pstate.d.next = PeekState::Idle;
                }
            }
        }

        // A faulted walk needs nothing more: reads not yet issued are let
        // go (those in flight complete), so that the walker goes idle.
        if self.state.q.val() == WalkState::Faulted {
            if (self.lstate.q.val() == LoadState::Ring) || (self.lstate.q.val() == LoadState::Heads)
            {
                self.lstate.d.next = LoadState::Idle;
            }
            if self.pstate.q.val() == PeekState::Read {
                self.pstate.d.next = PeekState::Idle;
            }
        }

        // Bookkeeping of the banks: a load starts afresh, completions and
        // head reads mark their entries.
        self.hd_clear.next = bits::<32>(0);
        if self.start_load.val() {
            self.hd_clear.next = self.new_mask.val();
            self.ring_arrived.d.next = self.ring_arrived.q.val() & !self.new_bit.val();
            self.ring_failed.d.next = self.ring_failed.q.val() & !self.new_bit.val();
            self.hd_issued.d.next = self.hd_issued.q.val() & !self.new_mask.val();
        }
        if self.head_req.val() && self.read.ready.val() {
            self.hd_issued.d.next = self.hd_issued.q.val() | self.r_mask.val();
        }
        // An entry's head lands at the entry, or at its mirror in a read
        // whose heads go down (the read's lowest head lands first).
        self.r_mirror.next = bit_cast::<5, 4>(self.r_k.q.val())
            + bit_cast::<5, 4>(self.r_k.q.val())
            + (self.r_len.q.val() - 1);
        for i in 0..32 {
            self.hd_run[i].clock.next = self.clock.val();
            self.hd_run[i].d.next = self.hd_run[i].q.val();
            if self.head_req.val() && self.read.ready.val() && self.r_mask.val().get_bit(i) {
                self.hd_run[i].d.next = bit_cast::<6, 5>(self.r_mirror.val());
                if self.r_down.q.val() {
                    self.hd_run[i].d.next = bits::<6>(32) | bit_cast::<6, 5>(self.r_mirror.val());
                }
            }
        }
        if self.pop.val() && (self.popped.val().get_bits::<2>(5) == self.kind_ring.val()) {
            self.ring_arrived.d.next = self.ring_arrived.q.val() | self.pop_bank.val();
            if self.read.done_err.val() {
                self.ring_failed.d.next = self.ring_failed.q.val() | self.pop_bank.val();
            }
        }
        self.hd_set.next = bits::<32>(0);
        if self.pop.val() && (self.popped.val().get_bits::<2>(5) == self.kind_head.val()) {
            self.hd_set.next = self.pop_mask.val();
        }
        self.hd_arrived.d.next =
            (self.hd_arrived.q.val() & !self.hd_clear.val()) | self.hd_set.val();
        self.hd_failed.d.next = self.hd_failed.q.val() & !self.hd_clear.val();
        if self.read.done_err.val() {
            self.hd_failed.d.next =
                (self.hd_failed.q.val() & !self.hd_clear.val()) | self.hd_set.val();
        }

        // The walk.
        self.direct.d.next = false;
        self.ent_off.next = self.avail.q.val() - self.cur_base.q.val();
        if (self.state.q.val() == WalkState::Fetch) && self.own_req.val() && self.read.ready.val() {
            self.state.d.next = WalkState::Wait;
        }
        if (self.state.q.val() == WalkState::Wait) && self.own_done.val() {
            if self.read.done_err.val() {
                self.state.d.next = WalkState::Faulted;
            } else {
                self.w_ctl.next = true;
                self.state.d.next = WalkState::Load;
            }
        }
        if (self.state.q.val() == WalkState::Load)
            && self.w_rd.q.val().get_bit(1)
            && self.ctl_rd_valid.val()
        {
            self.word.d.next = self.ctl_rd_data.val();
            self.state.d.next = self.after.q.val();
        }
        match self.state.q.val() {
            WalkState::Index => {
                if self.ahead.val() > self.size.val() {
                    self.state.d.next = WalkState::Faulted;
                } else if !self.ahead.val().any() {
                    self.state.d.next = WalkState::Empty;
                } else {
                    if self.ahead.val() > (self.seen_next.val() - self.avail.q.val()) {
                        self.seen_next.next = self.word.q.val().get_bits::<16>(0);
                    }
                    self.state.d.next = WalkState::Ring;
                }
            }
            WalkState::Ring => {
                if self.ent_off.val() < self.cur_n.q.val() {
                    self.w_ctl.next = true;
                    self.ctl_rd_addr.next = self.entries_slot.val()
                        + (bit_cast::<BUF_ADDR_BITS, 1>(self.cur_b.q.val()) << 5)
                        + (bit_cast::<BUF_ADDR_BITS, 16>(self.ent_off.val()) << 1);
                    self.cur_k.d.next = (bit_cast::<5, 1>(self.cur_b.q.val()) << 4)
                        | bit_cast::<5, 4>(self.ent_off.val().get_bits::<4>(0));
                    self.state.d.next = WalkState::Head;
                } else if self.next_on.q.val()
                    && (self.ring_arrived.q.val() & self.new_bit.val()).any()
                {
                    // On to the other bank.
                    if (self.ring_failed.q.val() & self.new_bit.val()).any() {
                        self.state.d.next = WalkState::Faulted;
                    } else {
                        self.cur_b.d.next = self.other_b.val();
                        self.cur_base.d.next = self.load_end.val();
                        self.cur_n.d.next = self.l_n.q.val();
                        self.next_on.d.next = false;
                    }
                }
            }
            WalkState::Head => {
                // The entry's head descriptor, read back the cycle after the
                // entry when it has arrived (else the walk asks for it once
                // it has the entry).
                self.hd_early.d.next = false;
                if self.hd_arrived.q.val().get_bit(self.cur_k.q.val().index())
                    && !self.hd_failed.q.val().get_bit(self.cur_k.q.val().index())
                {
                    self.w_ctl.next = true;
                    self.ctl_rd_addr.next = self.heads_slot.val()
                        + (bit_cast::<BUF_ADDR_BITS, 5>(self.cur_pos.q.val()) << 4);
                    self.hd_early.d.next = true;
                }
                self.state.d.next = WalkState::Entry;
            }
            WalkState::Entry => {
                // The entry is read back this cycle.
                self.head_r.d.next = self.ctl_rd_data.val().get_bits::<16>(0);
                self.tbl.d.next = self.desc.val();
                self.entries.d.next = bit_cast::<32, 16>(self.size.val());
                self.idx.d.next = bit_cast::<32, 16>(self.ctl_rd_data.val().get_bits::<16>(0));
                self.steps.d.next = 0.into();
                self.nested.d.next = false;
                self.count_r.d.next = 0.into();
                self.total_r.d.next = 0.into();
                self.any_read_r.d.next = false;
                self.any_write_r.d.next = false;
                self.state.d.next = WalkState::Step;
                if self.hd_early.q.val() {
                    // Its head descriptor is read back in the next cycle.
                    self.steps.d.next = 1.into();
                    self.direct.d.next = true;
                    self.state.d.next = WalkState::Descriptor;
                    if self.ctl_rd_data.val().get_bits::<16>(0) >= self.size.val() {
                        self.state.d.next = WalkState::Faulted;
                    }
                }
            }
            WalkState::Step => {
                if (self.idx.q.val() >= self.entries.q.val())
                    || (self.steps.q.val() >= self.entries.q.val())
                {
                    self.state.d.next = WalkState::Faulted;
                } else if !self.nested.q.val() && !self.steps.q.val().any() {
                    // The head descriptor comes from the bank, once its
                    // read is issued (soon after the entries arrived).
                    if self.hd_issued.q.val().get_bit(self.cur_k.q.val().index()) {
                        self.steps.d.next = 1.into();
                        self.state.d.next = WalkState::Cached;
                    }
                } else {
                    self.addr.d.next =
                        self.tbl.q.val() + (bit_cast::<64, 32>(self.idx.q.val()) << 4);
                    self.len.d.next = 16.into();
                    self.slot.d.next = self.desc_slot.val();
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
                        self.w_ctl.next = true;
                        self.ctl_rd_addr.next = self.heads_slot.val()
                            + (bit_cast::<BUF_ADDR_BITS, 5>(self.cur_pos.q.val()) << 4);
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
        // A walk starts from the next available index: the index is read
        // when every entry it showed is taken.
        self.go_avail.next = self.avail.q.val();
        if self.state.q.val() == WalkState::Found {
            self.go_avail.next = self.avail.q.val() + 1;
        }
        if (((self.state.q.val() == WalkState::Idle) || (self.state.q.val() == WalkState::Empty))
            || ((self.state.q.val() == WalkState::Found) && self.take.val()))
            && self.go.val()
        {
            if self.go_avail.val() == self.seen.q.val() {
                self.addr.d.next = self.driver.val() + self.off_idx.val();
                self.len.d.next = 2.into();
                self.slot.d.next = 0.into();
                self.after.d.next = WalkState::Index;
                self.state.d.next = WalkState::Fetch;
            } else {
                self.state.d.next = WalkState::Ring;
            }
        }

        self.seen.d.next = self.seen_next.val();

        // Where the head of the walk's entry landed, registered for the
        // entry the walk takes next (`cur_k.d`): a walk reads its head back
        // the cycle after it takes the entry, and only once the head read
        // has arrived, long after its record was written.
        self.cur_run.next = 0.into();
        for i in 0..32 {
            if self.cur_k.d.val().index() == i {
                self.cur_run.next = self.hd_run[i].q.val();
            }
        }
        // (The mirror, 0 to 15, from the 5-bit first plus last entry.)
        self.cur_mirror.next = self.cur_run.val().get_bits::<5>(0)
            - bit_cast::<5, 4>(self.cur_k.d.val().get_bits::<4>(0));
        self.cur_pos.d.next = self.cur_k.d.val();
        if self.cur_run.val().get_bit(5) {
            self.cur_pos.d.next = (self.cur_k.d.val() & bits::<5>(16)) | self.cur_mirror.val();
        }

        // The loader reads its entries, or the index ahead, back when the
        // walk leaves the control buffer port free.
        self.p_ctl.next = false;
        if !self.l_rd.q.val().any() && !self.p_rd.q.val().any() && !self.w_ctl.val() {
            if self.lstate.q.val() == LoadState::Entries {
                self.l_ctl.next = true;
                self.ctl_rd_addr.next = self.entries_slot.val()
                    + (bit_cast::<BUF_ADDR_BITS, 1>(self.l_bank.q.val()) << 5)
                    + (bit_cast::<BUF_ADDR_BITS, 1>(self.l_k.q.val().get_bits::<1>(3)) << 4);
            } else if self.pstate.q.val() == PeekState::Load {
                self.p_ctl.next = true;
                self.ctl_rd_addr.next = self.peek_slot.val();
            }
        }
        self.ctl_rd_en.next = self.w_ctl.val() || self.l_ctl.val() || self.p_ctl.val();
        self.w_rd.d.next = self.w_rd.q.val() << 1;
        if self.w_ctl.val() {
            self.w_rd.d.next = (self.w_rd.q.val() << 1) | 1;
        }
        self.l_rd.d.next = self.l_rd.q.val() << 1;
        if self.l_ctl.val() {
            self.l_rd.d.next = (self.l_rd.q.val() << 1) | 1;
        }
        self.p_rd.d.next = self.p_rd.q.val() << 1;
        if self.p_ctl.val() {
            self.p_rd.d.next = (self.p_rd.q.val() << 1) | 1;
        }

        self.reading.next = self.out.q.val().any();
        self.idle.next = !self.out.q.val().any()
            && (self.lstate.q.val() == LoadState::Idle)
            && (self.pstate.q.val() == PeekState::Idle)
            && !self.start_load.val()
            && !self.start_peek.val()
            && ((self.state.q.val() == WalkState::Idle)
                || (self.state.q.val() == WalkState::Found)
                || (self.state.q.val() == WalkState::Empty)
                || (self.state.q.val() == WalkState::Faulted));
        self.found.next = self.state.q.val() == WalkState::Found;
        self.empty.next = self.state.q.val() == WalkState::Empty;
        self.fault.next = self.state.q.val() == WalkState::Faulted;
        self.head.next = self.head_r.q.val();
        self.count.next = self.count_r.q.val();
        self.total.next = self.total_r.q.val();
        self.any_read.next = self.any_read_r.q.val();
        self.any_write.next = self.any_write_r.q.val();
        self.last_avail.next = self.avail.q.val();
        if self.rst.val() || self.clear.val() {
            self.state.d.next = WalkState::Idle;
            self.lstate.d.next = LoadState::Idle;
            self.pstate.d.next = PeekState::Idle;
            self.avail.d.next = 0.into();
            self.seen.d.next = 0.into();
            self.peeked.d.next = 0.into();
            self.cur_b.d.next = 0.into();
            self.cur_base.d.next = 0.into();
            self.cur_n.d.next = 0.into();
            self.next_on.d.next = false;
            self.ring_arrived.d.next = 0.into();
            self.ring_failed.d.next = 0.into();
            self.hd_issued.d.next = 0.into();
            self.hd_arrived.d.next = 0.into();
            self.hd_failed.d.next = 0.into();
            self.r_len.d.next = 0.into();
            self.order.d.next = 0.into();
            self.out.d.next = 0.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cycle(uut: &mut ChainWalker) {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 200));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 200));
    }

    /// The walker with a host and a read engine around it: reads complete
    /// in order `LATENCY` cycles after they are taken, their bytes land in
    /// the control buffer, which answers a read 2 cycles later.
    struct Host {
        uut: ChainWalker,
        mem: Vec<u8>,
        ctl: Vec<u8>,
        /// Reads taken: when due, host address, length, buffer offset.
        reads: std::collections::VecDeque<(u64, u64, usize, usize)>,
        /// Control buffer reads of the last two cycles.
        ctl_pipe: [Option<usize>; 2],
        now: u64,
        /// Reads that cover this host address fail.
        failing: Option<u64>,
        /// Every read taken: host address, length.
        log: Vec<(u64, usize)>,
        /// Per look ahead at the index: reads of ring entries in flight
        /// when it was taken.
        peeks: Vec<usize>,
        /// The read port takes nothing before this cycle.
        ready_from: u64,
        /// Reads of `avail->idx` taken: cycle, chains taken by then.
        index_reads: Vec<(u64, u32)>,
        taken: u32,
        /// Chains taken: head, total length, cycle.
        chains: Vec<(u16, u64, u64)>,
    }

    const LATENCY: u64 = 20;
    const DESC: u64 = 0x1000;
    const DRIVER: u64 = 0x2000;
    const SIZE: u16 = 16;

    /// The chains `post_heads` makes of `heads`: head, total length.
    fn chains_of(heads: &[u16]) -> Vec<(u16, u64)> {
        heads.iter().map(|&x| (x, 16 * (x as u64 + 1))).collect()
    }

    impl Host {
        fn new() -> Self {
            let mut uut = ChainWalker::new(1, 0);
            uut.connect_all();
            uut.desc.next = DESC.into();
            uut.driver.next = DRIVER.into();
            uut.size.next = (SIZE as u64).into();
            let mut h = Self {
                uut,
                mem: vec![0; 0x4000],
                ctl: vec![0; CTL_BUFFER_BYTES],
                reads: Default::default(),
                ctl_pipe: [None; 2],
                now: 0,
                failing: None,
                log: Vec::new(),
                peeks: Vec::new(),
                ready_from: 0,
                index_reads: Vec::new(),
                taken: 0,
                chains: Vec::new(),
            };
            h.uut.rst.next = true;
            h.cycle();
            h.uut.rst.next = false;
            h
        }

        /// The driver makes descriptor `i` (64 readable bytes) the chain of
        /// ring entry `i`, for the entries `from..to`, and publishes `to`.
        fn post(&mut self, from: u16, to: u16) {
            let heads: Vec<u16> = (from..to).collect();
            self.post_heads(from, &heads);
        }

        /// The driver makes descriptor `heads[j]` (`16 * (heads[j] + 1)`
        /// readable bytes) the chain of ring entry `from + j` and publishes
        /// the entries.
        fn post_heads(&mut self, from: u16, heads: &[u16]) {
            for (j, &h) in heads.iter().enumerate() {
                let d = (DESC + 16 * h as u64) as usize;
                self.mem[d..d + 8].copy_from_slice(&(0x10_0000 + 0x100 * h as u64).to_le_bytes());
                self.mem[d + 8..d + 12].copy_from_slice(&(16 * (h as u32 + 1)).to_le_bytes());
                let e = (DRIVER + 4 + 2 * ((from + j as u16) % SIZE) as u64) as usize;
                self.mem[e..e + 2].copy_from_slice(&h.to_le_bytes());
            }
            let x = (DRIVER + 2) as usize;
            let to = from + heads.len() as u16;
            self.mem[x..x + 2].copy_from_slice(&to.to_le_bytes());
        }

        /// The chains taken: head, total length.
        fn found(&self) -> Vec<(u16, u64)> {
            self.chains.iter().map(|&(x, len, _)| (x, len)).collect()
        }

        /// The reads of head descriptors taken: first head, heads.
        fn head_reads(&self) -> Vec<(u64, usize)> {
            self.log
                .iter()
                .filter(|r| (DESC..DESC + 16 * SIZE as u64).contains(&r.0))
                .map(|&(a, len)| ((a - DESC) / 16, len / 16))
                .collect()
        }

        /// One clock cycle: the consumer takes every chain presented.
        fn cycle(&mut self) {
            let due = self.reads.front().is_some_and(|r| r.0 <= self.now);
            let mut failed = false;
            if due {
                let (_, addr, len, buf) = self.reads.pop_front().unwrap();
                failed = self
                    .failing
                    .is_some_and(|f| (addr..addr + len as u64).contains(&f));
                if !failed {
                    let a = addr as usize;
                    self.ctl[buf..buf + len].copy_from_slice(&self.mem[a..a + len]);
                }
            }
            self.uut.read.done.next = due;
            self.uut.read.done_err.next = failed;
            self.uut.read.ready.next = self.now >= self.ready_from;
            self.uut.ctl_rd_valid.next = self.ctl_pipe[1].is_some();
            if let Some(a) = self.ctl_pipe[1] {
                let mut w = [0u8; 16];
                w.copy_from_slice(&self.ctl[a..a + 16]);
                self.uut.ctl_rd_data.next = crate::byte_buffer::to_bits(&w);
            }
            self.uut.go.next = true;
            self.uut.take.next = false;
            self.uut.clock.next = Clock::from(false);
            assert!(simulate(&mut self.uut, 200));
            if self.uut.found.val() {
                self.uut.take.next = true;
                self.taken += 1;
                self.chains.push((
                    self.uut.head.val().index() as u16,
                    self.uut.total.val().to_u64(),
                    self.now,
                ));
                assert!(simulate(&mut self.uut, 200));
            }
            if self.uut.read.valid.val() && self.uut.read.ready.val() {
                let addr = self.uut.read.addr.val().to_u64();
                let len = self.uut.read.len.val().index();
                let buf = self.uut.read.buf.val().index();
                self.reads.push_back((self.now + LATENCY, addr, len, buf));
                self.log.push((addr, len));
                if addr == DRIVER + 2 {
                    self.index_reads.push((self.now, self.taken));
                }
                if addr == DRIVER + 2 && buf == PEEK_SLOT as usize {
                    let loading = self
                        .reads
                        .iter()
                        .filter(|r| (ENTRIES_SLOT..HEADS_SLOT).contains(&(r.3 as u64)))
                        .count();
                    self.peeks.push(loading);
                }
            }
            self.ctl_pipe[1] = self.ctl_pipe[0];
            self.ctl_pipe[0] = self
                .uut
                .ctl_rd_en
                .val()
                .then(|| self.uut.ctl_rd_addr.val().index());
            self.uut.clock.next = Clock::from(true);
            assert!(simulate(&mut self.uut, 200));
            self.now += 1;
        }
    }

    #[test]
    fn entries_added_while_the_walks_go_on_are_read_ahead() {
        let mut h = Host::new();
        h.post(0, 4);
        let mut posted = false;
        while h.taken < 8 {
            h.cycle();
            assert!(!h.uut.fault.val() && !h.uut.empty.val(), "at {}", h.now);
            assert!(h.now < 2000, "{} chains in 2000 cycles", h.taken);
            if h.taken == 1 && !posted {
                h.post(4, 8);
                posted = true;
            }
        }
        // The walk's own read at the start, then a look ahead while the
        // first four entries were still being taken.
        assert_eq!(h.index_reads[0].1, 0, "{:?}", h.index_reads);
        assert!(
            h.index_reads
                .iter()
                .any(|&(_, taken)| (1..4).contains(&taken)),
            "no look ahead: {:?}",
            h.index_reads
        );
        assert_eq!(h.uut.last_avail.val().index(), 8);
    }

    #[test]
    fn heads_that_follow_each_other_in_the_table_are_read_together() {
        let mut h = Host::new();
        let heads = [3, 4, 5, 9, 10, 2, 11, 12, 13, 1, 6, 7];
        h.post_heads(0, &heads);
        while h.taken < heads.len() as u32 {
            h.cycle();
            assert!(!h.uut.fault.val() && h.now < 2000, "at {}", h.now);
        }
        assert_eq!(h.found(), chains_of(&heads));
        // One read per run, also across the two halves of the bank (entries
        // 0..8 and 8..16 are read back from the control buffer apart).
        assert_eq!(
            h.head_reads(),
            [(3, 3), (9, 2), (2, 1), (11, 3), (1, 1), (6, 2)],
            "(first head, heads) of each read"
        );
    }

    #[test]
    fn heads_that_go_down_the_table_are_read_together_and_found_at_their_entries() {
        // Runs down, up, down across the two halves of the bank, down,
        // down, up, and, in the next batch (the other bank), down, alone,
        // down.
        let first = [7, 6, 5, 4, 12, 13, 3, 2, 1, 0, 15, 14, 9, 8, 10, 11];
        let second = [10, 9, 8, 11, 5, 4];
        let mut h = Host::new();
        h.post_heads(0, &first);
        let mut posted = false;
        while h.taken < (first.len() + second.len()) as u32 {
            if h.taken == first.len() as u32 && !posted {
                h.post_heads(SIZE, &second);
                posted = true;
            }
            h.cycle();
            assert!(!h.uut.fault.val() && h.now < 4000, "at {}", h.now);
        }
        assert_eq!(h.found(), chains_of(&[&first[..], &second[..]].concat()));
        assert_eq!(
            h.head_reads(),
            [
                (4, 4),
                (12, 2),
                (0, 4),
                (14, 2),
                (8, 2),
                (10, 2),
                (8, 3),
                (11, 1),
                (4, 2)
            ],
            "(lowest head, heads) of each read"
        );
    }

    #[test]
    fn a_chain_whose_entry_and_head_are_loaded_is_found_5_cycles_after_go() {
        let mut h = Host::new();
        h.post(0, SIZE);
        while h.taken < SIZE as u32 {
            h.cycle();
            assert!(!h.uut.fault.val() && h.now < 2000, "at {}", h.now);
        }
        // The consumer takes each chain as it is presented and asks for the
        // next one with the take: after the first, whose bank had to load,
        // one chain per walk.
        let at: Vec<u64> = h.chains.iter().map(|c| c.2).collect();
        let gaps: Vec<u64> = at.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps, [5u64; 14], "cycles between chains");
    }

    #[test]
    fn the_index_is_read_ahead_while_a_bank_loads() {
        let mut h = Host::new();
        h.post(0, 8);
        while h.taken < 1 {
            h.cycle();
        }
        // The look ahead finds entries 8..16 and the loader takes them into
        // the other bank; the walks go on taking the first bank's entries,
        // and the next look ahead need not wait for that load.
        h.post(8, 16);
        while h.taken < 16 {
            h.cycle();
            assert!(!h.uut.fault.val() && h.now < 2000, "at {}", h.now);
        }
        assert!(
            h.peeks.iter().any(|&loading| loading > 0),
            "ring entry reads in flight at each look ahead: {:?}",
            h.peeks
        );
    }

    #[test]
    fn a_failed_look_ahead_is_no_fault_but_the_walks_own_read_is() {
        let mut h = Host::new();
        h.post(0, 4);
        while h.taken < 1 {
            h.cycle();
        }
        // From now on reads of the index fail: the look ahead's is let go,
        // the walks take the four entries known, then their own read of
        // the index faults.
        h.failing = Some(DRIVER + 2);
        while !h.uut.fault.val() {
            h.cycle();
            assert!(h.now < 2000, "no fault");
        }
        assert_eq!(h.taken, 4);
        assert!(h.index_reads.len() >= 3, "{:?}", h.index_reads);
    }

    #[test]
    fn a_walk_that_faults_leaves_the_walker_idle() {
        let mut h = Host::new();
        // Heads apart in the table, so that the head of chain 1 is a read
        // of its own.
        h.post_heads(0, &[0, 2, 4, 6]);
        h.failing = Some(DESC + 2 * 16); // the head descriptor of chain 1
        while h.taken < 1 {
            h.cycle();
        }
        // The read port stalls a while: the loader's look ahead waits for
        // it while the walk faults on chain 1. The side must still see the
        // walker idle, or DEVICE_NEEDS_RESET is never set.
        h.ready_from = h.now + 40;
        for _ in 0..200 {
            h.cycle();
        }
        assert!(h.uut.fault.val(), "no fault");
        assert!(h.uut.idle.val(), "the walker never went idle");
    }

    #[test]
    fn a_completion_reported_after_clear_is_not_counted() {
        let mut uut = ChainWalker::new(1, 0);
        uut.connect_all();
        uut.size.next = 256.into();
        uut.rst.next = true;
        cycle(&mut uut);
        uut.rst.next = false;
        // A virtio reset clears the walker while the read engine drains:
        // a completion may still be reported just after.
        uut.clear.next = true;
        cycle(&mut uut);
        uut.clear.next = false;
        uut.read.done.next = true;
        cycle(&mut uut);
        uut.read.done.next = false;
        cycle(&mut uut);
        assert!(!uut.reading.val(), "a read counted as in flight");
        // And the walker still reads: `go` on an empty ring reads avail->idx.
        uut.read.ready.next = true;
        uut.go.next = true;
        cycle(&mut uut);
        uut.go.next = false;
        cycle(&mut uut);
        assert!(uut.reading.val(), "no read issued after the clear");
    }
}
