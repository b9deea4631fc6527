//! Parameters of the device's DMA engines that the host side needs too.

/// Memory read tags the device uses (0 ..= READ_TAGS - 1).
pub const READ_TAGS: usize = 32;

/// Cycles after which an uncompleted memory read request fails (Completion
/// Timeout; 262 us at 250 MHz, inside PCIe's default range A).
pub const COMPLETION_TIMEOUT_CYCLES: u64 = 1 << 16;

/// Most buffers in one descriptor chain the device handles (a longer chain
/// is treated as malformed; with the default queue size of 256 no legal
/// chain is longer).
pub const MAX_SEGMENTS: usize = 256;

/// Frames the loopback holds at once (taken from the transmitq, not yet
/// delivered), whatever their size. Every frame held is one the driver
/// still counts in flight: a transmit side that may take more chains than
/// the receive side needs in reserve takes a driver's whole batch at once
/// and reads all of its data together (docs/PERFORMANCE.md, "Frames held").
pub const FRAME_SLOTS: usize = 8;
