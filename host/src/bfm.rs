//! Root-complex bus functional model around the Verilated endpoint.
//!
//! Sends request TLPs as beats on the `rx_*` stream and collects the TLPs the
//! endpoint sends on `tx_*`, cycle by cycle. Seeded: idle cycles between rx
//! beats, back-pressure on tx, and the don't-care lanes (header on non-sop
//! beats, data in lanes whose strobe is 0) are random but reproducible.
//! With [`Interface::S7`] the same TLPs go through the RTL's Xilinx 7-series
//! adapter instead, in the hard block's AXI4-Stream format ([`crate::s7`]),
//! half of the TLPs that may start at DW 2 of a beat doing so.
//!
//! Each cycle: drive the inputs, evaluate, sample both handshakes and the
//! notification outputs, clock. A request waits at most `timeout_cycles` for
//! its completion. Memory writes from the device (MSI-X messages) are
//! recorded; the network link is up unless an event takes it down.
//!
//! Normally every batch of requests runs until the device is quiet again. In
//! free-running mode (for throughput measurements) a batch of posted
//! requests is only queued, and time advances in [`RootComplex::run`]
//! steps while the device keeps working.

use crate::dma_server::{DmaConfig, DmaServer, DmaStats};
use crate::endpoint::{DeviceEvent, Endpoint, HostError, Notification};
use crate::link::{Link, Pacer};
use crate::memory::{Access, HostMemory, ReadFault};
use crate::rng::Rng;
use crate::s7::{self, RxBeat, TxCollector};
use crate::tlp::{Completion, Tlp};
use std::collections::VecDeque;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};
use vireo_regs::stream::{beats, STRB_WIDTH};
use vireo_sim::Dut;

const _: () = assert!(STRB_WIDTH == 4, "the BFM drives 128-bit data ports as u128");

/// Timing behaviour of the root complex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfmConfig {
    /// Chance, in percent, of an idle cycle before each rx beat.
    pub rx_gap_percent: u8,
    /// Chance, in percent, that `tx_ready` is high in a cycle.
    pub tx_ready_percent: u8,
    /// Cycles a request may wait for its completion.
    pub timeout_cycles: u64,
    /// Quiet cycles after the last request before a batch is complete.
    pub settle_cycles: u64,
    /// Most cycles a batch (or an event) may take in all, however busy the
    /// device keeps the streams: a device that never goes quiet fails.
    pub batch_cycles: u64,
    /// How the root complex completes the device's reads.
    pub dma: DmaConfig,
    /// The link between root complex and device.
    pub link: Link,
    /// Which ports of the RTL the root complex talks to.
    pub interface: Interface,
}

/// Which ports of the co-simulation top the root complex talks to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Interface {
    /// vireo's own TLP streams.
    #[default]
    Native,
    /// The Xilinx 7-series hard block's AXI4-Stream, through the adapter.
    S7,
}

impl Default for BfmConfig {
    fn default() -> Self {
        Self {
            rx_gap_percent: 0,
            tx_ready_percent: 100,
            timeout_cycles: 10_000,
            settle_cycles: 32,
            batch_cycles: 1_000_000,
            dma: DmaConfig::default(),
            link: Link::Ideal,
            interface: Interface::Native,
        }
    }
}

impl BfmConfig {
    /// Random (seeded) stream timing: from full speed to heavy back-pressure.
    pub fn random(rng: &mut Rng) -> Self {
        Self {
            rx_gap_percent: *rng.pick(&[0, 0, 10, 50, 90]),
            tx_ready_percent: *rng.pick(&[100, 100, 70, 30, 5]),
            dma: DmaConfig::random(rng),
            ..Self::default()
        }
    }
}

/// All 128 bits of DW lanes 0 .. n.
fn lanes(n: u32) -> u128 {
    match n {
        0 => 0,
        n => u128::MAX >> (128 - 32 * n),
    }
}

/// A beat of vireo's own TLP streams.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NativeBeat {
    hdr: u128,
    data: u128,
    strb: u8,
    sop: bool,
    eop: bool,
}

