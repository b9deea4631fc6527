//! Golden model of the virtio common configuration structure (virtio
//! 4.1.4.3) with device status, reset and feature negotiation.
//!
//! Reads assemble the structure as bytes for the current `queue_select`;
//! writes go field by field, each field taking the bytes the access enables
//! and then the rules of docs/ARCHITECTURE.md ("Common configuration").

use vireo_regs::virtio::{common as off, feature, status, NO_VECTOR};
use vireo_regs::DeviceConfig;

/// One virtqueue's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    /// `queue_size`.
    pub size: u16,
    /// `queue_msix_vector`.
    pub vector: u16,
    /// `queue_enable`.
    pub enabled: bool,
    /// `queue_desc`.
    pub desc: u64,
    /// `queue_driver`.
    pub driver: u64,
    /// `queue_device`.
    pub device: u64,
}

/// What a write asked of the rest of the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteEffect {
    /// 0 was written to device_status: reset the device.
    pub reset: bool,

    /// A queue was reset through queue_reset.
    pub queue_reset: Option<u16>,
    /// An available buffer notification arrived.
    pub notified: bool,
}

impl WriteEffect {
    /// The effects of two writes.
    pub fn merge(self, other: WriteEffect) -> WriteEffect {
        WriteEffect {
            reset: self.reset || other.reset,
            queue_reset: self.queue_reset.or(other.queue_reset),
            notified: self.notified || other.notified,
        }
    }
}

/// The common configuration state.
#[derive(Clone, Debug)]
pub struct CommonCfg {
    cfg: DeviceConfig,
    device_feature_select: u32,
    driver_feature_select: u32,
    driver_features: u64,
    bad_window_write: bool,
    /// `config_msix_vector`.
    pub config_vector: u16,
    /// `device_status`.
    pub status: u8,
    queue_select: u16,
    /// The queues.
    pub queues: Vec<Queue>,
}

/// Fields of the structure: (offset, size).
const FIELDS: [(usize, usize); 22] = [
    (off::DEVICE_FEATURE_SELECT, 4),
    (off::DEVICE_FEATURE, 4),
    (off::DRIVER_FEATURE_SELECT, 4),
    (off::DRIVER_FEATURE, 4),
    (off::CONFIG_MSIX_VECTOR, 2),
    (off::NUM_QUEUES, 2),
    (off::DEVICE_STATUS, 1),
    (off::CONFIG_GENERATION, 1),
    (off::QUEUE_SELECT, 2),
    (off::QUEUE_SIZE, 2),
    (off::QUEUE_MSIX_VECTOR, 2),
    (off::QUEUE_ENABLE, 2),
    (off::QUEUE_NOTIFY_OFF, 2),
    (off::QUEUE_DESC, 4),
    (off::QUEUE_DESC + 4, 4),
    (off::QUEUE_DRIVER, 4),
    (off::QUEUE_DRIVER + 4, 4),
    (off::QUEUE_DEVICE, 4),
    (off::QUEUE_DEVICE + 4, 4),
    (off::QUEUE_NOTIF_CONFIG_DATA, 2),
    (off::QUEUE_RESET, 2),
    (off::ADMIN_QUEUE_INDEX, 4),
];

/// Replace the low or high 32 bits of `v`.
fn set_half(v: u64, high: bool, half: u32) -> u64 {
    if high {
        (v & 0xFFFF_FFFF) | (half as u64) << 32
    } else {
        (v & !0xFFFF_FFFF) | half as u64
    }
}

