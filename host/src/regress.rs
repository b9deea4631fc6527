//! The regression: built-in scenarios, random requests and network traffic,
//! each run for a number of seeds, RTL against the golden model.
//!
//! Seed 0 drives the streams at full speed; other seeds draw the rx gaps,
//! tx back-pressure, completion latency and splitting from the seed. The
//! random requests and the traffic use the seed too; the traffic's driver
//! setup rotates with the seed (see [`traffic_driver`]).

use crate::bfm::{BfmConfig, Interface, RootComplex};
use crate::driver::{self, DriverOptions};
use crate::endpoint::ModelEndpoint;
use crate::fuzz::{self, FuzzStats};
use crate::host::Host;
use crate::lockstep::Lockstep;
use crate::probe::{self, Placement};
use crate::rng::Rng;
use crate::scenario::{Runner, Scenario};
use crate::traffic::{Counts, Traffic, TrafficOptions};
use std::fmt;
use std::path::PathBuf;
use vireo_regs::virtio::feature;

/// The scenarios shipped with vireo (host/scenarios/).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "enumeration.scn",
        include_str!("../scenarios/enumeration.scn"),
    ),
    (
        "bar_sizing.scn",
        include_str!("../scenarios/bar_sizing.scn"),
    ),
    (
        "bar_relocation.scn",
        include_str!("../scenarios/bar_relocation.scn"),
    ),
    (
        "memory_enable.scn",
        include_str!("../scenarios/memory_enable.scn"),
    ),
    (
        "readonly_fields.scn",
        include_str!("../scenarios/readonly_fields.scn"),
    ),
    (
        "w1c_status.scn",
        include_str!("../scenarios/w1c_status.scn"),
    ),
    (
        "byte_enables.scn",
        include_str!("../scenarios/byte_enables.scn"),
    ),
    (
        "reserved_space.scn",
        include_str!("../scenarios/reserved_space.scn"),
    ),
    (
        "pci_cfg_window.scn",
        include_str!("../scenarios/pci_cfg_window.scn"),
    ),
    ("bad_tlps.scn", include_str!("../scenarios/bad_tlps.scn")),
    ("power_on.scn", include_str!("../scenarios/power_on.scn")),
    (
        "express_cap.scn",
        include_str!("../scenarios/express_cap.scn"),
    ),
    (
        "common_cfg.scn",
        include_str!("../scenarios/common_cfg.scn"),
    ),
    (
        "device_status.scn",
        include_str!("../scenarios/device_status.scn"),
    ),
    (
        "queue_reset.scn",
        include_str!("../scenarios/queue_reset.scn"),
    ),
    ("isr_intx.scn", include_str!("../scenarios/isr_intx.scn")),
    ("msix.scn", include_str!("../scenarios/msix.scn")),
    ("notify.scn", include_str!("../scenarios/notify.scn")),
    ("net_cfg.scn", include_str!("../scenarios/net_cfg.scn")),
    (
        "ring_loopback.scn",
        include_str!("../scenarios/ring_loopback.scn"),
    ),
    (
        "ring_faults.scn",
        include_str!("../scenarios/ring_faults.scn"),
    ),
    (
        "dma_errors.scn",
        include_str!("../scenarios/dma_errors.scn"),
    ),
    (
        "ring_control.scn",
        include_str!("../scenarios/ring_control.scn"),
    ),
    ("ring_wrap.scn", include_str!("../scenarios/ring_wrap.scn")),
    (
        "frame_buffer_wrap.scn",
        include_str!("../scenarios/frame_buffer_wrap.scn"),
    ),
    (
        "ring_before_driver_ok.scn",
        include_str!("../scenarios/ring_before_driver_ok.scn"),
    ),
];

/// A run: its seed and the RTL ports the root complex talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The seed.
    pub seed: u64,
    /// The interface.
    pub interface: Interface,
}

