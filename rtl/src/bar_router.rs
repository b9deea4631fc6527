//! BAR router: sends an access of the completer (or of the PCI_CFG window)
//! to the register block that owns its address.
//!
//! Virtio BAR (BAR 0/1): bits 13:12 of the offset select the 4 KiB region:
//! common configuration, ISR, device configuration, notifications. MSI-X
//! BAR (BAR 2): bit 11 selects the table or the PBA. The targets drive
//! `rdata` to 0 when they do not acknowledge, so the answer is the OR of all
//! of them.
//!
//! Purely combinational (no state, no added latency); one access at a time.

use crate::bar_decode::BAR_OFFSET_BITS;
use crate::reg_port::{RegMaster, REG_OFFSET_BITS};
use rust_hdl::prelude::*;
use vireo_regs::layout;

/// Routes BAR accesses to the register blocks.
#[derive(LogicBlock)]
pub struct BarRouter {
    /// Access strobe.
    pub req: Signal<In, Bit>,
    /// The access is to the MSI-X BAR (else the virtio BAR).
    pub msix: Signal<In, Bit>,
    /// Byte offset of the DW inside the BAR.
    pub offset: Signal<In, Bits<BAR_OFFSET_BITS>>,
    /// The access is a write.
    pub write: Signal<In, Bit>,
    /// Enabled bytes as a bit mask.
    pub wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Access done.
    pub ack: Signal<Out, Bit>,
    /// Read data, valid with `ack`.
    pub rdata: Signal<Out, Bits<32>>,
    /// Common configuration.
    pub common: RegMaster,
    /// ISR status.
    pub isr: RegMaster,
    /// Device-specific configuration.
    pub device: RegMaster,
    /// Notifications.
    pub notify: RegMaster,
    /// MSI-X table.
    pub table: RegMaster,
    /// MSI-X PBA.
    pub pba: RegMaster,
    region: Signal<Local, Bits<2>>,
    in_region: Signal<Local, Bits<REG_OFFSET_BITS>>,
    pba_half: Signal<Local, Bit>,
    common_region: Constant<Bits<2>>,
    isr_region: Constant<Bits<2>>,
    device_region: Constant<Bits<2>>,
    notify_region: Constant<Bits<2>>,
}

impl Default for BarRouter {
    fn default() -> Self {
        let region = |off: u32| Constant::new(((off / layout::REGION_SIZE) as u64).into());
        assert_eq!(layout::MSIX_PBA_OFFSET, 0x800, "bit 11 selects the PBA");
        Self {
            req: Default::default(),
            msix: Default::default(),
            offset: Default::default(),
            write: Default::default(),
            wmask: Default::default(),
            wdata: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            common: Default::default(),
            isr: Default::default(),
            device: Default::default(),
            notify: Default::default(),
            table: Default::default(),
            pba: Default::default(),
            region: Default::default(),
            in_region: Default::default(),
            pba_half: Default::default(),
            common_region: region(layout::COMMON_OFFSET),
            isr_region: region(layout::ISR_OFFSET),
            device_region: region(layout::DEVICE_OFFSET),
            notify_region: region(layout::NOTIFY_OFFSET),
        }
    }
}

impl Logic for BarRouter {
    #[hdl_gen]
    fn update(&mut self) {
        self.region.next = self.offset.val().get_bits::<2>(12);
        self.in_region.next = self.offset.val().get_bits::<REG_OFFSET_BITS>(0);
        self.pba_half.next = self.offset.val().get_bit(11);

        self.common.req.next =
            self.req.val() && !self.msix.val() && (self.region.val() == self.common_region.val());
        self.isr.req.next =
            self.req.val() && !self.msix.val() && (self.region.val() == self.isr_region.val());
        self.device.req.next =
            self.req.val() && !self.msix.val() && (self.region.val() == self.device_region.val());
        self.notify.req.next =
            self.req.val() && !self.msix.val() && (self.region.val() == self.notify_region.val());
        self.table.req.next = self.req.val() && self.msix.val() && !self.pba_half.val();
        self.pba.req.next = self.req.val() && self.msix.val() && self.pba_half.val();

        self.common.write.next = self.write.val();
        self.common.offset.next = self.in_region.val();
        self.common.wmask.next = self.wmask.val();
        self.common.wdata.next = self.wdata.val();
        self.isr.write.next = self.write.val();
        self.isr.offset.next = self.in_region.val();
        self.isr.wmask.next = self.wmask.val();
        self.isr.wdata.next = self.wdata.val();
        self.device.write.next = self.write.val();
        self.device.offset.next = self.in_region.val();
        self.device.wmask.next = self.wmask.val();
        self.device.wdata.next = self.wdata.val();
        self.notify.write.next = self.write.val();
        self.notify.offset.next = self.in_region.val();
        self.notify.wmask.next = self.wmask.val();
        self.notify.wdata.next = self.wdata.val();
        self.table.write.next = self.write.val();
        self.table.offset.next = self.in_region.val();
        self.table.wmask.next = self.wmask.val();
        self.table.wdata.next = self.wdata.val();
        self.pba.write.next = self.write.val();
        self.pba.offset.next = self.in_region.val() & !bits::<REG_OFFSET_BITS>(0x800);
        self.pba.wmask.next = self.wmask.val();
        self.pba.wdata.next = self.wdata.val();

        self.ack.next = self.common.ack.val()
            || self.isr.ack.val()
            || self.device.ack.val()
            || self.notify.ack.val()
            || self.table.ack.val()
            || self.pba.ack.val();
        self.rdata.next = self.common.rdata.val()
            | self.isr.rdata.val()
            | self.device.rdata.val()
            | self.notify.rdata.val()
            | self.table.rdata.val()
            | self.pba.rdata.val();
    }
}
