//! Where vireo places things: capability offsets in configuration space,
//! BARs, and the virtio structures inside the BARs.
//!
//! ```text
//! config space                      BAR 0/1 (64-bit, 16 KiB)   BAR 2 (32-bit, 4 KiB)
//! 0x00 Type 0 header                0x0000 common cfg          0x000 MSI-X table
//! 0x40 virtio COMMON_CFG   -> 0x50  0x1000 ISR status          0x800 MSI-X PBA
//! 0x50 virtio NOTIFY_CFG   -> 0x64  0x2000 device cfg
//! 0x64 virtio ISR_CFG      -> 0x74  0x3000 notify
//! 0x74 virtio DEVICE_CFG   -> 0x84
//! 0x84 virtio PCI_CFG      -> 0x98
//! 0x98 MSI-X               -> 0xA4
//! 0xA4 Power Management    -> 0xAC
//! 0xAC PCI Express         -> end
//! ```

use crate::{pci, stream, virtio};

/// PCI Revision ID (a non-transitional device uses 1 or higher).
pub const REVISION_ID: u8 = 0x01;
/// Interrupt Pin: INTA#.
pub const INTERRUPT_PIN: u8 = 0x01;

/// Offset of the virtio common configuration capability.
pub const CAP_COMMON: usize = 0x40;
/// Offset of the virtio notification capability.
pub const CAP_NOTIFY: usize = 0x50;
/// Offset of the virtio ISR capability.
pub const CAP_ISR: usize = 0x64;
/// Offset of the virtio device-specific configuration capability.
pub const CAP_DEVICE: usize = 0x74;
/// Offset of the virtio PCI configuration access capability.
pub const CAP_PCI_CFG: usize = 0x84;
/// Offset of the MSI-X capability.
pub const CAP_MSIX: usize = 0x98;
/// Offset of the Power Management capability.
pub const CAP_PM: usize = 0xA4;
/// Offset of the PCI Express capability.
pub const CAP_EXP: usize = 0xAC;

/// The kind of a capability on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapKind {
    /// A virtio vendor-specific capability with this `cfg_type`.
    Virtio(u8),
    /// MSI-X.
    Msix,
    /// Power Management.
    PowerManagement,
    /// PCI Express.
    Express,
}

/// One capability of the list, in list order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSlot {
    /// Offset in configuration space.
    pub offset: usize,
    /// What it is.
    pub kind: CapKind,
    /// Length in bytes.
    pub len: usize,
}

/// The capability list in order; each entry's `next` is the following one.
pub const CAPABILITIES: [CapSlot; 8] = [
    CapSlot {
        offset: CAP_COMMON,
        kind: CapKind::Virtio(virtio::cfg_type::COMMON),
        len: virtio::cap::LEN,
    },
    CapSlot {
        offset: CAP_NOTIFY,
        kind: CapKind::Virtio(virtio::cfg_type::NOTIFY),
        len: virtio::cap::NOTIFY_LEN,
    },
    CapSlot {
        offset: CAP_ISR,
        kind: CapKind::Virtio(virtio::cfg_type::ISR),
        len: virtio::cap::LEN,
    },
    CapSlot {
        offset: CAP_DEVICE,
        kind: CapKind::Virtio(virtio::cfg_type::DEVICE),
        len: virtio::cap::LEN,
    },
    CapSlot {
        offset: CAP_PCI_CFG,
        kind: CapKind::Virtio(virtio::cfg_type::PCI_CFG),
        len: virtio::cap::PCI_CFG_LEN,
    },
    CapSlot {
        offset: CAP_MSIX,
        kind: CapKind::Msix,
        len: pci::msix::LEN,
    },
    CapSlot {
        offset: CAP_PM,
        kind: CapKind::PowerManagement,
        len: pci::pm::LEN,
    },
    CapSlot {
        offset: CAP_EXP,
        kind: CapKind::Express,
        len: pci::exp::LEN,
    },
];

/// BAR index of the virtio structures (a 64-bit BAR: this and the next).
pub const VIRTIO_BAR: u8 = 0;
/// log2 of the virtio BAR size.
pub const VIRTIO_BAR_SIZE_LOG2: u32 = 14;
/// Size of the virtio BAR in bytes.
pub const VIRTIO_BAR_SIZE: u64 = 1 << VIRTIO_BAR_SIZE_LOG2;
/// BAR index of the MSI-X table and PBA (a 32-bit BAR).
pub const MSIX_BAR: u8 = 2;
/// log2 of the MSI-X BAR size.
pub const MSIX_BAR_SIZE_LOG2: u32 = 12;
/// Size of the MSI-X BAR in bytes.
pub const MSIX_BAR_SIZE: u64 = 1 << MSIX_BAR_SIZE_LOG2;

