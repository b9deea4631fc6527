//! Stock Linux drives the RTL: User-Mode Linux's virtio-pci and virtio_net
//! drivers bind to the Verilated endpoint, and the guest's frame test sends
//! frames of every size (60 to 1514 bytes) through the loopback and checks
//! every byte. The kernel is built once and cached (see docs/LINUX.md); the
//! machine needs linux-source-6.1, busybox-static and the kernel's build
//! tools, which `.ci/run` installs.
//!
//! Both runs share one kernel; they run one after the other, as two guests
//! at once would only compete for the two cores.

use std::time::Duration;
use vireo_host::linux::{self, Options, Report};

fn show(r: &Report) -> String {
    let tail = vireo_host::last_lines(r.console.iter().map(String::as_str), 40);
    format!(
        "failures: {:?}\n{}\nconsole:\n{}",
        r.failures,
        r.last_accesses,
        tail.join("\n")
    )
}

#[test]
fn stock_linux_runs_the_frame_test_through_the_rtl() {
    // Every frame size once (1455 frames at MTU 1500), the golden model
    // answering every guest access too.
    let opts = Options {
        frames: 1455,
        model_check: true,
        ..Options::default()
    };
    let r = linux::run(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.passed(), "{}", show(&r));
    assert!(r.compared > 300, "only {} accesses compared", r.compared);
    // One MSI-X vector per queue at least (input and output).
    assert!(r.counts.msi.len() >= 2, "{:?}", r.counts.msi);
    eprintln!(
        "{} cycles, {:.1} s, {} accesses compared, MSI {:?}",
        r.counts.cycles, r.seconds, r.compared, r.counts.msi
    );

    // A guest that overstays its time is killed, and the run fails with
    // its console output.
    let opts = Options {
        frames: 1_000_000,
        timeout: Duration::from_secs(3),
        ..Options::default()
    };
    let r = linux::run(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(!r.passed());
    assert!(
        r.failures.iter().any(|f| f.contains("killed")),
        "{:?}",
        r.failures
    );
    assert!(
        r.console.iter().any(|l| l.contains("Run /init")),
        "{}",
        show(&r)
    );
}
