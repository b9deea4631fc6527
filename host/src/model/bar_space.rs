//! Golden model of the registers behind the BARs and of the interrupt rules.
//!
//! Virtio BAR: common configuration (0x0000), ISR (0x1000), device
//! configuration (0x2000), notifications (0x3000, 4 bytes per queue). MSI-X
//! BAR: table (0x000) and PBA (0x800).
//!
//! Interrupts (virtio 4.1.5, PCI rules): a used buffer notification of a
//! queue, after DRIVER_OK, goes to the queue's MSI-X vector when MSI-X is
//! enabled and sets ISR bit 0 otherwise; a configuration change, after
//! DRIVER_OK, sets ISR bit 1 and, with MSI-X enabled, goes to
//! config_msix_vector. INTx is asserted while an ISR bit is set and MSI-X is
//! disabled.

use super::byte_mask;
use super::common_cfg::{CommonCfg, WriteEffect};
use super::isr::{self, Isr};
use super::msix::{Gate, Msix};
use super::net_cfg::NetCfg;
use crate::endpoint::Notification;
use vireo_regs::virtio::status;
use vireo_regs::{layout, DeviceConfig};

/// The BAR register file.
#[derive(Clone, Debug)]
pub struct BarSpace {
    num_queues: u16,
    /// Common configuration.
    pub common: CommonCfg,
    /// ISR status.
    pub isr: Isr,
    /// Device-specific configuration.
    pub net: NetCfg,
    /// MSI-X table and PBA.
    pub msix: Msix,
    /// Available buffer notifications, in order.
    pub notifications: Vec<Notification>,
}

impl BarSpace {
    /// The registers after reset, with the network link as `link_up`.
    pub fn new(cfg: &DeviceConfig, link_up: bool) -> Self {
        Self {
            num_queues: cfg.num_queues,
            common: CommonCfg::new(cfg),
            isr: Isr::default(),
            net: NetCfg::new(cfg, link_up),
            msix: Msix::new(cfg.msix_vectors),
            notifications: Vec::new(),
        }
    }

    /// Which 4 KiB structure of the virtio BAR `offset` is in.
    fn region(offset: u32) -> u32 {
        offset / layout::REGION_SIZE * layout::REGION_SIZE
    }

    /// Read the DW at byte `offset` of BAR `bar`; side effects only for the
    /// bytes enabled in `be`.
    pub fn read(&mut self, bar: u8, offset: u32, be: u8) -> u32 {
        let inner = offset % layout::REGION_SIZE;
        if bar == layout::MSIX_BAR {
            return if offset < layout::MSIX_PBA_OFFSET {
                self.msix.read_table(offset - layout::MSIX_TABLE_OFFSET)
            } else {
                self.msix.read_pba(offset - layout::MSIX_PBA_OFFSET)
            };
        }
        match Self::region(offset) {
            layout::COMMON_OFFSET => self.common.read(inner, self.net.generation),
            layout::ISR_OFFSET => self.isr.read(inner, be),
            layout::DEVICE_OFFSET => self.net.read(inner, be),
            _ => 0,
        }
    }

    /// Write the bytes of `value` enabled in `be` to the DW at `offset` of
    /// BAR `bar`; returns what the write asks of the virtqueue engine.
    pub fn write(&mut self, bar: u8, offset: u32, be: u8, value: u32) -> WriteEffect {
        let inner = offset % layout::REGION_SIZE;
        let mut effect = WriteEffect::default();
        if bar == layout::MSIX_BAR {
            if offset < layout::MSIX_PBA_OFFSET {
                self.msix
                    .write_table(offset - layout::MSIX_TABLE_OFFSET, be, value);
            }
            return effect;
        }
        match Self::region(offset) {
            layout::COMMON_OFFSET => {
                effect = self.common.write(inner, be, value);
                if effect.reset {
                    // The rest of the device resets with the common configuration.
                    self.isr.bits = 0;
                    self.net.reset();
                    self.msix.clear_pending();
                }
            }
            layout::NOTIFY_OFFSET => {
                let queue = inner / layout::NOTIFY_OFF_MULTIPLIER;
                if be & 1 != 0 && queue < self.num_queues as u32 {
                    let data = value & byte_mask(be);
                    self.notifications.push(Notification {
                        queue: queue as u16,
                        data,
                    });
                    effect.notified = true;
                }
            }
            _ => {}
        }
        effect
    }

    fn driver_ok(&self) -> bool {
        self.common.has_status(status::DRIVER_OK)
    }

    /// A used buffer notification of `queue`.
    pub fn queue_irq(&mut self, queue: u16, gate: Gate) {
        if queue >= self.num_queues || !self.driver_ok() {
            return;
        }
        if gate.enable {
            let vector = self.common.queues[queue as usize].vector;
            self.msix.request(vector, gate);
        } else {
            self.isr.bits |= isr::QUEUE;
        }
    }

    /// A configuration change notification.
    fn config_change(&mut self, gate: Gate) {
        if !self.driver_ok() {
            return;
        }
        self.isr.bits |= isr::CONFIG;
        self.msix.request(self.common.config_vector, gate);
    }

    /// The network link goes up or down.
    pub fn set_link(&mut self, up: bool, gate: Gate) {
        if self.net.set_link(up) {
            self.config_change(gate);
        }
    }

    /// The device hit an error it cannot recover from.
    pub fn device_error(&mut self, gate: Gate) {
        if self.common.set_needs_reset() {
            self.config_change(gate);
        }
    }
}
