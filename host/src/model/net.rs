//! Golden model of the split virtqueue engine and the virtio-net loopback
//! (virtio 2.7, 5.1.6), at transaction level: every run processes what it
//! can to completion.
//!
//! A frame is the bytes of a transmitq chain (virtio_net_hdr and packet, in
//! any segmentation). The device takes transmit chains in ring order into
//! its frame buffer while the frames it holds fit (at most `FRAME_SLOTS`
//! frames, at most `frame_buffer` bytes; a chain that does not fit stays
//! in the ring until delivered frames make room); a chain longer than the
//! whole buffer is taken and dropped. Held frames leave in order:
//! each goes into the next receiveq chain with the header's `flags` and
//! `gso_type` cleared and `num_buffers` set to 1 (virtio 5.1.6.4.1, without
//! MRG_RXBUF, GUEST_CSUM or GUEST_GSO), the receiveq chain used with the
//! frame length and then the transmitq chain with length 0. Without a
//! receive chain the frames wait. A receive chain too small for the frame:
//! the frame is dropped, nothing is written, the chain stays available.
//! Dropped frames (too large, or no room) are counted and their transmit
//! chains used with length 0, in order.
//!
//! Notifications: after a run, a queue whose used index moved notifies the
//! driver unless suppressed (`used_event` with EVENT_IDX, else the available
//! ring's NO_INTERRUPT flag); with EVENT_IDX the device publishes
//! `avail_event` = the next available index it will take: the receiveq's
//! after every run, the transmitq's once the side has taken every chain
//! its ring shows (not while a chain waits for room in the frame buffer:
//! the side comes back to the ring by itself once room is made).
//!
//! A malformed chain or ring, or a failed read (see [`Fault`]), stops the
//! side it happened on: a transmit fault stops taking chains, and the
//! frames held before it are still delivered; a receive fault stops the
//! delivery. When nothing more can move the device sets
//! DEVICE_NEEDS_RESET (after the notifications the completed chains are
//! owed) and does no DMA until it is reset.

use super::common_cfg::{CommonCfg, Queue};
use crate::endpoint::HostError;
use std::collections::VecDeque;
use vireo_regs::dma::{FRAME_SLOTS, MAX_SEGMENTS};
use vireo_regs::virtio::feature;
use vireo_regs::virtio::net::{HDR_FLAGS, HDR_GSO_TYPE, HDR_NUM_BUFFERS, RECEIVEQ, TRANSMITQ};
use vireo_regs::virtio::ring::{self, *};

/// Why the engine stops processing.
#[derive(Debug)]
pub enum Stop {
    /// The device gives up (DEVICE_NEEDS_RESET).
    Fault(Fault),
    /// The run itself failed (the device reached outside its grants).
    Host(HostError),
}

impl From<HostError> for Stop {
    fn from(e: HostError) -> Self {
        Stop::Host(e)
    }
}

impl From<Fault> for Stop {
    fn from(f: Fault) -> Self {
        Stop::Fault(f)
    }
}

/// Host memory as the device reaches it.
pub trait Dma {
    /// Read `len` bytes at `addr`; a read the host answers with an error
    /// is [`Fault::ReadError`].
    fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Stop>;
    /// Write `data` at `addr`.
    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Stop>;
}

/// Why the engine gave up (DEVICE_NEEDS_RESET).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The available index is more than the queue size ahead.
    AvailTooFar,
    /// A descriptor index beyond the table.
    BadIndex,
    /// A chain longer than the queue size (a loop, or an indirect table
    /// with more entries than the queue), or with more buffers than the
    /// device handles (`MAX_SEGMENTS`).
    TooLong,
    /// INDIRECT without RING_INDIRECT_DESC negotiated.
    IndirectNotNegotiated,
    /// INDIRECT inside an indirect table.
    NestedIndirect,
    /// INDIRECT together with NEXT.
    IndirectWithNext,
    /// An indirect table whose length is 0 or not a multiple of 16.
    BadIndirectLength,
    /// A device-readable descriptor after a device-writable one.
    ReadableAfterWritable,
    /// A writable buffer in a transmit chain or a readable one in a receive chain.
    WrongDirection,
    /// The host answered a read with an error status, poisoned data, or
    /// not at all; the address of the read.
    ReadError(u64),
}

/// A buffer of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Buffer {
    addr: u64,
    len: u32,
    write: bool,
}

/// The engine's state of one queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ring {
    last_avail: u16,
    used_idx: u16,
    notified_from: u16,
}

