//! PCI and PCI Express configuration-space facts (PCI Local Bus 3.0, PCI
//! Express Base 6.x chapter 7, PCI Power Management 1.2).

/// Size of a PCI Express function's configuration space in bytes.
pub const CONFIG_SPACE_BYTES: usize = 4096;
/// Start of PCI Express extended configuration space.
pub const EXT_CONFIG_START: usize = 0x100;

/// Type 0 configuration header offsets.
pub mod hdr {
    /// Vendor ID (16 bits).
    pub const VENDOR_ID: usize = 0x00;
    /// Device ID (16 bits).
    pub const DEVICE_ID: usize = 0x02;
    /// Command register (16 bits).
    pub const COMMAND: usize = 0x04;
    /// Status register (16 bits).
    pub const STATUS: usize = 0x06;
    /// Revision ID (8 bits).
    pub const REVISION_ID: usize = 0x08;
    /// Class code: programming interface (8 bits).
    pub const PROG_IF: usize = 0x09;
    /// Class code: sub-class (8 bits).
    pub const SUBCLASS: usize = 0x0A;
    /// Class code: base class (8 bits).
    pub const CLASS: usize = 0x0B;
    /// Cache Line Size (8 bits).
    pub const CACHE_LINE_SIZE: usize = 0x0C;
    /// Latency Timer (8 bits).
    pub const LATENCY_TIMER: usize = 0x0D;
    /// Header Type (8 bits).
    pub const HEADER_TYPE: usize = 0x0E;
    /// BIST (8 bits).
    pub const BIST: usize = 0x0F;
    /// Base Address Register 0; BAR n is at `BAR0 + 4 * n`.
    pub const BAR0: usize = 0x10;
    /// Number of Base Address Registers of a Type 0 header.
    pub const NUM_BARS: usize = 6;
    /// CardBus CIS pointer (32 bits).
    pub const CARDBUS_CIS: usize = 0x28;
    /// Subsystem Vendor ID (16 bits).
    pub const SUBSYSTEM_VENDOR_ID: usize = 0x2C;
    /// Subsystem ID (16 bits).
    pub const SUBSYSTEM_ID: usize = 0x2E;
    /// Expansion ROM base address (32 bits).
    pub const EXPANSION_ROM: usize = 0x30;
    /// Capabilities Pointer (8 bits).
    pub const CAP_PTR: usize = 0x34;
    /// Interrupt Line (8 bits).
    pub const INTERRUPT_LINE: usize = 0x3C;
    /// Interrupt Pin (8 bits).
    pub const INTERRUPT_PIN: usize = 0x3D;
    /// Size of the Type 0 header in bytes.
    pub const SIZE: usize = 0x40;
}

/// Command register bits.
pub mod command {
    /// I/O Space Enable.
    pub const IO_SPACE: u16 = 1 << 0;
    /// Memory Space Enable: gates BAR decoding.
    pub const MEMORY_SPACE: u16 = 1 << 1;
    /// Bus Master Enable: gates every request the function issues.
    pub const BUS_MASTER: u16 = 1 << 2;
    /// Parity Error Response.
    pub const PARITY_ERROR_RESPONSE: u16 = 1 << 6;
    /// SERR# Enable.
    pub const SERR_ENABLE: u16 = 1 << 8;
    /// Interrupt Disable: masks INTx emulation.
    pub const INTX_DISABLE: u16 = 1 << 10;
}

/// Status register bits.
pub mod status {
    /// Immediate Readiness.
    pub const IMMEDIATE_READINESS: u16 = 1 << 0;
    /// Interrupt Status: the function's INTx level, regardless of Interrupt Disable.
    pub const INTERRUPT: u16 = 1 << 3;
    /// Capabilities List present.
    pub const CAP_LIST: u16 = 1 << 4;
    /// Master Data Parity Error (RW1C).
    pub const MASTER_DATA_PARITY_ERROR: u16 = 1 << 8;
    /// Signaled Target Abort (RW1C).
    pub const SIGNALED_TARGET_ABORT: u16 = 1 << 11;
    /// Received Target Abort (RW1C).
    pub const RECEIVED_TARGET_ABORT: u16 = 1 << 12;
    /// Received Master Abort (RW1C).
    pub const RECEIVED_MASTER_ABORT: u16 = 1 << 13;
    /// Signaled System Error (RW1C).
    pub const SIGNALED_SYSTEM_ERROR: u16 = 1 << 14;
    /// Detected Parity Error (RW1C): set on every poisoned TLP received.
    pub const DETECTED_PARITY_ERROR: u16 = 1 << 15;
}

/// Memory BAR low-bit encodings.
pub mod bar {
    /// Bit 0: 1 for an I/O BAR, 0 for a memory BAR.
    pub const IO: u32 = 1 << 0;
    /// Bits 2:1 = 10b: the memory BAR is 64 bits wide (with the next BAR).
    pub const MEM_TYPE_64: u32 = 0b10 << 1;
    /// Bit 3: prefetchable.
    pub const PREFETCHABLE: u32 = 1 << 3;
    /// Mask of the read-only type bits of a memory BAR.
    pub const MEM_FLAGS: u32 = 0xF;
}

