//! The endpoint's TLP streams (`rx_*` host -> device, `tx_*` device -> host).
//!
//! Each beat carries `hdr[127:0]` (valid with `sop`), `DATA_WIDTH` bits of
//! payload DW-aligned to payload DW 0 (`data[31:0]` is DW 0 of the beat), one
//! strobe per DW, `sop`, `eop`, `valid`, `ready`. A TLP without payload is one
//! beat; a TLP with N payload DWs is `ceil(N / STRB_WIDTH)` beats.

/// Payload width of a beat in bits (W).
pub const DATA_WIDTH: usize = 128;
/// DWs per beat.
pub const STRB_WIDTH: usize = DATA_WIDTH / 32;

/// Beats of a TLP with `payload_dws` payload DWs.
pub fn beats(payload_dws: usize) -> usize {
    payload_dws.div_ceil(STRB_WIDTH).max(1)
}
