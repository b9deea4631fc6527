//! The virtio-pci driver model: device initialisation as the Linux
//! `virtio_pci_modern` and `virtio_net` drivers do it (virtio 3.1.1, 4.1.5).
//!
//! Reset and wait for device_status 0, ACKNOWLEDGE, DRIVER, read the device
//! features, accept the ones the driver knows, FEATURES_OK and read it back,
//! program the MSI-X table and enable MSI-X (or stay with INTx), set the
//! configuration vector and read it back, then per queue: select, read the
//! maximum size, write the size, the vector (read back), the ring addresses,
//! enable; DRIVER_OK; finally read the device configuration in a
//! config_generation loop.

use crate::endpoint::{Endpoint, HostError};
use crate::host::Host;
use crate::probe::Probed;
use std::fmt;
use vireo_regs::pci;
use vireo_regs::virtio::{self, common, feature, status, NO_VECTOR};

/// Message Address every vector is programmed with (the x86 MSI window).
pub const MSI_ADDRESS: u64 = 0xFEE0_0000;
/// Message Data of vector `v` is `MSI_DATA_BASE + v`.
pub const MSI_DATA_BASE: u32 = 0x4000;
/// Host memory where the rings of queue `q` start: `RING_BASE + q * RING_STRIDE`.
pub const RING_BASE: u64 = 0x1_0000_0000;
/// Distance between the rings of consecutive queues.
pub const RING_STRIDE: u64 = 0x10_0000;

/// What the driver asks for.
#[derive(Clone, Copy, Debug)]
pub struct DriverOptions {
    /// Use MSI-X (else INTx).
    pub msix: bool,
    /// Feature bits the driver understands (it accepts those offered).
    pub understood: u64,
    /// Queue size to ask for (the device's maximum if larger).
    pub queue_size: u16,
}

impl Default for DriverOptions {
    fn default() -> Self {
        use virtio::net::{F_MAC, F_MTU, F_STATUS};
        let understood = [
            feature::VERSION_1,
            feature::ACCESS_PLATFORM,
            feature::ORDER_PLATFORM,
            feature::RING_INDIRECT_DESC,
            feature::RING_EVENT_IDX,
            feature::RING_RESET,
            F_MAC,
            F_STATUS,
            F_MTU,
        ]
        .iter()
        .fold(0u64, |acc, b| acc | 1 << b);
        Self {
            msix: true,
            understood,
            queue_size: 256,
        }
    }
}

impl DriverOptions {
    /// Leave VIRTIO_NET_F_MTU unaccepted if the driver is to send chains of
    /// up to `chain` bytes (virtio-net header included) that carry frames
    /// above the device's `mtu`: such frames are the driver's to send only
    /// without it (virtio 5.1.6.2.1).
    pub fn sending_chains_of(&mut self, chain: usize, mtu: u16) {
        let largest = virtio::net::HDR_LEN + virtio::net::ETH_HLEN as usize + mtu as usize;
        if chain > largest {
            self.understood &= !(1 << virtio::net::F_MTU);
        }
    }
}

/// One configured queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSetup {
    /// Queue index.
    pub index: u16,
    /// Size written.
    pub size: u16,
    /// MSI-X vector (NO_VECTOR with INTx).
    pub vector: u16,
    /// Descriptor area.
    pub desc: u64,
    /// Driver area.
    pub driver: u64,
    /// Device area.
    pub device: u64,
}

/// The virtio-net device configuration as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// `mac`.
    pub mac: [u8; 6],
    /// `status`.
    pub status: u16,
    /// `max_virtqueue_pairs`.
    pub max_virtqueue_pairs: u16,
    /// `mtu`.
    pub mtu: u16,
    /// `config_generation` of the consistent read.
    pub generation: u8,
}