/// A frame held in the frame buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Frame {
    /// Head of its transmit chain.
    head: u16,
    /// The bytes; `None` for a frame too large for the buffer.
    bytes: Option<Vec<u8>>,
}

/// The engine and loopback.
#[derive(Clone, Debug)]
pub struct NetEngine {
    capacity: usize,
    rings: [Ring; 2],
    held: VecDeque<Frame>,
    dropped: u32,
}

/// What a run of the engine did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Queues whose driver is to be notified.
    pub notify: Vec<u16>,
    /// Why the engine gave up, if it did.
    pub fault: Option<Fault>,
    /// Frames dropped because the receive chain was too small.
    pub dropped: u32,
}

fn le16(b: &[u8], at: u64) -> u16 {
    u16::from_le_bytes([b[at as usize], b[at as usize + 1]])
}

fn read16(dma: &mut dyn Dma, addr: u64) -> Result<u16, Stop> {
    Ok(le16(&dma.read(addr, 2)?, 0))
}

/// A descriptor: its buffer, flags and next index.
fn desc(b: &[u8]) -> (Buffer, u16, u16) {
    let addr = u64::from_le_bytes(b[DESC_ADDR as usize..][..8].try_into().unwrap());
    let len = u32::from_le_bytes(b[DESC_LEN as usize..][..4].try_into().unwrap());
    let flags = le16(b, DESC_FLAGS);
    let buffer = Buffer {
        addr,
        len,
        write: flags & F_WRITE != 0,
    };
    (buffer, flags, le16(b, DESC_NEXT))
}

/// Why an INDIRECT descriptor with `flags` and table length `len` cannot
/// be followed, if it cannot.
fn indirect_fault(flags: u16, len: u32, negotiated: bool, nested: bool) -> Option<Fault> {
    if !negotiated {
        Some(Fault::IndirectNotNegotiated)
    } else if nested {
        Some(Fault::NestedIndirect)
    } else if flags & F_NEXT != 0 {
        Some(Fault::IndirectWithNext)
    } else if len == 0 || !(len as u64).is_multiple_of(DESC_SIZE) {
        Some(Fault::BadIndirectLength)
    } else {
        None
    }
}

/// The buffers of the chain at `head` (virtio 2.7.5, 2.7.5.3).
fn walk(dma: &mut dyn Dma, q: &Queue, head: u16, indirect_ok: bool) -> Result<Vec<Buffer>, Stop> {
    let mut out: Vec<Buffer> = Vec::new();
    let (mut table, mut entries, mut idx) = (q.desc, q.size as u32, head as u32);
    let (mut nested, mut steps) = (false, 0u32);
    loop {
        if idx >= entries {
            return Err(Fault::BadIndex.into());
        }
        steps += 1;
        if steps > entries {
            return Err(Fault::TooLong.into());
        }
        let (b, flags, next) = desc(&dma.read(table + idx as u64 * DESC_SIZE, DESC_SIZE as usize)?);
        if flags & F_INDIRECT != 0 {
            if let Some(f) = indirect_fault(flags, b.len, indirect_ok, nested) {
                return Err(f.into());
            }
            (table, entries, idx) = (b.addr, b.len / DESC_SIZE as u32, 0);
            if entries > q.size as u32 {
                return Err(Fault::TooLong.into());
            }
            (nested, steps) = (true, 0);
            continue;
        }
        if !b.write && out.iter().any(|o| o.write) {
            return Err(Fault::ReadableAfterWritable.into());
        }
        if out.len() == MAX_SEGMENTS {
            return Err(Fault::TooLong.into());
        }
        out.push(b);
        if flags & F_NEXT == 0 {
            return Ok(out);
        }
        idx = next as u32;
    }
}

impl NetEngine {
    /// An idle engine with a frame buffer of `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            rings: Default::default(),
            held: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Device reset: the rings start again, held frames are gone.
    pub fn reset(&mut self) {
        *self = Self::new(self.capacity);
    }

    /// Queue reset of `q`: its ring starts again; frames taken from the
    /// transmitq are gone with it.
    pub fn reset_queue(&mut self, q: u16) {
        if let Some(ring) = self.rings.get_mut(q as usize) {
            *ring = Ring::default();
        }
        if q == TRANSMITQ {
            self.held.clear();
        }
    }

