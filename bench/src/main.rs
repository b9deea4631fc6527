//! `vireo`: generate, lint, enumerate, regress, benchmark and synthesise
//! the endpoint.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use vireo_bench::command::{bench, BenchArgs};
use vireo_host::cli::{run_command, Command};

#[derive(Parser)]
#[command(
    name = "vireo",
    version,
    about = "vireo: a virtio-pci PCI Express endpoint in RustHDL, co-simulated against a golden model"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    #[command(flatten)]
    Host(Command),
    /// Measure loopback throughput on the RTL: sweeps of frame size, host
    /// read latency, frames in flight and descriptors per frame; writes
    /// CSV, JSON and plots (PNG, SVG).
    Bench(BenchArgs),
}

fn main() -> ExitCode {
    let result = match &Cli::parse().command {
        Cmd::Host(c) => run_command(c),
        Cmd::Bench(a) => bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