/// Capability IDs (PCI Code and ID Assignment).
pub mod cap_id {
    /// PCI Power Management.
    pub const POWER_MANAGEMENT: u8 = 0x01;
    /// Vendor-specific (used by virtio).
    pub const VENDOR: u8 = 0x09;
    /// PCI Express.
    pub const EXPRESS: u8 = 0x10;
    /// MSI-X.
    pub const MSIX: u8 = 0x11;
}

/// Offsets inside every capability.
pub mod cap {
    /// Capability ID (8 bits).
    pub const ID: usize = 0;
    /// Next capability pointer (8 bits).
    pub const NEXT: usize = 1;
}

/// PCI Power Management capability.
pub mod pm {
    /// Power Management Capabilities (16 bits).
    pub const PMC: usize = 0x02;
    /// Power Management Control/Status (16 bits).
    pub const PMCSR: usize = 0x04;
    /// Length of the capability in bytes.
    pub const LEN: usize = 8;
    /// PMC version field value for PCI PM 1.2.
    pub const PMC_VERSION_1_2: u16 = 0b011;
    /// PMCSR PowerState field mask.
    pub const PMCSR_STATE_MASK: u16 = 0b11;
    /// PowerState D0.
    pub const STATE_D0: u16 = 0b00;
    /// PowerState D1 (optional, not supported by vireo).
    pub const STATE_D1: u16 = 0b01;
    /// PowerState D2 (optional, not supported by vireo).
    pub const STATE_D2: u16 = 0b10;
    /// PowerState D3hot.
    pub const STATE_D3HOT: u16 = 0b11;
    /// PMCSR No_Soft_Reset: D3hot to D0 keeps the function's state.
    pub const PMCSR_NO_SOFT_RESET: u16 = 1 << 3;
}

/// MSI-X capability.
pub mod msix {
    /// Message Control (16 bits).
    pub const MSG_CTRL: usize = 0x02;
    /// Table Offset / Table BIR (32 bits).
    pub const TABLE: usize = 0x04;
    /// PBA Offset / PBA BIR (32 bits).
    pub const PBA: usize = 0x08;
    /// Length of the capability in bytes.
    pub const LEN: usize = 12;
    /// Message Control: Table Size field (N - 1).
    pub const CTRL_TABLE_SIZE_MASK: u16 = 0x07FF;
    /// Message Control: Function Mask.
    pub const CTRL_FUNCTION_MASK: u16 = 1 << 14;
    /// Message Control: MSI-X Enable.
    pub const CTRL_ENABLE: u16 = 1 << 15;
    /// Size of one MSI-X table entry in bytes.
    pub const ENTRY_BYTES: usize = 16;
    /// Table entry: Message Address (low DW; bits 1:0 are zero).
    pub const ENTRY_ADDR_LO: usize = 0;
    /// Table entry: Message Upper Address.
    pub const ENTRY_ADDR_HI: usize = 4;
    /// Table entry: Message Data.
    pub const ENTRY_DATA: usize = 8;
    /// Table entry: Vector Control.
    pub const ENTRY_CTRL: usize = 12;
    /// Vector Control: Mask Bit (set after reset).
    pub const CTRL_MASK_BIT: u32 = 1;
}

/// PCI Express capability (version 2 layout).
pub mod exp {
    /// PCI Express Capabilities register (16 bits).
    pub const FLAGS: usize = 0x02;
    /// Device Capabilities (32 bits).
    pub const DEVCAP: usize = 0x04;
    /// Device Control (16 bits).
    pub const DEVCTL: usize = 0x08;
    /// Device Status (16 bits).
    pub const DEVSTA: usize = 0x0A;
    /// Link Capabilities (32 bits).
    pub const LNKCAP: usize = 0x0C;
    /// Link Control (16 bits).
    pub const LNKCTL: usize = 0x10;
    /// Link Status (16 bits).
    pub const LNKSTA: usize = 0x12;
    /// Device Capabilities 2 (32 bits).
    pub const DEVCAP2: usize = 0x24;
    /// Device Control 2 (16 bits).
    pub const DEVCTL2: usize = 0x28;
    /// Link Capabilities 2 (32 bits).
    pub const LNKCAP2: usize = 0x2C;
    /// Link Control 2 (16 bits).
    pub const LNKCTL2: usize = 0x30;
    /// Link Status 2 (16 bits).
    pub const LNKSTA2: usize = 0x32;
    /// Length of a version 2 capability in bytes.
    pub const LEN: usize = 0x3C;

    /// Capability version 2.
    pub const FLAGS_VERSION_2: u16 = 0x2;
    /// Device/Port Type field: PCI Express Endpoint (0000b in bits 7:4).
    pub const FLAGS_TYPE_ENDPOINT: u16 = 0x0 << 4;

