//! Register file behind the BARs: the virtio structures in BAR 0/1 and the
//! MSI-X table and PBA in BAR 2.
//!
//! No registers are mapped into the BARs yet: every read returns 0 and
//! writes have no effect. The access port matches the completer's
//! (`req` strobe, `ack` one cycle later).

use crate::bar_decode::BAR_OFFSET_BITS;
use rust_hdl::prelude::*;

/// The BAR register file.
#[derive(LogicBlock, Default)]
pub struct BarSpace {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Access strobe.
    pub req: Signal<In, Bit>,
    /// The access is to the MSI-X BAR (else the virtio BAR).
    pub msix: Signal<In, Bit>,
    /// Byte offset of the DW inside the BAR.
    pub offset: Signal<In, Bits<BAR_OFFSET_BITS>>,
    /// The access is a write.
    pub write: Signal<In, Bit>,
    /// Byte-enable mask.
    pub wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Access done.
    pub ack: Signal<Out, Bit>,
    /// Read data, valid with `ack`.
    pub rdata: Signal<Out, Bits<32>>,
    ack_r: DFF<Bit>,
}

impl Logic for BarSpace {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, ack_r);
        self.ack_r.d.next = self.req.val();
        if self.rst.val() {
            self.ack_r.d.next = false;
        }
        self.ack.next = self.ack_r.q.val();
        self.rdata.next = 0.into();
    }
}
