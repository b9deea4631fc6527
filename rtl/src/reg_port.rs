//! The register access port between the BAR router and the register blocks
//! behind the BARs.
//!
//! The master strobes `req` for one cycle with `write`, `offset` (byte offset
//! of the DW inside the target's 4 KiB region), `wmask` (the enabled bytes as
//! a bit mask) and `wdata`. The target answers with a one-cycle `ack`, at
//! least one cycle later, and `rdata` (for a write: the value before it).
//! A target drives `rdata` to 0 whenever `ack` is low, so that the router can
//! OR the targets' answers. Side effects of a read (read-to-clear) apply only
//! to the enabled bytes.

use rust_hdl::prelude::*;

/// Width of a byte offset inside a 4 KiB register region.
pub const REG_OFFSET_BITS: usize = 12;

/// The register block side of a register port.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "RegMaster"]
pub struct RegTarget {
    /// Access strobe.
    pub req: Signal<In, Bit>,
    /// The access is a write.
    pub write: Signal<In, Bit>,
    /// Byte offset of the DW in the region.
    pub offset: Signal<In, Bits<REG_OFFSET_BITS>>,
    /// Enabled bytes as a bit mask.
    pub wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Access done (one cycle).
    pub ack: Signal<Out, Bit>,
    /// Read data with `ack`, else 0.
    pub rdata: Signal<Out, Bits<32>>,
}

/// The router side of a register port.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "RegTarget"]
pub struct RegMaster {
    /// Access strobe.
    pub req: Signal<Out, Bit>,
    /// The access is a write.
    pub write: Signal<Out, Bit>,
    /// Byte offset of the DW in the region.
    pub offset: Signal<Out, Bits<REG_OFFSET_BITS>>,
    /// Enabled bytes as a bit mask.
    pub wmask: Signal<Out, Bits<32>>,
    /// Write data.
    pub wdata: Signal<Out, Bits<32>>,
    /// Access done (one cycle).
    pub ack: Signal<In, Bit>,
    /// Read data with `ack`, else 0.
    pub rdata: Signal<In, Bits<32>>,
}
