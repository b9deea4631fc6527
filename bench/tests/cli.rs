//! The `vireo` command line, end to end.

use std::process::Command;

fn vireo(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vireo"))
        .args(args)
        .output()
        .expect("run vireo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("vireo-test-{}-{name}", std::process::id()))
}

/// `vireo bench`: a size sweep of `sizes` with no read latency and the
/// `extra` options, in a directory of its own; whether it succeeded, its
/// output, and its `bench.csv` (empty if none was written).
fn size_sweep(name: &str, sizes: &str, extra: &[&str]) -> (bool, String, String, String) {
    let dir = temp(name);
    let args = [
        "bench",
        "--sweep",
        "size",
        "--sizes",
        sizes,
        "--size-latencies",
        "0",
    ];
    let out = ["--out", dir.to_str().unwrap()];
    let (ok, stdout, stderr) = vireo(&[&args[..], extra, &out].concat());
    let csv = std::fs::read_to_string(dir.join("bench.csv")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(dir);
    (ok, stdout, stderr, csv)
}

#[test]
fn gen_writes_the_verilog_top() {
    let path = temp("top.v");
    let (ok, _, err) = vireo(&["gen", "-o", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    let v = std::fs::read_to_string(&path).unwrap();
    assert!(
        v.contains("module top(clk,rst,rx_hdr,"),
        "top module and its ports"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn the_generated_verilog_lints_clean() {
    let (ok, out, err) = vireo(&["lint"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("clean"));
}

#[test]
fn lspci_decodes_the_rtl_configuration_space() {
    let path = temp("lspci.txt");
    let (ok, _, err) = vireo(&["lspci", "-o", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    let dump = std::fs::read_to_string(&path).unwrap();
    let (ok_model, model, _) = vireo(&["lspci", "--model"]);
    assert!(ok_model);
    assert_eq!(dump, model, "RTL and model dumps differ");
    let lspci = Command::new("lspci")
        .args(["-F", path.to_str().unwrap(), "-vvv"])
        .output()
        .expect("lspci (Debian package pciutils) is needed for this test");
    let text = String::from_utf8_lossy(&lspci.stdout);
    for needle in [
        "Virtio 1.0 network device (rev 01)",
        "Region 0: Memory at fe000000 (64-bit, non-prefetchable)",
        "Region 2: Memory at fe004000 (32-bit, non-prefetchable)",
        "VirtIO: CommonCfg",
        "BAR=0 offset=00000000 size=00000040",
        "VirtIO: Notify",
        "BAR=0 offset=00003000 size=00000008 multiplier=00000004",
        "VirtIO: ISR",
        "BAR=0 offset=00001000 size=00000001",
        "VirtIO: DeviceCfg",
        "BAR=0 offset=00002000 size=0000000c",
        "MSI-X: Enable- Count=3 Masked-",
        "Vector table: BAR=2 offset=00000000",
        "PBA: BAR=2 offset=00000800",
        "Power Management version 3",
        "Express (v2) Endpoint",
        "MaxPayload 512 bytes",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn run_reports_scenario_errors_with_their_line() {
    let path = temp("bad.scn");
    std::fs::write(&path, "probe\ncfg_read 0x03 2\n").unwrap();
    let (ok, _, err) = vireo(&["run", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("bad.scn:2: a 2-byte access at 0x3 is not naturally aligned"),
        "{err}"
    );
    let (ok, _, err) = vireo(&["run", "/nonexistent/x.scn"]);
    assert!(
        !ok && err.contains("cannot read /nonexistent/x.scn"),
        "{err}"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn run_passes_a_good_scenario() {
    let path = temp("good.scn");
    std::fs::write(&path, "probe\nmem_read bar0+0x0 4 expect 0\n").unwrap();
    let (ok, out, err) = vireo(&["run", path.to_str().unwrap(), "--seed", "3"]);
    assert!(ok, "{err}");
    assert!(out.contains("RTL matches the model"));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn bad_options_are_rejected_before_anything_runs() {
    let (ok, _, err) = vireo(&["regress", "--seeds", "0"]);
    assert!(!ok && err.contains("--seeds"), "{err}");
    let (ok, _, err) = vireo(&["synth", "--target", "asic"]);
    assert!(
        !ok && err.contains("possible values: generic, ecp5, xilinx7"),
        "{err}"
    );
}

#[test]
fn synth_reports_resources() {
    let json = temp("synth.json");
    let (ok, out, err) = vireo(&[
        "synth",
        "--target",
        "generic",
        "--no-blocks",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let luts: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("total (flattened)"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(luts > 100, "{out}");
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("\"target\": \"generic\""), "{text}");
    assert!(text.contains(&format!("\"lut\": {luts}")), "{text}");
    std::fs::remove_file(json).unwrap();
    // Place and route is for ECP5 only, refused before anything runs.
    let (ok, _, err) = vireo(&["synth", "--target", "xilinx7", "--pnr"]);
    assert!(!ok && err.contains("--target ecp5 only"), "{err}");
    let (ok, _, err) = vireo(&["synth", "--top", "sim"]);
    assert!(!ok && err.contains("not for synthesis"), "{err}");
}

#[test]
fn regs_shows_an_initialised_device() {
    for args in [&["regs"][..], &["regs", "--model", "--intx"][..]] {
        let (ok, out, err) = vireo(args);
        assert!(ok, "{err}");
        for needle in [
            "device_status        0x0f  ACKNOWLEDGE DRIVER FEATURES_OK DRIVER_OK",
            "num_queues           2",
            "VERSION_1",
            "queue 1: size 256",
            "mac                  02:56:49:52:45:4f",
            "status               0x0001  LINK_UP",
            "mtu                  1500",
        ] {
            assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
        }
    }
}

/// The simulated columns of a bench CSV (the wall-clock ones dropped).
fn simulated_columns(csv: &str) -> Vec<String> {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let wall = ["wall_seconds", "cycles_per_second", "model_fraction"];
    csv.lines()
        .map(|l| {
            l.split(',')
                .zip(&header)
                .filter(|(_, h)| !wall.contains(h))
                .map(|(v, _)| v)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn bench_writes_checked_results_that_do_not_depend_on_the_thread_count() {
    let small = [
        "bench",
        "--sweep",
        "size,segments",
        "--sizes",
        "64,700",
        "--size-latencies",
        "0,250",
        "--segments",
        "1,3",
        "--base-frame",
        "700",
        "--base-in-flight",
        "8",
        "--frames",
        "64",
    ];
    let mut runs = Vec::new();
    for jobs in ["1", "2"] {
        let dir = temp(&format!("bench-{jobs}"));
        let d = dir.to_str().unwrap();
        let (ok, out, err) = vireo(&[&small[..], &["--jobs", jobs, "--out", d]].concat());
        assert!(ok, "{out}{err}");
        assert!(
            out.contains("against the goals") && out.contains("bench.csv"),
            "{out}"
        );
        for f in [
            "bench.json",
            "throughput_vs_frame_size.png",
            "throughput_vs_frame_size.svg",
            "throughput_vs_segments.svg",
            "cosim_speed.png",
        ] {
            assert!(dir.join(f).exists(), "{f} missing: {out}");
        }
        runs.push(std::fs::read_to_string(dir.join("bench.csv")).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
    // 2 sizes x 2 latencies, plus the segment sweep's 3-segment point (its
    // 1-segment point is the 700 B / 250-cycle point of the size sweep).
    assert_eq!(runs[0].lines().count(), 1 + 5, "{}", runs[0]);
    assert_eq!(simulated_columns(&runs[0]), simulated_columns(&runs[1]));
    let header: Vec<&str> = runs[0].lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for line in runs[0].lines().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        let rate: f64 = v[col("rx_bytes_per_cycle")].parse().unwrap();
        assert!(rate > 0.0 && rate <= 16.0, "{line}");
        assert_eq!(v[col("frames")], "64", "every frame back and checked");
        let reads: u64 = v[col("read_requests")].parse().unwrap();
        assert!(reads >= 64, "at least one read per frame: {line}");
    }
}

#[test]
fn bench_refuses_bad_values_before_simulating() {
    for (args, msg) in [
        (&["--sizes", "0"][..], "frame size 0 B"),
        (&["--sizes", "140000"], "frame buffer"),
        (&["--sizes=-5"], "invalid"),
        (&["--queue-size", "300"], "power of two"),
        (&["--in-flight", "0"], "at least 1"),
        (
            &["--base-in-flight", "200", "--segments", "2"],
            "more than the queue size",
        ),
        (&["--latencies", "100000000"], "completion timeout"),
        (&["--frames", "64"], "more than 64 are needed"),
        (&["--jobs", "0"], "--jobs"),
        (&["--sweep", "colour"], "possible values"),
        (&["--trace", "/tmp/x.vcd"], "one point"),
        (&["--mps", "1024"], "max payload size"),
        (&["--link", "gen5x16"], "possible values"),
    ] {
        let (ok, out, err) = vireo(&[&["bench", "--out", "/nonexistent/x"][..], args].concat());
        assert!(!ok && err.contains(msg), "{args:?}: {out}{err}");
        assert!(!err.contains("points on"), "{args:?} started: {err}");
    }
}

#[test]
fn a_point_too_short_to_time_fails_with_a_hint() {
    // 20 frames, 8 in flight: the returns after the warm-up come back in
    // one step of the driver, so there is no steady state to time.
    let (ok, out, err, _) = size_sweep(
        "too-short",
        "64",
        &["--base-in-flight", "8", "--frames", "20"],
    );
    assert!(
        !ok && err.contains("run more frames (--frames)"),
        "{out}{err}"
    );
}

#[test]
fn frames_that_fill_the_frame_buffer_come_back_intact_with_no_latency() {
    // The transmit side reuses a frame's bytes in the frame buffer only
    // once the write engine has read them out, and the header patch of the
    // frame before stops once its bytes may hold a later frame (both found
    // with the engine's command queue, which takes a frame's used elements
    // before its data has left; the sixteenth 8192 B frame wraps onto the
    // first bytes of the first, and two 65524 B frames, 64 KiB with their
    // headers, fill the 128 KiB buffer).
    let (ok, out, err, _) = size_sweep(
        "full-buffer",
        "8192,32756,65524",
        &["--base-in-flight", "8", "--frames", "40"],
    );
    assert!(ok && !err.contains("failed"), "{out}{err}");
}

#[test]
fn a_gen3_x4_link_limits_large_frames() {
    let rate = |link: &str| {
        let (ok, out, err, csv) = size_sweep(
            &format!("link-{link}"),
            "4096",
            &["--frames", "512", "--link", link],
        );
        assert!(ok, "{out}{err}");
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
        let col = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
        assert_eq!(col("link"), link);
        col("tx_bytes_per_cycle").parse::<f64>().unwrap()
    };
    let (ideal, x4) = (rate("ideal"), rate("gen3x4"));
    // Completions of 64 bytes carry 12 header and 8 framing bytes each.
    assert!(
        x4 < ideal && x4 < 15.44 * 64.0 / 84.0,
        "gen3x4 {x4}, ideal {ideal}"
    );
}

#[test]
fn s7_top_matches_the_ac701_wrapper_and_the_hard_block_settings() {
    let (v, tcl) = (temp("vireo_s7.v"), temp("vireo_pcie.tcl"));
    let (ok, _, err) = vireo(&[
        "gen",
        "--top",
        "s7",
        "-o",
        v.to_str().unwrap(),
        "--tcl",
        tcl.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let verilog = std::fs::read_to_string(&v).unwrap();
    let header = verilog
        .lines()
        .find(|l| l.starts_with("module top("))
        .unwrap();
    let mut ports: Vec<&str> = header["module top(".len()..header.len() - 2]
        .split(',')
        .collect();
    ports.sort();
    // Every port of the generated top is connected by the board wrapper,
    // and nothing else.
    let wrapper = include_str!("../../constraints/xilinx7/vireo_ac701.v");
    let inst = &wrapper[wrapper.find("top vireo (").unwrap()..];
    let inst = &inst[..inst.find(");").unwrap()];
    let mut connected: Vec<&str> = inst
        .split('.')
        .skip(1)
        .map(|p| p.split('(').next().unwrap())
        .collect();
    connected.sort();
    assert_eq!(ports, connected);
    let params = std::fs::read_to_string(&tcl).unwrap();
    assert!(
        params.contains("dict set vireo_pcie Device_ID {1041}"),
        "{params}"
    );
    // Only the 7-series top has hard block settings.
    let (ok, _, err) = vireo(&["gen", "--tcl", tcl.to_str().unwrap()]);
    assert!(!ok && err.contains("--top s7"), "{err}");
    for f in [v, tcl] {
        std::fs::remove_file(f).unwrap();
    }
}
