//! Network traffic through the RTL and the golden model in lockstep.

use vireo_host::bfm::RootComplex;
use vireo_host::driver::{self, DriverOptions};
use vireo_host::endpoint::ModelEndpoint;
use vireo_host::host::Host;
use vireo_host::lockstep::Lockstep;
use vireo_host::probe::{self, Placement};
use vireo_host::rng::Rng;
use vireo_host::traffic::{Traffic, TrafficOptions};
use vireo_regs::virtio::feature;

fn run(seed: u64, steps: usize, opts: DriverOptions) {
    let cfg = vireo_sim::device_config();
    let rtl = RootComplex::new(seed, vireo_host::regress::timing(seed));
    let mut host = Host::new(Lockstep::new(rtl, ModelEndpoint::new(&cfg)));
    let probed = probe::probe(&mut host, Placement::default()).unwrap();
    let d = driver::init(&mut host, &probed, opts).unwrap();
    let mut t = Traffic::new(
        &mut host,
        &d,
        TrafficOptions::default(),
        cfg.frame_buffer as usize,
        Rng::new(seed),
    );
    for step in 0..steps {
        if let Err(e) = t.step(&mut host) {
            panic!("seed {seed} step {step}: {e}");
        }
    }
    t.drain(&mut host)
        .unwrap_or_else(|e| panic!("seed {seed} drain: {e}"));
    assert!(t.counts.received > 10, "{:?}", t.counts);
    eprintln!(
        "seed {seed}: {:?}, {} cycles",
        t.counts,
        host.ep.rtl.cycles()
    );
}

#[test]
fn frames_loop_back_through_the_rtl_as_in_the_model() {
    for seed in 0..6 {
        run(seed, 300, DriverOptions::default());
    }
}

#[test]
fn intx_and_without_ring_features_as_in_the_model() {
    let intx = DriverOptions {
        msix: false,
        ..DriverOptions::default()
    };
    run(11, 200, intx);
    let mut plain = DriverOptions::default();
    plain.understood &= !(1 << feature::RING_EVENT_IDX | 1 << feature::RING_INDIRECT_DESC);
    run(12, 200, plain);
}