    /// Bytes of the held frames.
    fn held_bytes(&self) -> usize {
        self.held
            .iter()
            .map(|f| f.bytes.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// The head of the next available chain of queue `n`, without taking it.
    fn peek(&self, dma: &mut dyn Dma, q: &Queue, n: u16) -> Result<Option<u16>, Stop> {
        let ring = &self.rings[n as usize];
        let ahead = read16(dma, q.driver + AVAIL_IDX)?.wrapping_sub(ring.last_avail);
        if ahead > q.size {
            return Err(Fault::AvailTooFar.into());
        }
        if ahead == 0 {
            return Ok(None);
        }
        let slot = q.driver + AVAIL_RING + 2 * (ring.last_avail % q.size) as u64;
        Ok(Some(read16(dma, slot)?))
    }

    /// Take the chain `peek` returned.
    fn take(&mut self, n: u16) {
        let ring = &mut self.rings[n as usize];
        ring.last_avail = ring.last_avail.wrapping_add(1);
    }

    /// Return chain `id` of queue `n` with `len` bytes written: the used
    /// element, then the used index.
    fn put_used(
        &mut self,
        dma: &mut dyn Dma,
        q: &Queue,
        n: u16,
        id: u16,
        len: u32,
    ) -> Result<(), Stop> {
        let ring = &mut self.rings[n as usize];
        let elem = q.device + USED_RING + USED_ELEM_SIZE * (ring.used_idx % q.size) as u64;
        let mut e = (id as u32).to_le_bytes().to_vec();
        e.extend(len.to_le_bytes());
        dma.write(elem, &e)?;
        ring.used_idx = ring.used_idx.wrapping_add(1);
        dma.write(q.device + USED_IDX, &ring.used_idx.to_le_bytes())
    }

    /// Process everything that can be processed (the caller makes sure the
    /// device is running: DRIVER_OK, bus mastering, no pending reset).
    pub fn run(&mut self, dma: &mut dyn Dma, common: &CommonCfg) -> Result<Outcome, HostError> {
        let mut outcome = Outcome::default();
        match self.run_queues(dma, common, &mut outcome) {
            Ok(()) => {}
            Err(Stop::Fault(f)) => outcome.fault = Some(f),
            Err(Stop::Host(e)) => return Err(e),
        }
        outcome.dropped = std::mem::take(&mut self.dropped);
        Ok(outcome)
    }

    fn run_queues(
        &mut self,
        dma: &mut dyn Dma,
        common: &CommonCfg,
        outcome: &mut Outcome,
    ) -> Result<(), Stop> {
        let features = common.negotiated();
        let indirect_ok = features >> feature::RING_INDIRECT_DESC & 1 != 0;
        let event_idx = features >> feature::RING_EVENT_IDX & 1 != 0;
        let (rxq, txq) = (
            &common.queues[RECEIVEQ as usize],
            &common.queues[TRANSMITQ as usize],
        );
        let moved = self.move_frames(dma, rxq, txq, indirect_ok);
        // Chains completed before a fault are still notified.
        for (n, q) in [(RECEIVEQ, rxq), (TRANSMITQ, txq)] {
            if self.notification(dma, q, n, event_idx)? {
                outcome.notify.push(n);
            }
        }
        moved?;
        if event_idx {
            for (n, q) in [(RECEIVEQ, rxq), (TRANSMITQ, txq)] {
                let last_avail = self.rings[n as usize].last_avail;
                if q.enabled && (n != TRANSMITQ || read16(dma, q.driver + AVAIL_IDX)? == last_avail)
                {
                    let at = q.device + avail_event_offset(q.size);
                    dma.write(at, &self.rings[n as usize].last_avail.to_le_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Whether queue `n` notifies the driver after a run (virtio 2.7.7,
    /// 2.7.10): its used index moved and the driver did not suppress it.
    fn notification(
        &mut self,
        dma: &mut dyn Dma,
        q: &Queue,
        n: u16,
        event_idx: bool,
    ) -> Result<bool, Stop> {
        let ring = self.rings[n as usize];
        if !q.enabled || ring.used_idx == ring.notified_from {
            return Ok(false);
        }
        self.rings[n as usize].notified_from = ring.used_idx;
        if event_idx {
            let used_event = read16(dma, q.driver + used_event_offset(q.size))?;
            Ok(ring::need_event(
                used_event,
                ring.used_idx,
                ring.notified_from,
            ))
        } else {
            Ok(read16(dma, q.driver + AVAIL_FLAGS)? & AVAIL_F_NO_INTERRUPT == 0)
        }
    }

    /// Take transmit chains and deliver held frames while either moves;
    /// a transmit fault lets the held frames go first.
    fn move_frames(
        &mut self,
        dma: &mut dyn Dma,
        rxq: &Queue,
        txq: &Queue,
        indirect_ok: bool,
    ) -> Result<(), Stop> {
        let mut tx_fault = None;
        loop {
            let mut progress = false;
            if tx_fault.is_none() && txq.enabled {
                match self.take_frame(dma, txq, indirect_ok) {
                    Ok(took) => progress |= took,
                    Err(Stop::Fault(f)) => tx_fault = Some(f),
                    Err(e) => return Err(e),
                }
            }
            progress |= self.deliver_front(dma, rxq, txq, indirect_ok)?;
            if !progress {
                return tx_fault.map_or(Ok(()), |f| Err(f.into()));
            }
        }
    }

    /// Take the next transmit chain into the frame buffer if it fits (or
    /// as a dropped frame if it never can); returns whether one was taken.
    fn take_frame(
        &mut self,
        dma: &mut dyn Dma,
        txq: &Queue,
        indirect_ok: bool,
    ) -> Result<bool, Stop> {
        if self.held.len() == FRAME_SLOTS {
            return Ok(false);
        }
        let Some(head) = self.peek(dma, txq, TRANSMITQ)? else {
            return Ok(false);
        };
        let buffers = walk(dma, txq, head, indirect_ok)?;
        if buffers.iter().any(|b| b.write) {
            return Err(Fault::WrongDirection.into());
        }
        let len: u64 = buffers.iter().map(|b| b.len as u64).sum();
        let bytes = if len > self.capacity as u64 {
            None
        } else if self.held_bytes() as u64 + len > self.capacity as u64 {
            return Ok(false);
        } else {
            let mut bytes = Vec::new();
            for b in &buffers {
                bytes.extend(dma.read(b.addr, b.len as usize)?);
            }
            Some(bytes)
        };
        self.take(TRANSMITQ);
        self.held.push_back(Frame { head, bytes });
        Ok(true)
    }

    /// Deliver (or drop) the oldest held frame if a receive chain allows;
    /// returns whether a frame left.
    fn deliver_front(
        &mut self,
        dma: &mut dyn Dma,
        rxq: &Queue,
        txq: &Queue,
        indirect_ok: bool,
    ) -> Result<bool, Stop> {
        let Some(frame) = self.held.front().cloned() else {
            return Ok(false);
        };
        match frame.bytes {
            None => self.dropped += 1,
            Some(bytes) => {
                let Some(head) = (if rxq.enabled {
                    self.peek(dma, rxq, RECEIVEQ)?
                } else {
                    None
                }) else {
                    return Ok(false);
                };
                if self.deliver(dma, rxq, head, bytes, indirect_ok)? {
                    self.take(RECEIVEQ);
                }
            }
        }
        self.held.pop_front();
        self.put_used(dma, txq, TRANSMITQ, frame.head, 0)?;
        Ok(true)
    }

    /// Deliver a frame into the receive chain at `head`, or drop it if the
    /// chain is too small (the chain stays available); returns whether the
    /// chain was used.
    fn deliver(
        &mut self,
        dma: &mut dyn Dma,
        rxq: &Queue,
        head: u16,
        mut bytes: Vec<u8>,
        indirect_ok: bool,
    ) -> Result<bool, Stop> {
        let buffers = walk(dma, rxq, head, indirect_ok)?;
        if buffers.iter().any(|b| !b.write) {
            return Err(Fault::WrongDirection.into());
        }
        let room: u64 = buffers.iter().map(|b| b.len as u64).sum();
        if bytes.len() as u64 > room {
            self.dropped += 1;
            return Ok(false);
        }
        for (at, v) in [
            (HDR_FLAGS, 0),
            (HDR_GSO_TYPE, 0),
            (HDR_NUM_BUFFERS, 1),
            (HDR_NUM_BUFFERS + 1, 0),
        ] {
            if let Some(b) = bytes.get_mut(at) {
                *b = v;
            }
        }
        let mut rest = &bytes[..];
        for b in &buffers {
            let n = rest.len().min(b.len as usize);
            dma.write(b.addr, &rest[..n])?;
            rest = &rest[n..];
        }
        self.put_used(dma, rxq, RECEIVEQ, head, bytes.len() as u32)?;
        Ok(true)
    }
}
