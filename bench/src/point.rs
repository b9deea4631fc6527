//! One measurement: steady-state loopback traffic of one frame size, depth,
//! completion latency and segmentation through the Verilated RTL.
//!
//! The root complex runs free: the driver (the regression's own, polling
//! with interrupts suppressed) keeps `in_flight` frames posted on the
//! transmitq and the receiveq full of chains that fit them exactly, reaps
//! and checks every byte every [`REAP_INTERVAL`] cycles, and kicks only
//! when the device asks for it (EVENT_IDX). Rates are taken in the steady
//! state of each direction: from the first chain the device returns on a
//! queue to the last one it returns while the driver still has frames to
//! post (the drain at the end runs into other limits: with nothing left to
//! read, the frames held in the device leave at the write side's pace).

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant};
use vireo_host::bfm::{BfmConfig, RootComplex};
use vireo_host::dma_server::{DmaConfig, DmaStats, Latency, Split};
use vireo_host::driver::{self, DriverOptions};
use vireo_host::endpoint::HostError;
use vireo_host::host::Host;
use vireo_host::link::Link;
use vireo_host::probe::{probe, Placement};
use vireo_host::rng::Rng;
use vireo_host::traffic::{Traffic, TrafficOptions};
use vireo_regs::dma::FRAME_SLOTS;
use vireo_regs::pci::exp;
use vireo_regs::virtio::net::HDR_LEN;
use vireo_regs::{layout, DeviceConfig};

/// Cycles between two looks of the driver at the used rings.
pub const REAP_INTERVAL: u64 = 16;

/// Clock frequency the rates are converted at.
pub const CLOCK_HZ: f64 = 250e6;

/// Cycles a point may run per frame before it counts as stuck.
const CYCLES_PER_FRAME_LIMIT: u64 = 200_000;

/// What one point measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// Ethernet frame size in bytes (the 12-byte virtio-net header comes on
    /// top and is not counted as payload).
    pub frame: u32,
    /// Transmit chains posted and not yet returned, at most.
    pub in_flight: u16,
    /// Queue size the driver sets for both queues.
    pub queue_size: u16,
    /// Completion latency of host reads, in cycles.
    pub latency: u64,
    /// Descriptors per frame (and per receive chain).
    pub segments: u16,
    /// Frames to send.
    pub frames: u32,
    /// Max_Payload_Size the host sets, in bytes.
    pub mps: u16,
    /// Max_Read_Request_Size the host sets, in bytes.
    pub mrrs: u16,
    /// The link between root complex and device.
    pub link: Link,
    /// Seed of buffer placement and contents.
    pub seed: u64,
}

/// A point's results.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// What was measured.
    pub point: Point,
    /// Frames received back and checked.
    pub frames: u64,
    /// Transmit payload bytes per cycle (steady state).
    pub tx_bytes_per_cycle: f64,
    /// Receive payload bytes per cycle (steady state).
    pub rx_bytes_per_cycle: f64,
    /// Cycles between two received frames (steady state).
    pub cycles_per_frame: f64,
    /// Cycles from the first kick to the first frame back.
    pub first_frame_cycles: u64,
    /// Mean cycles from posting a frame to the driver checking it back
    /// (all frames of the point).
    pub round_trip_cycles: f64,
    /// Cycles simulated in all (enumeration and set-up included).
    pub cycles: u64,
    /// The device's DMA requests during the traffic.
    pub dma: DmaStats,
    /// Share of the traffic's cycles in which the rx stream (into the
    /// device) and the tx stream (out of it) carried a beat.
    pub stream_busy: [f64; 2],
    /// Wall-clock time of the whole point.
    pub wall: Duration,
    /// Of which inside the Verilated model.
    pub model: Duration,
}

impl Measurement {
    /// The smaller of the two directions' payload rates.
    pub fn bytes_per_cycle(&self) -> f64 {
        self.tx_bytes_per_cycle.min(self.rx_bytes_per_cycle)
    }

