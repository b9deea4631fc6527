//! Golden model of the function's PCI configuration space.
//!
//! Written from the PCI / PCI Express specifications: each register is a
//! named field, reads assemble the DW from the fields, writes are applied a
//! byte at a time with the access type of each bit (RO, RW, RW1C).

use vireo_regs::layout::{self, CapKind, CapSlot};
use vireo_regs::{pci, virtio, DeviceConfig};

/// Error conditions that set sticky status bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorEvent {
    /// A poisoned TLP was received.
    Poisoned,
    /// A malformed TLP was received.
    Malformed,
    /// An unsupported request was received.
    Unsupported,
}

/// The configuration space state.
#[derive(Clone, Debug)]
pub struct ConfigSpace {
    cfg: DeviceConfig,
    command: u16,
    status_errors: u16,
    cache_line_size: u8,
    bars: [u32; 3],
    interrupt_line: u8,
    msix_control: u16,
    power_state: u16,
    dev_control: u16,
    dev_status: u16,
    link_control: u16,
    link_control2: u16,
    pci_cfg_bar: u8,
    pci_cfg_offset: u32,
    pci_cfg_length: u32,
    pci_cfg_data: u32,
    /// The function's INTx level (shown in Status.Interrupt).
    pub intx_pending: bool,
}

const BAR0: usize = pci::hdr::BAR0;
const BAR1: usize = pci::hdr::BAR0 + 4;
const BAR2: usize = pci::hdr::BAR0 + 8;

const COMMAND_WRITABLE: u16 = pci::command::MEMORY_SPACE
    | pci::command::BUS_MASTER
    | pci::command::PARITY_ERROR_RESPONSE
    | pci::command::SERR_ENABLE
    | pci::command::INTX_DISABLE;

const STATUS_W1C: u16 = pci::status::MASTER_DATA_PARITY_ERROR
    | pci::status::SIGNALED_TARGET_ABORT
    | pci::status::RECEIVED_TARGET_ABORT
    | pci::status::RECEIVED_MASTER_ABORT
    | pci::status::SIGNALED_SYSTEM_ERROR
    | pci::status::DETECTED_PARITY_ERROR;

const DEVCTL_WRITABLE: u16 = {
    use pci::exp::*;
    DEVCTL_CERE
        | DEVCTL_NFERE
        | DEVCTL_FERE
        | DEVCTL_URRE
        | DEVCTL_RELAXED_ORDERING
        | SIZE_FIELD_MASK << DEVCTL_MPS_SHIFT
        | DEVCTL_EXT_TAG
        | DEVCTL_NO_SNOOP
        | SIZE_FIELD_MASK << DEVCTL_MRRS_SHIFT
};

const DEVSTA_W1C: u16 =
    pci::exp::DEVSTA_CED | pci::exp::DEVSTA_NFED | pci::exp::DEVSTA_FED | pci::exp::DEVSTA_URD;

const LNKCTL_WRITABLE: u16 = pci::exp::LNKCTL_ASPM
    | pci::exp::LNKCTL_RCB
    | pci::exp::LNKCTL_COMMON_CLOCK
    | pci::exp::LNKCTL_EXT_SYNCH;

/// Link Control 2 of function 0: the RWS fields (Selectable De-emphasis is HwInit).
const LNKCTL2_WRITABLE: u16 = {
    use pci::exp::*;
    LNKCTL2_TARGET_SPEED
        | LNKCTL2_ENTER_COMPLIANCE
        | LNKCTL2_HW_AUTO_SPEED_DISABLE
        | LNKCTL2_TRANSMIT_MARGIN
        | LNKCTL2_ENTER_MOD_COMPLIANCE
        | LNKCTL2_COMPLIANCE_SOS
        | LNKCTL2_COMPLIANCE_PRESET
};

const MSIX_CONTROL_WRITABLE: u16 = pci::msix::CTRL_ENABLE | pci::msix::CTRL_FUNCTION_MASK;

