//! The virtio-net driver's data path: random frames out on the transmitq,
//! receive buffers on the receiveq, kicks, interrupts, reaping, and a check
//! of every byte that comes back.
//!
//! Frames are a `virtio_net_hdr` (random bytes) and a random payload, cut
//! into 1..N segments at random byte alignments, some through an indirect
//! table; receive chains are 1..N writable segments, some deliberately too
//! small. The device pairs frames with receive chains in ring order, so the
//! driver knows in advance what must come back where: a frame goes into the
//! first receive chain it fits, a chain too small for the frame at hand
//! drops that frame (and stays for the next). The loopback's receive header
//! has `flags` and `gso_type` 0 and `num_buffers` 1 (virtio 5.1.6.4.1); the
//! rest of the frame comes back unchanged.
//!
//! Reaping happens on interrupts (MSI-X messages or INTx with the ISR) or by
//! polling with interrupts suppressed; either way the driver checks that
//! the device notified exactly when it had to.
//!
//! Now and then the driver interrupts the device mid-traffic: it kicks both
//! queues and, in the same batch, after a random number of harmless reads,
//! clears Bus Master Enable (then sets it again: the work must resume and
//! finish as predicted), resets the device, or resets both queues (the work
//! is abandoned; the driver sets the device or the queues up again and
//! carries on).

use crate::driver::{self, isr_address, notify_address, Driver, DriverOptions};
use crate::endpoint::{Divergence, Endpoint, HostError};
use crate::host::Host;
use crate::probe::Probed;
use crate::rng::Rng;
use crate::tlp::Tlp;
use crate::virtq::{Segment, SplitQueue, Used, VirtqError};
use std::collections::VecDeque;
use vireo_regs::virtio::common;
use vireo_regs::virtio::net::{
    HDR_FLAGS, HDR_GSO_TYPE, HDR_LEN, HDR_NUM_BUFFERS, RECEIVEQ, TRANSMITQ,
};
use vireo_regs::virtio::{feature, NO_VECTOR};
use vireo_regs::{layout, pci};

/// Host memory the driver takes buffers from (above 4 GiB).
pub const BUFFER_BASE: u64 = 0x2_0000_0000;
/// Host memory below 4 GiB for buffers that need 32-bit addresses.
pub const LOW_BUFFER_BASE: u64 = 0x4000_0000;
/// Size of each buffer area; allocation wraps around inside it.
pub const BUFFER_SPAN: u64 = 0x1000_0000;
/// Where indirect tables go.
pub const INDIRECT_BASE: u64 = 0x3_0000_0000;

/// What traffic the driver makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrafficOptions {
    /// Fewest segments per chain.
    pub min_segments: usize,
    /// Most segments per chain.
    pub max_segments: usize,
    /// Cut chains into equal pieces (the last takes the remainder) instead
    /// of at random points.
    pub equal_segments: bool,
    /// Chance of a chain going through an indirect table (when negotiated).
    pub indirect_percent: u8,
    /// Smallest frame (header included).
    pub min_frame: usize,
    /// Largest frame (header included); also the room of a receive chain.
    pub max_frame: usize,
    /// Chance of a receive chain smaller than most frames.
    pub small_rx_percent: u8,
    /// Chance of a buffer below 4 GiB (3-DW request headers).
    pub low_percent: u8,
    /// Chance of a frame larger than the device's frame buffer.
    pub oversize_percent: u8,
    /// Chance per step of interrupting the device mid-traffic.
    pub disrupt_percent: u8,
}

impl Default for TrafficOptions {
    fn default() -> Self {
        Self {
            min_segments: 1,
            max_segments: 4,
            equal_segments: false,
            indirect_percent: 20,
            min_frame: HDR_LEN,
            max_frame: HDR_LEN + 1514,
            small_rx_percent: 2,
            low_percent: 20,
            oversize_percent: 1,
            disrupt_percent: 2,
        }
    }
}

/// How the driver interrupts the device mid-traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disruption {
    /// Bus Master Enable cleared, then set again.
    Pause,
    /// Device reset, then initialisation.
    Reset,
    /// Both queues reset, then set up again.
    QueueReset,
}

