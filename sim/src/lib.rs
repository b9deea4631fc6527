//! The Verilated vireo endpoint behind a small Rust FFI.
//!
//! The build script elaborates the RTL of `vireo-rtl` for the default
//! [`vireo_regs::DeviceConfig`], verilates it and compiles the model; this
//! crate exposes it as [`Dut`], with one setter per input port, one getter per
//! port (named after the port), [`Dut::reset`], [`Dut::tick`] and an optional
//! VCD waveform.
//!
//! Cycle convention: inputs set before [`Dut::tick`] are sampled at its
//! rising edge; outputs read after it show the state after that edge.
#![deny(missing_docs)]

use std::ffi::CString;
use std::path::Path;

#[repr(C)]
struct RawDut {
    _opaque: [u8; 0],
}

extern "C" {
    fn vireo_dut_new() -> *mut RawDut;
    fn vireo_dut_free(d: *mut RawDut);
    fn vireo_dut_tick(d: *mut RawDut, cycles: u64);
    fn vireo_dut_eval(d: *mut RawDut);
    fn vireo_dut_trace_open(d: *mut RawDut, path: *const std::os::raw::c_char) -> i32;
    fn vireo_dut_trace_close(d: *mut RawDut);
}

/// The configuration the model was generated for.
pub fn device_config() -> vireo_regs::DeviceConfig {
    vireo_regs::DeviceConfig::default()
}

/// Path of the Verilog the model was built from.
pub const VERILOG_PATH: &str = env!("VIREO_VERILOG");
/// `verilator --version` of the Verilator that built the model.
pub const VERILATOR_VERSION: &str = env!("VIREO_VERILATOR_VERSION");

/// One instance of the Verilated endpoint.
pub struct Dut {
    raw: *mut RawDut,
    cycles: u64,
}

// The model owns its own VerilatedContext; an instance may move between
// threads (it is never shared).
unsafe impl Send for Dut {}

impl Dut {
    /// A new instance; clock low, inputs zero, state as after power-on.
    pub fn new() -> Self {
        Self {
            raw: unsafe { vireo_dut_new() },
            cycles: 0,
        }
    }

    /// Advance `n` clock cycles (rising then falling edge each).
    pub fn tick_n(&mut self, n: u64) {
        unsafe { vireo_dut_tick(self.raw, n) };
        self.cycles += n;
    }

    /// Advance one clock cycle.
    pub fn tick(&mut self) {
        self.tick_n(1);
    }

    /// Re-evaluate combinational logic after changing inputs, without a clock edge.
    pub fn eval(&mut self) {
        unsafe { vireo_dut_eval(self.raw) };
    }

    /// Hold `rst` high for `cycles` cycles, then release it and run the
    /// one cycle the top's reset register takes to follow, after which the
    /// endpoint is out of reset.
    pub fn reset(&mut self, cycles: u64) {
        self.set_rst(1);
        self.tick_n(cycles.max(1));
        self.set_rst(0);
        self.tick();
    }

    /// Cycles since the instance was created.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Start writing a VCD waveform of every signal to `path`.
    pub fn trace_to(&mut self, path: &Path) -> std::io::Result<()> {
        let c = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        match unsafe { vireo_dut_trace_open(self.raw, c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(std::io::Error::other(format!(
                "cannot open {}",
                path.display()
            ))),
        }
    }

    /// Flush and close the waveform, if one is open.
    pub fn trace_close(&mut self) {
        unsafe { vireo_dut_trace_close(self.raw) };
    }
}

impl Default for Dut {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Dut {
    fn drop(&mut self) {
        unsafe { vireo_dut_free(self.raw) };
    }
}

include!(concat!(env!("OUT_DIR"), "/ports.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_port_is_exposed() {
        for name in [
            "clk", "rst", "rx_hdr", "rx_data", "rx_ready", "tx_hdr", "tx_valid", "tx_ready", "intx",
        ] {
            assert!(PORTS.iter().any(|p| p.0 == name), "{name} missing");
        }
        let hdr = PORTS.iter().find(|p| p.0 == "rx_hdr").unwrap();
        assert_eq!((hdr.1, hdr.2), (true, 128));
    }

    /// A fresh endpoint after reset that has just taken a configuration
    /// read of its ID register (one beat), its completion held back.
    fn after_a_config_read() -> Dut {
        let mut dut = Dut::new();
        dut.set_tx_ready(0);
        dut.reset(4);
        let dw0: u32 = 0x04 << 24 | 1; // CfgRd0, one DW
        let dw1: u32 = 7 << 8 | 0xF; // tag 7, all bytes
        let dw2: u32 = 0x0100 << 16; // bus 1, register 0
        dut.set_rx_hdr((dw0 as u128) << 96 | (dw1 as u128) << 64 | (dw2 as u128) << 32);
        dut.set_rx_sop(1);
        dut.set_rx_eop(1);
        dut.set_rx_valid(1);
        dut.eval();
        assert_eq!(dut.rx_ready(), 1);
        dut.tick();
        dut.set_rx_valid(0);
        dut.eval();
        dut
    }

    #[test]
    fn tick_n_runs_n_clock_cycles() {
        // Cycle by cycle, with an evaluation in between (as the BFM does):
        // the completion shows after `k` cycles.
        let mut dut = after_a_config_read();
        let mut k = 0;
        while dut.tx_valid() == 0 {
            dut.tick();
            dut.eval();
            k += 1;
            assert!(k < 100, "no completion");
        }
        // All at once (the falling edges are evaluated lazily): the same.
        for (n, shown) in [(k - 1, 0), (k, 1)] {
            let mut dut = after_a_config_read();
            dut.tick_n(n);
            dut.eval();
            assert_eq!(dut.tx_valid(), shown, "after tick_n({n}), k = {k}");
        }
    }

    #[test]
    fn trace_to_writes_a_waveform_of_every_half_cycle() {
        let path = std::env::temp_dir().join(format!("vireo-sim-{}.vcd", std::process::id()));
        let mut dut = Dut::new();
        dut.trace_to(&path).unwrap();
        dut.reset(2);
        dut.tick_n(3);
        dut.trace_close();
        let vcd = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(vcd.contains("$enddefinitions"), "no VCD header");
        assert!(
            vcd.contains(" rx_ready "),
            "the ports are not in the waveform"
        );
        // Both edges of the 5 cycles, the low halves included.
        assert!(
            vcd.lines().any(|l| l == "#10"),
            "{} bytes, no time 10",
            vcd.len()
        );
        assert!(Dut::new()
            .trace_to(Path::new("/nonexistent/dir/x.vcd"))
            .is_err());
    }

    #[test]
    fn reset_leaves_the_endpoint_idle_and_ready() {
        let mut dut = Dut::new();
        dut.set_tx_ready(1);
        dut.reset(4);
        dut.tick_n(3);
        assert_eq!(dut.tx_valid(), 0);
        assert_eq!(dut.rx_ready(), 1);
        assert_eq!(dut.intx(), 0);
        // 4 cycles in reset, 1 for the reset register to follow, 3 more.
        assert_eq!(dut.cycles(), 8);
    }
}