impl Setup {
    /// `seed` on vireo's own TLP ports.
    pub fn native(seed: u64) -> Self {
        Self {
            seed,
            interface: Interface::Native,
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}", self.seed)?;
        if self.interface == Interface::S7 {
            write!(f, " (7-series adapter)")?;
        }
        Ok(())
    }
}

/// The stream timing of `at`.
pub fn timing(at: Setup) -> BfmConfig {
    let cfg = if at.seed == 0 {
        BfmConfig::default()
    } else {
        BfmConfig::random(&mut Rng::new(at.seed))
    };
    BfmConfig {
        interface: at.interface,
        ..cfg
    }
}

/// RTL and model in lockstep for `at`, with an optional RTL waveform.
pub fn lockstep(at: Setup, trace: Option<&PathBuf>) -> std::io::Result<Lockstep> {
    lockstep_with(at, timing(at), trace)
}

/// [`lockstep`] with the root complex's timing `bfm`.
fn lockstep_with(at: Setup, bfm: BfmConfig, trace: Option<&PathBuf>) -> std::io::Result<Lockstep> {
    let mut rtl = RootComplex::new(at.seed, bfm);
    if let Some(path) = trace {
        rtl.trace_to(path)?;
    }
    Ok(Lockstep::new(
        rtl,
        ModelEndpoint::new(&vireo_sim::device_config()),
    ))
}

/// What a run exercised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A scenario (by name).
    Scenario(String),
    /// Random requests.
    Random,
    /// Network traffic.
    Traffic,
}

/// A failed run.
#[derive(Debug)]
pub struct Failure {
    /// Its seed and interface.
    pub at: Setup,
    /// The run that failed.
    pub item: Item,
    /// What failed, with the step.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl std::error::Error for Failure {}

/// Totals of a successful run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    /// Scenario runs.
    pub scenarios: u64,
    /// Requests compared.
    pub requests: u64,
    /// RTL clock cycles simulated.
    pub cycles: u64,
    /// TLPs sent straddling a beat with the previous one (7-series).
    pub straddled: u64,
    /// Outcomes of the random requests.
    pub random: FuzzStats,
    /// What the network traffic carried.
    pub traffic: Counts,
}

impl Totals {
    fn add(&mut self, ls: &Lockstep) {
        self.requests += ls.requests;
        self.cycles += ls.rtl.cycles();
        self.straddled += ls.rtl.straddled();
    }

    fn merge(&mut self, t: &Totals) {
        self.scenarios += t.scenarios;
        self.requests += t.requests;
        self.cycles += t.cycles;
        self.straddled += t.straddled;
        self.random.add(&t.random);
        self.traffic.add(&t.traffic);
    }
}

/// Run `scenario` with `at`.
pub fn run_scenario(
    scenario: &Scenario,
    at: Setup,
    trace: Option<&PathBuf>,
) -> Result<Totals, Failure> {
    let fail = |message: String| Failure {
        at,
        item: Item::Scenario(scenario.name.clone()),
        message,
    };
    let mut runner = Runner::new(lockstep(at, trace).map_err(|e| fail(e.to_string()))?);
    runner.run(scenario).map_err(|e| fail(e.to_string()))?;
    let mut t = Totals {
        scenarios: 1,
        ..Totals::default()
    };
    t.add(&runner.host.ep);
    Ok(t)
}

/// Run `ops` random requests with `at`.
pub fn run_random(at: Setup, ops: u64, trace: Option<&PathBuf>) -> Result<Totals, Failure> {
    let fail = |message: String| Failure {
        at,
        item: Item::Random,
        message,
    };
    let mut host = Host::new(lockstep(at, trace).map_err(|e| fail(e.to_string()))?);
    let mut rng = Rng::new(at.seed ^ 0xF022);
    let random =
        fuzz::run(&mut host, &mut rng, ops).map_err(|e| fail(format!("random requests: {e}")))?;
    let mut t = Totals {
        random,
        ..Totals::default()
    };
    t.add(&host.ep);
    Ok(t)
}

