//! The `vireo` commands that stand on the host side: generate, lint,
//! enumerate, run scenarios, regress and synthesise the endpoint.
//!
//! The `vireo` binary itself is built by `vireo-bench`, the top of the
//! dependency chain, which adds its `bench` command to these.

use crate::bfm::{BfmConfig, RootComplex};
use crate::driver::{self, DriverOptions};
use crate::endpoint::{Endpoint, ModelEndpoint};
use crate::host::Host;
use crate::lspci;
use crate::probe::{probe, Placement};
use crate::regress::{self, Item};
use crate::regs_view;
use crate::scenario::Scenario;
use crate::synth::{self, Target};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Instant;

/// A host-side `vireo` command.
#[derive(Subcommand)]
pub enum Command {
    /// Write the endpoint's Verilog (top module `top`).
    Gen {
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Lint the generated Verilog with Verilator; fails on any warning.
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
    },
    /// Synthesise the generated Verilog with Yosys and report resources.
    Synth {
        /// Technology.
        #[arg(long, value_enum, default_value_t = Target::Generic)]
        target: Target,
        /// Also write the counts as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn verilog() -> Result<String, String> {
    vireo_rtl::generate_verilog(&vireo_sim::device_config())
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

fn temp_verilog() -> Result<PathBuf, String> {
    let path = std::env::temp_dir().join(format!("vireo-{}.v", std::process::id()));
    std::fs::write(&path, verilog()?)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

fn lint() -> Result<(), String> {
    let path = temp_verilog()?;
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
            format!("cannot run verilator ({e}): install it with `sudo apt-get install verilator`")
        })?;
    let _ = std::fs::remove_file(&path);
    let report = String::from_utf8_lossy(&out.stderr);
    let warnings = report.lines().filter(|l| l.starts_with("%Warning")).count();
    eprint!("{report}");
    if !out.status.success() || warnings > 0 {
        return Err(format!("verilator lint: {warnings} warnings"));
    }
    println!("verilator lint (-Wno-WIDTH -Wno-UNOPTFLAT): clean");
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

fn run(files: &[PathBuf], seed: u64, trace: Option<&PathBuf>) -> Result<(), String> {
    let mut parsed = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        parsed.push(Scenario::parse(&f.display().to_string(), &text).map_err(|e| e.to_string())?);
    }
    for s in &parsed {
        let t = regress::run_scenario(s, seed, trace).map_err(|e| e.to_string())?;
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
    ops: u64,
    steps: u64,
}

fn regress_cmd(a: Amount, trace: Option<&PathBuf>) -> Result<(), String> {
    let Amount {
        seeds,
        first,
        ops,
        steps,
    } = a;
    let start = Instant::now();
    let n = regress::BUILTIN.len();
    println!(
        "regress: {n} scenarios + {ops} random requests + {steps} traffic steps, seeds {first}..{}",
        first + seeds
    );
    let result = regress::regress(first..first + seeds, ops, steps, |seed, t| {
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
                        regress::run_scenario(&s, f.seed, Some(path)).map(|_| ())
                    }
                    Item::Random => regress::run_random(f.seed, ops, Some(path)).map(|_| ()),
                    Item::Traffic => regress::run_traffic(f.seed, steps, Some(path)).map(|_| ()),
                };
                if rerun.is_err() {
                    msg += &format!("\nwaveform of the failing run: {}", path.display());
                }
            } else {
                msg += "\n(rerun with --trace FILE.vcd for a waveform of the failing run)";
            }
            Err(msg)
        }
    }
}

fn synth_cmd(target: Target, json: Option<&Path>) -> Result<(), String> {
    let path = temp_verilog()?;
    eprintln!(
        "synthesising the endpoint with {} for {target:?} ...",
        synth::yosys_command()
    );
    let start = Instant::now();
    let result = synth::synth(&path, target);
    let _ = std::fs::remove_file(&path);
    let r = result?;
    println!("{r}");
    eprintln!("({:.1} s)", start.elapsed().as_secs_f64());
    if let Some(p) = json {
        std::fs::write(p, r.to_json(target) + "\n")
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

/// Run `cmd`; the error is the message for the user.
pub fn run_command(cmd: &Command) -> Result<(), String> {
    match cmd {
        Command::Gen { output } => verilog().and_then(|v| write_out(output, &v)),
        Command::Lint => lint(),
        Command::Lspci { model, output } => dump(*model).and_then(|d| write_out(output, &d)),
        Command::Regs { model, intx } => regs(*model, *intx).map(|r| print!("{r}")),
        Command::Run {
            scenarios,
            seed,
            trace,
        } => run(scenarios, *seed, trace.as_ref()),
        Command::Regress {
            seeds,
            first_seed,
            ops,
            steps,
            trace,
        } => regress_cmd(
            Amount {
                seeds: *seeds,
                first: *first_seed,
                ops: *ops,
                steps: *steps,
            },
            trace.as_ref(),
        ),
        Command::Synth { target, json } => synth_cmd(*target, json.as_deref()),
    }
}
