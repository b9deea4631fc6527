//! Generation-time parameters of one vireo endpoint.
//!
//! The RTL generator and the golden model are both built from a
//! [`DeviceConfig`], so one value describes the device under test and its
//! reference.

use crate::{layout, virtio};
use std::fmt;

/// The virtio device function behind the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceType {
    /// virtio-net with an internal loopback.
    Net,
}

impl DeviceType {
    /// Virtio device ID.
    pub fn virtio_id(self) -> u16 {
        match self {
            DeviceType::Net => virtio::device_id::NET,
        }
    }

    /// PCI Class Code (base class, sub-class, programming interface).
    pub fn class_code(self) -> u32 {
        match self {
            // Network controller, Ethernet.
            DeviceType::Net => 0x02_00_00,
        }
    }

    /// Length in bytes of the device-specific configuration structure.
    pub fn device_cfg_len(self) -> u32 {
        match self {
            DeviceType::Net => virtio::net::CFG_LEN as u32,
        }
    }
}

/// A PCI Express link speed; the value is the Link Capabilities encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkSpeed {
    /// 2.5 GT/s.
    Gen1 = 1,
    /// 5.0 GT/s.
    Gen2 = 2,
    /// 8.0 GT/s.
    Gen3 = 3,
    /// 16.0 GT/s.
    Gen4 = 4,
}

/// Everything that is chosen when an endpoint is generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The virtio device function.
    pub device_type: DeviceType,
    /// Number of virtqueues (`num_queues`).
    pub num_queues: u16,
    /// Number of MSI-X vectors (MSI-X Table Size + 1).
    pub msix_vectors: u16,
    /// Max_Payload_Size Supported, in bytes (128 .. 4096, a power of two).
    pub max_payload_bytes: u16,
    /// Maximum link speed advertised.
    pub link_speed: LinkSpeed,
    /// Maximum link width advertised (lanes).
    pub link_width: u8,
    /// PCI Subsystem Vendor ID.
    pub subsystem_vendor_id: u16,
    /// PCI Subsystem ID.
    pub subsystem_id: u16,
    /// Feature bits offered (see [`DeviceConfig::supported_features`]).
    pub features: u64,
    /// Largest queue size of every queue (a power of two).
    pub max_queue_size: u16,
    /// virtio-net `mac`.
    pub mac: [u8; 6],
    /// virtio-net `mtu`.
    pub mtu: u16,
    /// Bytes of the loopback's frame buffer: frames read from the
    /// transmitq and not yet delivered (a power of two, 4096 ..= 131072,
    /// room for an MTU-sized frame with its Ethernet and virtio headers;
    /// a frame larger than the buffer is dropped, so the default of 128 KiB
    /// takes frames of 64 KiB, two at a time).
    pub frame_buffer: u32,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            device_type: DeviceType::Net,
            num_queues: 2,
            msix_vectors: 3,
            max_payload_bytes: 512,
            link_speed: LinkSpeed::Gen3,
            link_width: 8,
            subsystem_vendor_id: virtio::PCI_VENDOR_ID,
            subsystem_id: 0x1100,
            features: DeviceConfig::supported_features(DeviceType::Net),
            max_queue_size: 256,
            mac: [0x02, 0x56, 0x49, 0x52, 0x45, 0x4F],
            mtu: 1500,
            frame_buffer: 131072,
        }
    }
}

