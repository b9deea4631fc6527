//! PCI configuration space of the function (Type 0 header and capability
//! list, 4 KiB).
//!
//! Read-only content is a ROM built at elaboration by
//! [`crate::cfg_image::rom_image`]; each DW that holds writable state is a
//! [`CfgDword`] from [`crate::cfg_image::writable_dws`]. A second ROM maps a
//! DW index to the register that owns it (0: none, the ROM value is the DW).
//! Unimplemented DWs, extended space included, read 0 and ignore writes.
//!
//! Access port: `req` is a one-cycle strobe with `write`, `dw`, `wmask` and
//! `wdata`; `ack` pulses two cycles later with `rdata` (the value before the
//! write, for a write). One access in flight; the requester waits for `ack`.
//!
//! Side bands: error events set Status / Device Status bits; `int_pending`
//! is the function's INTx level (shown in Status.Interrupt, driven on `intx`
//! unless Command.Interrupt Disable is set); the decoded state the rest of
//! the endpoint needs is presented as registered outputs of the DWs.

use crate::cfg_dword::CfgDword;
use crate::cfg_image::{rom_image, slot, writable_dws};
use rust_hdl::prelude::*;
use rust_hdl::widgets::prelude::ROM;
use std::collections::BTreeMap;
use vireo_regs::{pci, DeviceConfig};

/// Width of a configuration DW index (4 KiB / 4).
pub const CFG_DW_BITS: usize = 10;

/// Configuration space registers, read/write port and decoded state.
#[derive(LogicBlock)]
pub struct CfgSpace {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,

    // Access port.
    /// Access strobe.
    pub req: Signal<In, Bit>,
    /// The access is a write.
    pub write: Signal<In, Bit>,
    /// DW index of the access.
    pub dw: Signal<In, Bits<CFG_DW_BITS>>,
    /// Byte-enable mask of a write.
    pub wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub wdata: Signal<In, Bits<32>>,
    /// Access done.
    pub ack: Signal<Out, Bit>,
    /// Read data, valid with `ack`.
    pub rdata: Signal<Out, Bits<32>>,

    // Error events (one-cycle pulses, at most one per cycle).
    /// A poisoned TLP was received: Status.Detected Parity Error, DevSta.NFED.
    pub ev_poisoned: Signal<In, Bit>,
    /// An unsupported request was received: DevSta.URD.
    pub ev_unsupported: Signal<In, Bit>,
    /// A malformed TLP was received: DevSta.FED.
    pub ev_malformed: Signal<In, Bit>,

    // Interrupt.
    /// The function's INTx level before Interrupt Disable.
    pub int_pending: Signal<In, Bit>,
    /// INTx output to the hard IP (level).
    pub intx: Signal<Out, Bit>,

    // Decoded state.
    /// Memory Space Enable and power state D0: BARs decode.
    pub mem_enable: Signal<Out, Bit>,
    /// Bus Master Enable and power state D0: the function may issue requests.
    pub bus_master: Signal<Out, Bit>,
    /// BAR 0 register.
    pub bar0: Signal<Out, Bits<32>>,
    /// BAR 1 register.
    pub bar1: Signal<Out, Bits<32>>,
    /// BAR 2 register.
    pub bar2: Signal<Out, Bits<32>>,
    /// MSI-X Enable.
    pub msix_enable: Signal<Out, Bit>,
    /// MSI-X Function Mask.
    pub msix_function_mask: Signal<Out, Bit>,
    /// Device Control Max_Payload_Size (128 << n bytes).
    pub max_payload: Signal<Out, Bits<3>>,
    /// Device Control Max_Read_Request_Size (128 << n bytes).
    pub max_read_req: Signal<Out, Bits<3>>,
    /// Device Control Extended Tag Field Enable.
    pub ext_tag_enable: Signal<Out, Bit>,
    /// Link Control Read Completion Boundary is 128 bytes.
    pub rcb_128: Signal<Out, Bit>,
    /// virtio PCI_CFG capability `cap.bar`.
    pub pci_cfg_bar: Signal<Out, Bits<8>>,
    /// virtio PCI_CFG capability `cap.offset`.
    pub pci_cfg_offset: Signal<Out, Bits<32>>,
    /// virtio PCI_CFG capability `cap.length`.
    pub pci_cfg_length: Signal<Out, Bits<32>>,
    /// virtio PCI_CFG capability `pci_cfg_data`.
    pub pci_cfg_data: Signal<Out, Bits<32>>,

    rom_value: ROM<Bits<32>, CFG_DW_BITS>,
    rom_sel: ROM<Bits<5>, CFG_DW_BITS>,
    regs: [CfgDword; slot::COUNT],
    stage: DFF<Bit>,
    sel_r: DFF<Bits<5>>,
    value_r: DFF<Bits<32>>,
    write_r: DFF<Bit>,
    wmask_r: DFF<Bits<32>>,
    wdata_r: DFF<Bits<32>>,
    ack_r: DFF<Bit>,
    rdata_r: DFF<Bits<32>>,

