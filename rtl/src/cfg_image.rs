//! Elaboration-time contents of the configuration space.
//!
//! Builds, from the shared constants and a [`DeviceConfig`], the read-only
//! image of the Type 0 header and capability list (one 32-bit value per DW)
//! and the table of DWs that hold writable state, with their reset values and
//! access masks. [`crate::cfg_space::CfgSpace`] turns both into hardware: the
//! image becomes a ROM, each table entry a [`crate::cfg_dword::CfgDword`].

use std::collections::BTreeMap;
use vireo_regs::layout::{self, CapKind};
use vireo_regs::{pci, virtio, DeviceConfig};

/// A DW of configuration space that holds writable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WritableDw {
    /// DW index (byte offset / 4).
    pub dw: usize,
    /// Value after reset (read-only bits included).
    pub reset: u32,
    /// Read-write bits.
    pub rw: u32,
    /// Write-1-to-clear bits.
    pub w1c: u32,
}

/// Position of each writable DW in [`writable_dws`]; `CfgSpace` wires side
/// bands (events, live bits, decoded outputs) by these positions.
pub mod slot {
    /// Command / Status.
    pub const COMMAND_STATUS: usize = 0;
    /// Cache Line Size / Latency Timer / Header Type / BIST.
    pub const HEADER_DW3: usize = 1;
    /// BAR 0 (low half of the virtio BAR).
    pub const BAR0: usize = 2;
    /// BAR 1 (high half of the virtio BAR).
    pub const BAR1: usize = 3;
    /// BAR 2 (MSI-X BAR).
    pub const BAR2: usize = 4;
    /// Interrupt Line / Pin.
    pub const INTERRUPT: usize = 5;
    /// virtio PCI_CFG capability: `cap.bar`.
    pub const PCI_CFG_BAR: usize = 6;
    /// virtio PCI_CFG capability: `cap.offset`.
    pub const PCI_CFG_OFFSET: usize = 7;
    /// virtio PCI_CFG capability: `cap.length`.
    pub const PCI_CFG_LENGTH: usize = 8;
    /// MSI-X capability header / Message Control.
    pub const MSIX_CTRL: usize = 9;
    /// Power Management Control/Status.
    pub const PM_CSR: usize = 10;
    /// PCI Express Device Control / Device Status.
    pub const EXP_DEVCTL: usize = 11;
    /// PCI Express Link Control / Link Status.
    pub const EXP_LNKCTL: usize = 12;
    /// PCI Express Link Control 2 / Link Status 2.
    pub const EXP_LNKCTL2: usize = 13;
    /// virtio PCI_CFG capability: `pci_cfg_data`.
    pub const PCI_CFG_DATA: usize = 14;
    /// Number of writable DWs.
    pub const COUNT: usize = 15;
}

fn dw(byte_offset: usize) -> usize {
    byte_offset / 4
}

fn mask_of_size(size: u64) -> u32 {
    !(size as u32 - 1)
}