impl NativeBeat {
    /// Payload and header DWs of the beat, for the link model.
    fn dws(&self) -> (u32, u32) {
        let header = if self.sop {
            Tlp::from_hdr_bits(self.hdr, Vec::new()).header_dws()
        } else {
            0
        };
        (self.strb.count_ones(), header)
    }
}

/// One beat of the rx stream.
#[derive(Clone, Debug)]
enum Beat {
    Native(NativeBeat),
    S7(RxBeat),
}

impl Beat {
    /// Payload and header DWs of the beat, for the link model.
    fn dws(&self) -> (u32, u32) {
        match self {
            Beat::Native(b) => b.dws(),
            Beat::S7(b) => (b.payload_dws, b.header_dws),
        }
    }
}

impl s7::RxQueue for VecDeque<Beat> {
    fn beats(&self) -> usize {
        self.len()
    }
    fn last(&mut self) -> Option<&mut RxBeat> {
        match self.back_mut() {
            Some(Beat::S7(b)) => Some(b),
            _ => None,
        }
    }
    fn push(&mut self, beat: RxBeat) {
        self.push_back(Beat::S7(beat));
    }
}

/// One beat on the tx stream.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TxBeat {
    Native(NativeBeat),
    S7 {
        tdata: u128,
        tkeep: u16,
        tlast: bool,
    },
}

impl TxBeat {
    /// The beat with its don't-care bits (header after the first beat,
    /// lanes without strobe or keep) cleared.
    fn meaningful(self) -> Self {
        match self {
            TxBeat::Native(b) => TxBeat::Native(NativeBeat {
                hdr: if b.sop { b.hdr } else { 0 },
                data: b.data & lanes(b.strb.count_ones()),
                ..b
            }),
            TxBeat::S7 {
                tdata,
                tkeep,
                tlast,
            } => TxBeat::S7 {
                tdata: tdata & lanes(tkeep.count_ones() / 4),
                tkeep,
                tlast,
            },
        }
    }
}

/// A TLP being received on tx.
struct Partial {
    hdr: u128,
    data: Vec<u32>,
}

/// The root complex with the Verilated endpoint behind it.
pub struct RootComplex {
    dut: Dut,
    rng: Rng,
    cfg: BfmConfig,
    rx_queue: VecDeque<Beat>,
    rx_presenting: bool,
    tx_partial: Option<Partial>,
    tx_s7: TxCollector,
    /// The tx beat presented last cycle and not taken: it must stay.
    tx_waiting: Option<TxBeat>,
    received: Vec<Tlp>,
    progress: bool,
    busy: bool,
    /// Cycles since the device was last busy.
    quiet: u64,
    notifications: Vec<Notification>,
    dma: DmaServer,
    free_running: bool,
    model_time: Duration,
    beats: [u64; 2],
    /// TLPs sent straddling a beat with the previous one (7-series).
    straddled: u64,
    /// The link, towards the device and from it.
    pacers: [Pacer; 2],
}

impl RootComplex {
    /// A fresh endpoint after reset, driven with `cfg` timing from `seed`.
    pub fn new(seed: u64, cfg: BfmConfig) -> Self {
        let mut rc = Self {
            dut: Dut::new(),
            rng: Rng::new(seed),
            cfg,
            rx_queue: VecDeque::new(),
            rx_presenting: false,
            tx_partial: None,
            tx_s7: TxCollector::default(),
            tx_waiting: None,
            received: Vec::new(),
            progress: false,
            busy: false,
            quiet: 0,
            notifications: Vec::new(),
            dma: DmaServer::new(cfg.dma, Rng::new(seed ^ 0xD3A)),
            free_running: false,
            model_time: Duration::ZERO,
            beats: [0; 2],
            straddled: 0,
            pacers: [Pacer::new(cfg.link); 2],
        };
        rc.dut.set_link_up(1);
        rc.dut.set_s7((cfg.interface == Interface::S7) as u64);
        rc.dut.reset(4);
        rc
    }

    /// Write a VCD waveform of the RTL to `path` from now on.
    pub fn trace_to(&mut self, path: &Path) -> std::io::Result<()> {
        self.dut.trace_to(path)
    }