impl CommonCfg {
    /// The structure after reset.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            cfg: cfg.clone(),
            device_feature_select: 0,
            driver_feature_select: 0,
            driver_features: 0,
            bad_window_write: false,
            config_vector: NO_VECTOR,
            status: 0,
            queue_select: 0,
            queues: (0..cfg.num_queues)
                .map(|_| Self::reset_queue(cfg))
                .collect(),
        }
    }

    fn reset_queue(cfg: &DeviceConfig) -> Queue {
        Queue {
            size: cfg.max_queue_size,
            vector: NO_VECTOR,
            enabled: false,
            desc: 0,
            driver: 0,
            device: 0,
        }
    }

    /// Device reset: every field back to its reset value.
    pub fn reset(&mut self) {
        *self = Self::new(&self.cfg);
    }

    /// The status bit `bit` is set.
    pub fn has_status(&self, bit: u8) -> bool {
        self.status & bit != 0
    }

    /// Features negotiated (accepted with FEATURES_OK set).
    pub fn negotiated(&self) -> u64 {
        if self.has_status(status::FEATURES_OK) {
            self.driver_features
        } else {
            0
        }
    }

    fn selected(&self) -> Option<&Queue> {
        self.queues.get(self.queue_select as usize)
    }

    fn window(features: u64, select: u32) -> u32 {
        match select {
            0 => features as u32,
            1 => (features >> 32) as u32,
            _ => 0,
        }
    }

    /// The structure as the driver sees it now (64 bytes, little-endian).
    fn image(&self, generation: u8) -> [u8; off::LEN] {
        let mut b = [0u8; off::LEN];
        let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
        put(
            off::DEVICE_FEATURE_SELECT,
            &self.device_feature_select.to_le_bytes(),
        );
        put(
            off::DEVICE_FEATURE,
            &Self::window(self.cfg.features, self.device_feature_select).to_le_bytes(),
        );
        put(
            off::DRIVER_FEATURE_SELECT,
            &self.driver_feature_select.to_le_bytes(),
        );
        put(
            off::DRIVER_FEATURE,
            &Self::window(self.driver_features, self.driver_feature_select).to_le_bytes(),
        );
        put(off::CONFIG_MSIX_VECTOR, &self.config_vector.to_le_bytes());
        put(off::NUM_QUEUES, &(self.queues.len() as u16).to_le_bytes());
        put(off::DEVICE_STATUS, &[self.status]);
        put(off::CONFIG_GENERATION, &[generation]);
        put(off::QUEUE_SELECT, &self.queue_select.to_le_bytes());
        if let Some(q) = self.selected() {
            put(off::QUEUE_SIZE, &q.size.to_le_bytes());
            put(off::QUEUE_MSIX_VECTOR, &q.vector.to_le_bytes());
            put(off::QUEUE_ENABLE, &(q.enabled as u16).to_le_bytes());
            put(off::QUEUE_NOTIFY_OFF, &self.queue_select.to_le_bytes());
            put(off::QUEUE_DESC, &q.desc.to_le_bytes());
            put(off::QUEUE_DRIVER, &q.driver.to_le_bytes());
            put(off::QUEUE_DEVICE, &q.device.to_le_bytes());
        }
        b
    }

    /// Read the DW at byte `offset` of the region.
    pub fn read(&self, offset: u32, generation: u8) -> u32 {
        let image = self.image(generation);
        let at = offset as usize;
        if at + 4 > image.len() {
            return 0;
        }
        u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
    }

    /// A vector as stored: beyond the table it becomes NO_VECTOR.
    fn vector(&self, v: u16) -> u16 {
        if v < self.cfg.msix_vectors {
            v
        } else {
            NO_VECTOR
        }
    }

    /// Write the enabled bytes of `value` to the DW at byte `offset`.
    pub fn write(&mut self, offset: u32, be: u8, value: u32) -> WriteEffect {
        let mut effect = WriteEffect::default();
        let dw_start = offset as usize;
        if dw_start + 4 > off::LEN {
            return effect;
        }
        let before = self.image(0);
        for (at, size) in FIELDS {
            if at + size <= dw_start || at >= dw_start + 4 {
                continue;
            }
            let mut bytes = before[at..at + size].to_vec();
            let mut touched = false;
            let mut written = 0u64;
            for (i, b) in bytes.iter_mut().enumerate() {
                let lane = at + i - dw_start;
                if be & (1 << lane) != 0 {
                    *b = (value >> (8 * lane)) as u8;
                    written |= (*b as u64) << (8 * i);
                    touched = true;
                }
            }
            if !touched {
                continue;
            }
            let merged = bytes.iter().rev().fold(0u64, |acc, &b| acc << 8 | b as u64);
            self.write_field(at, merged, written, &mut effect);
        }
        if effect.reset {
            self.reset();
        }
        effect
    }

    fn write_field(&mut self, at: usize, merged: u64, written: u64, effect: &mut WriteEffect) {
        let ring_reset = self.negotiated() >> feature::RING_RESET & 1 != 0;
        let select = self.queue_select as usize;
        let cfg = self.cfg.clone();
        let vector = self.vector(merged as u16);
        match at {
            off::DEVICE_FEATURE | off::NUM_QUEUES | off::CONFIG_GENERATION => {}
            off::QUEUE_NOTIFY_OFF | off::QUEUE_NOTIF_CONFIG_DATA | off::ADMIN_QUEUE_INDEX => {}
            off::DEVICE_FEATURE_SELECT => self.device_feature_select = merged as u32,
            off::DRIVER_FEATURE_SELECT => self.driver_feature_select = merged as u32,
            off::DRIVER_FEATURE if self.has_status(status::FEATURES_OK) => {}
            off::DRIVER_FEATURE => match self.driver_feature_select {
                0 => self.driver_features = set_half(self.driver_features, false, merged as u32),
                1 => self.driver_features = set_half(self.driver_features, true, merged as u32),
                _ => self.bad_window_write |= written != 0,
            },
            off::CONFIG_MSIX_VECTOR => self.config_vector = vector,
            off::DEVICE_STATUS => self.write_status(merged as u8, effect),
            off::QUEUE_SELECT => self.queue_select = merged as u16,
            _ => {
                let Some(q) = self.queues.get_mut(select) else {
                    return;
                };
                let size_ok = merged.is_power_of_two() && merged <= cfg.max_queue_size as u64;
                match at {
                    off::QUEUE_SIZE if size_ok && !q.enabled => q.size = merged as u16,
                    off::QUEUE_MSIX_VECTOR => q.vector = vector,
                    off::QUEUE_ENABLE if written & 1 != 0 => q.enabled = true,
                    off::QUEUE_RESET if written & 1 != 0 && ring_reset => {
                        *q = Self::reset_queue(&cfg);
                        effect.queue_reset = Some(select as u16);
                    }
                    _ if q.enabled => {}
                    a if (off::QUEUE_DESC..off::QUEUE_DESC + 8).contains(&a) => {
                        q.desc = set_half(q.desc, a != off::QUEUE_DESC, merged as u32)
                    }
                    a if (off::QUEUE_DRIVER..off::QUEUE_DRIVER + 8).contains(&a) => {
                        q.driver = set_half(q.driver, a != off::QUEUE_DRIVER, merged as u32)
                    }
                    a if (off::QUEUE_DEVICE..off::QUEUE_DEVICE + 8).contains(&a) => {
                        q.device = set_half(q.device, a != off::QUEUE_DEVICE, merged as u32)
                    }
                    _ => {}
                }
            }
        }
    }

    /// FEATURES_OK may be set: VERSION_1 accepted, nothing accepted that is
    /// not offered, nothing written to a window beyond the feature bits.
    fn features_acceptable(&self) -> bool {
        self.driver_features >> feature::VERSION_1 & 1 != 0
            && self.driver_features & !self.cfg.features == 0
            && !self.bad_window_write
    }

    fn write_status(&mut self, v: u8, effect: &mut WriteEffect) {
        if v == 0 {
            effect.reset = true;
            return;
        }
        let kept = self.status & status::DEVICE_NEEDS_RESET;
        let mut new = (v & !status::DEVICE_NEEDS_RESET) | kept;
        let sets_features_ok =
            v & status::FEATURES_OK != 0 && !self.has_status(status::FEATURES_OK);
        if sets_features_ok && !self.features_acceptable() {
            new &= !status::FEATURES_OK;
        }

        self.status = new;
    }

    /// The device hit an error it cannot recover from. Returns true when
    /// DEVICE_NEEDS_RESET was newly set.
    pub fn set_needs_reset(&mut self) -> bool {
        let newly = !self.has_status(status::DEVICE_NEEDS_RESET);
        self.status |= status::DEVICE_NEEDS_RESET;
        newly
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common() -> CommonCfg {
        CommonCfg::new(&DeviceConfig::default())
    }

    #[test]
    fn features_ok_needs_version_1_and_only_offered_bits() {
        let mut c = common();
        c.write(off::DRIVER_FEATURE_SELECT as u32, 0xF, 1);
        c.write(
            off::DRIVER_FEATURE as u32,
            0xF,
            1 << (feature::VERSION_1 - 32),
        );
        c.write(off::DEVICE_STATUS as u32, 1, status::FEATURES_OK as u32);
        assert!(c.has_status(status::FEATURES_OK));
        let mut c = common();
        c.write(off::DEVICE_STATUS as u32, 1, status::FEATURES_OK as u32);
        assert!(!c.has_status(status::FEATURES_OK), "VERSION_1 missing");
        let mut c = common();
        c.write(off::DRIVER_FEATURE_SELECT as u32, 0xF, 1);
        c.write(
            off::DRIVER_FEATURE as u32,
            0xF,
            1 << (feature::VERSION_1 - 32) | 1 << (feature::RING_PACKED - 32),
        );
        c.write(off::DEVICE_STATUS as u32, 1, status::FEATURES_OK as u32);
        assert!(
            !c.has_status(status::FEATURES_OK),
            "RING_PACKED is not offered"
        );
    }

    #[test]
    fn queue_size_takes_only_powers_of_two_up_to_the_maximum() {
        let mut c = common();
        let size_dw = off::QUEUE_SIZE as u32;
        for (write, expect) in [
            (128, 128),
            (100, 128),
            (512, 128),
            (0, 128),
            (2, 2),
            (256, 256),
        ] {
            c.write(size_dw, 0b0011, write);
            assert_eq!(c.read(size_dw, 0) & 0xFFFF, expect, "after writing {write}");
        }
    }

    #[test]
    fn a_status_reset_clears_fields_written_by_the_same_access() {
        let mut c = common();
        c.write(off::DEVICE_STATUS as u32, 0xF, 0x0001_0001);
        assert_eq!(c.read(off::DEVICE_STATUS as u32, 0), 0x0001_0001);
        assert!(c.write(off::DEVICE_STATUS as u32, 0xF, 0x0001_0000).reset);
        assert_eq!(c.read(off::DEVICE_STATUS as u32, 0), 0);
    }
}
