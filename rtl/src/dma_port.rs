//! Command interfaces of the DMA engines.
//!
//! A read command asks the read engine for `len` (1 ..= 2^17, a frame
//! as large as the largest frame buffer) bytes of
//! host memory at `addr`, delivered into on-chip buffer `target` at byte
//! address `buf`; `done` reports each command in the order given, with
//! `err` if any part failed (error status, poisoned data, timeout). A write
//! command asks the write engine to write `len` bytes to host memory at
//! `addr`, taken from the frame buffer at `buf` or, with `imm`, from
//! `data` (byte 0 in bits 7:0; at most 16 bytes, all within the 16 bytes
//! from the DW of `addr`, `(addr & 3) + len <= 16`; bytes that cross a
//! 4 KiB boundary start at a DW);
//! `done` pulses when the
//! last request of a command has left (posted writes have no completion).
//! Commands move on `valid && ready`.

use crate::byte_buffer::BUF_ADDR_BITS;
use crate::read_order::COOKIE_BITS;
use rust_hdl::prelude::*;

/// Width of a command's byte count.
pub const LEN_BITS: usize = 18;
/// Width of a buffer selector.
pub const TARGET_BITS: usize = 2;
/// Buffer selector: the frame buffer.
pub const TARGET_FRAMES: u64 = 0;
/// Buffer selector: the transmit side's control buffer.
pub const TARGET_TX_CTL: u64 = 1;
/// Buffer selector: the receive side's control buffer.
pub const TARGET_RX_CTL: u64 = 2;
/// Bytes of a control buffer.
pub const CTL_BUFFER_BYTES: usize = 1024;

/// A read client's side.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "ReadServer"]
pub struct ReadClient {
    /// A command is presented.
    pub valid: Signal<Out, Bit>,
    /// The engine takes it.
    pub ready: Signal<In, Bit>,
    /// Host address.
    pub addr: Signal<Out, Bits<64>>,
    /// Bytes (at least 1).
    pub len: Signal<Out, Bits<LEN_BITS>>,
    /// Buffer the data goes to.
    pub target: Signal<Out, Bits<TARGET_BITS>>,
    /// Byte address in that buffer.
    pub buf: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// Returned with `done`.
    pub cookie: Signal<Out, Bits<COOKIE_BITS>>,
    /// A command completed (in order).
    pub done: Signal<In, Bit>,
    /// Its cookie.
    pub done_cookie: Signal<In, Bits<COOKIE_BITS>>,
    /// It failed.
    pub done_err: Signal<In, Bit>,
}

/// The read engine's side.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "ReadClient"]
pub struct ReadServer {
    /// A command is presented.
    pub valid: Signal<In, Bit>,
    /// The engine takes it.
    pub ready: Signal<Out, Bit>,
    /// Host address.
    pub addr: Signal<In, Bits<64>>,
    /// Bytes (at least 1).
    pub len: Signal<In, Bits<LEN_BITS>>,
    /// Buffer the data goes to.
    pub target: Signal<In, Bits<TARGET_BITS>>,
    /// Byte address in that buffer.
    pub buf: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// Returned with `done`.
    pub cookie: Signal<In, Bits<COOKIE_BITS>>,
    /// A command completed (in order).
    pub done: Signal<Out, Bit>,
    /// Its cookie.
    pub done_cookie: Signal<Out, Bits<COOKIE_BITS>>,
    /// It failed.
    pub done_err: Signal<Out, Bit>,
}

/// A write client's side.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "WriteServer"]
pub struct WriteClient {
    /// A command is presented.
    pub valid: Signal<Out, Bit>,
    /// The engine takes it.
    pub ready: Signal<In, Bit>,
    /// Host address.
    pub addr: Signal<Out, Bits<64>>,
    /// Bytes (at least 1; with `imm` at most `16 - (addr & 3)`).
    pub len: Signal<Out, Bits<LEN_BITS>>,
    /// The bytes are `data`, not in the frame buffer.
    pub imm: Signal<Out, Bit>,
    /// Immediate bytes.
    pub data: Signal<Out, Bits<128>>,
    /// Frame buffer address of the first byte.
    pub buf: Signal<Out, Bits<BUF_ADDR_BITS>>,
    /// The command's last request has left.
    pub done: Signal<In, Bit>,
}

/// The write engine's side.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "WriteClient"]
pub struct WriteServer {
    /// A command is presented.
    pub valid: Signal<In, Bit>,
    /// The engine takes it.
    pub ready: Signal<Out, Bit>,
    /// Host address.
    pub addr: Signal<In, Bits<64>>,
    /// Bytes (at least 1; with `imm` at most `16 - (addr & 3)`).
    pub len: Signal<In, Bits<LEN_BITS>>,
    /// The bytes are `data`, not in the frame buffer.
    pub imm: Signal<In, Bit>,
    /// Immediate bytes.
    pub data: Signal<In, Bits<128>>,
    /// Frame buffer address of the first byte.
    pub buf: Signal<In, Bits<BUF_ADDR_BITS>>,
    /// The command's last request has left.
    pub done: Signal<Out, Bit>,
}
