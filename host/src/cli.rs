//! The `vireo` commands that stand on the host side: generate, lint,
//! enumerate, run scenarios, regress and synthesise the endpoint, and boot
//! Linux against it.
//!
//! The `vireo` binary itself is built by `vireo-bench`, the top of the
//! dependency chain, which adds its `bench` command to these.

use crate::bfm::{BfmConfig, Interface, RootComplex};
use crate::driver::{self, DriverOptions};
use crate::endpoint::{Endpoint, ModelEndpoint};
use crate::host::Host;
use crate::lspci;
use crate::probe::{probe, Placement};
use crate::regress::{self, Item, Setup};
use crate::regs_view;
use crate::scenario::Scenario;
use crate::synth::{self, Target};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Instant;
use vireo_rtl::Top;

/// A host-side `vireo` command.
#[derive(Subcommand)]
pub enum Command {
    /// Write the endpoint's Verilog (top module `top`).
    Gen {
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// What module `top` is: the endpoint with vireo's TLP ports, the
        /// endpoint behind the Xilinx 7-series AXI4-Stream adapter (for a
        /// `pcie_7x` hard block), or the co-simulation top (both).
        #[arg(long, value_enum, default_value_t = Top::Endpoint)]
        top: Top,
        /// With --top s7: also write the matching `pcie_7x` hard block
        /// settings as Vivado Tcl to this file (for
        /// constraints/xilinx7/vivado_ac701.tcl).
        #[arg(long)]
        tcl: Option<PathBuf>,
    },
    /// Lint the generated Verilog of every top with Verilator; fails on any
    /// warning.
    Lint,
    /// Enumerate the endpoint, then print its 4 KiB configuration space as
    /// `lspci -xxxx` does (decode it with `lspci -F FILE -vvv`).
    Lspci {
        /// Read the golden model instead of the RTL.
        #[arg(long)]
        model: bool,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Enumerate and initialise the device as the virtio driver does, then
    /// print the common and device-specific configuration as named fields.
    Regs {
        /// Read the golden model instead of the RTL.
        #[arg(long)]
        model: bool,
        /// Use INTx instead of MSI-X.
        #[arg(long)]
        intx: bool,
    },
    /// Run scenario files against the RTL and the golden model in lockstep.
    Run {
        /// Scenario files (format: docs/SCENARIOS.md).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Seed of the stream timing (0: full speed).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write a VCD waveform of the RTL to this file.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// The RTL ports to drive: vireo's own TLP streams, or the Xilinx
        /// 7-series hard block's AXI4-Stream through the adapter.
        #[arg(long, value_enum, default_value_t = Interface::Native)]
        interface: Interface,
    },
    /// Run the built-in scenarios, random requests and network traffic for several seeds.
    Regress {
        /// Number of seeds.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        first_seed: u64,
        /// Random requests per seed.
        #[arg(long, default_value_t = 2000)]
        ops: u64,
        /// Steps of network traffic per seed (each posts, kicks or reaps up
        /// to 8 frames or buffers); 0 skips the traffic.
        #[arg(long, default_value_t = 300)]
        steps: u64,
        /// On failure, rerun the failing case writing a VCD waveform here.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// The RTL ports to drive: vireo's own TLP streams, or the Xilinx
        /// 7-series hard block's AXI4-Stream through the adapter.
        #[arg(long, value_enum, default_value_t = Interface::Native)]
        interface: Interface,
    },
    /// Synthesise the generated Verilog with Yosys and report LUT, LUTRAM,
    /// FF, BRAM and DSP counts for the endpoint and per major block; with
    /// --pnr (ecp5) also place and route with nextpnr-ecp5 and report Fmax.
    Synth {
        /// Technology.
        #[arg(long, value_enum, default_value_t = Target::Generic)]
        target: Target,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Only the flattened endpoint total (skips the per-block run).
        #[arg(long)]
        no_blocks: bool,
        /// Place and route for an LFE5UM5G-85F (speed 8) with nextpnr-ecp5
        /// and report the achieved Fmax (ecp5 only; several minutes).
        #[arg(long)]
        pnr: bool,
        /// Target clock for --pnr, MHz.
        #[arg(long, default_value_t = 125.0, value_parser = positive_mhz)]
        freq: f64,
        /// What to synthesise: the endpoint, or the endpoint behind the
        /// Xilinx 7-series adapter (the adapter's cost shows per block).
        #[arg(long, value_enum, default_value_t = Top::Endpoint)]
        top: Top,
    },
    /// Boot User-Mode Linux against the Verilated endpoint: the kernel's own
    /// virtio-pci and virtio_net drivers bind to the RTL, and a test
    /// program in the guest sends frames of every size through the
    /// loopback and checks each byte. Builds the kernel once (a few
    /// minutes; needs linux-source-6.1, busybox-static and build tools).
    Linux {
        /// Frames the guest sends (sizes 60 to 1514 bytes; 1455 cover
        /// every size).
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
        frames: u32,
        /// Also run the golden model in lock-step and compare the
        /// completion of every guest access.
        #[arg(long)]
        model_check: bool,
        /// Write a VCD waveform of the RTL to this file (large).
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Longest the guest may run, in seconds, before it is killed.
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
    },
}

fn positive_mhz(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f.is_finite() => Ok(f),
        _ => Err(format!("`{s}` is not a clock frequency in MHz")),
    }
}

