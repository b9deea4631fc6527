//! Byte-enable expander: turns the 4 byte enables of a DW access into a
//! 32-bit bit mask.
//!
//! Purely combinational (a 16-entry lookup); zero latency.

use rust_hdl::prelude::*;

/// Expands `be[3:0]` to `mask[31:0]`, byte lane n covering bits 8n+7..8n.
#[derive(LogicBlock, Default)]
pub struct ByteMask {
    /// Byte enables of one DW.
    pub be: Signal<In, Bits<4>>,
    /// The enabled bytes as a bit mask.
    pub mask: Signal<Out, Bits<32>>,
}

impl Logic for ByteMask {
    #[hdl_gen]
    fn update(&mut self) {
        match self.be.val().index() {
            0 => self.mask.next = bits::<32>(0x0000_0000_u64),
            1 => self.mask.next = bits::<32>(0x0000_00FF_u64),
            2 => self.mask.next = bits::<32>(0x0000_FF00_u64),
            3 => self.mask.next = bits::<32>(0x0000_FFFF_u64),
            4 => self.mask.next = bits::<32>(0x00FF_0000_u64),
            5 => self.mask.next = bits::<32>(0x00FF_00FF_u64),
            6 => self.mask.next = bits::<32>(0x00FF_FF00_u64),
            7 => self.mask.next = bits::<32>(0x00FF_FFFF_u64),
            8 => self.mask.next = bits::<32>(0xFF00_0000_u64),
            9 => self.mask.next = bits::<32>(0xFF00_00FF_u64),
            10 => self.mask.next = bits::<32>(0xFF00_FF00_u64),
            11 => self.mask.next = bits::<32>(0xFF00_FFFF_u64),
            12 => self.mask.next = bits::<32>(0xFFFF_0000_u64),
            13 => self.mask.next = bits::<32>(0xFFFF_00FF_u64),
            14 => self.mask.next = bits::<32>(0xFFFF_FF00_u64),
            _ => self.mask.next = bits::<32>(0xFFFF_FFFF_u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_enable_pattern_selects_its_lanes() {
        let mut uut = ByteMask::default();
        uut.connect_all();
        for be in 0..16u64 {
            uut.be.next = be.into();
            assert!(simulate(&mut uut, 10));
            let expected = (0..4)
                .filter(|b| be & (1 << b) != 0)
                .fold(0u32, |m, b| m | 0xFF << (8 * b));
            assert_eq!(uut.mask.val().to_u32(), expected, "be {be:04b}");
        }
    }
}