    /// Clock cycles simulated so far.
    pub fn cycles(&self) -> u64 {
        self.dut.cycles()
    }

    /// Wall-clock time spent inside the Verilated model (evaluation and
    /// clock edges) so far.
    pub fn model_time(&self) -> Duration {
        self.model_time
    }

    /// Beats taken so far on the rx stream (into the device) and on the
    /// tx stream (out of it).
    pub fn beats(&self) -> [u64; 2] {
        self.beats
    }

    /// TLPs sent so far that started in the beat where the previous one
    /// ended (7-series interface only).
    pub fn straddled(&self) -> u64 {
        self.straddled
    }

    /// The device's DMA requests served so far.
    pub fn dma_stats(&self) -> DmaStats {
        self.dma.stats
    }

    /// In free-running mode a batch of only posted requests returns as soon
    /// as it is queued, and one with non-posted requests as soon as they
    /// have their completions; time advances in [`RootComplex::run`].
    pub fn free_run(&mut self, on: bool) {
        self.free_running = on;
    }

    /// Whether the device has work in hand: requests still to deliver, a
    /// beat to send, or host reads to complete, or it moved a beat within
    /// the last `settle_cycles`.
    pub fn busy(&self) -> bool {
        self.busy || self.quiet < self.cfg.settle_cycles || !self.rx_queue.is_empty()
    }

    /// The root complex's side of device DMA.
    pub fn dma_mut(&mut self) -> &mut DmaServer {
        &mut self.dma
    }

    /// Advance `cycles` clock cycles, serving the device's DMA, whether or
    /// not the device is busy.
    pub fn run(&mut self, cycles: u64) -> Result<(), HostError> {
        for _ in 0..cycles {
            self.cycle()?;
            if let Some(tlp) = self.take_received()?.pop() {
                return Err(HostError::Unexpected { tlp });
            }
        }
        Ok(())
    }

    /// Host memory, for the comparison.
    pub fn memory_mut(&mut self) -> &mut HostMemory {
        &mut self.dma.memory
    }

    /// The Verilated endpoint.
    pub fn dut(&mut self) -> &mut Dut {
        &mut self.dut
    }

    fn queue(&mut self, tlp: &Tlp) {
        if self.cfg.interface == Interface::S7 {
            let dw2 = self.rng.percent(50);
            let rng = &mut self.rng;
            let straddled = s7::push_rx(
                &mut self.rx_queue,
                self.rx_presenting as usize,
                tlp,
                dw2,
                || rng.next_u128(),
            );
            self.straddled += straddled as u64;
            return;
        }
        let n = beats(tlp.data.len());
        for b in 0..n {
            let lanes = &tlp.data
                [(b * STRB_WIDTH).min(tlp.data.len())..((b + 1) * STRB_WIDTH).min(tlp.data.len())];
            let mut data = self.rng.next_u128();
            for (i, &dw) in lanes.iter().enumerate() {
                data &= !(0xFFFF_FFFFu128 << (32 * i));
                data |= (dw as u128) << (32 * i);
            }
            let hdr = if b == 0 {
                tlp.hdr_bits()
            } else {
                self.rng.next_u128()
            };
            self.rx_queue.push_back(Beat::Native(NativeBeat {
                hdr,
                data,
                strb: ((1u16 << lanes.len()) - 1) as u8,
                sop: b == 0,
                eop: b + 1 == n,
            }));
        }
    }