/// Why a [`DeviceConfig`] cannot be generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `num_queues` is zero or does not fit the notify region.
    NumQueues(u16),
    /// `msix_vectors` is zero or does not fit the MSI-X table/PBA layout.
    MsixVectors(u16),
    /// `max_payload_bytes` is not a power of two in 128 ..= 4096.
    MaxPayload(u16),
    /// `link_width` is not one of 1, 2, 4, 8, 12, 16, 32.
    LinkWidth(u8),
    /// `subsystem_id` is below 0x40, which legacy drivers could claim.
    SubsystemId(u16),
    /// `features` offers a bit vireo does not implement, or not VERSION_1.
    Features(u64),
    /// `max_queue_size` is not a power of two in 2 ..= 32768.
    MaxQueueSize(u16),
    /// `mtu` is below the 68 bytes of IPv4.
    Mtu(u16),
    /// `frame_buffer` is not a power of two in 4096 ..= 131072, or too
    /// small for an MTU-sized frame.
    FrameBuffer(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NumQueues(n) => write!(
                f,
                "num_queues = {n}: must be 1 ..= {}",
                layout::MAX_NOTIFY_QUEUES
            ),
            ConfigError::MsixVectors(n) => write!(
                f,
                "msix_vectors = {n}: must be 1 ..= {}",
                layout::MAX_MSIX_VECTORS
            ),
            ConfigError::MaxPayload(n) => write!(
                f,
                "max_payload_bytes = {n}: must be a power of two in 128 ..= 4096"
            ),
            ConfigError::LinkWidth(n) => {
                write!(f, "link_width = {n}: must be 1, 2, 4, 8, 12, 16 or 32")
            }
            ConfigError::SubsystemId(n) => write!(
                f,
                "subsystem_id = {n:#x}: a non-transitional device uses 0x40 or higher"
            ),
            ConfigError::Features(bits) => write!(
                f,
                "features = {bits:#x}: VERSION_1 is required and only bits of {:#x} are implemented",
                DeviceConfig::supported_features(DeviceType::Net)
            ),
            ConfigError::MaxQueueSize(n) => write!(
                f,
                "max_queue_size = {n}: must be a power of two in 2 ..= 32768"
            ),
                        ConfigError::Mtu(n) => write!(f, "mtu = {n}: must be at least 68"),
            ConfigError::FrameBuffer(n) => write!(
                f,
                "frame_buffer = {n}: must be a power of two in 4096 ..= 131072 that holds an MTU-sized frame"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl DeviceConfig {
    /// Check every parameter; generators call this before elaboration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.num_queues == 0 || self.num_queues as usize > layout::MAX_NOTIFY_QUEUES {
            return Err(ConfigError::NumQueues(self.num_queues));
        }
        if self.msix_vectors == 0 || self.msix_vectors as usize > layout::MAX_MSIX_VECTORS {
            return Err(ConfigError::MsixVectors(self.msix_vectors));
        }
        let mps = self.max_payload_bytes;
        if !(128..=4096).contains(&mps) || !mps.is_power_of_two() {
            return Err(ConfigError::MaxPayload(mps));
        }
        if ![1, 2, 4, 8, 12, 16, 32].contains(&self.link_width) {
            return Err(ConfigError::LinkWidth(self.link_width));
        }
        if self.subsystem_id < virtio::MIN_SUBSYSTEM_ID {
            return Err(ConfigError::SubsystemId(self.subsystem_id));
        }
        let supported = Self::supported_features(self.device_type);
        let version_1 = 1u64 << virtio::feature::VERSION_1;
        if self.features & !supported != 0 || self.features & version_1 == 0 {
            return Err(ConfigError::Features(self.features));
        }
        let qs = self.max_queue_size;
        if !(2..=32768).contains(&qs) || !qs.is_power_of_two() {
            return Err(ConfigError::MaxQueueSize(qs));
        }
        if self.mtu < 68 {
            return Err(ConfigError::Mtu(self.mtu));
        }
        let fb = self.frame_buffer;
        let largest = self.mtu as u32 + virtio::net::ETH_HLEN + virtio::net::HDR_LEN as u32;
        if !(4096..=131072).contains(&fb) || !fb.is_power_of_two() || fb < largest {
            return Err(ConfigError::FrameBuffer(fb));
        }
        Ok(())
    }

    /// Every feature bit vireo implements for `device_type`; a generated
    /// endpoint offers a subset (features can be switched off to rule them
    /// out), always with VERSION_1.
    pub fn supported_features(device_type: DeviceType) -> u64 {
        use virtio::feature::*;
        let transport = [
            VERSION_1,
            ACCESS_PLATFORM,
            ORDER_PLATFORM,
            RING_INDIRECT_DESC,
            RING_EVENT_IDX,
            RING_RESET,
        ];
        let device: &[u32] = match device_type {
            DeviceType::Net => &[
                virtio::net::F_MAC,
                virtio::net::F_STATUS,
                virtio::net::F_MTU,
            ],
        };
        transport
            .iter()
            .chain(device)
            .fold(0, |acc, bit| acc | 1u64 << bit)
    }

    /// The feature bit `bit` is offered.
    pub fn offers(&self, bit: u32) -> bool {
        self.features >> bit & 1 != 0
    }

    /// PCI Device ID of the modern virtio function.
    pub fn device_id(&self) -> u16 {
        virtio::PCI_DEVICE_ID_BASE + self.device_type.virtio_id()
    }

    /// The 3-bit Max_Payload_Size encoding of `max_payload_bytes`.
    pub fn max_payload_code(&self) -> u32 {
        (self.max_payload_bytes as u32 / 128).trailing_zeros()
    }

    /// Length in bytes of the notification structure.
    pub fn notify_len(&self) -> u32 {
        self.num_queues as u32 * layout::NOTIFY_OFF_MULTIPLIER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(DeviceConfig::default().validate(), Ok(()));
        assert_eq!(DeviceConfig::default().device_id(), 0x1041);
        assert_eq!(DeviceConfig::default().max_payload_code(), 2);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let bad = |f: fn(&mut DeviceConfig)| {
            let mut c = DeviceConfig::default();
            f(&mut c);
            c.validate().unwrap_err()
        };
        assert_eq!(bad(|c| c.num_queues = 0), ConfigError::NumQueues(0));
        assert_eq!(bad(|c| c.msix_vectors = 0), ConfigError::MsixVectors(0));
        assert_eq!(
            bad(|c| c.max_payload_bytes = 384),
            ConfigError::MaxPayload(384)
        );
        assert_eq!(bad(|c| c.link_width = 3), ConfigError::LinkWidth(3));
        assert_eq!(bad(|c| c.subsystem_id = 1), ConfigError::SubsystemId(1));
        assert_eq!(
            bad(|c| c.features = 1 << 38 | 1 << 32),
            ConfigError::Features(1 << 38 | 1 << 32)
        );
        assert_eq!(bad(|c| c.features = 1 << 5), ConfigError::Features(1 << 5));
        assert_eq!(
            bad(|c| c.max_queue_size = 384),
            ConfigError::MaxQueueSize(384)
        );
        assert_eq!(bad(|c| c.mtu = 0), ConfigError::Mtu(0));
        assert_eq!(
            bad(|c| c.frame_buffer = 6000),
            ConfigError::FrameBuffer(6000)
        );
        assert_eq!(
            bad(|c| c.frame_buffer = 262144),
            ConfigError::FrameBuffer(262144)
        );
        assert_eq!(
            bad(|c| {
                c.frame_buffer = 32768;
                c.mtu = 40000
            }),
            ConfigError::FrameBuffer(32768),
            "a jumbo MTU needs a larger frame buffer"
        );
    }
}