/// A frame the device owes the driver a receive chain for.
#[derive(Clone, Debug, PartialEq, Eq)]
struct InFlight {
    tx_head: u16,
    bytes: Vec<u8>,
}

/// What the driver has seen come back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames sent.
    pub sent: u64,
    /// Frames received and checked.
    pub received: u64,
    /// Frames the device dropped (as predicted).
    pub dropped: u64,
    /// Payload bytes received.
    pub bytes: u64,
    /// Interrupts taken.
    pub interrupts: u64,
    /// Frames lost to a device reset mid-traffic.
    pub lost: u64,
    /// Bus Master Enable cleared mid-traffic.
    pub pauses: u64,
    /// Device resets mid-traffic.
    pub resets: u64,
    /// Resets of both queues mid-traffic.
    pub queue_resets: u64,
}

impl Counts {
    /// Every frame sent came back, was dropped as predicted or was lost to
    /// a reset.
    pub fn accounted(&self) -> bool {
        self.sent == self.received + self.dropped + self.lost
    }

    /// Add another run's counts.
    pub fn add(&mut self, o: &Counts) {
        self.sent += o.sent;
        self.received += o.received;
        self.dropped += o.dropped;
        self.bytes += o.bytes;
        self.interrupts += o.interrupts;
        self.lost += o.lost;
        self.pauses += o.pauses;
        self.resets += o.resets;
        self.queue_resets += o.queue_resets;
    }
}

/// The driver's data path.
pub struct Traffic {
    /// Receiveq.
    pub rx: SplitQueue,
    /// Transmitq.
    pub tx: SplitQueue,
    notify: [u64; 2],
    isr: u64,
    rx_dropped_at: u64,
    status_at: u64,
    common_at: u64,
    ring_reset: bool,
    /// Drops counted before the last device reset (the counter restarts).
    dropped_before: u64,
    probed: Probed,
    driver_opts: DriverOptions,
    vectors: [u16; 2],
    msix: bool,
    event_idx: bool,
    indirect: bool,
    opts: TrafficOptions,
    frame_buffer: usize,
    rng: Rng,
    heap: [u64; 2],
    tables: u64,
    /// Frames not yet paired with a receive chain, in transmit order.
    unpaired: VecDeque<InFlight>,
    /// Receive chains not yet paired: head and room.
    rx_free: VecDeque<(u16, u64)>,
    /// Receive chains paired with a frame: head and the bytes due.
    rx_due: VecDeque<(u16, Vec<u8>)>,
    /// Transmit chains in order, and whether their frame is dropped
    /// (None: not yet known).
    tx_due: VecDeque<(u16, Option<bool>)>,
    polling: bool,
    messages_seen: usize,
    /// What came back so far.
    pub counts: Counts,
}

/// The receive header the loopback delivers for a transmitted one.
fn received_header(frame: &mut [u8]) {
    frame[HDR_FLAGS] = 0;
    frame[HDR_GSO_TYPE] = 0;
    frame[HDR_NUM_BUFFERS..HDR_NUM_BUFFERS + 2].copy_from_slice(&1u16.to_le_bytes());
}

/// Why the traffic check failed.
fn fail<T>(msg: String) -> Result<T, HostError> {
    Err(HostError::Expectation(msg))
}

fn ring_error(e: VirtqError) -> HostError {
    HostError::Expectation(e.to_string())
}

