//! Byte swap within each DW of a beat.
//!
//! The Xilinx 7-series PCIe block carries every DW of a TLP with its first
//! byte in bits 31:24, the payload included; vireo's streams carry payload
//! in memory order (the byte at the lowest address in bits 7:0 of its DW).
//! This block converts one into the other (it is its own inverse); headers
//! need no swap, their DWs are numbers with Fmt in bits 31:29 on both sides.
//!
//! Purely combinational; zero latency.

use crate::DATA_WIDTH;
use rust_hdl::prelude::*;

/// Reverses the four bytes of every DW.
#[derive(LogicBlock, Default)]
pub struct DwSwap {
    /// The beat.
    pub raw: Signal<In, Bits<DATA_WIDTH>>,
    /// The beat with each DW byte-reversed.
    pub swapped: Signal<Out, Bits<DATA_WIDTH>>,
}

impl Logic for DwSwap {
    #[hdl_gen]
    fn update(&mut self) {
        self.swapped.next = (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(0)) << 24)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(8)) << 16)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(16)) << 8)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(24)) << 0)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(32)) << 56)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(40)) << 48)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(48)) << 40)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(56)) << 32)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(64)) << 88)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(72)) << 80)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(80)) << 72)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(88)) << 64)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(96)) << 120)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(104)) << 112)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(112)) << 104)
            | (bit_cast::<DATA_WIDTH, 8>(self.raw.val().get_bits::<8>(120)) << 96);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dw_is_byte_reversed() {
        let mut uut = DwSwap::default();
        uut.connect_all();
        uut.raw.next = crate::wide(0x0f0e0d0c_0b0a0908_07060504_03020100);
        assert!(simulate(&mut uut, 10));
        assert_eq!(
            uut.swapped.val(),
            crate::wide(0x0c0d0e0f_08090a0b_04050607_00010203)
        );
    }
}