/// An initialised device.
#[derive(Clone, Debug)]
pub struct Driver {
    /// Where the structures are.
    pub probed: Probed,
    /// Features offered by the device.
    pub offered: u64,
    /// Features negotiated.
    pub features: u64,
    /// `config_msix_vector` (NO_VECTOR with INTx).
    pub config_vector: u16,
    /// The queues.
    pub queues: Vec<QueueSetup>,
    /// The device configuration.
    pub net: NetConfig,
}

/// Why initialisation failed.
#[derive(Debug)]
pub enum DriverError {
    /// The transaction layer failed.
    Host(HostError),
    /// The device did something a driver gives up on.
    Refused(String),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Host(e) => write!(f, "{e}"),
            DriverError::Refused(s) => write!(f, "driver gave up: {s}"),
        }
    }
}

impl std::error::Error for DriverError {}

impl From<HostError> for DriverError {
    fn from(e: HostError) -> Self {
        DriverError::Host(e)
    }
}

fn refuse<T>(msg: String) -> Result<T, DriverError> {
    Err(DriverError::Refused(msg))
}

/// Register accesses to the structures found by the probe.
pub struct Regs<'a, E: Endpoint> {
    /// The host.
    pub host: &'a mut Host<E>,
    /// Base address of the common configuration.
    pub common: u64,
    /// Base address of the device configuration.
    pub device: u64,
}

impl<'a, E: Endpoint> Regs<'a, E> {
    /// The structures of `probed` through `host`.
    pub fn new(host: &'a mut Host<E>, probed: &Probed) -> Self {
        let at = |bar: u8, offset: u32| probed.bar(bar).map_or(0, |b| b.base) + offset as u64;
        let device = probed.device_cfg.map_or(0, |d| at(d.bar, d.offset));
        Self {
            common: at(probed.common.bar, probed.common.offset),
            device,
            host,
        }
    }

    fn read(&mut self, addr: u64, size: u8) -> Result<u64, DriverError> {
        match self.host.mem_read(addr, size)? {
            crate::host::Outcome::Done(v) => Ok(v),
            other => refuse(format!("read of {addr:#x} failed: {other:?}")),
        }
    }

    /// Read a common configuration field.
    pub fn common_read(&mut self, field: usize, size: u8) -> Result<u64, DriverError> {
        self.read(self.common + field as u64, size)
    }

    /// Write a common configuration field.
    pub fn common_write(&mut self, field: usize, size: u8, value: u64) -> Result<(), DriverError> {
        self.host
            .mem_write(self.common + field as u64, size, value)?;
        Ok(())
    }

    /// Read a device configuration field.
    pub fn device_read(&mut self, field: usize, size: u8) -> Result<u64, DriverError> {
        self.read(self.device + field as u64, size)
    }

    fn set_status(&mut self, bits: u8) -> Result<u8, DriverError> {
        let s = self.common_read(common::DEVICE_STATUS, 1)? as u8 | bits;
        self.common_write(common::DEVICE_STATUS, 1, s as u64)?;
        Ok(self.common_read(common::DEVICE_STATUS, 1)? as u8)
    }

    /// Read the virtio-net configuration in a config_generation loop.
    pub fn read_net_config(&mut self) -> Result<NetConfig, DriverError> {
        for _ in 0..16 {
            let before = self.common_read(common::CONFIG_GENERATION, 1)? as u8;
            let mut mac = [0u8; 6];
            for (i, b) in mac.iter_mut().enumerate() {
                *b = self.device_read(virtio::net::CFG_MAC + i, 1)? as u8;
            }
            let net = NetConfig {
                mac,
                status: self.device_read(virtio::net::CFG_STATUS, 2)? as u16,
                max_virtqueue_pairs: self.device_read(virtio::net::CFG_MAX_VIRTQUEUE_PAIRS, 2)?
                    as u16,
                mtu: self.device_read(virtio::net::CFG_MTU, 2)? as u16,
                generation: before,
            };
            if self.common_read(common::CONFIG_GENERATION, 1)? as u8 == before {
                return Ok(net);
            }
        }
        refuse("config_generation never settled".into())
    }
}

