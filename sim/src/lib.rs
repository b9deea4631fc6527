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

    /// Hold `rst` high for `cycles` cycles, then release it.
    pub fn reset(&mut self, cycles: u64) {
        self.set_rst(1);
        self.tick_n(cycles.max(1));
        self.set_rst(0);
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

    #[test]
    fn reset_leaves_the_endpoint_idle_and_ready() {
        let mut dut = Dut::new();
        dut.set_tx_ready(1);
        dut.reset(4);
        dut.tick_n(3);
        assert_eq!(dut.tx_valid(), 0);
        assert_eq!(dut.rx_ready(), 1);
        assert_eq!(dut.intx(), 0);
        assert_eq!(dut.cycles(), 7);
    }
}