    /// DEVCAP: Max_Payload_Size Supported field (bits 2:0).
    pub const DEVCAP_MPS_MASK: u32 = 0x7;
    /// DEVCAP: Extended Tag Field Supported.
    pub const DEVCAP_EXT_TAG: u32 = 1 << 5;
    /// DEVCAP: Endpoint L0s Acceptable Latency field shift (3 bits).
    pub const DEVCAP_L0S_LATENCY_SHIFT: u32 = 6;
    /// DEVCAP: Endpoint L1 Acceptable Latency field shift (3 bits).
    pub const DEVCAP_L1_LATENCY_SHIFT: u32 = 9;
    /// Acceptable-latency encoding "no limit".
    pub const LATENCY_NO_LIMIT: u32 = 0b111;
    /// DEVCAP: Role-Based Error Reporting.
    pub const DEVCAP_RBER: u32 = 1 << 15;

    /// DEVCTL: Correctable Error Reporting Enable.
    pub const DEVCTL_CERE: u16 = 1 << 0;
    /// DEVCTL: Non-Fatal Error Reporting Enable.
    pub const DEVCTL_NFERE: u16 = 1 << 1;
    /// DEVCTL: Fatal Error Reporting Enable.
    pub const DEVCTL_FERE: u16 = 1 << 2;
    /// DEVCTL: Unsupported Request Reporting Enable.
    pub const DEVCTL_URRE: u16 = 1 << 3;
    /// DEVCTL: Enable Relaxed Ordering.
    pub const DEVCTL_RELAXED_ORDERING: u16 = 1 << 4;
    /// DEVCTL: Max_Payload_Size field shift (bits 7:5).
    pub const DEVCTL_MPS_SHIFT: u16 = 5;
    /// DEVCTL: Extended Tag Field Enable.
    pub const DEVCTL_EXT_TAG: u16 = 1 << 8;
    /// DEVCTL: Enable No Snoop.
    pub const DEVCTL_NO_SNOOP: u16 = 1 << 11;
    /// DEVCTL: Max_Read_Request_Size field shift (bits 14:12).
    pub const DEVCTL_MRRS_SHIFT: u16 = 12;
    /// A 3-bit size field value (MPS, MRRS): 128 << value bytes.
    pub const SIZE_FIELD_MASK: u16 = 0x7;

    /// DEVSTA: Correctable Error Detected (RW1C).
    pub const DEVSTA_CED: u16 = 1 << 0;
    /// DEVSTA: Non-Fatal Error Detected (RW1C).
    pub const DEVSTA_NFED: u16 = 1 << 1;
    /// DEVSTA: Fatal Error Detected (RW1C).
    pub const DEVSTA_FED: u16 = 1 << 2;
    /// DEVSTA: Unsupported Request Detected (RW1C).
    pub const DEVSTA_URD: u16 = 1 << 3;

    /// LNKCAP: Max Link Width field shift (bits 9:4).
    pub const LNKCAP_WIDTH_SHIFT: u32 = 4;
    /// LNKCAP: ASPM Optionality Compliance.
    pub const LNKCAP_ASPM_OPTIONALITY: u32 = 1 << 22;

    /// LNKCTL: ASPM Control (bits 1:0).
    pub const LNKCTL_ASPM: u16 = 0b11;
    /// LNKCTL: Read Completion Boundary (0: 64 bytes, 1: 128 bytes).
    pub const LNKCTL_RCB: u16 = 1 << 3;
    /// LNKCTL: Common Clock Configuration.
    pub const LNKCTL_COMMON_CLOCK: u16 = 1 << 6;
    /// LNKCTL: Extended Synch.
    pub const LNKCTL_EXT_SYNCH: u16 = 1 << 7;

    /// LNKSTA: Negotiated Link Width field shift (bits 9:4).
    pub const LNKSTA_WIDTH_SHIFT: u16 = 4;
    /// LNKSTA: Slot Clock Configuration.
    pub const LNKSTA_SLOT_CLOCK: u16 = 1 << 12;

    /// LNKCAP2: Supported Link Speeds Vector shift (bit 1 = 2.5 GT/s).
    pub const LNKCAP2_SPEEDS_SHIFT: u32 = 1;

    /// LNKCTL2: Target Link Speed (bits 3:0).
    pub const LNKCTL2_TARGET_SPEED: u16 = 0xF;
    /// LNKCTL2: Enter Compliance.
    pub const LNKCTL2_ENTER_COMPLIANCE: u16 = 1 << 4;
    /// LNKCTL2: Hardware Autonomous Speed Disable.
    pub const LNKCTL2_HW_AUTO_SPEED_DISABLE: u16 = 1 << 5;
    /// LNKCTL2: Transmit Margin (bits 9:7).
    pub const LNKCTL2_TRANSMIT_MARGIN: u16 = 0b111 << 7;
    /// LNKCTL2: Enter Modified Compliance.
    pub const LNKCTL2_ENTER_MOD_COMPLIANCE: u16 = 1 << 10;
    /// LNKCTL2: Compliance SOS.
    pub const LNKCTL2_COMPLIANCE_SOS: u16 = 1 << 11;
    /// LNKCTL2: Compliance Preset/De-emphasis (bits 15:12).
    pub const LNKCTL2_COMPLIANCE_PRESET: u16 = 0xF << 12;
}