/// Reset the device through device_status and wait until it reads 0.
pub fn reset_device<E: Endpoint>(regs: &mut Regs<'_, E>) -> Result<(), DriverError> {
    regs.common_write(common::DEVICE_STATUS, 1, 0)?;
    for _ in 0..1000 {
        if regs.common_read(common::DEVICE_STATUS, 1)? == 0 {
            return Ok(());
        }
    }
    refuse("device_status never read 0 after reset".into())
}

/// Program the MSI-X table (vector v: MSI_ADDRESS, MSI_DATA_BASE + v,
/// unmasked) and set MSI-X Enable.
fn enable_msix<E: Endpoint>(host: &mut Host<E>, probed: &Probed) -> Result<(), DriverError> {
    let Some(cap) = probed.msix else {
        return refuse("no MSI-X capability".into());
    };
    let table = probed.bar(cap.table_bar).map_or(0, |b| b.base) + cap.table_offset as u64;
    for v in 0..cap.vectors as u64 {
        let entry = table + v * pci::msix::ENTRY_BYTES as u64;
        host.mem_write(
            entry + pci::msix::ENTRY_ADDR_LO as u64,
            4,
            MSI_ADDRESS & 0xFFFF_FFFF,
        )?;
        host.mem_write(
            entry + pci::msix::ENTRY_ADDR_HI as u64,
            4,
            MSI_ADDRESS >> 32,
        )?;
        host.mem_write(
            entry + pci::msix::ENTRY_DATA as u64,
            4,
            (MSI_DATA_BASE as u64) + v,
        )?;
        host.mem_write(entry + pci::msix::ENTRY_CTRL as u64, 4, 0)?;
    }
    let ctrl_at = cap.at + pci::msix::MSG_CTRL as u16;
    let ctrl = host.cfg_read_ok(ctrl_at, 2)?;
    host.cfg_write(ctrl_at, 2, ctrl | pci::msix::CTRL_ENABLE as u32)?;
    Ok(())
}

/// Set up queue `index` (size, vector, ring addresses at
/// `RING_BASE + index * RING_STRIDE`) and enable it; `None` if the device
/// does not implement it.
pub fn setup_queue<E: Endpoint>(
    regs: &mut Regs<'_, E>,
    index: u16,
    opts: DriverOptions,
) -> Result<Option<QueueSetup>, DriverError> {
    regs.common_write(common::QUEUE_SELECT, 2, index as u64)?;
    let max = regs.common_read(common::QUEUE_SIZE, 2)? as u16;
    if max == 0 {
        return Ok(None);
    }
    let size = max.min(opts.queue_size);
    regs.common_write(common::QUEUE_SIZE, 2, size as u64)?;
    let vector = if opts.msix { index + 1 } else { NO_VECTOR };
    regs.common_write(common::QUEUE_MSIX_VECTOR, 2, vector as u64)?;
    if regs.common_read(common::QUEUE_MSIX_VECTOR, 2)? as u16 != vector {
        return refuse(format!("queue {index}: vector {vector} did not stick"));
    }
    let base = RING_BASE + index as u64 * RING_STRIDE;
    let setup = QueueSetup {
        index,
        size,
        vector,
        desc: base,
        driver: base + 0x4_0000,
        device: base + 0x8_0000,
    };
    for (field, addr) in [
        (common::QUEUE_DESC, setup.desc),
        (common::QUEUE_DRIVER, setup.driver),
        (common::QUEUE_DEVICE, setup.device),
    ] {
        regs.common_write(field, 4, addr & 0xFFFF_FFFF)?;
        regs.common_write(field + 4, 4, addr >> 32)?;
    }
    regs.common_write(common::QUEUE_ENABLE, 2, 1)?;
    Ok(Some(setup))
}