impl Traffic {
    /// The data path of an initialised driver of a device with a frame
    /// buffer of `frame_buffer` bytes; rings zeroed and granted.
    pub fn new<E: Endpoint>(
        host: &mut Host<E>,
        driver: &Driver,
        opts: TrafficOptions,
        frame_buffer: usize,
        rng: Rng,
    ) -> Self {
        let setup = |q: u16| driver.queues.iter().find(|s| s.index == q).copied();
        let (rxs, txs) = (
            setup(RECEIVEQ).expect("receiveq"),
            setup(TRANSMITQ).expect("transmitq"),
        );
        let (rx, tx) = (SplitQueue::new(&rxs), SplitQueue::new(&txs));
        rx.setup(&mut host.ep);
        tx.setup(&mut host.ep);
        let p = &driver.probed;
        let device = p.device_cfg.expect("device configuration");
        let device_base = p.bar(device.bar).map_or(0, |b| b.base) + device.offset as u64;
        let common_base = p.bar(p.common.bar).map_or(0, |b| b.base) + p.common.offset as u64;
        let driver_opts = DriverOptions {
            msix: rxs.vector != NO_VECTOR,
            understood: driver.features,
            queue_size: rxs.size.max(txs.size),
        };
        Self {
            rx,
            tx,
            notify: [RECEIVEQ, TRANSMITQ].map(|q| notify_address(p, p.notify_off_multiplier, q)),
            isr: isr_address(p),
            rx_dropped_at: device_base + layout::NET_RX_DROPPED as u64,
            status_at: common_base + common::DEVICE_STATUS as u64,
            common_at: common_base,
            ring_reset: driver.features >> feature::RING_RESET & 1 != 0,
            dropped_before: 0,
            probed: p.clone(),
            driver_opts,
            vectors: [rxs.vector, txs.vector],
            msix: rxs.vector != NO_VECTOR,
            event_idx: driver.features >> feature::RING_EVENT_IDX & 1 != 0,
            indirect: driver.features >> feature::RING_INDIRECT_DESC & 1 != 0,
            opts,
            frame_buffer,
            rng,
            heap: [BUFFER_BASE, LOW_BUFFER_BASE],
            tables: INDIRECT_BASE,
            unpaired: VecDeque::new(),
            rx_free: VecDeque::new(),
            rx_due: VecDeque::new(),
            tx_due: VecDeque::new(),
            polling: false,
            messages_seen: host.ep.messages().len(),
            counts: Counts::default(),
        }
    }

    /// Room for `len` bytes at a random byte alignment.
    fn alloc(&mut self, len: u64) -> u64 {
        let area = self.rng.percent(self.opts.low_percent) as usize;
        let base = [BUFFER_BASE, LOW_BUFFER_BASE][area];
        let skew = self.rng.below(64);
        if self.heap[area] + skew + len > base + BUFFER_SPAN {
            self.heap[area] = base;
        }
        let at = self.heap[area] + skew;
        self.heap[area] = at + len;
        at
    }

    /// Cut `total` bytes into min_segments..=max_segments pieces, at random
    /// points or equal.
    fn cut(&mut self, total: u64) -> Vec<u64> {
        let (min, max) = (self.opts.min_segments as u64, self.opts.max_segments as u64);
        let n = min + self.rng.below(max - min + 1);
        if self.opts.equal_segments {
            let piece = total / n;
            let mut pieces = vec![piece; n as usize];
            pieces[n as usize - 1] = total - piece * (n - 1);
            return pieces;
        }
        let mut points: Vec<u64> = (1..n).map(|_| self.rng.below(total + 1)).collect();
        points.sort_unstable();
        points.push(total);
        let mut last = 0;
        points
            .into_iter()
            .map(|p| {
                let len = p - last;
                last = p;
                len
            })
            .collect()
    }

    /// Post `segments` as one chain of `q`, indirect at random.
    fn post<E: Endpoint>(
        &mut self,
        host: &mut Host<E>,
        tx: bool,
        segments: &[Segment],
    ) -> Result<u16, HostError> {
        let indirect = (self.indirect && self.rng.percent(self.opts.indirect_percent)).then(|| {
            let at = self.tables;
            self.tables = INDIRECT_BASE + (self.tables - INDIRECT_BASE + 0x1000) % BUFFER_SPAN;
            at
        });
        let q = if tx { &mut self.tx } else { &mut self.rx };
        q.post(&mut host.ep, segments, indirect).map_err(ring_error)
    }

    /// Room for `k` more chains of at most `max_segments` descriptors.
    fn has_room(q: &SplitQueue, k: usize, max_segments: usize) -> bool {
        q.free() >= k * max_segments
    }

    /// Post up to `k` random frames and kick the transmitq if the device
    /// asks for it. Returns the number posted.
    pub fn send<E: Endpoint>(&mut self, host: &mut Host<E>, k: usize) -> Result<usize, HostError> {
        let posted = self.post_frames(host, k)?;
        self.pair();
        self.kick(host, TRANSMITQ)?;
        Ok(posted)
    }

