//! The regression's random requests and network traffic through the RTL's
//! Xilinx 7-series adapter, in the hard block's AXI4-Stream format, against
//! the golden model: TLPs straddling beats, payload byte order, back-pressure.

use vireo_host::bfm::Interface;
use vireo_host::regress::{self, Setup};

#[test]
fn requests_and_traffic_pass_the_adapter() {
    for seed in [0, 3] {
        let at = Setup {
            seed,
            interface: Interface::S7,
        };
        let r = regress::run_random(at, 1500, None).unwrap_or_else(|f| panic!("{f}"));
        let t = regress::run_traffic(at, 200, None).unwrap_or_else(|f| panic!("{f}"));
        let c = t.traffic;
        assert!(c.received > 10, "seed {seed}: {c:?}");
        assert!(c.accounted(), "seed {seed}: {c:?}");
        assert!(
            r.straddled + t.straddled > 0,
            "seed {seed}: no TLP straddled a beat"
        );
        eprintln!(
            "seed {seed}: {} requests, {c:?}, {} straddled",
            r.requests,
            r.straddled + t.straddled
        );
    }
}
