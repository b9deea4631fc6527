//! One DW of configuration space that holds writable state.
//!
//! Every bit has one access type, fixed at elaboration: read-write (`rw_mask`),
//! write-1-to-clear (`w1c_mask`) or read-only (neither; it keeps its reset
//! value). Hardware events set W1C bits through `set`; an event in the same
//! cycle as a clearing write wins, so no event is lost.
//!
//! Live read-only bits (state owned elsewhere, such as Status.Interrupt) are
//! OR'd into `value` through `live`.
//!
//! Timing: a write presented with `write` high updates `value` on the next
//! clock edge; `value` is the register output (no combinational path from
//! the write port). Synchronous reset to `reset_value`.

use rust_hdl::prelude::*;

/// A 32-bit configuration register with per-bit RW / RW1C / RO masks.
#[derive(LogicBlock)]
pub struct CfgDword {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Write strobe (one cycle per write).
    pub write: Signal<In, Bit>,
    /// Byte-enable mask of the write (see [`crate::byte_mask::ByteMask`]).
    pub wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Hardware events: W1C bits to set.
    pub set: Signal<In, Bits<32>>,
    /// Live read-only bits OR'd into `value`.
    pub live: Signal<In, Bits<32>>,
    /// Current register value.
    pub value: Signal<Out, Bits<32>>,
    state: DFF<Bits<32>>,
    rw_mask: Constant<Bits<32>>,
    w1c_mask: Constant<Bits<32>>,
    reset_value: Constant<Bits<32>>,
    wr_rw: Signal<Local, Bits<32>>,
    wr_clear: Signal<Local, Bits<32>>,
}

impl CfgDword {
    /// A register with the given reset value and access masks.
    pub fn new(reset_value: u32, rw_mask: u32, w1c_mask: u32) -> Self {
        assert_eq!(rw_mask & w1c_mask, 0, "a bit is both RW and RW1C");
        Self {
            clock: Default::default(),
            rst: Default::default(),
            write: Default::default(),
            wmask: Default::default(),
            wdata: Default::default(),
            set: Default::default(),
            live: Default::default(),
            value: Default::default(),
            state: Default::default(),
            rw_mask: Constant::new((rw_mask as u64).into()),
            w1c_mask: Constant::new((w1c_mask as u64).into()),
            reset_value: Constant::new((reset_value as u64).into()),
            wr_rw: Default::default(),
            wr_clear: Default::default(),
        }
    }
}

impl Logic for CfgDword {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state);
        self.wr_rw.next = 0.into();
        self.wr_clear.next = 0.into();
        if self.write.val() {
            self.wr_rw.next = self.wmask.val() & self.rw_mask.val();
            self.wr_clear.next = self.wmask.val() & self.w1c_mask.val() & self.wdata.val();
        }
        self.state.d.next = (((self.state.q.val() & !self.wr_rw.val())
            | (self.wdata.val() & self.wr_rw.val()))
            & !self.wr_clear.val())
            | (self.set.val() & self.w1c_mask.val());
        if self.rst.val() {
            self.state.d.next = self.reset_value.val();
        }
        self.value.next = self.state.q.val() | self.live.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drive the inputs, then one rising clock edge, in the RustHDL simulator.
    fn clock(uut: &mut CfgDword, write: Option<(u32, u32)>, set: u32, rst: bool) {
        let (wmask, wdata) = write.unwrap_or((0, 0));
        uut.write.next = write.is_some();
        uut.wmask.next = (wmask as u64).into();
        uut.wdata.next = (wdata as u64).into();
        uut.set.next = (set as u64).into();
        uut.rst.next = rst;
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 100));
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 100));
    }

    fn value(uut: &CfgDword) -> u32 {
        uut.value.val().to_u32()
    }

    #[test]
    fn access_types_and_event_priority() {
        // Bits 7:0 RW, bits 15:8 W1C, bits 31:16 RO with reset value 0xABCD.
        let mut uut = CfgDword::new(0xABCD_0000, 0x0000_00FF, 0x0000_FF00);
        uut.connect_all();
        clock(&mut uut, None, 0, true);
        assert_eq!(value(&uut), 0xABCD_0000);
        clock(&mut uut, Some((u32::MAX, u32::MAX)), 0, false);
        assert_eq!(
            value(&uut),
            0xABCD_00FF,
            "RW bits take the write, RO bits keep their value"
        );
        clock(&mut uut, None, 0x0000_FF00, false);
        assert_eq!(value(&uut), 0xABCD_FFFF, "events set W1C bits");
        clock(&mut uut, Some((0x0000_FF00, 0x0000_0F00)), 0, false);
        assert_eq!(value(&uut), 0xABCD_F0FF, "writing 1 clears, 0 leaves");
        clock(
            &mut uut,
            Some((0x0000_FF00, 0x0000_F000)),
            0x0000_1000,
            false,
        );
        assert_eq!(
            value(&uut),
            0xABCD_10FF,
            "an event in the clearing cycle wins"
        );
        clock(&mut uut, Some((0x0000_00FF, 0x0000_0012)), 0, false);
        assert_eq!(
            value(&uut),
            0xABCD_1012,
            "only the enabled byte lanes change"
        );
        uut.live.next = 0x0020_0000u64.into();
        assert!(simulate(&mut uut, 100));
        assert_eq!(value(&uut), 0xABED_1012, "live bits show through");
    }
}