    /// Simulated cycles per wall-clock second.
    pub fn cycles_per_second(&self) -> f64 {
        self.cycles as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Chains a direction returns before its steady state is counted: the
/// device holds at most this many frames, so by the next return every frame
/// it had read ahead at the first one has left (counting them would credit
/// a point limited before the frame buffer with the buffer's fill).
pub const WARM_UP: u64 = FRAME_SLOTS as u64;

/// Steady-state clock of one direction: when its first chain came back,
/// when its first chain after the warm-up and its last chain did, and the
/// frames in between.
#[derive(Clone, Copy, Debug, Default)]
struct Returns {
    first: Option<u64>,
    from: Option<(u64, u64)>,
    last: (u64, u64),
}

impl Returns {
    /// `count` chains have come back by cycle `now`.
    fn update(&mut self, count: u64, now: u64) {
        if count > 0 && self.first.is_none() {
            self.first = Some(now);
        }
        if count <= WARM_UP {
            return;
        }
        if self.from.is_none() {
            self.from = Some((count, now));
        }
        if count > self.last.0 {
            self.last = (count, now);
        }
    }

    /// Frames per cycle after the warm-up.
    fn rate(&self) -> f64 {
        match self.from {
            Some((n0, t0)) if self.last.1 > t0 => {
                (self.last.0 - n0) as f64 / (self.last.1 - t0) as f64
            }
            _ => 0.0,
        }
    }
}

/// The largest Ethernet frame the device built with `cfg` loops back (its
/// frame buffer holds the frame and the virtio-net header).
pub fn max_frame(cfg: &DeviceConfig) -> u32 {
    cfg.frame_buffer - HDR_LEN as u32
}

/// Set Max_Payload_Size and Max_Read_Request_Size in Device Control, as
/// the host's PCI Express setup does.
fn set_sizes(host: &mut Host<RootComplex>, mps: u16, mrrs: u16) -> Result<(), HostError> {
    let at = (layout::CAP_EXP + exp::DEVCTL) as u16;
    let code = |bytes: u16| (bytes / 128).trailing_zeros();
    let old = host.cfg_read_ok(at, 2)?;
    let fields = (exp::SIZE_FIELD_MASK as u32) << exp::DEVCTL_MPS_SHIFT
        | (exp::SIZE_FIELD_MASK as u32) << exp::DEVCTL_MRRS_SHIFT;
    let new =
        old & !fields | code(mps) << exp::DEVCTL_MPS_SHIFT | code(mrrs) << exp::DEVCTL_MRRS_SHIFT;
    host.cfg_write(at, 2, new)?;
    Ok(())
}

/// Run `p` through the Verilated RTL built for `cfg`, writing a VCD
/// waveform to `trace` if given.
pub fn measure(p: &Point, cfg: &DeviceConfig, trace: Option<&Path>) -> Result<Measurement, String> {
    let start = Instant::now();
    let bfm = BfmConfig {
        dma: DmaConfig {
            latency: Latency::Fixed(p.latency),
            split: Split::Rcb,
        },
        timeout_cycles: 10_000 + 4 * p.latency,
        link: p.link,
        ..BfmConfig::default()
    };
    let mut host = Host::new(RootComplex::new(p.seed, bfm));
    if let Some(path) = trace {
        host.ep.trace_to(path).map_err(|e| e.to_string())?;
    }
    let probed = probe(&mut host, Placement::default()).map_err(|e| e.to_string())?;
    set_sizes(&mut host, p.mps, p.mrrs).map_err(|e| e.to_string())?;
    let mut opts = DriverOptions {
        queue_size: p.queue_size,
        ..DriverOptions::default()
    };
    opts.sending_chains_of(HDR_LEN + p.frame as usize, cfg.mtu);
    let driver = driver::init(&mut host, &probed, opts).map_err(|e| e.to_string())?;
    traffic(&mut host, &driver, p, cfg, start).map_err(|e| e.to_string())
}

/// The traffic of `p` on an initialised device.
fn traffic(
    host: &mut Host<RootComplex>,
    driver: &driver::Driver,
    p: &Point,
    cfg: &DeviceConfig,
    start: Instant,
) -> Result<Measurement, HostError> {
    let chain = HDR_LEN + p.frame as usize;
    let traffic_opts = TrafficOptions {
        min_segments: p.segments as usize,
        max_segments: p.segments as usize,
        equal_segments: true,
        indirect_percent: 0,
        min_frame: chain,
        max_frame: chain,
        small_rx_percent: 0,
        oversize_percent: 0,
        disrupt_percent: 0,
        ..TrafficOptions::default()
    };
    let mut t = Traffic::new(
        host,
        driver,
        traffic_opts,
        cfg.frame_buffer as usize,
        Rng::new(p.seed ^ 0xB3AC),
    );
    // Interrupts suppressed from here on: the driver polls.
    t.service(host, true)?;
    host.ep.free_run(true);
    let (cycles0, dma0, beats0) = (host.ep.cycles(), host.ep.dma_stats(), host.ep.beats());
    let (mut rx, mut tx) = (Returns::default(), Returns::default());
    let frames = p.frames as u64;
    let limit = cycles0 + CYCLES_PER_FRAME_LIMIT * frames + 100 * p.latency;
    let mut sent = 0u64;
    // When each frame still out was posted (frames come back in order),
    // and the cycles from post to check summed.
    let (mut posted, mut round_trip) = (VecDeque::new(), 0u64);
    while t.counts.received < frames {
        let steady = sent < frames;
        let room = p.in_flight as usize - t.in_flight().min(p.in_flight as usize);
        let k = room.min((frames - sent) as usize);
        if k > 0 {
            let n = t.send(host, k)?;
            posted.extend(std::iter::repeat_n(host.ep.cycles(), n));
            sent += n as u64;
        }
        let chains = t.rx.free() / p.segments as usize;
        if chains > 0 {
            t.refill(host, chains)?;
        }
        host.ep.run(REAP_INTERVAL)?;
        t.service(host, true)?;
        let now = host.ep.cycles();
        let out = (sent - t.counts.received) as usize;
        round_trip += posted
            .drain(..posted.len() - out)
            .map(|at| now - at)
            .sum::<u64>();
        if steady {
            rx.update(t.counts.received, now);
            tx.update(t.counts.sent - t.in_flight() as u64, now);
        }
        if now > limit {
            return Err(HostError::Expectation(format!(
                "{} of {frames} frames back after {} cycles",
                t.counts.received,
                now - cycles0
            )));
        }
    }
    host.ep.free_run(false);
    let (span, beats1) = ((host.ep.cycles() - cycles0).max(1) as f64, host.ep.beats());
    let stream_busy = [0, 1].map(|i| (beats1[i] - beats0[i]) as f64 / span);
    t.check_dropped(host)?;
    let bytes = p.frame as f64;
    let rx_rate = rx.rate();
    if rx_rate == 0.0 || tx.rate() == 0.0 {
        return Err(HostError::Expectation(format!(
            "{frames} frames came back in too few steps after the first {WARM_UP} to time the steady state: run more frames (--frames)"
        )));
    }
    Ok(Measurement {
        point: *p,
        frames: t.counts.received,
        tx_bytes_per_cycle: tx.rate() * bytes,
        rx_bytes_per_cycle: rx_rate * bytes,
        cycles_per_frame: 1.0 / rx_rate,
        first_frame_cycles: rx.first.map_or(0, |c| c - cycles0),
        round_trip_cycles: round_trip as f64 / t.counts.received.max(1) as f64,
        cycles: host.ep.cycles(),
        dma: host.ep.dma_stats().since(&dma0),
        stream_busy,
        wall: start.elapsed(),
        model: host.ep.model_time(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Settings;

    #[test]
    fn the_rate_starts_after_the_frames_the_device_may_hold() {
        let mut r = Returns::default();
        // The frames read ahead leave in a burst: not counted.
        for (count, now) in [(1, 1000), (4, 1010), (WARM_UP, 1020)] {
            r.update(count, now);
        }
        assert_eq!(r.rate(), 0.0);
        // Then one frame per 100 cycles.
        for k in 1..=10 {
            r.update(WARM_UP + k, 1020 + 100 * k);
        }
        assert_eq!(r.rate(), 1.0 / 100.0);
    }

    #[test]
    fn frames_that_do_not_fit_the_buffer_whole_are_read_as_room_frees() {
        // Two of these frames and half of a third fit the frame buffer:
        // the third's first pieces are read while the first still leaves,
        // so the completion latency is hidden as it is for smaller frames.
        let cfg = DeviceConfig::default();
        let frame = 50_000;
        assert!(3 * (frame + HDR_LEN as u32) > cfg.frame_buffer);
        let cycles = |latency| {
            let p = Point {
                frame,
                latency,
                frames: 120,
                ..Settings::default().base
            };
            measure(&p, &cfg, None).unwrap().cycles_per_frame
        };
        let (near, far) = (cycles(0), cycles(500));
        assert!(
            far < near * 1.01,
            "{near} cycles per frame with no latency, {far} at 500"
        );
    }
}
