//! The configuration space as `lspci -xxxx` prints it, so that
//! `lspci -F FILE -vvv` decodes it.

use crate::endpoint::{Endpoint, HostError};
use crate::host::{Host, Outcome};
use std::fmt::Write;
use vireo_regs::pci::CONFIG_SPACE_BYTES;

/// Read all 4 KiB through configuration reads and format them.
pub fn dump<E: Endpoint>(host: &mut Host<E>, description: &str) -> Result<String, HostError> {
    let mut out = String::new();
    writeln!(out, "{} {description}", host.target).unwrap();
    for line in 0..CONFIG_SPACE_BYTES / 16 {
        write!(out, "{:02x}:", line * 16).unwrap();
        for dw in 0..4 {
            let value = match host.cfg_read_dw((line * 4 + dw) as u16, 0xF)? {
                Outcome::Done(v) => v as u32,
                _ => u32::MAX,
            };
            for byte in value.to_le_bytes() {
                write!(out, " {byte:02x}").unwrap();
            }
        }
        out.push('\n');
    }
    Ok(out)
}