    /// One clock cycle of the BFM and the endpoint.
    fn cycle(&mut self) -> Result<(), HostError> {
        // rx: a presented beat stays until taken; before presenting the next
        // one, an idle cycle may be drawn.
        if !self.rx_presenting && !self.rx_queue.is_empty() && self.pacers[0].ready() {
            self.rx_presenting = !self.rng.percent(self.cfg.rx_gap_percent);
        }
        let beat = if self.rx_presenting {
            self.rx_queue.front().cloned()
        } else {
            None
        };
        let dut = &mut self.dut;
        let s7 = self.cfg.interface == Interface::S7;
        match &beat {
            Some(Beat::Native(b)) => {
                dut.set_rx_hdr(b.hdr);
                dut.set_rx_data(b.data);
                dut.set_rx_strb(b.strb as u64);
                dut.set_rx_sop(b.sop as u64);
                dut.set_rx_eop(b.eop as u64);
                dut.set_rx_valid(1);
            }
            Some(Beat::S7(b)) => {
                dut.set_m_axis_rx_tdata(b.tdata);
                dut.set_m_axis_rx_tuser(b.tuser);
                dut.set_m_axis_rx_tvalid(1);
            }
            None => {
                dut.set_rx_valid(0);
                dut.set_m_axis_rx_tvalid(0);
            }
        }
        let tx_ready = self.rng.percent(self.cfg.tx_ready_percent) && self.pacers[1].ready();
        dut.set_tx_ready(tx_ready as u64);
        dut.set_s_axis_tx_tready(tx_ready as u64);
        let model_start = Instant::now();
        dut.eval();
        let rx_taken = beat.is_some()
            && if s7 {
                dut.m_axis_rx_tready() == 1
            } else {
                dut.rx_ready() == 1
            };
        let tx_valid = if s7 {
            dut.s_axis_tx_tvalid() == 1
        } else {
            dut.tx_valid() == 1
        };
        let tx_taken = tx_ready && tx_valid;
        let tx_now = tx_valid.then(|| {
            if s7 {
                TxBeat::S7 {
                    tdata: dut.s_axis_tx_tdata(),
                    tkeep: dut.s_axis_tx_tkeep() as u16,
                    tlast: dut.s_axis_tx_tlast() == 1,
                }
            } else {
                TxBeat::Native(NativeBeat {
                    hdr: dut.tx_hdr(),
                    data: dut.tx_data(),
                    strb: dut.tx_strb() as u8,
                    sop: dut.tx_sop() == 1,
                    eop: dut.tx_eop() == 1,
                })
            }
            .meaningful()
        });
        if let Some(waiting) = self.tx_waiting.take() {
            if tx_now.as_ref() != Some(&waiting) {
                return Err(HostError::Malformed {
                    tlp: Tlp::from_hdr_bits(0, vec![]),
                    reason: format!(
                        "the tx beat {waiting:x?} changed or was withdrawn before it was taken"
                    ),
                });
            }
        }
        if !tx_ready {
            self.tx_waiting = tx_now.clone();
        }
        let tx_beat = tx_now.filter(|_| tx_ready);
        if dut.notify_valid() == 1 {
            let n = Notification {
                queue: dut.notify_queue() as u16,
                data: dut.notify_data() as u32,
            };
            self.notifications.push(n);
        }
        dut.tick();
        self.model_time += model_start.elapsed();
        dut.set_irq_valid(0);
        dut.set_dev_error(0);
        self.beats[0] += rx_taken as u64;
        self.beats[1] += tx_taken as u64;
        if let (true, Some(b)) = (rx_taken, &beat) {
            let (data, header) = b.dws();
            self.pacers[0].sent(data, header);
        }
        match &tx_beat {
            Some(TxBeat::Native(b)) => {
                let (data, header) = b.dws();
                self.pacers[1].sent(data, header);
            }
            Some(TxBeat::S7 { tdata, tkeep, .. }) => {
                let dws = tkeep.count_ones() / 4;
                let header = if self.tx_s7.in_tlp() {
                    0
                } else {
                    TxCollector::header_dws(*tdata as u32)
                };
                self.pacers[1].sent(dws.saturating_sub(header), header);
            }
            None => {}
        }
        self.pacers.iter_mut().for_each(Pacer::tick);
        if rx_taken {
            self.rx_queue.pop_front();
            self.rx_presenting = false;
        }
        // A read the host never completes is progress of a sort: the
        // device's completion timeout is running.
        self.progress = rx_taken || tx_taken || self.dma.awaiting_timeout();
        self.busy = self.progress || tx_valid || !self.rx_queue.is_empty() || self.dma.busy();
        self.quiet = if self.busy { 0 } else { self.quiet + 1 };
        for c in self.dma.completions(self.dut.cycles()) {
            self.queue(&c);
        }
        match tx_beat {
            Some(TxBeat::Native(b)) => self.take_tx_beat(b)?,
            Some(TxBeat::S7 {
                tdata,
                tkeep,
                tlast,
            }) => match self.tx_s7.beat(tdata, tkeep, tlast) {
                Ok(Some(tlp)) => self.take_tlp(tlp)?,
                Ok(None) => {}
                Err(reason) => {
                    return Err(HostError::Malformed {
                        tlp: Tlp::from_hdr_bits(0, vec![]),
                        reason: format!("7-series tx: {reason}"),
                    })
                }
            },
            None => {}
        }
        Ok(())
    }