/// Offset of the common configuration structure in the virtio BAR.
pub const COMMON_OFFSET: u32 = 0x0000;
/// Offset of the ISR status byte in the virtio BAR.
pub const ISR_OFFSET: u32 = 0x1000;
/// Length of the ISR status structure.
pub const ISR_LEN: u32 = 1;
/// Offset of the device-specific configuration in the virtio BAR.
pub const DEVICE_OFFSET: u32 = 0x2000;
/// Offset of the notification structure in the virtio BAR.
pub const NOTIFY_OFFSET: u32 = 0x3000;
/// `notify_off_multiplier`: queue N notifies at `NOTIFY_OFFSET + 4 * N`.
pub const NOTIFY_OFF_MULTIPLIER: u32 = 4;
/// Size of each virtio structure's 4 KiB-aligned region.
pub const REGION_SIZE: u32 = 0x1000;
/// Most queues the notification region can address.
pub const MAX_NOTIFY_QUEUES: usize = (REGION_SIZE / NOTIFY_OFF_MULTIPLIER) as usize;

/// Largest memory request (DWs) the completer serves: one beat of payload.
pub const MAX_MMIO_DWS: usize = stream::STRB_WIDTH;

/// Offset of the MSI-X table in the MSI-X BAR.
pub const MSIX_TABLE_OFFSET: u32 = 0x000;
/// Offset of the MSI-X Pending Bit Array in the MSI-X BAR.
pub const MSIX_PBA_OFFSET: u32 = 0x800;
/// Most MSI-X vectors an endpoint may have (the width of the mask and
/// pending registers; the table region could hold 128).
pub const MAX_MSIX_VECTORS: usize = 64;

/// virtio-net `max_virtqueue_pairs` (one receiveq / transmitq pair).
pub const NET_MAX_VIRTQUEUE_PAIRS: u16 = 1;

/// Offset in the device-specific region (past the virtio-net configuration
/// the DEVICE_CFG capability describes) of the read-only count of frames
/// dropped because the receive chain was too small (32 bits, wrapping;
/// cleared by device reset).
pub const NET_RX_DROPPED: u32 = 0x100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_do_not_overlap_and_fit_the_header_space() {
        assert_eq!(CAPABILITIES[0].offset, pci::hdr::SIZE);
        for pair in CAPABILITIES.windows(2) {
            assert!(pair[0].offset + pair[0].len <= pair[1].offset, "{pair:?}");
        }
        let last = CAPABILITIES[CAPABILITIES.len() - 1];
        assert!(last.offset + last.len <= pci::EXT_CONFIG_START);
        for cap in CAPABILITIES {
            assert_eq!(cap.offset % 4, 0, "{cap:?} is not DW aligned");
        }
    }

    #[test]
    fn notify_capability_rules_hold_for_every_queue_count() {
        // virtio 1.3 4.1.4.4.1: the multiplier is 0 or an even power of 2 (a
        // multiple of 4 with NOTIFICATION_DATA), the offset is 2- (4-) byte
        // aligned, and cap.length covers queue_notify_off * multiplier + 2
        // (+ 4) for every queue. vireo uses queue_notify_off = queue index.
        assert!(NOTIFY_OFF_MULTIPLIER.is_power_of_two() && NOTIFY_OFF_MULTIPLIER.is_multiple_of(4));
        assert!(NOTIFY_OFFSET.is_multiple_of(4));
        for n in 1..=MAX_NOTIFY_QUEUES as u16 {
            let cfg = crate::DeviceConfig {
                num_queues: n,
                ..Default::default()
            };
            let last = (n as u32 - 1) * NOTIFY_OFF_MULTIPLIER;
            assert!(cfg.notify_len() >= last + 4, "{n} queues");
            assert!(NOTIFY_OFFSET + cfg.notify_len() <= NOTIFY_OFFSET + REGION_SIZE);
        }
    }

    #[test]
    fn virtio_regions_fit_their_bar() {
        for off in [COMMON_OFFSET, ISR_OFFSET, DEVICE_OFFSET, NOTIFY_OFFSET] {
            assert!(off as u64 + REGION_SIZE as u64 <= VIRTIO_BAR_SIZE);
        }
        assert!(MSIX_PBA_OFFSET as u64 + REGION_SIZE as u64 / 2 <= MSIX_BAR_SIZE);
        let table_end = MSIX_TABLE_OFFSET as usize + MAX_MSIX_VECTORS * pci::msix::ENTRY_BYTES;
        assert!(
            table_end <= MSIX_PBA_OFFSET as usize,
            "table runs into the PBA"
        );
    }
}