/// Reset queue `index` (RING_RESET, virtio 2.6.1) and wait until
/// `queue_reset` reads 0 again.
pub fn reset_queue<E: Endpoint>(regs: &mut Regs<'_, E>, index: u16) -> Result<(), DriverError> {
    regs.common_write(common::QUEUE_SELECT, 2, index as u64)?;
    regs.common_write(common::QUEUE_RESET, 2, 1)?;
    wait_queue_reset(regs, index)
}

/// Wait until `queue_reset` of queue `index` reads 0: its reset completed.
pub fn wait_queue_reset<E: Endpoint>(
    regs: &mut Regs<'_, E>,
    index: u16,
) -> Result<(), DriverError> {
    regs.common_write(common::QUEUE_SELECT, 2, index as u64)?;
    for _ in 0..1000 {
        if regs.common_read(common::QUEUE_RESET, 2)? == 0 {
            return Ok(());
        }
    }
    refuse(format!("queue {index}: queue_reset never read 0"))
}

/// Initialise the device found by `probed`.
pub fn init<E: Endpoint>(
    host: &mut Host<E>,
    probed: &Probed,
    opts: DriverOptions,
) -> Result<Driver, DriverError> {
    let mut regs = Regs::new(host, probed);
    reset_device(&mut regs)?;
    regs.set_status(status::ACKNOWLEDGE)?;
    regs.set_status(status::DRIVER)?;

    let mut offered = 0u64;
    for window in 0..2u64 {
        regs.common_write(common::DEVICE_FEATURE_SELECT, 4, window)?;
        offered |= regs.common_read(common::DEVICE_FEATURE, 4)? << (32 * window);
    }
    if offered >> feature::VERSION_1 & 1 == 0 {
        return refuse("VERSION_1 is not offered".into());
    }
    let features = offered & opts.understood;
    for window in 0..2u64 {
        regs.common_write(common::DRIVER_FEATURE_SELECT, 4, window)?;
        regs.common_write(
            common::DRIVER_FEATURE,
            4,
            (features >> (32 * window)) & 0xFFFF_FFFF,
        )?;
    }
    if regs.set_status(status::FEATURES_OK)? & status::FEATURES_OK == 0 {
        return refuse(format!("the device refused features {features:#x}"));
    }

    let config_vector = if opts.msix {
        enable_msix(regs.host, probed)?;
        0
    } else {
        NO_VECTOR
    };
    regs.common_write(common::CONFIG_MSIX_VECTOR, 2, config_vector as u64)?;
    if regs.common_read(common::CONFIG_MSIX_VECTOR, 2)? as u16 != config_vector {
        return refuse("config_msix_vector did not stick".into());
    }

    let num_queues = regs.common_read(common::NUM_QUEUES, 2)? as u16;
    let mut queues = Vec::new();
    for index in 0..num_queues {
        queues.extend(setup_queue(&mut regs, index, opts)?);
    }
    regs.set_status(status::DRIVER_OK)?;
    let net = regs.read_net_config()?;
    Ok(Driver {
        probed: probed.clone(),
        offered,
        features,
        config_vector,
        queues,
        net,
    })
}

/// Where queue `q`'s notify address is.
pub fn notify_address(probed: &Probed, multiplier: u32, q: u16) -> u64 {
    let base = probed.bar(probed.notify.bar).map_or(0, |b| b.base);
    base + probed.notify.offset as u64 + q as u64 * multiplier as u64
}

/// The ISR status byte's address.
pub fn isr_address(probed: &Probed) -> u64 {
    probed.bar(probed.isr.bar).map_or(0, |b| b.base) + probed.isr.offset as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtu_is_declined_only_for_chains_above_it() {
        let mtu_bit = 1 << virtio::net::F_MTU;
        // 1500-byte MTU: a 1514-byte frame and its 12-byte header.
        let mut opts = DriverOptions::default();
        opts.sending_chains_of(1526, 1500);
        assert_ne!(opts.understood & mtu_bit, 0);
        opts.sending_chains_of(1527, 1500);
        assert_eq!(opts.understood & mtu_bit, 0);
    }
}
