//! The 128-bit AXI4-Stream user interface of the Xilinx 7-series
//! Integrated Block for PCI Express (PG054), as the user logic sees it.
//!
//! Receive (`m_axis_rx_*`): `tuser` bit 1 poisoned, 8:2 BAR hit, 14:10
//! `is_sof`, 21:17 `is_eof`; `tlast` and `tkeep` are unused at this width.
//! Transmit (`s_axis_tx_*`): `tkeep` per byte in whole DWs, `tlast` on the
//! last beat, `tuser` bit 0 ECRC generate, 1 poisoned, 2 streaming, 3
//! discontinue. [`crate::s7_rx_align`] and [`crate::s7_tx_pack`] say how TLPs
//! are framed.

use crate::DATA_WIDTH;
use rust_hdl::prelude::*;

/// `m_axis_rx_tuser` width.
pub const RX_USER_BITS: usize = 22;
/// `s_axis_tx_tkeep` width: one bit per byte.
pub const TX_KEEP_BITS: usize = DATA_WIDTH / 8;
/// `s_axis_tx_tuser` width.
pub const TX_USER_BITS: usize = 4;

/// `m_axis_rx_*`, host -> device.
#[derive(Clone, Debug, Default, LogicInterface)]
pub struct S7RxAxis {
    /// DW 0 of the beat in bits 31:0, each DW's first byte in bits 31:24.
    pub tdata: Signal<In, Bits<DATA_WIDTH>>,
    /// Side band: TLP boundaries, BAR hits, errors.
    pub tuser: Signal<In, Bits<RX_USER_BITS>>,
    /// The beat is valid.
    pub tvalid: Signal<In, Bit>,
    /// The user logic takes the beat.
    pub tready: Signal<Out, Bit>,
}

/// `s_axis_tx_*`, device -> host.
#[derive(Clone, Debug, Default, LogicInterface)]
pub struct S7TxAxis {
    /// DW 0 of the beat in bits 31:0, each DW's first byte in bits 31:24.
    pub tdata: Signal<Out, Bits<DATA_WIDTH>>,
    /// Valid bytes.
    pub tkeep: Signal<Out, Bits<TX_KEEP_BITS>>,
    /// Last beat of a TLP.
    pub tlast: Signal<Out, Bit>,
    /// ECRC, poison, streaming, discontinue.
    pub tuser: Signal<Out, Bits<TX_USER_BITS>>,
    /// The beat is valid.
    pub tvalid: Signal<Out, Bit>,
    /// The hard block takes the beat.
    pub tready: Signal<In, Bit>,
}