    /// Put up to `k` random frames into the transmitq (not yet published).
    fn post_frames<E: Endpoint>(
        &mut self,
        host: &mut Host<E>,
        k: usize,
    ) -> Result<usize, HostError> {
        let mut posted = 0;
        while posted < k && Self::has_room(&self.tx, 1, self.opts.max_segments) {
            let len = if self.rng.percent(self.opts.oversize_percent) {
                (self.frame_buffer + 1) as u64 + self.rng.below(4096)
            } else {
                let (min, max) = (self.opts.min_frame as u64, self.opts.max_frame as u64);
                min + self.rng.below(max - min + 1)
            };
            let bytes: Vec<u8> = (0..len).map(|_| self.rng.next_u32() as u8).collect();
            let mut segments = Vec::new();
            let mut at = 0usize;
            for piece in self.cut(len) {
                let addr = self.alloc(piece);
                host.ep.memory_write(addr, &bytes[at..at + piece as usize]);
                segments.push(Segment {
                    addr,
                    len: piece as u32,
                    write: false,
                });
                at += piece as usize;
            }
            let tx_head = self.post(host, true, &segments)?;
            self.tx_due.push_back((tx_head, None));
            self.unpaired.push_back(InFlight { tx_head, bytes });
            self.counts.sent += 1;
            posted += 1;
        }
        Ok(posted)
    }

    /// Post up to `k` receive chains and kick the receiveq if the device
    /// asks for it. Returns the number posted.
    pub fn refill<E: Endpoint>(
        &mut self,
        host: &mut Host<E>,
        k: usize,
    ) -> Result<usize, HostError> {
        let posted = self.post_buffers(host, k)?;
        self.pair();
        self.kick(host, RECEIVEQ)?;
        Ok(posted)
    }

    /// Put up to `k` receive chains into the receiveq (not yet published).
    fn post_buffers<E: Endpoint>(
        &mut self,
        host: &mut Host<E>,
        k: usize,
    ) -> Result<usize, HostError> {
        let mut posted = 0;
        while posted < k && Self::has_room(&self.rx, 1, self.opts.max_segments) {
            let room = if self.rng.percent(self.opts.small_rx_percent) {
                HDR_LEN as u64 + self.rng.below((self.opts.max_frame - HDR_LEN) as u64)
            } else {
                self.opts.max_frame as u64
            };
            let mut segments = Vec::new();
            for piece in self.cut(room) {
                let addr = self.alloc(piece);
                segments.push(Segment {
                    addr,
                    len: piece as u32,
                    write: true,
                });
            }
            let head = self.post(host, false, &segments)?;
            self.rx_free.push_back((head, room));
            posted += 1;
        }
        Ok(posted)
    }

    /// Pair frames with receive chains as the device will: a frame larger
    /// than the frame buffer is dropped on its own, any other takes the
    /// next receive chain or is dropped if that chain is too small.
    fn pair(&mut self) {
        while let Some(frame) = self.unpaired.front() {
            let oversize = frame.bytes.len() > self.frame_buffer;
            let (rx_head, room) = match self.rx_free.front() {
                _ if oversize => (0, 0),
                Some(&chain) => chain,
                None => return,
            };
            let dropped = frame.bytes.len() as u64 > room;
            let tx_head = frame.tx_head;
            let slot = self
                .tx_due
                .iter_mut()
                .find(|(h, d)| *h == tx_head && d.is_none());
            slot.expect("frame in flight").1 = Some(dropped);
            let mut frame = self.unpaired.pop_front().unwrap();
            if !dropped {
                self.rx_free.pop_front();
                received_header(&mut frame.bytes);
                self.rx_due.push_back((rx_head, frame.bytes));
            }
        }
    }

    /// Publish queue `q`'s new chains and notify the device if it asks.
    fn kick<E: Endpoint>(&mut self, host: &mut Host<E>, q: u16) -> Result<(), HostError> {
        let ring = if q == TRANSMITQ {
            &mut self.tx
        } else {
            &mut self.rx
        };
        if ring.publish(&mut host.ep, self.event_idx) {
            host.mem_write(self.notify[q as usize], 2, q as u64)?;
        }
        Ok(())
    }