    status_dpe: Constant<Bits<32>>,
    status_int: Constant<Bits<32>>,
    devsta_nfed: Constant<Bits<32>>,
    devsta_fed: Constant<Bits<32>>,
    devsta_urd: Constant<Bits<32>>,
    cmd_mse: Constant<Bits<32>>,
    cmd_bme: Constant<Bits<32>>,
    cmd_intx_disable: Constant<Bits<32>>,
    pm_state_mask: Constant<Bits<32>>,
    pm_d0: Constant<Bits<32>>,
    pm_d1: Constant<Bits<32>>,
    pm_d2: Constant<Bits<32>>,
    msix_enable_bit: Constant<Bits<32>>,
    msix_mask_bit: Constant<Bits<32>>,
    devctl_ext_tag: Constant<Bits<32>>,
    devctl_mps_shift: Constant<Bits<8>>,
    devctl_mrrs_shift: Constant<Bits<8>>,
    lnkctl_rcb: Constant<Bits<32>>,
    pm_state: Signal<Local, Bits<32>>,
    in_d0: Signal<Local, Bit>,
}

fn c32(v: u32) -> Constant<Bits<32>> {
    Constant::new((v as u64).into())
}

fn c8(v: u16) -> Constant<Bits<8>> {
    Constant::new((v as u64).into())
}

fn hi(v: u16) -> u32 {
    (v as u32) << 16
}

impl CfgSpace {
    /// The configuration space of the function described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        use pci::{command, exp, pm, status};
        let table = writable_dws(cfg);
        let values: BTreeMap<Bits<CFG_DW_BITS>, Bits<32>> = rom_image(cfg)
            .into_iter()
            .map(|(dw, v)| ((dw as u64).into(), (v as u64).into()))
            .collect();
        let sels: BTreeMap<Bits<CFG_DW_BITS>, Bits<5>> = table
            .iter()
            .enumerate()
            .map(|(i, w)| ((w.dw as u64).into(), (i as u64 + 1).into()))
            .collect();
        let regs = table.map(|w| CfgDword::new(w.reset, w.rw, w.w1c));
        Self {
            clock: Default::default(),
            rst: Default::default(),
            req: Default::default(),
            write: Default::default(),
            dw: Default::default(),
            wmask: Default::default(),
            wdata: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            ev_poisoned: Default::default(),
            ev_unsupported: Default::default(),
            ev_malformed: Default::default(),
            int_pending: Default::default(),
            intx: Default::default(),
            mem_enable: Default::default(),
            bus_master: Default::default(),
            bar0: Default::default(),
            bar1: Default::default(),
            bar2: Default::default(),
            msix_enable: Default::default(),
            msix_function_mask: Default::default(),
            max_payload: Default::default(),
            max_read_req: Default::default(),
            ext_tag_enable: Default::default(),
            rcb_128: Default::default(),
            pci_cfg_bar: Default::default(),
            pci_cfg_offset: Default::default(),
            pci_cfg_length: Default::default(),
            pci_cfg_data: Default::default(),
            rom_value: ROM::new(values),
            rom_sel: ROM::new(sels),
            regs,
            stage: Default::default(),
            sel_r: Default::default(),
            value_r: Default::default(),
            write_r: Default::default(),
            wmask_r: Default::default(),
            wdata_r: Default::default(),
            ack_r: Default::default(),
            rdata_r: Default::default(),
            status_dpe: c32(hi(status::DETECTED_PARITY_ERROR)),
            status_int: c32(hi(status::INTERRUPT)),
            devsta_nfed: c32(hi(exp::DEVSTA_NFED)),
            devsta_fed: c32(hi(exp::DEVSTA_FED)),
            devsta_urd: c32(hi(exp::DEVSTA_URD)),
            cmd_mse: c32(command::MEMORY_SPACE as u32),
            cmd_bme: c32(command::BUS_MASTER as u32),
            cmd_intx_disable: c32(command::INTX_DISABLE as u32),
            pm_state_mask: c32(pm::PMCSR_STATE_MASK as u32),
            pm_d0: c32(pm::STATE_D0 as u32),
            pm_d1: c32(pm::STATE_D1 as u32),
            pm_d2: c32(pm::STATE_D2 as u32),
            msix_enable_bit: c32(hi(pci::msix::CTRL_ENABLE)),
            msix_mask_bit: c32(hi(pci::msix::CTRL_FUNCTION_MASK)),
            devctl_ext_tag: c32(exp::DEVCTL_EXT_TAG as u32),
            devctl_mps_shift: c8(exp::DEVCTL_MPS_SHIFT),
            devctl_mrrs_shift: c8(exp::DEVCTL_MRRS_SHIFT),
            lnkctl_rcb: c32(exp::LNKCTL_RCB as u32),
            pm_state: Default::default(),
            in_d0: Default::default(),
        }
    }
}

