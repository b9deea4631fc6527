//! Virtio specification facts (virtio 1.3: "Virtio Over PCI Bus", "Basic
//! Facilities of a Virtio Device", "Network Device").

/// PCI Vendor ID of every virtio device.
pub const PCI_VENDOR_ID: u16 = 0x1AF4;
/// Modern (non-transitional) PCI Device ID = this + virtio device ID.
pub const PCI_DEVICE_ID_BASE: u16 = 0x1040;
/// Lowest Subsystem Device ID a non-transitional device should use.
pub const MIN_SUBSYSTEM_ID: u16 = 0x40;

/// Virtio device IDs.
pub mod device_id {
    /// Network device.
    pub const NET: u16 = 1;
    /// Block device.
    pub const BLOCK: u16 = 2;
}

/// `cfg_type` values of the virtio vendor-specific capabilities.
pub mod cfg_type {
    /// Common configuration.
    pub const COMMON: u8 = 1;
    /// Notifications.
    pub const NOTIFY: u8 = 2;
    /// ISR status.
    pub const ISR: u8 = 3;
    /// Device-specific configuration.
    pub const DEVICE: u8 = 4;
    /// PCI configuration access window.
    pub const PCI_CFG: u8 = 5;
}

/// Field offsets of `struct virtio_pci_cap` and its extensions.
pub mod cap {
    /// `cap_len` (8 bits).
    pub const CAP_LEN: usize = 2;
    /// `cfg_type` (8 bits).
    pub const CFG_TYPE: usize = 3;
    /// `bar` (8 bits).
    pub const BAR: usize = 4;
    /// `id` (8 bits).
    pub const ID: usize = 5;
    /// `offset` (le32).
    pub const OFFSET: usize = 8;
    /// `length` (le32).
    pub const LENGTH: usize = 12;
    /// `notify_off_multiplier` (le32) of `struct virtio_pci_notify_cap`.
    pub const NOTIFY_OFF_MULTIPLIER: usize = 16;
    /// `pci_cfg_data` (4 bytes) of `struct virtio_pci_cfg_cap`.
    pub const PCI_CFG_DATA: usize = 16;
    /// Size of `struct virtio_pci_cap`.
    pub const LEN: usize = 16;
    /// Size of `struct virtio_pci_notify_cap`.
    pub const NOTIFY_LEN: usize = 20;
    /// Size of `struct virtio_pci_cfg_cap`.
    pub const PCI_CFG_LEN: usize = 20;
}

/// Offsets of `struct virtio_pci_common_cfg`.
pub mod common {
    /// `device_feature_select` (le32).
    pub const DEVICE_FEATURE_SELECT: usize = 0x00;
    /// `device_feature` (le32).
    pub const DEVICE_FEATURE: usize = 0x04;
    /// `driver_feature_select` (le32).
    pub const DRIVER_FEATURE_SELECT: usize = 0x08;
    /// `driver_feature` (le32).
    pub const DRIVER_FEATURE: usize = 0x0C;
    /// `config_msix_vector` (le16).
    pub const CONFIG_MSIX_VECTOR: usize = 0x10;
    /// `num_queues` (le16).
    pub const NUM_QUEUES: usize = 0x12;
    /// `device_status` (u8).
    pub const DEVICE_STATUS: usize = 0x14;
    /// `config_generation` (u8).
    pub const CONFIG_GENERATION: usize = 0x15;
    /// `queue_select` (le16).
    pub const QUEUE_SELECT: usize = 0x16;
    /// `queue_size` (le16).
    pub const QUEUE_SIZE: usize = 0x18;
    /// `queue_msix_vector` (le16).
    pub const QUEUE_MSIX_VECTOR: usize = 0x1A;
    /// `queue_enable` (le16).
    pub const QUEUE_ENABLE: usize = 0x1C;
    /// `queue_notify_off` (le16).
    pub const QUEUE_NOTIFY_OFF: usize = 0x1E;
    /// `queue_desc` (le64).
    pub const QUEUE_DESC: usize = 0x20;
    /// `queue_driver` (le64).
    pub const QUEUE_DRIVER: usize = 0x28;
    /// `queue_device` (le64).
    pub const QUEUE_DEVICE: usize = 0x30;
    /// `queue_notif_config_data` (le16).
    pub const QUEUE_NOTIF_CONFIG_DATA: usize = 0x38;
    /// `queue_reset` (le16).
    pub const QUEUE_RESET: usize = 0x3A;
    /// `admin_queue_index` (le16).
    pub const ADMIN_QUEUE_INDEX: usize = 0x3C;
    /// `admin_queue_num` (le16).
    pub const ADMIN_QUEUE_NUM: usize = 0x3E;
    /// Size of the whole structure in the current specification.
    pub const LEN: usize = 0x40;
}

/// MSI-X "no vector" value of `config_msix_vector` / `queue_msix_vector`.
pub const NO_VECTOR: u16 = 0xFFFF;

/// `device_status` bits.
pub mod status {
    /// The guest OS has found the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest OS knows how to drive the device.
    pub const DRIVER: u8 = 2;
    /// The driver is set up and ready to drive the device.
    pub const DRIVER_OK: u8 = 4;
    /// The driver has acknowledged the features it understands.
    pub const FEATURES_OK: u8 = 8;
    /// The device has hit an error it cannot recover from.
    pub const DEVICE_NEEDS_RESET: u8 = 64;
    /// The driver has given up on the device.
    pub const FAILED: u8 = 128;
}