    /// Take what the device returned: check interrupts against what was
    /// returned, reap both queues, check every byte, re-arm interrupts (or
    /// keep them suppressed when `polling`).
    pub fn service<E: Endpoint>(
        &mut self,
        host: &mut Host<E>,
        polling: bool,
    ) -> Result<(), HostError> {
        let notified = self.interrupts(host)?;
        let rx = self.rx.reap(&mut host.ep).map_err(ring_error)?;
        let tx = self.tx.reap(&mut host.ep).map_err(ring_error)?;
        let due = [rx.len(), tx.len()].map(|n| !self.polling && n > 0);
        // With INTx both queues share ISR bit 0.
        let due = if self.msix {
            due
        } else {
            [due[0] || due[1]; 2]
        };
        if notified != due {
            return fail(format!(
                "{} receive and {} transmit chains returned with interrupts {}: notified {notified:?}, due {due:?}",
                rx.len(),
                tx.len(),
                if self.polling { "suppressed" } else { "enabled" },
            ));
        }
        self.check_rx(host, &rx)?;
        self.check_tx(&tx)?;
        self.polling = polling;
        // Polling: used_event half the index space away, so that the device
        // stays quiet even when it is already ahead of what was reaped (a
        // value just behind would race with chains in flight).
        for q in [&self.rx, &self.tx] {
            let used_event = if polling {
                q.last_used().wrapping_add(0x8000)
            } else {
                q.last_used()
            };
            q.suppress(&mut host.ep, polling, used_event);
        }
        Ok(())
    }

    /// Which queues notified since the last service.
    fn interrupts<E: Endpoint>(&mut self, host: &mut Host<E>) -> Result<[bool; 2], HostError> {
        if !self.msix {
            let isr = host.mem_read(self.isr, 1)?.cpu_value(1);
            let queue = isr & 1 != 0;
            self.counts.interrupts += queue as u64;
            return Ok([queue, queue]);
        }
        let mut seen = [false; 2];
        let messages = host.ep.messages();
        for m in &messages[self.messages_seen..] {
            let data = m.data.first().copied().unwrap_or(0);
            let vector = data.wrapping_sub(crate::driver::MSI_DATA_BASE) as u16;
            match self.vectors.iter().position(|&v| v == vector) {
                Some(q) => seen[q] = true,
                None => return fail(format!("unexpected interrupt message {m}")),
            }
            self.counts.interrupts += 1;
        }
        self.messages_seen = messages.len();
        Ok(seen)
    }

    /// Every returned receive chain holds its frame.
    fn check_rx<E: Endpoint>(&mut self, host: &Host<E>, used: &[Used]) -> Result<(), HostError> {
        for u in used {
            let Some((head, bytes)) = self.rx_due.pop_front() else {
                return fail(format!(
                    "receive chain {} returned with no frame sent for it",
                    u.chain.head
                ));
            };
            if u.chain.head != head || u.len as usize != bytes.len() {
                return fail(format!(
                    "receive chain {} returned with {} bytes; expected chain {head} with {}",
                    u.chain.head,
                    u.len,
                    bytes.len()
                ));
            }
            let mut got = Vec::new();
            for s in &u.chain.segments {
                let n = (bytes.len() - got.len()).min(s.len as usize);
                got.extend(host.ep.memory().read(s.addr, n));
            }
            if let Some(i) = (0..bytes.len()).find(|&i| got[i] != bytes[i]) {
                return fail(format!(
                    "receive chain {head}: byte {i} of {} is {:#04x}, sent {:#04x}",
                    bytes.len(),
                    got[i],
                    bytes[i]
                ));
            }
            self.counts.received += 1;
            self.counts.bytes += bytes.len() as u64;
        }
        Ok(())
    }

    /// Transmit chains come back in order with length 0.
    fn check_tx(&mut self, used: &[Used]) -> Result<(), HostError> {
        for u in used {
            let Some((head, dropped)) = self.tx_due.pop_front() else {
                return fail(format!("transmit chain {} returned twice", u.chain.head));
            };
            if u.chain.head != head || u.len != 0 {
                return fail(format!(
                    "transmit chain {} returned with length {}; expected chain {head} with 0",
                    u.chain.head, u.len
                ));
            }
            match dropped {
                Some(true) => self.counts.dropped += 1,
                Some(false) => {}
                None => {
                    return fail(format!(
                        "transmit chain {head} returned before a receive chain was there"
                    ))
                }
            }
        }
        Ok(())
    }

