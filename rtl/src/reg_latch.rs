//! Register access latch: holds one access of a register port until the
//! block that owns the registers serves it, and merges the written bytes
//! into the addressed DW's current value.
//!
//! A `req` strobe loads `write`, `offset`, `wmask`, `wdata` and raises
//! `pending`; `take` (the owner served the access) drops it. `merged` is
//! `current` with the enabled bytes replaced by the written ones; `written`
//! is the written data with the bytes not enabled cleared.
//!
//! Timing: the access shows on the outputs the cycle after `req`; `merged`
//! is combinational from `current`.

use crate::reg_port::REG_OFFSET_BITS;
use rust_hdl::prelude::*;

/// Holds one register access.
#[derive(LogicBlock, Default)]
pub struct RegLatch {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Access strobe of the port.
    pub req: Signal<In, Bit>,
    /// The access is a write.
    pub req_write: Signal<In, Bit>,
    /// Byte offset of the DW.
    pub req_offset: Signal<In, Bits<REG_OFFSET_BITS>>,
    /// Enabled bytes as a bit mask.
    pub req_wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub req_wdata: Signal<In, Bits<32>>,
    /// The owner served the held access.
    pub take: Signal<In, Bit>,
    /// Current value of the addressed DW.
    pub current: Signal<In, Bits<32>>,
    /// An access is held.
    pub pending: Signal<Out, Bit>,
    /// The held access is a write.
    pub write: Signal<Out, Bit>,
    /// Its byte offset.
    pub offset: Signal<Out, Bits<REG_OFFSET_BITS>>,
    /// Its enabled bytes.
    pub wmask: Signal<Out, Bits<32>>,
    /// Its enabled bytes of data (others 0).
    pub written: Signal<Out, Bits<32>>,
    /// `current` with the enabled bytes written.
    pub merged: Signal<Out, Bits<32>>,
    held: DFF<Bit>,
    held_write: DFF<Bit>,
    held_offset: DFF<Bits<REG_OFFSET_BITS>>,
    held_wmask: DFF<Bits<32>>,
    held_wdata: DFF<Bits<32>>,
}

impl Logic for RegLatch {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            held,
            held_write,
            held_offset,
            held_wmask,
            held_wdata
        );
        if self.take.val() {
            self.held.d.next = false;
        }
        if self.req.val() {
            self.held.d.next = true;
            self.held_write.d.next = self.req_write.val();
            self.held_offset.d.next = self.req_offset.val();
            self.held_wmask.d.next = self.req_wmask.val();
            self.held_wdata.d.next = self.req_wdata.val();
        }
        if self.rst.val() {
            self.held.d.next = false;
            self.held_write.d.next = false;
            self.held_offset.d.next = 0.into();
            self.held_wmask.d.next = 0.into();
            self.held_wdata.d.next = 0.into();
        }
        self.pending.next = self.held.q.val();
        self.write.next = self.held_write.q.val();
        self.offset.next = self.held_offset.q.val();
        self.wmask.next = self.held_wmask.q.val();
        self.written.next = self.held_wdata.q.val() & self.held_wmask.q.val();
        self.merged.next = (self.current.val() & !self.held_wmask.q.val()) | self.written.val();
    }
}
