//! Transaction-layer packet codes (PCI Express Base, section 2.2).
//!
//! Headers travel on vireo's streams as `hdr[127:0]` with header DW 0 in bits
//! 127:96, DW 1 in 95:64, DW 2 in 63:32 and DW 3 in 31:0; inside each DW the
//! first byte on the wire is bits 31:24 (the layout the PCIe specification
//! draws). Payload DW 0 is `data[31:0]`, its first byte in bits 7:0.

/// Combined Fmt[2:0]/Type[4:0] byte (header DW 0 bits 31:24).
pub mod fmt_type {
    /// Memory Read, 32-bit address.
    pub const MRD32: u8 = 0x00;
    /// Memory Read, 64-bit address.
    pub const MRD64: u8 = 0x20;
    /// Memory Read Locked, 32-bit address.
    pub const MRDLK32: u8 = 0x01;
    /// Memory Read Locked, 64-bit address.
    pub const MRDLK64: u8 = 0x21;
    /// Memory Write, 32-bit address.
    pub const MWR32: u8 = 0x40;
    /// Memory Write, 64-bit address.
    pub const MWR64: u8 = 0x60;
    /// I/O Read.
    pub const IORD: u8 = 0x02;
    /// I/O Write.
    pub const IOWR: u8 = 0x42;
    /// Configuration Read Type 0.
    pub const CFGRD0: u8 = 0x04;
    /// Configuration Write Type 0.
    pub const CFGWR0: u8 = 0x44;
    /// Configuration Read Type 1.
    pub const CFGRD1: u8 = 0x05;
    /// Configuration Write Type 1.
    pub const CFGWR1: u8 = 0x45;
    /// Message without data (routing in the low 3 bits).
    pub const MSG: u8 = 0x30;
    /// Message with data (routing in the low 3 bits).
    pub const MSGD: u8 = 0x70;
    /// Mask selecting the message routing sub-field.
    pub const MSG_ROUTING_MASK: u8 = 0x07;
    /// Completion without data.
    pub const CPL: u8 = 0x0A;
    /// Completion with data.
    pub const CPLD: u8 = 0x4A;
    /// Completion for a locked read, without data.
    pub const CPLLK: u8 = 0x0B;
    /// Completion for a locked read, with data.
    pub const CPLDLK: u8 = 0x4B;
    /// Fetch-and-add AtomicOp, 32-bit address.
    pub const FETCHADD32: u8 = 0x4C;
    /// Fetch-and-add AtomicOp, 64-bit address.
    pub const FETCHADD64: u8 = 0x6C;
    /// Unconditional swap AtomicOp, 32-bit address.
    pub const SWAP32: u8 = 0x4D;
    /// Unconditional swap AtomicOp, 64-bit address.
    pub const SWAP64: u8 = 0x6D;
    /// Compare-and-swap AtomicOp, 32-bit address.
    pub const CAS32: u8 = 0x4E;
    /// Compare-and-swap AtomicOp, 64-bit address.
    pub const CAS64: u8 = 0x6E;
}

/// Fmt bit 0 of the Fmt/Type byte (bit 5): the header is 4 DW.
pub const FMT_4DW: u8 = 0x20;
/// Fmt bit 1 of the Fmt/Type byte (bit 6): the TLP has a data payload.
pub const FMT_DATA: u8 = 0x40;

/// Completion Status values.
pub mod cpl_status {
    /// Successful Completion.
    pub const SC: u8 = 0b000;
    /// Unsupported Request.
    pub const UR: u8 = 0b001;
    /// Configuration Request Retry Status.
    pub const CRS: u8 = 0b010;
    /// Completer Abort.
    pub const CA: u8 = 0b100;
}

/// Largest payload of a single TLP in DW (Length field 0 encodes it).
pub const MAX_LENGTH_DW: u32 = 1024;