/// Merge byte `index` of a register: bits in `writable` take `value`.
fn merge_byte<T>(reg: T, index: usize, value: u8, writable: T) -> T
where
    T: Copy + Into<u64> + TryFrom<u64>,
{
    let shift = 8 * index;
    let mask = (writable.into() >> shift) & 0xFF;
    let merged = (reg.into() & !(mask << shift)) | ((value as u64 & mask) << shift);
    T::try_from(merged)
        .ok()
        .expect("merged value fits the register")
}

/// Clear, in byte `index` of a register, the W1C bits written as 1.
fn clear_byte(reg: u16, index: usize, value: u8, w1c: u16) -> u16 {
    reg & !(((value as u16) << (8 * index)) & w1c)
}

impl ConfigSpace {
    /// The configuration space after a fundamental reset.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            cfg: cfg.clone(),
            command: 0,
            status_errors: 0,
            cache_line_size: 0,
            bars: [0; 3],
            interrupt_line: 0,
            msix_control: 0,
            power_state: pci::pm::STATE_D0,
            dev_control: pci::exp::DEVCTL_RELAXED_ORDERING
                | pci::exp::DEVCTL_NO_SNOOP
                | 0b010 << pci::exp::DEVCTL_MRRS_SHIFT,
            dev_status: 0,
            link_control: 0,
            link_control2: cfg.link_speed as u16,
            pci_cfg_bar: 0,
            pci_cfg_offset: 0,
            pci_cfg_length: 0,
            pci_cfg_data: 0,
            intx_pending: false,
        }
    }

    /// Record an error condition in Status / Device Status.
    pub fn record(&mut self, event: ErrorEvent) {
        match event {
            ErrorEvent::Poisoned => {
                self.status_errors |= pci::status::DETECTED_PARITY_ERROR;
                self.dev_status |= pci::exp::DEVSTA_NFED;
            }
            ErrorEvent::Malformed => self.dev_status |= pci::exp::DEVSTA_FED,
            ErrorEvent::Unsupported => self.dev_status |= pci::exp::DEVSTA_URD,
        }
    }

    /// The function is in D0 (it may decode memory and master the bus).
    fn in_d0(&self) -> bool {
        self.power_state == pci::pm::STATE_D0
    }

    /// Memory Space Enable, in D0.
    pub fn memory_enabled(&self) -> bool {
        self.command & pci::command::MEMORY_SPACE != 0 && self.in_d0()
    }

    /// Bus Master Enable, in D0.
    pub fn bus_master(&self) -> bool {
        self.command & pci::command::BUS_MASTER != 0 && self.in_d0()
    }

    /// The level driven on `intx`.
    pub fn intx(&self) -> bool {
        self.intx_pending && self.command & pci::command::INTX_DISABLE == 0
    }

    /// Base address of BAR `n` as currently programmed (64 bits for BAR 0/1).
    pub fn bar_base(&self, n: u8) -> u64 {
        match n {
            layout::VIRTIO_BAR => (self.bars[1] as u64) << 32 | self.bars[0] as u64,
            layout::MSIX_BAR => self.bars[2] as u64,
            _ => 0,
        }
    }

    /// The PCI_CFG window as (BAR, offset, length) when it addresses
    /// 1, 2 or 4 aligned bytes inside BAR 0 or BAR 2.
    pub fn pci_cfg_window(&self) -> Option<(u8, u32, u32)> {
        let (bar, offset, len) = (self.pci_cfg_bar, self.pci_cfg_offset, self.pci_cfg_length);
        let size = match bar {
            layout::VIRTIO_BAR => layout::VIRTIO_BAR_SIZE,
            layout::MSIX_BAR => layout::MSIX_BAR_SIZE,
            _ => return None,
        };
        let fits = matches!(len, 1 | 2 | 4) && offset.is_multiple_of(len) && (offset as u64) < size;
        fits.then_some((bar, offset, len))
    }

    /// `pci_cfg_data`.
    pub fn pci_cfg_data(&self) -> u32 {
        self.pci_cfg_data
    }

    /// MSI-X Enable.
    pub fn msix_enabled(&self) -> bool {
        self.msix_control & pci::msix::CTRL_ENABLE != 0
    }

    /// MSI-X Function Mask.
    pub fn msix_masked(&self) -> bool {
        self.msix_control & pci::msix::CTRL_FUNCTION_MASK != 0
    }

    fn status(&self) -> u16 {
        let mut s = pci::status::CAP_LIST | self.status_errors;
        if self.intx_pending {
            s |= pci::status::INTERRUPT;
        }
        s
    }

    /// Reads the DW at byte offset `4 * dw`.
    pub fn read_dw(&self, dw: usize) -> u32 {
        let off = dw * 4;
        let pair = |lo: u16, hi: u16| lo as u32 | (hi as u32) << 16;
        match off {
            pci::hdr::VENDOR_ID => pair(virtio::PCI_VENDOR_ID, self.cfg.device_id()),
            pci::hdr::COMMAND => pair(self.command, self.status()),
            pci::hdr::REVISION_ID => {
                layout::REVISION_ID as u32 | self.cfg.device_type.class_code() << 8
            }
            pci::hdr::CACHE_LINE_SIZE => self.cache_line_size as u32,
            BAR0 => self.bars[0] | pci::bar::MEM_TYPE_64,
            BAR1 => self.bars[1],
            BAR2 => self.bars[2],
            pci::hdr::SUBSYSTEM_VENDOR_ID => {
                pair(self.cfg.subsystem_vendor_id, self.cfg.subsystem_id)
            }
            pci::hdr::CAP_PTR => layout::CAPABILITIES[0].offset as u32,
            pci::hdr::INTERRUPT_LINE => {
                self.interrupt_line as u32 | (layout::INTERRUPT_PIN as u32) << 8
            }
            _ => match capability_at(off) {
                Some((i, cap)) => self.read_cap(i, cap, off - cap.offset),
                None => 0,
            },
        }
    }

    fn read_cap(&self, index: usize, cap: CapSlot, at: usize) -> u32 {
        let next = layout::CAPABILITIES
            .get(index + 1)
            .map_or(0, |c| c.offset as u32);
        let head = |id: u8, upper: u16| id as u32 | next << 8 | (upper as u32) << 16;
        match cap.kind {
            CapKind::Virtio(cfg_type) => {
                let (bar, offset, length) = match cfg_type {
                    virtio::cfg_type::COMMON => {
                        (0, layout::COMMON_OFFSET, virtio::common::LEN as u32)
                    }
                    virtio::cfg_type::NOTIFY => (0, layout::NOTIFY_OFFSET, self.cfg.notify_len()),
                    virtio::cfg_type::ISR => (0, layout::ISR_OFFSET, layout::ISR_LEN),
                    virtio::cfg_type::DEVICE => (
                        0,
                        layout::DEVICE_OFFSET,
                        self.cfg.device_type.device_cfg_len(),
                    ),
                    _ => (self.pci_cfg_bar, self.pci_cfg_offset, self.pci_cfg_length),
                };
                let tail = if cfg_type == virtio::cfg_type::PCI_CFG {
                    self.pci_cfg_data
                } else {
                    0
                };
                match at {
                    0 => head(pci::cap_id::VENDOR, cap.len as u16 | (cfg_type as u16) << 8),
                    virtio::cap::BAR => bar as u32,
                    virtio::cap::OFFSET => offset,
                    virtio::cap::LENGTH => length,
                    virtio::cap::NOTIFY_OFF_MULTIPLIER if cfg_type == virtio::cfg_type::NOTIFY => {
                        layout::NOTIFY_OFF_MULTIPLIER
                    }
                    virtio::cap::PCI_CFG_DATA => tail,
                    _ => 0,
                }
            }
            CapKind::Msix => match at {
                0 => head(
                    pci::cap_id::MSIX,
                    self.msix_control | (self.cfg.msix_vectors - 1),
                ),
                pci::msix::TABLE => layout::MSIX_TABLE_OFFSET | layout::MSIX_BAR as u32,
                pci::msix::PBA => layout::MSIX_PBA_OFFSET | layout::MSIX_BAR as u32,
                _ => 0,
            },
            CapKind::PowerManagement => match at {
                0 => head(pci::cap_id::POWER_MANAGEMENT, pci::pm::PMC_VERSION_1_2),
                pci::pm::PMCSR => (self.power_state | pci::pm::PMCSR_NO_SOFT_RESET) as u32,
                _ => 0,
            },
            CapKind::Express => self.read_express(at, head),
        }
    }

    fn read_express(&self, at: usize, head: impl Fn(u8, u16) -> u32) -> u32 {
        use pci::exp::*;
        let speed = self.cfg.link_speed as u32;
        let width = self.cfg.link_width as u32;
        match at {
            0 => head(pci::cap_id::EXPRESS, FLAGS_VERSION_2 | FLAGS_TYPE_ENDPOINT),
            DEVCAP => {
                self.cfg.max_payload_code()
                    | DEVCAP_EXT_TAG
                    | LATENCY_NO_LIMIT << DEVCAP_L0S_LATENCY_SHIFT
                    | LATENCY_NO_LIMIT << DEVCAP_L1_LATENCY_SHIFT
                    | DEVCAP_RBER
            }
            DEVCTL => self.dev_control as u32 | (self.dev_status as u32) << 16,
            LNKCAP => speed | width << LNKCAP_WIDTH_SHIFT | LNKCAP_ASPM_OPTIONALITY,
            LNKCTL => {
                let status = speed | width << LNKSTA_WIDTH_SHIFT | LNKSTA_SLOT_CLOCK as u32;
                self.link_control as u32 | status << 16
            }
            LNKCAP2 => ((1 << speed) - 1) << LNKCAP2_SPEEDS_SHIFT,
            LNKCTL2 => self.link_control2 as u32,
            _ => 0,
        }
    }

    /// Writes the bytes of `value` enabled by `be` to the DW at `4 * dw`.
    pub fn write_dw(&mut self, dw: usize, be: u8, value: u32) {
        for byte in 0..4 {
            if be & (1 << byte) != 0 {
                self.write_byte(dw * 4 + byte, (value >> (8 * byte)) as u8);
            }
        }
    }

    fn write_byte(&mut self, off: usize, v: u8) {
        let i = off % 4;
        match off & !3 {
            pci::hdr::COMMAND if i < 2 => {
                self.command = merge_byte(self.command, i, v, COMMAND_WRITABLE)
            }
            pci::hdr::COMMAND => {
                self.status_errors = clear_byte(self.status_errors, i - 2, v, STATUS_W1C)
            }
            pci::hdr::CACHE_LINE_SIZE if i == 0 => self.cache_line_size = v,
            BAR0 => {
                self.bars[0] = merge_byte(self.bars[0], i, v, !(layout::VIRTIO_BAR_SIZE as u32 - 1))
            }
            BAR1 => self.bars[1] = merge_byte(self.bars[1], i, v, u32::MAX),
            BAR2 => {
                self.bars[2] = merge_byte(self.bars[2], i, v, !(layout::MSIX_BAR_SIZE as u32 - 1))
            }
            pci::hdr::INTERRUPT_LINE if i == 0 => self.interrupt_line = v,
            _ => self.write_cap_byte(off, v),
        }
    }

    fn write_cap_byte(&mut self, off: usize, v: u8) {
        let Some((_, cap)) = capability_at(off) else {
            return;
        };
        let at = off - cap.offset;
        match cap.kind {
            CapKind::Virtio(virtio::cfg_type::PCI_CFG) => {
                use virtio::cap::{BAR, LENGTH, OFFSET, PCI_CFG_DATA};
                if (PCI_CFG_DATA..PCI_CFG_DATA + 4).contains(&at) {
                    self.pci_cfg_data =
                        merge_byte(self.pci_cfg_data, at - PCI_CFG_DATA, v, u32::MAX);
                } else if at == BAR {
                    self.pci_cfg_bar = v;
                } else if (OFFSET..OFFSET + 4).contains(&at) {
                    self.pci_cfg_offset = merge_byte(self.pci_cfg_offset, at - OFFSET, v, u32::MAX);
                } else if (LENGTH..LENGTH + 4).contains(&at) {
                    self.pci_cfg_length = merge_byte(self.pci_cfg_length, at - LENGTH, v, u32::MAX);
                }
            }
            CapKind::Msix if (2..4).contains(&at) => {
                self.msix_control = merge_byte(self.msix_control, at - 2, v, MSIX_CONTROL_WRITABLE)
            }
            CapKind::PowerManagement if at == pci::pm::PMCSR => {
                // D1 and D2 are not supported: such a write is discarded.
                let state = v as u16 & pci::pm::PMCSR_STATE_MASK;
                if state == pci::pm::STATE_D0 || state == pci::pm::STATE_D3HOT {
                    self.power_state = state;
                }
            }
            CapKind::Express => {
                use pci::exp::*;
                let in16 = |reg: usize| (reg..reg + 2).contains(&at);
                if in16(DEVCTL) {
                    self.dev_control =
                        merge_byte(self.dev_control, at - DEVCTL, v, DEVCTL_WRITABLE);
                } else if in16(DEVSTA) {
                    self.dev_status = clear_byte(self.dev_status, at - DEVSTA, v, DEVSTA_W1C);
                } else if in16(LNKCTL) {
                    self.link_control =
                        merge_byte(self.link_control, at - LNKCTL, v, LNKCTL_WRITABLE);
                } else if in16(LNKCTL2) {
                    self.link_control2 =
                        merge_byte(self.link_control2, at - LNKCTL2, v, LNKCTL2_WRITABLE);
                }
            }
            _ => {}
        }
    }
}