/// The writable DWs, indexed by the constants of [`slot`].
pub fn writable_dws(cfg: &DeviceConfig) -> [WritableDw; slot::COUNT] {
    use pci::exp;
    let hi = |v: u16| (v as u32) << 16;
    let lnksta = cfg.link_speed as u16
        | (cfg.link_width as u16) << exp::LNKSTA_WIDTH_SHIFT
        | exp::LNKSTA_SLOT_CLOCK;
    let msix_header = pci::cap_id::MSIX as u32
        | (next_cap(layout::CAP_MSIX) as u32) << 8
        | hi(cfg.msix_vectors - 1);
    let devctl_reset =
        exp::DEVCTL_RELAXED_ORDERING | exp::DEVCTL_NO_SNOOP | 2 << exp::DEVCTL_MRRS_SHIFT;
    let devctl_rw = exp::DEVCTL_CERE
        | exp::DEVCTL_NFERE
        | exp::DEVCTL_FERE
        | exp::DEVCTL_URRE
        | exp::DEVCTL_RELAXED_ORDERING
        | exp::SIZE_FIELD_MASK << exp::DEVCTL_MPS_SHIFT
        | exp::DEVCTL_EXT_TAG
        | exp::DEVCTL_NO_SNOOP
        | exp::SIZE_FIELD_MASK << exp::DEVCTL_MRRS_SHIFT;
    let devsta_w1c = exp::DEVSTA_CED | exp::DEVSTA_NFED | exp::DEVSTA_FED | exp::DEVSTA_URD;
    let lnkctl_rw =
        exp::LNKCTL_ASPM | exp::LNKCTL_RCB | exp::LNKCTL_COMMON_CLOCK | exp::LNKCTL_EXT_SYNCH;
    let lnkctl2_rw = exp::LNKCTL2_TARGET_SPEED
        | exp::LNKCTL2_ENTER_COMPLIANCE
        | exp::LNKCTL2_HW_AUTO_SPEED_DISABLE
        | exp::LNKCTL2_TRANSMIT_MARGIN
        | exp::LNKCTL2_ENTER_MOD_COMPLIANCE
        | exp::LNKCTL2_COMPLIANCE_SOS
        | exp::LNKCTL2_COMPLIANCE_PRESET;
    let status_w1c = pci::status::MASTER_DATA_PARITY_ERROR
        | pci::status::SIGNALED_TARGET_ABORT
        | pci::status::RECEIVED_TARGET_ABORT
        | pci::status::RECEIVED_MASTER_ABORT
        | pci::status::SIGNALED_SYSTEM_ERROR
        | pci::status::DETECTED_PARITY_ERROR;
    let command_rw = pci::command::MEMORY_SPACE
        | pci::command::BUS_MASTER
        | pci::command::PARITY_ERROR_RESPONSE
        | pci::command::SERR_ENABLE
        | pci::command::INTX_DISABLE;
    let w = |dw, reset, rw, w1c| WritableDw { dw, reset, rw, w1c };
    let bar = |n: u8| dw(pci::hdr::BAR0) + n as usize;
    [
        w(
            dw(pci::hdr::COMMAND),
            hi(pci::status::CAP_LIST),
            command_rw as u32,
            hi(status_w1c),
        ),
        w(dw(pci::hdr::CACHE_LINE_SIZE), 0, 0xFF, 0),
        w(
            bar(layout::VIRTIO_BAR),
            pci::bar::MEM_TYPE_64,
            mask_of_size(layout::VIRTIO_BAR_SIZE),
            0,
        ),
        w(bar(layout::VIRTIO_BAR + 1), 0, u32::MAX, 0),
        w(
            bar(layout::MSIX_BAR),
            0,
            mask_of_size(layout::MSIX_BAR_SIZE),
            0,
        ),
        w(
            dw(pci::hdr::INTERRUPT_LINE),
            (layout::INTERRUPT_PIN as u32) << 8,
            0xFF,
            0,
        ),
        w(dw(layout::CAP_PCI_CFG + virtio::cap::BAR), 0, 0xFF, 0),
        w(
            dw(layout::CAP_PCI_CFG + virtio::cap::OFFSET),
            0,
            u32::MAX,
            0,
        ),
        w(
            dw(layout::CAP_PCI_CFG + virtio::cap::LENGTH),
            0,
            u32::MAX,
            0,
        ),
        w(
            dw(layout::CAP_MSIX),
            msix_header,
            hi(pci::msix::CTRL_ENABLE | pci::msix::CTRL_FUNCTION_MASK),
            0,
        ),
        w(
            dw(layout::CAP_PM + pci::pm::PMCSR),
            pci::pm::PMCSR_NO_SOFT_RESET as u32,
            pci::pm::PMCSR_STATE_MASK as u32,
            0,
        ),
        w(
            dw(layout::CAP_EXP + exp::DEVCTL),
            devctl_reset as u32,
            devctl_rw as u32,
            hi(devsta_w1c),
        ),
        w(
            dw(layout::CAP_EXP + exp::LNKCTL),
            hi(lnksta),
            lnkctl_rw as u32,
            0,
        ),
        w(
            dw(layout::CAP_EXP + exp::LNKCTL2),
            cfg.link_speed as u32,
            lnkctl2_rw as u32,
            0,
        ),
        w(
            dw(layout::CAP_PCI_CFG + virtio::cap::PCI_CFG_DATA),
            0,
            u32::MAX,
            0,
        ),
    ]
}

/// Offset of the capability after the one at `offset` (0 ends the list).
fn next_cap(offset: usize) -> u8 {
    let caps = &layout::CAPABILITIES;
    let pos = caps
        .iter()
        .position(|c| c.offset == offset)
        .expect("capability on the list");
    caps.get(pos + 1).map_or(0, |c| c.offset as u8)
}