    /// Sort out the TLPs the device sent: MSI-X messages (memory writes) are
    /// recorded, everything else is returned.
    fn take_received(&mut self) -> Result<Vec<Tlp>, HostError> {
        let mut completions = Vec::new();
        for tlp in std::mem::take(&mut self.received) {
            if tlp.is_completion() {
                completions.push(tlp);
            } else {
                self.dma.device_request(&tlp, self.dut.cycles())?;
            }
        }
        Ok(completions)
    }

    /// Run until the device has been idle (nothing moving, nothing waiting
    /// to be sent) for `settle_cycles`.
    fn settle(&mut self) -> Result<(), HostError> {
        let (mut quiet, mut waited) = (0, 0);
        for total in 0.. {
            if quiet >= self.cfg.settle_cycles {
                break;
            }
            if total > self.cfg.batch_cycles {
                return Err(HostError::NeverQuiet { cycles: total });
            }
            self.cycle()?;
            if let Some(tlp) = self.take_received()?.pop() {
                return Err(HostError::Unexpected { tlp });
            }
            quiet = if self.busy { 0 } else { quiet + 1 };
            waited = if self.progress { 0 } else { waited + 1 };
            if waited > self.cfg.timeout_cycles {
                return Err(HostError::Stalled {
                    beats: self.rx_queue.len(),
                    cycles: waited,
                });
            }
        }
        Ok(())
    }

    fn take_tx_beat(&mut self, beat: NativeBeat) -> Result<(), HostError> {
        let NativeBeat {
            hdr,
            data,
            strb,
            sop,
            eop,
        } = beat;
        let partial = match (self.tx_partial.take(), sop) {
            (None, true) => Partial {
                hdr,
                data: Vec::new(),
            },
            (Some(p), false) => p,
            (p, _) => {
                let tlp = p.map_or_else(
                    || Tlp::from_hdr_bits(hdr, vec![]),
                    |p| Tlp::from_hdr_bits(p.hdr, p.data),
                );
                let reason = if sop {
                    "sop inside a TLP"
                } else {
                    "beat without sop"
                };
                return Err(HostError::Malformed {
                    tlp,
                    reason: reason.into(),
                });
            }
        };
        let mut partial = partial;
        if strb.count_ones() != strb.trailing_ones() {
            let tlp = Tlp::from_hdr_bits(partial.hdr, partial.data);
            return Err(HostError::Malformed {
                tlp,
                reason: format!("strobes {strb:04b} not contiguous from DW 0"),
            });
        }
        for i in 0..strb.count_ones() as usize {
            partial.data.push((data >> (32 * i)) as u32);
        }
        if !eop {
            self.tx_partial = Some(partial);
            return Ok(());
        }
        self.take_tlp(Tlp::from_hdr_bits(partial.hdr, partial.data))
    }

    /// A whole TLP from the device: its payload must match its Length.
    fn take_tlp(&mut self, tlp: Tlp) -> Result<(), HostError> {
        let expected = if tlp.has_data() {
            tlp.length_dw() as usize
        } else {
            0
        };
        if tlp.data.len() != expected {
            let reason = format!("{} payload DWs, Length says {expected}", tlp.data.len());
            return Err(HostError::Malformed { tlp, reason });
        }
        self.received.push(tlp);
        Ok(())
    }
}