impl Logic for CfgSpace {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, stage, sel_r, value_r, write_r, wmask_r, wdata_r, ack_r, rdata_r);

        // Stage 0: look up the DW.
        self.rom_value.address.next = self.dw.val();
        self.rom_sel.address.next = self.dw.val();
        self.stage.d.next = self.req.val();
        if self.req.val() {
            self.sel_r.d.next = self.rom_sel.data.val();
            self.value_r.d.next = self.rom_value.data.val();
            self.write_r.d.next = self.write.val();
            self.wmask_r.d.next = self.wmask.val();
            self.wdata_r.d.next = self.wdata.val();
        }

        // Stage 1: write the owning register, select the read value.
        self.ack_r.d.next = self.stage.q.val();
        self.rdata_r.d.next = self.value_r.q.val();
        for i in 0..slot::COUNT {
            self.regs[i].clock.next = self.clock.val();
            self.regs[i].rst.next = self.rst.val();
            self.regs[i].write.next =
                self.stage.q.val() && self.write_r.q.val() && (self.sel_r.q.val().index() == i + 1);
            self.regs[i].wmask.next = self.wmask_r.q.val();
            self.regs[i].wdata.next = self.wdata_r.q.val();
            self.regs[i].set.next = 0.into();
            self.regs[i].live.next = 0.into();
            if self.sel_r.q.val().index() == i + 1 {
                self.rdata_r.d.next = self.regs[i].value.val();
            }
        }
        if self.rst.val() {
            self.stage.d.next = false;
            self.sel_r.d.next = 0.into();
            self.value_r.d.next = 0.into();
            self.write_r.d.next = false;
            self.wmask_r.d.next = 0.into();
            self.wdata_r.d.next = 0.into();
            self.ack_r.d.next = false;
            self.rdata_r.d.next = 0.into();
        }

        // Side bands of particular registers (indices are cfg_image::slot).
        // slot::COMMAND_STATUS = 0
        if self.ev_poisoned.val() {
            self.regs[0].set.next = self.status_dpe.val();
        }
        if self.int_pending.val() {
            self.regs[0].live.next = self.status_int.val();
        }
        // slot::EXP_DEVCTL = 11
        if self.ev_poisoned.val() {
            self.regs[11].set.next = self.devsta_nfed.val();
        } else if self.ev_malformed.val() {
            self.regs[11].set.next = self.devsta_fed.val();
        } else if self.ev_unsupported.val() {
            self.regs[11].set.next = self.devsta_urd.val();
        }
        // slot::PM_CSR = 10: a PowerState write of an unsupported state (D1, D2)
        // completes normally and is discarded.
        if ((self.wdata_r.q.val() & self.pm_state_mask.val()) == self.pm_d1.val())
            || ((self.wdata_r.q.val() & self.pm_state_mask.val()) == self.pm_d2.val())
        {
            self.regs[10].wmask.next = self.wmask_r.q.val() & !self.pm_state_mask.val();
        }

        // Decoded state.
        self.pm_state.next = self.regs[10].value.val() & self.pm_state_mask.val();
        self.in_d0.next = self.pm_state.val() == self.pm_d0.val();
        self.mem_enable.next =
            (self.regs[0].value.val() & self.cmd_mse.val()).any() && self.in_d0.val();
        self.bus_master.next =
            (self.regs[0].value.val() & self.cmd_bme.val()).any() && self.in_d0.val();
        self.intx.next = self.int_pending.val()
            && !(self.regs[0].value.val() & self.cmd_intx_disable.val()).any();
        // slot::BAR0 = 2, BAR1 = 3, BAR2 = 4
        self.bar0.next = self.regs[2].value.val();
        self.bar1.next = self.regs[3].value.val();
        self.bar2.next = self.regs[4].value.val();
        // slot::PCI_CFG_BAR = 6, PCI_CFG_OFFSET = 7, PCI_CFG_LENGTH = 8
        self.pci_cfg_bar.next = self.regs[6].value.val().get_bits::<8>(0);
        self.pci_cfg_offset.next = self.regs[7].value.val();
        self.pci_cfg_length.next = self.regs[8].value.val();
        // slot::PCI_CFG_DATA = 14
        self.pci_cfg_data.next = self.regs[14].value.val();
        // slot::MSIX_CTRL = 9
        self.msix_enable.next = (self.regs[9].value.val() & self.msix_enable_bit.val()).any();
        self.msix_function_mask.next = (self.regs[9].value.val() & self.msix_mask_bit.val()).any();
        // slot::EXP_DEVCTL = 11, EXP_LNKCTL = 12
        self.max_payload.next = self.regs[11]
            .value
            .val()
            .get_bits::<3>(self.devctl_mps_shift.val().index());
        self.max_read_req.next = self.regs[11]
            .value
            .val()
            .get_bits::<3>(self.devctl_mrrs_shift.val().index());
        self.ext_tag_enable.next = (self.regs[11].value.val() & self.devctl_ext_tag.val()).any();
        self.rcb_128.next = (self.regs[12].value.val() & self.lnkctl_rcb.val()).any();

        self.ack.next = self.ack_r.q.val();
        self.rdata.next = self.rdata_r.q.val();
    }
}
