//! Golden model of the registers behind the BARs.
//!
//! No registers are mapped into the BARs yet: reads return 0, writes have
//! no effect.

/// The BAR register file.
#[derive(Clone, Debug, Default)]
pub struct BarSpace {}

impl BarSpace {
    /// Read the DW at byte `offset` of BAR `bar`; side effects only for the
    /// bytes enabled in `be`.
    pub fn read(&mut self, _bar: u8, _offset: u32, _be: u8) -> u32 {
        0
    }

    /// Write the bytes of `value` enabled in `be` to the DW at `offset` of BAR `bar`.
    pub fn write(&mut self, _bar: u8, _offset: u32, _be: u8, _value: u32) {}
}