/// The driver setup of the traffic for `seed`: MSI-X with every feature,
/// except every fourth seed from 2 on takes INTx and every fourth from 3 on
/// declines EVENT_IDX and INDIRECT_DESC.
pub fn traffic_driver(seed: u64) -> DriverOptions {
    let mut opts = DriverOptions::default();
    match seed % 4 {
        2 => opts.msix = false,
        3 => opts.understood &= !(1 << feature::RING_EVENT_IDX | 1 << feature::RING_INDIRECT_DESC),
        _ => {}
    }
    opts
}

/// Run `steps` steps of network traffic with `at`, then drain it: every
/// frame must come back byte for byte (or be dropped as predicted).
pub fn run_traffic(at: Setup, steps: u64, trace: Option<&PathBuf>) -> Result<Totals, Failure> {
    run_traffic_with(at, steps, TrafficOptions::default(), trace)
}

/// [`run_traffic`] with the frames and chains of `opts` (a driver that
/// sends frames above the MTU has not accepted VIRTIO_NET_F_MTU). A host
/// access waits for the device to go quiet, which takes longer the larger
/// the frames it is busy with: the root complex gives up on a busy device
/// after as many more cycles.
pub fn run_traffic_with(
    at: Setup,
    steps: u64,
    opts: TrafficOptions,
    trace: Option<&PathBuf>,
) -> Result<Totals, Failure> {
    let seed = at.seed;
    let fail = |message: String| Failure {
        at,
        item: Item::Traffic,
        message,
    };
    let cfg = vireo_sim::device_config();
    let default_frame = TrafficOptions::default().max_frame as u64;
    let timing = timing(at);
    let bfm = BfmConfig {
        batch_cycles: timing.batch_cycles * (opts.max_frame as u64).div_ceil(default_frame),
        ..timing
    };
    let mut host = Host::new(lockstep_with(at, bfm, trace).map_err(|e| fail(e.to_string()))?);
    let probed = probe::probe(&mut host, Placement::default())
        .map_err(|e| fail(format!("traffic: probe: {e}")))?;
    let mut driver_opts = traffic_driver(seed);
    driver_opts.sending_chains_of(opts.max_frame, cfg.mtu);
    let d = driver::init(&mut host, &probed, driver_opts)
        .map_err(|e| fail(format!("traffic: driver init: {e}")))?;
    let mut t = Traffic::new(
        &mut host,
        &d,
        opts,
        cfg.frame_buffer as usize,
        Rng::new(seed),
    );
    for step in 0..steps {
        t.step(&mut host)
            .map_err(|e| fail(format!("traffic step {step}: {e}")))?;
    }
    t.drain(&mut host)
        .map_err(|e| fail(format!("traffic drain after {steps} steps: {e}")))?;
    let mut total = Totals {
        traffic: t.counts,
        ..Totals::default()
    };
    total.add(&host.ep);
    Ok(total)
}

/// The built-in scenarios, parsed.
pub fn builtin() -> Vec<Scenario> {
    BUILTIN
        .iter()
        .map(|(name, text)| Scenario::parse(name, text).expect("built-in scenario parses"))
        .collect()
}

/// Every built-in scenario, `ops` random requests and `steps` steps of
/// network traffic for each seed in `seeds` on `interface`; `progress`
/// hears about each finished seed.
pub fn regress(
    seeds: std::ops::Range<u64>,
    interface: Interface,
    ops: u64,
    steps: u64,
    mut progress: impl FnMut(u64, &Totals),
) -> Result<Totals, Failure> {
    let scenarios = builtin();
    let mut total = Totals::default();
    for seed in seeds {
        let at = Setup { seed, interface };
        for s in &scenarios {
            total.merge(&run_scenario(s, at, None)?);
        }
        total.merge(&run_random(at, ops, None)?);
        if steps > 0 {
            total.merge(&run_traffic(at, steps, None)?);
        }
        progress(seed, &total);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_is_built_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".scn"))
            .collect();
        files.sort();
        let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        names.sort();
        assert_eq!(files, names);
    }
}