/// Feature bit numbers (reserved-for-transport and device-independent).
pub mod feature {
    /// Descriptors with the INDIRECT flag.
    pub const RING_INDIRECT_DESC: u32 = 28;
    /// `used_event` / `avail_event` notification suppression.
    pub const RING_EVENT_IDX: u32 = 29;
    /// Compliance with virtio 1.0 and later.
    pub const VERSION_1: u32 = 32;
    /// The device is behind an IOMMU / uses platform DMA translation.
    pub const ACCESS_PLATFORM: u32 = 33;
    /// Packed virtqueue layout.
    pub const RING_PACKED: u32 = 34;
    /// Buffers are used in the order they were made available.
    pub const IN_ORDER: u32 = 35;
    /// Memory accesses are ordered as the platform (real hardware) orders them.
    pub const ORDER_PLATFORM: u32 = 36;
    /// Available buffer notifications carry extra data.
    pub const NOTIFICATION_DATA: u32 = 38;
    /// `queue_notif_config_data` is used in notifications.
    pub const NOTIF_CONFIG_DATA: u32 = 39;
    /// Individual virtqueue reset.
    pub const RING_RESET: u32 = 40;
}

/// Split virtqueue layout (virtio 2.7).
pub mod ring {
    /// Size of a descriptor (`struct virtq_desc`).
    pub const DESC_SIZE: u64 = 16;
    /// Descriptor: `addr` (le64).
    pub const DESC_ADDR: u64 = 0;
    /// Descriptor: `len` (le32).
    pub const DESC_LEN: u64 = 8;
    /// Descriptor: `flags` (le16).
    pub const DESC_FLAGS: u64 = 12;
    /// Descriptor: `next` (le16).
    pub const DESC_NEXT: u64 = 14;
    /// Descriptor flag: the chain continues at `next`.
    pub const F_NEXT: u16 = 1;
    /// Descriptor flag: device-writable.
    pub const F_WRITE: u16 = 2;
    /// Descriptor flag: the buffer is a table of descriptors.
    pub const F_INDIRECT: u16 = 4;
    /// Available ring: `flags` (le16).
    pub const AVAIL_FLAGS: u64 = 0;
    /// Available ring: `idx` (le16).
    pub const AVAIL_IDX: u64 = 2;
    /// Available ring: `ring[]` (le16 each).
    pub const AVAIL_RING: u64 = 4;
    /// Available ring flag: the driver does not want used buffer notifications.
    pub const AVAIL_F_NO_INTERRUPT: u16 = 1;
    /// Used ring: `flags` (le16).
    pub const USED_FLAGS: u64 = 0;
    /// Used ring: `idx` (le16).
    pub const USED_IDX: u64 = 2;
    /// Used ring: `ring[]` (`struct virtq_used_elem`, 8 bytes each).
    pub const USED_RING: u64 = 4;
    /// Size of a used element (le32 id, le32 len).
    pub const USED_ELEM_SIZE: u64 = 8;
    /// Used ring flag: the device does not want available buffer notifications.
    pub const USED_F_NO_NOTIFY: u16 = 1;

    /// Bytes of a descriptor table of `size` entries.
    pub fn desc_bytes(size: u16) -> u64 {
        DESC_SIZE * size as u64
    }

    /// Bytes of an available ring with `used_event`.
    pub fn avail_bytes(size: u16) -> u64 {
        AVAIL_RING + 2 * size as u64 + 2
    }

    /// Offset of `used_event` in the available ring.
    pub fn used_event_offset(size: u16) -> u64 {
        AVAIL_RING + 2 * size as u64
    }

    /// Bytes of a used ring with `avail_event`.
    pub fn used_bytes(size: u16) -> u64 {
        USED_RING + USED_ELEM_SIZE * size as u64 + 2
    }

    /// Offset of `avail_event` in the used ring.
    pub fn avail_event_offset(size: u16) -> u64 {
        USED_RING + USED_ELEM_SIZE * size as u64
    }

    /// `vring_need_event`: a notification is due when `event` lies in
    /// [`old`, `new`) (modulo 2^16).
    pub fn need_event(event: u16, new: u16, old: u16) -> bool {
        new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
    }
}

/// virtio-net feature bits and configuration layout.
pub mod net {
    /// Feature: the device reports its maximum MTU.
    pub const F_MTU: u32 = 3;
    /// Feature: the device has a MAC address.
    pub const F_MAC: u32 = 5;
    /// Feature: the driver can merge receive buffers.
    pub const F_MRG_RXBUF: u32 = 15;
    /// Feature: the configuration status field is available.
    pub const F_STATUS: u32 = 16;

    /// `mac` (6 bytes).
    pub const CFG_MAC: usize = 0x00;
    /// `status` (le16).
    pub const CFG_STATUS: usize = 0x06;
    /// `max_virtqueue_pairs` (le16).
    pub const CFG_MAX_VIRTQUEUE_PAIRS: usize = 0x08;
    /// `mtu` (le16).
    pub const CFG_MTU: usize = 0x0A;
    /// Size of the configuration fields vireo implements (mac .. mtu).
    pub const CFG_LEN: usize = 0x0C;

    /// `status`: the link is up.
    pub const S_LINK_UP: u16 = 1;

    /// Bytes of an Ethernet header (destination, source, EtherType).
    pub const ETH_HLEN: u32 = 14;
    /// Size of `struct virtio_net_hdr` without hash reporting or tunnels.
    pub const HDR_LEN: usize = 12;
    /// `virtio_net_hdr.flags`.
    pub const HDR_FLAGS: usize = 0;
    /// `virtio_net_hdr.gso_type`.
    pub const HDR_GSO_TYPE: usize = 1;
    /// `virtio_net_hdr.num_buffers` (le16).
    pub const HDR_NUM_BUFFERS: usize = 10;
    /// Receiveq of queue pair 1.
    pub const RECEIVEQ: u16 = 0;
    /// Transmitq of queue pair 1.
    pub const TRANSMITQ: u16 = 1;
}
