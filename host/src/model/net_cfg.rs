//! Golden model of the virtio-net configuration (virtio 5.1.4) and of the
//! configuration generation (virtio 4.1.4.3.1, with the note on wrap: a
//! change marks the configuration dirty; the next read of a field while it
//! is dirty moves the generation on).

use vireo_regs::{layout, virtio, DeviceConfig};

/// The virtio-net configuration.
#[derive(Clone, Debug)]
pub struct NetCfg {
    mac: [u8; 6],
    mtu: u16,
    /// VIRTIO_NET_S_LINK_UP.
    pub link_up: bool,
    dirty: bool,
    /// `config_generation`.
    pub generation: u8,
    /// Frames dropped for want of receive buffer space.
    pub rx_dropped: u32,
}

impl NetCfg {
    /// The configuration after reset, with the link as `link_up`.
    pub fn new(cfg: &DeviceConfig, link_up: bool) -> Self {
        Self {
            mac: cfg.mac,
            mtu: cfg.mtu,
            link_up,
            dirty: false,
            generation: 0,
            rx_dropped: 0,
        }
    }

    /// Device reset: the generation and the drop count start again.
    pub fn reset(&mut self) {
        self.dirty = false;
        self.generation = 0;
        self.rx_dropped = 0;
    }

    fn image(&self) -> [u8; virtio::net::CFG_LEN] {
        let mut b = [0u8; virtio::net::CFG_LEN];
        b[virtio::net::CFG_MAC..virtio::net::CFG_MAC + 6].copy_from_slice(&self.mac);
        let status = if self.link_up {
            virtio::net::S_LINK_UP
        } else {
            0
        };
        b[virtio::net::CFG_STATUS..][..2].copy_from_slice(&status.to_le_bytes());
        b[virtio::net::CFG_MAX_VIRTQUEUE_PAIRS..][..2]
            .copy_from_slice(&layout::NET_MAX_VIRTQUEUE_PAIRS.to_le_bytes());
        b[virtio::net::CFG_MTU..][..2].copy_from_slice(&self.mtu.to_le_bytes());
        b
    }

    /// A read of the DW at `offset` with byte enables `be`.
    pub fn read(&mut self, offset: u32, be: u8) -> u32 {
        let image = self.image();
        let at = offset as usize;
        if offset == layout::NET_RX_DROPPED {
            return self.rx_dropped;
        }
        if at >= image.len() {
            return 0;
        }
        if be != 0 && self.dirty {
            self.generation = self.generation.wrapping_add(1);
            self.dirty = false;
        }
        u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
    }

    /// The link goes up or down; returns whether the configuration changed.
    pub fn set_link(&mut self, up: bool) -> bool {
        let changed = up != self.link_up;
        self.link_up = up;
        self.dirty |= changed;
        changed
    }
}