fn verilog(top: Top) -> Result<String, String> {
    vireo_rtl::generate_verilog(&vireo_sim::device_config(), top)
}

fn gen(top: Top, output: &Option<PathBuf>, tcl: Option<&PathBuf>) -> Result<(), String> {
    if tcl.is_some() && top != Top::S7 {
        return Err("--tcl writes the hard block settings of --top s7".into());
    }
    let v = verilog(top)?;
    if let Some(path) = tcl {
        let params = crate::vivado::hard_block_params(&vireo_sim::device_config());
        std::fs::write(path, params)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    write_out(output, &v)
}

fn write_out(output: &Option<PathBuf>, text: &str) -> Result<(), String> {
    match output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Write `text` to a file of this process in the temporary directory.
fn temp_file(name: &str, text: &str) -> Result<PathBuf, String> {
    let path = std::env::temp_dir().join(format!("vireo-{}-{name}", std::process::id()));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn lint() -> Result<(), String> {
    for top in Top::value_variants() {
        let name = top
            .to_possible_value()
            .expect("named")
            .get_name()
            .to_string();
        let path = temp_file(&format!("lint-{name}.v"), &verilog(*top)?)?;
        let out = Process::new("verilator")
            .args([
                "--lint-only",
                "-Wno-WIDTH",
                "-Wno-UNOPTFLAT",
                "--top-module",
                "top",
            ])
            .arg(&path)
            .output()
            .map_err(|e| {
                format!(
                    "cannot run verilator ({e}): install it with `sudo apt-get install verilator`"
                )
            })?;
        let _ = std::fs::remove_file(&path);
        let report = String::from_utf8_lossy(&out.stderr);
        let warnings = report.lines().filter(|l| l.starts_with("%Warning")).count();
        eprint!("{report}");
        if !out.status.success() || warnings > 0 {
            return Err(format!(
                "verilator lint of --top {name}: {warnings} warnings"
            ));
        }
        println!("verilator lint of --top {name} (-Wno-WIDTH -Wno-UNOPTFLAT): clean");
    }
    Ok(())
}

fn dump(model: bool) -> Result<String, String> {
    let description = "Ethernet controller: vireo virtio-net endpoint";
    let cfg = vireo_sim::device_config();
    fn enumerate_and_dump<E: Endpoint>(ep: E, description: &str) -> Result<String, String> {
        let mut host = Host::new(ep);
        probe(&mut host, Placement::default()).map_err(|e| e.to_string())?;
        lspci::dump(&mut host, description).map_err(|e| e.to_string())
    }
    if model {
        enumerate_and_dump(ModelEndpoint::new(&cfg), description)
    } else {
        enumerate_and_dump(RootComplex::new(0, BfmConfig::default()), description)
    }
}

fn regs(model: bool, intx: bool) -> Result<String, String> {
    fn init_and_show<E: Endpoint>(ep: E, msix: bool) -> Result<String, String> {
        let mut host = Host::new(ep);
        let probed = probe(&mut host, Placement::default()).map_err(|e| e.to_string())?;
        let opts = DriverOptions {
            msix,
            ..DriverOptions::default()
        };
        let driver = driver::init(&mut host, &probed, opts).map_err(|e| e.to_string())?;
        regs_view::show(&mut host, &driver).map_err(|e| e.to_string())
    }
    if model {
        init_and_show(ModelEndpoint::new(&vireo_sim::device_config()), !intx)
    } else {
        init_and_show(RootComplex::new(0, BfmConfig::default()), !intx)
    }
}

fn run(files: &[PathBuf], at: Setup, trace: Option<&PathBuf>) -> Result<(), String> {
    let mut parsed = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        parsed.push(Scenario::parse(&f.display().to_string(), &text).map_err(|e| e.to_string())?);
    }
    for s in &parsed {
        let t = regress::run_scenario(s, at, trace).map_err(|e| e.to_string())?;
        println!(
            "{}: {} steps, {} requests, {} cycles: RTL matches the model",
            s.name,
            s.ops.len(),
            t.requests,
            t.cycles
        );
    }
    Ok(())
}

/// How much `regress` runs per seed.
struct Amount {
    seeds: u64,
    first: u64,
    interface: Interface,
    ops: u64,
    steps: u64,
}

fn regress_cmd(a: Amount, trace: Option<&PathBuf>) -> Result<(), String> {
    let Amount {
        seeds,
        first,
        interface,
        ops,
        steps,
    } = a;
    let start = Instant::now();
    let n = regress::BUILTIN.len();
    let port = match interface {
        Interface::Native => "",
        Interface::S7 => ", through the Xilinx 7-series adapter",
    };
    println!(
        "regress: {n} scenarios + {ops} random requests + {steps} traffic steps, seeds {first}..{}{port}",
        first + seeds
    );
    let result = regress::regress(first..first + seeds, interface, ops, steps, |seed, t| {
        println!(
            "  seed {seed:>4}: ok  ({} runs, {} requests, {} cycles, {:.1} s)",
            t.scenarios,
            t.requests,
            t.cycles,
            start.elapsed().as_secs_f64()
        )
    });
    match result {
        Ok(t) => {
            println!(
                "regress: PASS: {} scenario runs, {} seeds of random requests and traffic, {} requests compared, {} cycles in {:.1} s",
                t.scenarios,
                seeds,
                t.requests,
                t.cycles,
                start.elapsed().as_secs_f64()
            );
            let r = &t.random;
            println!(
                                                "         random requests: {} successful, {} refused (UR), {} without completion, {} resets, \
                 {} device events, {} driver inits, {} MSI-X messages, {} notifications",
                r.successful, r.refused, r.silent, r.resets, r.events, r.inits, r.messages, r.notifications
            );
            if interface == Interface::S7 {
                println!(
                    "         7-series adapter: {} TLPs straddled a beat with the previous one",
                    t.straddled
                );
            }
            let c = &t.traffic;
            println!(
                "         network traffic: {} frames sent, {} received and checked ({} payload bytes), {} dropped as predicted, \
                 {} interrupts; mid-traffic: {} Bus Master Enable pauses, {} device resets, {} queue resets ({} frames abandoned)",
                c.sent, c.received, c.bytes, c.dropped, c.interrupts, c.pauses, c.resets, c.queue_resets, c.lost
            );
            Ok(())
        }
        Err(f) => {
            let mut msg = format!("regress: FAIL: {f}");
            if let Some(path) = trace {
                let rerun = match &f.item {
                    Item::Scenario(name) => {
                        let s = regress::builtin()
                            .into_iter()
                            .find(|s| &s.name == name)
                            .expect("builtin");
                        regress::run_scenario(&s, f.at, Some(path)).map(|_| ())
                    }
                    Item::Random => regress::run_random(f.at, ops, Some(path)).map(|_| ()),
                    Item::Traffic => regress::run_traffic(f.at, steps, Some(path)).map(|_| ()),
                };
                msg += &match rerun {
                    Err(_) => format!("\nwaveform of the failing run: {}", path.display()),
                    Ok(()) => format!(
                        "\nthe rerun with a waveform passed (the failure did not repeat); its waveform: {}",
                        path.display()
                    ),
                };
            } else {
                msg += "\n(rerun with --trace FILE.vcd for a waveform of the failing run)";
            }
            Err(msg)
        }
    }
}

fn synth_cmd(top: Top, opts: &synth::Options, json: Option<&Path>) -> Result<(), String> {
    if top == Top::Sim {
        return Err("--top sim is the co-simulation top, not for synthesis".into());
    }
    let text = verilog(top)?;
    let path = temp_file("synth.v", &text)?;
    let what = match top {
        Top::S7 => "the endpoint behind the 7-series adapter",
        _ => "the endpoint",
    };
    eprintln!(
        "synthesising {what} with {} for {} ({}) ...",
        synth::yosys_command(),
        opts.target.name(),
        if opts.blocks {
            "flattened and per block, side by side"
        } else {
            "flattened"
        }
    );
    let start = Instant::now();
    let result = synth::synth(&path, &text, opts);
    let _ = std::fs::remove_file(&path);
    let r = result?;
    println!("{r}");
    eprintln!("({:.1} s)", start.elapsed().as_secs_f64());
    if let Some(p) = json {
        let text = serde_json::to_string_pretty(&r.to_json()).expect("JSON");
        std::fs::write(p, text + "\n").map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

fn linux_cmd(opts: &crate::linux::Options) -> Result<(), String> {
    eprintln!(
        "linux: booting User-Mode Linux against the Verilated endpoint ({} frames{})",
        opts.frames,
        if opts.model_check {
            ", golden model in lock-step"
        } else {
            ""
        }
    );
    let r = crate::linux::run(opts)?;
    for line in r.highlights() {
        println!("  {line}");
    }
    let c = &r.counts;
    let vectors: Vec<String> = c.msi.iter().map(|(d, n)| format!("{d}: {n}")).collect();
    println!(
        "linux: {} config reads, {} config writes, {} BAR reads, {} BAR writes, {} cycles in {:.1} s; \
         MSI messages per guest vector: {}",
        c.cfg[0],
        c.cfg[1],
        c.mmio[0],
        c.mmio[1],
        c.cycles,
        r.seconds,
        if vectors.is_empty() {
            "none".into()
        } else {
            vectors.join(", ")
        }
    );
    if opts.model_check {
        println!(
            "linux: {} guest accesses compared with the golden model",
            r.compared
        );
    }
    if r.passed() {
        println!("linux: PASS: stock virtio_net bound to the RTL and the frame test passed");
        return Ok(());
    }
    let mut msg = String::from("linux: guest console (last lines):\n");
    for l in crate::last_lines(r.console.iter().map(String::as_str), 40) {
        msg += &format!("  | {l}\n");
    }
    msg += &r.last_accesses;
    msg += "linux: FAIL:";
    for f in &r.failures {
        msg += &format!("\n  {f}");
    }
    if opts.trace.is_none() {
        msg += "\n(rerun with --trace FILE.vcd for a waveform)";
    }
    Err(msg)
}

/// Run `cmd`; the error is the message for the user.
pub fn run_command(cmd: &Command) -> Result<(), String> {
    match cmd {
        Command::Gen { output, top, tcl } => gen(*top, output, tcl.as_ref()),
        Command::Lint => lint(),
        Command::Lspci { model, output } => dump(*model).and_then(|d| write_out(output, &d)),
        Command::Regs { model, intx } => regs(*model, *intx).map(|r| print!("{r}")),
        Command::Run {
            scenarios,
            seed,
            trace,
            interface,
        } => run(
            scenarios,
            Setup {
                seed: *seed,
                interface: *interface,
            },
            trace.as_ref(),
        ),
        Command::Regress {
            seeds,
            first_seed,
            ops,
            steps,
            trace,
            interface,
        } => regress_cmd(
            Amount {
                seeds: *seeds,
                first: *first_seed,
                interface: *interface,
                ops: *ops,
                steps: *steps,
            },
            trace.as_ref(),
        ),
        Command::Synth {
            target,
            json,
            no_blocks,
            pnr,
            freq,
            top,
        } => synth_cmd(
            *top,
            &synth::Options {
                target: *target,
                blocks: !no_blocks,
                pnr_mhz: pnr.then_some(*freq),
            },
            json.as_deref(),
        ),
        Command::Linux {
            frames,
            model_check,
            trace,
            timeout,
        } => linux_cmd(&crate::linux::Options {
            frames: *frames,
            model_check: *model_check,
            trace: trace.clone(),
            timeout: std::time::Duration::from_secs(*timeout),
            ..crate::linux::Options::default()
        }),
    }
}