/// The read-only image: DW index -> value, for every DW that is not zero.
/// Writable DWs are not included (their registers supply the value).
pub fn rom_image(cfg: &DeviceConfig) -> BTreeMap<usize, u32> {
    use pci::exp;
    let mut image = BTreeMap::new();
    let mut put = |byte_offset: usize, value: u32| {
        image.insert(dw(byte_offset), value);
    };
    let pair = |lo: u16, hi: u16| lo as u32 | (hi as u32) << 16;
    put(
        pci::hdr::VENDOR_ID,
        pair(virtio::PCI_VENDOR_ID, cfg.device_id()),
    );
    put(
        pci::hdr::REVISION_ID,
        layout::REVISION_ID as u32 | cfg.device_type.class_code() << 8,
    );
    put(
        pci::hdr::SUBSYSTEM_VENDOR_ID,
        pair(cfg.subsystem_vendor_id, cfg.subsystem_id),
    );
    put(pci::hdr::CAP_PTR, layout::CAPABILITIES[0].offset as u32);

    for slot in layout::CAPABILITIES {
        let at = slot.offset;
        let next = next_cap(at) as u32;
        match slot.kind {
            CapKind::Virtio(cfg_type) => {
                let (bar, offset, length) = virtio_structure(cfg, cfg_type);
                let head = pci::cap_id::VENDOR as u32
                    | next << 8
                    | (slot.len as u32) << 16
                    | (cfg_type as u32) << 24;
                put(at, head);
                if cfg_type != virtio::cfg_type::PCI_CFG {
                    put(at + virtio::cap::BAR, bar as u32);
                    put(at + virtio::cap::OFFSET, offset);
                    put(at + virtio::cap::LENGTH, length);
                }
                if cfg_type == virtio::cfg_type::NOTIFY {
                    put(
                        at + virtio::cap::NOTIFY_OFF_MULTIPLIER,
                        layout::NOTIFY_OFF_MULTIPLIER,
                    );
                }
            }
            CapKind::Msix => {
                let bir = layout::MSIX_BAR as u32;
                put(at + pci::msix::TABLE, layout::MSIX_TABLE_OFFSET | bir);
                put(at + pci::msix::PBA, layout::MSIX_PBA_OFFSET | bir);
            }
            CapKind::PowerManagement => {
                put(
                    at,
                    pci::cap_id::POWER_MANAGEMENT as u32
                        | next << 8
                        | (pci::pm::PMC_VERSION_1_2 as u32) << 16,
                );
            }
            CapKind::Express => {
                let flags = exp::FLAGS_VERSION_2 | exp::FLAGS_TYPE_ENDPOINT;
                put(
                    at,
                    pci::cap_id::EXPRESS as u32 | next << 8 | (flags as u32) << 16,
                );
                let devcap = cfg.max_payload_code()
                    | exp::DEVCAP_EXT_TAG
                    | exp::LATENCY_NO_LIMIT << exp::DEVCAP_L0S_LATENCY_SHIFT
                    | exp::LATENCY_NO_LIMIT << exp::DEVCAP_L1_LATENCY_SHIFT
                    | exp::DEVCAP_RBER;
                put(at + exp::DEVCAP, devcap);
                let lnkcap = cfg.link_speed as u32
                    | (cfg.link_width as u32) << exp::LNKCAP_WIDTH_SHIFT
                    | exp::LNKCAP_ASPM_OPTIONALITY;
                put(at + exp::LNKCAP, lnkcap);
                let speeds = (1u32 << cfg.link_speed as u32) - 1;
                put(at + exp::LNKCAP2, speeds << exp::LNKCAP2_SPEEDS_SHIFT);
            }
        }
    }
    let writable = writable_dws(cfg);
    image.retain(|dw, _| writable.iter().all(|w| w.dw != *dw));
    image
}

/// (bar, offset, length) of the virtio structure of `cfg_type`.
fn virtio_structure(cfg: &DeviceConfig, cfg_type: u8) -> (u8, u32, u32) {
    let bar = layout::VIRTIO_BAR;
    match cfg_type {
        virtio::cfg_type::COMMON => (bar, layout::COMMON_OFFSET, virtio::common::LEN as u32),
        virtio::cfg_type::NOTIFY => (bar, layout::NOTIFY_OFFSET, cfg.notify_len()),
        virtio::cfg_type::ISR => (bar, layout::ISR_OFFSET, layout::ISR_LEN),
        virtio::cfg_type::DEVICE => (bar, layout::DEVICE_OFFSET, cfg.device_type.device_cfg_len()),
        _ => (0, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_name_the_right_registers() {
        let regs = writable_dws(&DeviceConfig::default());
        assert_eq!(regs[slot::COMMAND_STATUS].dw, pci::hdr::COMMAND / 4);
        assert_eq!(regs[slot::BAR0].dw, pci::hdr::BAR0 / 4);
        assert_eq!(regs[slot::BAR2].dw, pci::hdr::BAR0 / 4 + 2);
        assert_eq!(regs[slot::PM_CSR].dw, (layout::CAP_PM + pci::pm::PMCSR) / 4);
        assert_eq!(
            regs[slot::EXP_DEVCTL].dw,
            (layout::CAP_EXP + pci::exp::DEVCTL) / 4
        );
        let mut dws: Vec<_> = regs.iter().map(|r| r.dw).collect();
        dws.dedup();
        assert_eq!(dws.len(), slot::COUNT, "two slots share a DW");
    }

    #[test]
    fn image_holds_ids_and_the_list_head() {
        let image = rom_image(&DeviceConfig::default());
        assert_eq!(image[&0], 0x1041_1AF4);
        assert_eq!(image[&(pci::hdr::CAP_PTR / 4)], layout::CAP_COMMON as u32);
    }
}