    /// The device's drop counter equals the drops the driver predicted.
    pub fn check_dropped<E: Endpoint>(&mut self, host: &mut Host<E>) -> Result<(), HostError> {
        let counter = host.mem_read(self.rx_dropped_at, 4)?.cpu_value(4);
        let since_reset = self.counts.dropped - self.dropped_before;
        if counter != since_reset & 0xFFFF_FFFF {
            return fail(format!(
                "rx_dropped reads {counter}, the driver counted {since_reset} dropped frames since the last reset"
            ));
        }
        Ok(())
    }

    /// Frames sent and not yet returned.
    pub fn in_flight(&self) -> usize {
        self.tx_due.len()
    }

    /// One random driver action: send frames, post receive chains, or
    /// service the queues (switching between interrupts and polling now
    /// and then).
    pub fn step<E: Endpoint>(&mut self, host: &mut Host<E>) -> Result<(), HostError> {
        if self.rng.percent(self.opts.disrupt_percent) {
            return self.disrupt(host);
        }
        let k = 1 + self.rng.below(8) as usize;
        match self.rng.below(3) {
            0 => self.send(host, k).map(|_| ()),
            1 => self.refill(host, k).map(|_| ()),
            _ => {
                let polling = self.rng.percent(20);
                self.service(host, polling)
            }
        }
    }

    /// Post frames and receive chains, then kick both queues and, in the
    /// same batch after 0..47 reads of device_status, clear Bus Master
    /// Enable, reset the device, or (with MSI-X and RING_RESET) reset both
    /// queues.
    fn disrupt<E: Endpoint>(&mut self, host: &mut Host<E>) -> Result<(), HostError> {
        // A queue reset keeps the drop counter, and the RTL may not get to a
        // drop the model made: only when no drop is due or can happen.
        let no_drop = self.tx_due.iter().all(|(_, d)| *d != Some(true))
            && self
                .unpaired
                .iter()
                .all(|f| f.bytes.len() <= self.frame_buffer)
            && self
                .rx_free
                .iter()
                .all(|&(_, room)| room >= self.opts.max_frame as u64);
        let kinds: &[Disruption] = if self.msix && self.ring_reset && no_drop {
            &[Disruption::Pause, Disruption::Reset, Disruption::QueueReset]
        } else {
            &[Disruption::Pause, Disruption::Reset]
        };
        let kind = *self.rng.pick(kinds);
        let k = 1 + self.rng.below(8) as usize;
        let opts = self.opts;
        if kind == Disruption::QueueReset {
            (self.opts.oversize_percent, self.opts.small_rx_percent) = (0, 0);
        }
        self.post_frames(host, k)?;
        self.post_buffers(host, k)?;
        self.opts = opts;
        self.pair();
        self.tx.publish(&mut host.ep, self.event_idx);
        self.rx.publish(&mut host.ep, self.event_idx);
        let mut batch = vec![
            host.mem_request(self.notify[TRANSMITQ as usize], 2, Some(TRANSMITQ as u64)),
            host.mem_request(self.notify[RECEIVEQ as usize], 2, Some(RECEIVEQ as u64)),
        ];
        for _ in 0..self.rng.below(48) {
            batch.push(host.mem_request(self.status_at, 1, None));
        }
        let command = host.cfg_read_ok(pci::hdr::COMMAND as u16, 2)?;
        match kind {
            Disruption::Pause => {
                let id = host.next_id();
                let off = command & !(pci::command::BUS_MASTER as u32);
                let reg = pci::hdr::COMMAND as u16 / 4;
                batch.push(Tlp::cfg_wr0(id, host.target, reg, 0b0011, off));
            }
            Disruption::Reset => batch.push(host.mem_request(self.status_at, 1, Some(0))),
            Disruption::QueueReset => {
                for q in [RECEIVEQ, TRANSMITQ] {
                    let select = self.common_at + common::QUEUE_SELECT as u64;
                    batch.push(host.mem_request(select, 2, Some(q as u64)));
                    let reset = self.common_at + common::QUEUE_RESET as u64;
                    batch.push(host.mem_request(reset, 2, Some(1)));
                }
            }
        }
        host.ep.diverge(if kind == Disruption::Pause {
            Divergence::Deferred
        } else {
            Divergence::Abandoned
        });
        host.ep.transact(&batch)?;
        match kind {
            Disruption::Pause => {
                self.counts.pauses += 1;
                host.cfg_write(pci::hdr::COMMAND as u16, 2, command)?;
                return Ok(());
            }
            Disruption::Reset => {
                self.counts.resets += 1;
                driver::init(host, &self.probed, self.driver_opts).map_err(|e| {
                    HostError::Expectation(format!("initialisation after a reset: {e}"))
                })?;
                self.dropped_before = self.counts.dropped;
            }
            Disruption::QueueReset => {
                self.counts.queue_resets += 1;
                let mut regs = driver::Regs::new(host, &self.probed);
                for q in [RECEIVEQ, TRANSMITQ] {
                    driver::wait_queue_reset(&mut regs, q)
                        .and_then(|_| driver::setup_queue(&mut regs, q, self.driver_opts))
                        .map_err(|e| {
                            HostError::Expectation(format!("queue {q} after its reset: {e}"))
                        })?;
                }
            }
        }
        self.restart(host);
        Ok(())
    }