/// The capability (index in the list, slot) that covers byte `off`.
fn capability_at(off: usize) -> Option<(usize, CapSlot)> {
    layout::CAPABILITIES
        .iter()
        .copied()
        .enumerate()
        .find(|(_, c)| (c.offset..c.offset + c.len).contains(&off))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> ConfigSpace {
        ConfigSpace::new(&DeviceConfig::default())
    }

    #[test]
    fn ids_and_class_of_a_modern_virtio_net_function() {
        let s = space();
        assert_eq!(s.read_dw(0), 0x1041_1AF4);
        assert_eq!(s.read_dw(2), 0x0200_0001);
        assert_eq!(s.read_dw(1) >> 16, pci::status::CAP_LIST as u32);
    }

    #[test]
    fn bar_sizing_reads_back_the_size_mask() {
        let mut s = space();
        s.write_dw(4, 0xF, u32::MAX);
        s.write_dw(5, 0xF, u32::MAX);
        s.write_dw(6, 0xF, u32::MAX);
        assert_eq!(s.read_dw(4), 0xFFFF_C004);
        assert_eq!(s.read_dw(5), 0xFFFF_FFFF);
        assert_eq!(s.read_dw(6), 0xFFFF_F000);
    }

    #[test]
    fn status_error_bits_are_write_one_to_clear() {
        let mut s = space();
        s.record(ErrorEvent::Poisoned);
        assert_ne!(s.read_dw(1) & 1 << 31, 0);
        s.write_dw(1, 0b0100, 0xFFFF_FFFF); // byte 2 only: bit 15 is in byte 3
        assert_ne!(s.read_dw(1) & 1 << 31, 0);
        s.write_dw(1, 0b1000, 0x8000_0000);
        assert_eq!(s.read_dw(1) & 1 << 31, 0);
    }

    #[test]
    fn unsupported_power_states_are_discarded() {
        let mut s = space();
        let pmcsr = (layout::CAP_PM + pci::pm::PMCSR) / 4;
        s.write_dw(pmcsr, 1, 1);
        assert_eq!(s.read_dw(pmcsr) & 3, 0);
        s.write_dw(pmcsr, 1, 3);
        assert_eq!(s.read_dw(pmcsr) & 3, 3);
        s.write_dw(1, 1, pci::command::MEMORY_SPACE as u32);
        assert!(!s.memory_enabled(), "D3hot does not decode memory");
    }
}
