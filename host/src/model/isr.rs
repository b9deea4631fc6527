//! Golden model of the ISR status byte (virtio 4.1.4.5).

/// Bit 0: queue interrupt.
pub const QUEUE: u8 = 1;
/// Bit 1: device configuration interrupt.
pub const CONFIG: u8 = 2;

/// The ISR status.
#[derive(Clone, Debug, Default)]
pub struct Isr {
    /// The two bits.
    pub bits: u8,
}

impl Isr {
    /// A read of the DW at `offset` with byte enables `be`: the ISR byte is
    /// at offset 0 and a read that enables it clears it.
    pub fn read(&mut self, offset: u32, be: u8) -> u32 {
        if offset != 0 {
            return 0;
        }
        let v = self.bits as u32;
        if be & 1 != 0 {
            self.bits = 0;
        }
        v
    }
}