impl Endpoint for RootComplex {
    fn transact(&mut self, requests: &[Tlp]) -> Result<Vec<Option<Tlp>>, HostError> {
        let mut results: Vec<Option<Tlp>> = vec![None; requests.len()];
        for (i, r) in requests.iter().enumerate() {
            assert!(
                requests[..i]
                    .iter()
                    .all(|o| o.tag() != r.tag() || o.requester_id() != r.requester_id()),
                "tag {:#x} used twice in one batch",
                r.tag()
            );
            self.dma.sent(r);
            self.queue(r);
        }
        if self.free_running && requests.iter().all(|r| !r.is_non_posted()) {
            return Ok(results);
        }
        let (mut waited, mut quiet) = (0u64, 0u64);
        let mut total = 0;
        loop {
            total += 1;
            if total > self.cfg.batch_cycles {
                return Err(HostError::NeverQuiet { cycles: total });
            }
            self.cycle()?;
            for tlp in self.take_received()? {
                let Some(c) = Completion::parse(&tlp) else {
                    return Err(HostError::Unexpected { tlp });
                };
                let owner = requests
                    .iter()
                    .position(|r| r.tag() as u16 == c.tag && r.requester_id() == c.requester_id);
                match owner {
                    Some(i) if results[i].is_none() => {
                        self.dma.completed(c.requester_id, c.tag as u8, c.ok());
                        results[i] = Some(tlp);
                    }
                    _ => return Err(HostError::Unexpected { tlp }),
                }
            }
            let outstanding = requests
                .iter()
                .zip(&results)
                .find(|(r, c)| r.is_non_posted() && c.is_none());
            waited = if self.progress { 0 } else { waited + 1 };
            quiet = if self.busy { 0 } else { quiet + 1 };
            let settled = self.free_running || quiet >= self.cfg.settle_cycles;
            if outstanding.is_none() && self.rx_queue.is_empty() && settled {
                return Ok(results);
            }
            if waited > self.cfg.timeout_cycles {
                return Err(match outstanding {
                    Some((r, _)) => HostError::NoCompletion {
                        request: r.clone(),
                        cycles: waited,
                    },
                    None => HostError::Stalled {
                        beats: self.rx_queue.len(),
                        cycles: waited,
                    },
                });
            }
        }
    }

    fn reset(&mut self) -> Result<(), HostError> {
        self.rx_queue.clear();
        self.rx_presenting = false;
        self.tx_partial = None;
        self.tx_s7 = TxCollector::default();
        self.tx_waiting = None;
        self.dma.reset();
        self.dut.set_rx_valid(0);
        self.dut.set_m_axis_rx_tvalid(0);
        self.dut.reset(4);
        Ok(())
    }

    fn idle(&mut self, cycles: u64) -> Result<(), HostError> {
        self.run(cycles)?;
        self.settle()
    }

    fn intx(&self) -> bool {
        self.dut.intx() == 1
    }

    fn event(&mut self, event: DeviceEvent) -> Result<(), HostError> {
        match event {
            DeviceEvent::Link(up) => self.dut.set_link_up(up as u64),
            DeviceEvent::QueueIrq(queue) => {
                self.dut.set_irq_valid(1);
                self.dut.set_irq_queue(queue as u64);
            }
            DeviceEvent::DeviceError => self.dut.set_dev_error(1),
        }
        self.settle()
    }

    fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    fn messages(&self) -> &[Tlp] {
        &self.dma.messages
    }

    fn memory(&self) -> &HostMemory {
        &self.dma.memory
    }

    fn memory_write(&mut self, addr: u64, data: &[u8]) {
        self.dma.memory.write(addr, data);
    }

    fn grant(&mut self, range: Range<u64>, access: Access) {
        self.dma.containment.grant(range, access);
    }

    fn revoke(&mut self, range: Range<u64>, access: Access) {
        self.dma.containment.revoke(range, access);
    }

    fn inject(&mut self, range: Range<u64>, fault: ReadFault) {
        self.dma.faults.inject(range, fault);
    }
}