    /// After the rings were reset: zero them; every frame in flight is lost.
    fn restart<E: Endpoint>(&mut self, host: &mut Host<E>) {
        self.rx.forget(&mut host.ep);
        self.tx.forget(&mut host.ep);
        self.rx.setup(&mut host.ep);
        self.tx.setup(&mut host.ep);
        self.counts.lost += self.tx_due.len() as u64;
        self.unpaired.clear();
        self.rx_free.clear();
        self.rx_due.clear();
        self.tx_due.clear();
        self.polling = false;
        self.messages_seen = host.ep.messages().len();
    }

    /// Post receive chains until every frame sent has come back, then
    /// check the drop counter.
    pub fn drain<E: Endpoint>(&mut self, host: &mut Host<E>) -> Result<(), HostError> {
        for _ in 0..=self.in_flight() + 16 {
            self.service(host, false)?;
            if self.in_flight() == 0 {
                return self.check_dropped(host);
            }
            let free = self.rx.free() / self.opts.max_segments;
            self.refill(host, free.max(1))?;
        }
        fail(format!("{} frames never came back", self.in_flight()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{self, DriverOptions};
    use crate::endpoint::ModelEndpoint;
    use crate::probe::{self, Placement};
    use vireo_regs::DeviceConfig;

    fn model_traffic(opts: DriverOptions, seed: u64, steps: usize) -> Counts {
        let mut host = Host::new(ModelEndpoint::new(&DeviceConfig::default()));
        let probed = probe::probe(&mut host, Placement::default()).unwrap();
        let d = driver::init(&mut host, &probed, opts).unwrap();
        let cfg = DeviceConfig::default();
        let mut t = Traffic::new(
            &mut host,
            &d,
            TrafficOptions::default(),
            cfg.frame_buffer as usize,
            Rng::new(seed),
        );
        for _ in 0..steps {
            t.step(&mut host).unwrap();
        }
        t.drain(&mut host).unwrap();
        t.counts
    }

    #[test]
    fn every_frame_comes_back_or_is_counted_as_dropped() {
        let c = model_traffic(DriverOptions::default(), 1, 300);
        assert!(c.accounted(), "{c:?}");
        assert!(c.received > 100 && c.dropped > 0, "{c:?}");
        assert!(c.pauses + c.resets + c.queue_resets > 0, "{c:?}");
        assert!(c.interrupts > 0);
    }

    #[test]
    fn intx_and_without_ring_features() {
        let mut opts = DriverOptions {
            msix: false,
            ..DriverOptions::default()
        };
        let c = model_traffic(opts, 2, 200);
        assert!(c.accounted(), "{c:?}");
        opts.understood &= !(1 << feature::RING_EVENT_IDX | 1 << feature::RING_INDIRECT_DESC);
        let c = model_traffic(opts, 3, 200);
        assert!(c.accounted(), "{c:?}");
    }
}
