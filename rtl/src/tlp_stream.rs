//! The TLP stream interface between blocks (the same shape as the endpoint's
//! `rx_*` / `tx_*` ports, see `vireo_regs::stream`): a header valid with
//! `sop`, `DATA_WIDTH` bits of DW-aligned payload, one strobe per DW, `sop`,
//! `eop`, and a `valid` / `ready` handshake (a beat moves when both are high
//! at a rising edge; the sender holds it until then).

use crate::{DATA_WIDTH, STRB_WIDTH};
use rust_hdl::prelude::*;

/// The receiving side of a TLP stream.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "TlpSource"]
pub struct TlpSink {
    /// Header, DW 0 in bits 127:96; valid with `sop`.
    pub hdr: Signal<In, Bits<128>>,
    /// Payload, DW 0 of the beat in bits 31:0.
    pub data: Signal<In, Bits<DATA_WIDTH>>,
    /// Valid payload DWs, contiguous from DW 0.
    pub strb: Signal<In, Bits<STRB_WIDTH>>,
    /// First beat of a TLP.
    pub sop: Signal<In, Bit>,
    /// Last beat of a TLP.
    pub eop: Signal<In, Bit>,
    /// The beat is valid.
    pub valid: Signal<In, Bit>,
    /// The receiver takes the beat.
    pub ready: Signal<Out, Bit>,
}

/// The sending side of a TLP stream.
#[derive(Clone, Debug, Default, LogicInterface)]
#[join = "TlpSink"]
pub struct TlpSource {
    /// Header, DW 0 in bits 127:96; valid with `sop`.
    pub hdr: Signal<Out, Bits<128>>,
    /// Payload, DW 0 of the beat in bits 31:0.
    pub data: Signal<Out, Bits<DATA_WIDTH>>,
    /// Valid payload DWs, contiguous from DW 0.
    pub strb: Signal<Out, Bits<STRB_WIDTH>>,
    /// First beat of a TLP.
    pub sop: Signal<Out, Bit>,
    /// Last beat of a TLP.
    pub eop: Signal<Out, Bit>,
    /// The beat is valid.
    pub valid: Signal<Out, Bit>,
    /// The receiver takes the beat.
    pub ready: Signal<In, Bit>,
}
