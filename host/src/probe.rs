//! Enumeration as Linux does it: identify the function, size and assign its
//! BARs (decoding off while sizing), enable memory decoding and bus
//! mastering, walk the capability list, and find and validate the virtio
//! structure capabilities the way `virtio_pci_modern` does (cap_len, BAR
//! index, offset alignment, offset + length inside the BAR).

use crate::endpoint::{Endpoint, HostError};
use crate::host::Host;
use std::fmt;
use vireo_regs::{pci, virtio};

/// Where the host places BARs.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Start of the window for 32-bit and non-prefetchable BARs.
    pub base: u64,
}

impl Default for Placement {
    fn default() -> Self {
        Self { base: 0xFE00_0000 }
    }
}

/// One implemented BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// BAR index (0..5).
    pub index: u8,
    /// A 64-bit BAR (it also uses `index + 1`).
    pub is_64: bool,
    /// Prefetchable.
    pub prefetchable: bool,
    /// Size in bytes.
    pub size: u64,
    /// Assigned base address.
    pub base: u64,
}

/// A virtio structure capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtioCap {
    /// Offset of the capability in configuration space.
    pub at: u16,
    /// `cfg_type`.
    pub cfg_type: u8,
    /// `cap_len`.
    pub cap_len: u8,
    /// `bar`.
    pub bar: u8,
    /// `offset`.
    pub offset: u32,
    /// `length`.
    pub length: u32,
}

/// The MSI-X capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsixCap {
    /// Offset of the capability.
    pub at: u16,
    /// Number of vectors (Table Size + 1).
    pub vectors: u16,
    /// BAR of the table.
    pub table_bar: u8,
    /// Offset of the table in its BAR.
    pub table_offset: u32,
    /// BAR of the PBA.
    pub pba_bar: u8,
    /// Offset of the PBA in its BAR.
    pub pba_offset: u32,
}

/// What enumeration found.
#[derive(Clone, Debug)]
pub struct Probed {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Revision ID.
    pub revision: u8,
    /// Class code.
    pub class: u32,
    /// The implemented BARs.
    pub bars: Vec<Bar>,
    /// Capability list: (offset, ID) in list order.
    pub caps: Vec<(u16, u8)>,
    /// First virtio capability of each type: common, notify, ISR, device, PCI_CFG.
    pub common: VirtioCap,
    /// Notification structure.
    pub notify: VirtioCap,
    /// `notify_off_multiplier`.
    pub notify_off_multiplier: u32,
    /// ISR status.
    pub isr: VirtioCap,
    /// Device-specific configuration.
    pub device_cfg: Option<VirtioCap>,
    /// PCI configuration access window.
    pub pci_cfg: VirtioCap,
    /// MSI-X capability.
    pub msix: Option<MsixCap>,
}

impl Probed {
    /// The BAR with index `n`.
    pub fn bar(&self, n: u8) -> Option<&Bar> {
        self.bars.iter().find(|b| b.index == n)
    }
}

/// Why enumeration refused the function.
#[derive(Debug)]
pub enum ProbeError {
    /// The transaction layer failed.
    Host(HostError),
    /// The function is not what a virtio-pci driver binds to, or breaks a rule.
    Refused(String),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Host(e) => write!(f, "{e}"),
            ProbeError::Refused(s) => write!(f, "probe refused the function: {s}"),
        }
    }
}

impl std::error::Error for ProbeError {}

impl From<HostError> for ProbeError {
    fn from(e: HostError) -> Self {
        ProbeError::Host(e)
    }
}

fn refuse<T>(msg: String) -> Result<T, ProbeError> {
    Err(ProbeError::Refused(msg))
}

/// Size one BAR as `__pci_read_base` does; returns (bar, next index).
fn size_bar<E: Endpoint>(host: &mut Host<E>, index: u8) -> Result<(Option<Bar>, u8), ProbeError> {
    let reg = (pci::hdr::BAR0 + 4 * index as usize) as u16;
    let orig = host.cfg_read_ok(reg, 4)?;
    host.cfg_write(reg, 4, u32::MAX)?;
    let probe = host.cfg_read_ok(reg, 4)?;
    host.cfg_write(reg, 4, orig)?;
    if probe & pci::bar::IO != 0 {
        return refuse(format!(
            "BAR {index} is an I/O BAR ({probe:#x}); vireo is memory-only"
        ));
    }
    let is_64 = probe & 0b110 == pci::bar::MEM_TYPE_64;
    let mut mask = (probe & !pci::bar::MEM_FLAGS) as u64;
    if is_64 {
        if index == 5 {
            return refuse("BAR 5 claims to be 64-bit".into());
        }
        let orig_hi = host.cfg_read_ok(reg + 4, 4)?;
        host.cfg_write(reg + 4, 4, u32::MAX)?;
        let probe_hi = host.cfg_read_ok(reg + 4, 4)?;
        host.cfg_write(reg + 4, 4, orig_hi)?;
        mask |= (probe_hi as u64) << 32;
    } else if mask != 0 {
        mask |= 0xFFFF_FFFF_0000_0000;
    }
    let next = index + if is_64 { 2 } else { 1 };
    if mask == 0 {
        return Ok((None, next));
    }
    let size = mask & mask.wrapping_neg();
    let bar = Bar {
        index,
        is_64,
        prefetchable: probe & pci::bar::PREFETCHABLE != 0,
        size,
        base: 0,
    };
    Ok((Some(bar), next))
}

/// Write `base` into BAR `index` (and the upper half of a 64-bit BAR).
pub fn set_bar<E: Endpoint>(host: &mut Host<E>, bar: &Bar, base: u64) -> Result<(), ProbeError> {
    let reg = (pci::hdr::BAR0 + 4 * bar.index as usize) as u16;
    host.cfg_write(reg, 4, base as u32)?;
    if bar.is_64 {
        host.cfg_write(reg + 4, 4, (base >> 32) as u32)?;
    } else if base >> 32 != 0 {
        return refuse(format!(
            "BAR {} is 32-bit; cannot place it at {base:#x}",
            bar.index
        ));
    }
    Ok(())
}

/// Enumerate the function behind `host`.
pub fn probe<E: Endpoint>(host: &mut Host<E>, place: Placement) -> Result<Probed, ProbeError> {
    let vendor = host.cfg_read_ok(pci::hdr::VENDOR_ID as u16, 2)? as u16;
    let device = host.cfg_read_ok(pci::hdr::DEVICE_ID as u16, 2)? as u16;
    if vendor != virtio::PCI_VENDOR_ID || !(virtio::PCI_DEVICE_ID_BASE..0x1080).contains(&device) {
        return refuse(format!(
            "{vendor:04x}:{device:04x} is not a modern virtio device"
        ));
    }
    let revision = host.cfg_read_ok(pci::hdr::REVISION_ID as u16, 1)? as u8;
    let class = host.cfg_read_ok(pci::hdr::REVISION_ID as u16, 4)? >> 8;
    let header_type = host.cfg_read_ok(pci::hdr::HEADER_TYPE as u16, 1)?;
    if header_type & 0x7F != 0 {
        return refuse(format!(
            "header type {header_type:#x} is not a Type 0 header"
        ));
    }

    // Size the BARs with decoding off, then assign them in order.
    let command = host.cfg_read_ok(pci::hdr::COMMAND as u16, 2)?;
    let decode = (pci::command::MEMORY_SPACE | pci::command::IO_SPACE) as u32;
    host.cfg_write(pci::hdr::COMMAND as u16, 2, command & !decode)?;
    let mut bars = Vec::new();
    let mut index = 0;
    while (index as usize) < pci::hdr::NUM_BARS {
        let (bar, next) = size_bar(host, index)?;
        bars.extend(bar);
        index = next;
    }
    let mut next_base = place.base;
    for bar in &mut bars {
        let base = next_base.div_ceil(bar.size) * bar.size;
        set_bar(host, bar, base)?;
        bar.base = base;
        next_base = base + bar.size;
    }
    let enable = (pci::command::MEMORY_SPACE | pci::command::BUS_MASTER) as u32;
    host.cfg_write(pci::hdr::COMMAND as u16, 2, (command & !decode) | enable)?;

    // Capability list (at most 48 entries, as Linux walks it).
    let status = host.cfg_read_ok(pci::hdr::STATUS as u16, 2)?;
    if status & pci::status::CAP_LIST as u32 == 0 {
        return refuse("Status.Capabilities List is clear".into());
    }
    let mut caps = Vec::new();
    let mut at = host.cfg_read_ok(pci::hdr::CAP_PTR as u16, 1)? as u16 & !3;
    while at != 0 {
        if caps.len() == 48 || at < pci::hdr::SIZE as u16 {
            return refuse(format!("capability list broken at {at:#x}"));
        }
        let id = host.cfg_read_ok(at, 1)? as u8;
        caps.push((at, id));
        at = host.cfg_read_ok(at + 1, 1)? as u16 & !3;
    }

    let mut vcaps = Vec::new();
    for &(at, id) in &caps {
        if id == pci::cap_id::VENDOR {
            vcaps.push(read_virtio_cap(host, at)?);
        }
    }
    let first = |t: u8| vcaps.iter().copied().find(|c| c.cfg_type == t);
    let need =
        |t: u8, name: &str| first(t).map_or_else(|| refuse(format!("no {name} capability")), Ok);
    let common = need(virtio::cfg_type::COMMON, "COMMON_CFG")?;
    let notify = need(virtio::cfg_type::NOTIFY, "NOTIFY_CFG")?;
    let isr = need(virtio::cfg_type::ISR, "ISR_CFG")?;
    let pci_cfg = need(virtio::cfg_type::PCI_CFG, "PCI_CFG")?;
    let device_cfg = first(virtio::cfg_type::DEVICE);
    let msix = match caps.iter().find(|c| c.1 == pci::cap_id::MSIX) {
        Some(&(at, _)) => Some(read_msix_cap(host, at, &bars)?),
        None => None,
    };

    // The checks of vp_modern_map_capability: minimum length and alignment.
    let common_min = virtio::common::QUEUE_NOTIF_CONFIG_DATA as u32;
    check_structure(&bars, &common, common_min, 4, "common")?;
    check_structure(&bars, &notify, 2, 2, "notify")?;
    check_structure(&bars, &isr, 1, 1, "ISR")?;
    if let Some(d) = &device_cfg {
        check_structure(&bars, d, 0, 4, "device")?;
    }
    for (cap, min_len) in [
        (&notify, virtio::cap::NOTIFY_LEN),
        (&pci_cfg, virtio::cap::PCI_CFG_LEN),
    ] {
        if (cap.cap_len as usize) < min_len {
            return refuse(format!(
                "capability at {:#x}: cap_len {} < {min_len}",
                cap.at, cap.cap_len
            ));
        }
    }
    let notify_off_multiplier =
        host.cfg_read_ok(notify.at + virtio::cap::NOTIFY_OFF_MULTIPLIER as u16, 4)?;
    if notify_off_multiplier != 0
        && !(notify_off_multiplier.is_power_of_two() && notify_off_multiplier.is_multiple_of(2))
    {
        return refuse(format!(
            "notify_off_multiplier {notify_off_multiplier} is neither 0 nor an even power of 2"
        ));
    }
    Ok(Probed {
        vendor,
        device,
        revision,
        class,
        bars,
        caps,
        common,
        notify,
        notify_off_multiplier,
        isr,
        device_cfg,
        pci_cfg,
        msix,
    })
}

fn read_msix_cap<E: Endpoint>(
    host: &mut Host<E>,
    at: u16,
    bars: &[Bar],
) -> Result<MsixCap, ProbeError> {
    let ctrl = host.cfg_read_ok(at + pci::msix::MSG_CTRL as u16, 2)?;
    let table = host.cfg_read_ok(at + pci::msix::TABLE as u16, 4)?;
    let pba = host.cfg_read_ok(at + pci::msix::PBA as u16, 4)?;
    let cap = MsixCap {
        at,
        vectors: (ctrl as u16 & pci::msix::CTRL_TABLE_SIZE_MASK) + 1,
        table_bar: (table & 7) as u8,
        table_offset: table & !7,
        pba_bar: (pba & 7) as u8,
        pba_offset: pba & !7,
    };
    let inside = |bar: u8, offset: u32, len: u64| {
        bars.iter()
            .any(|b| b.index == bar && offset as u64 + len <= b.size)
    };
    let table_len = cap.vectors as u64 * pci::msix::ENTRY_BYTES as u64;
    if !inside(cap.table_bar, cap.table_offset, table_len)
        || !inside(cap.pba_bar, cap.pba_offset, 8)
    {
        return refuse(format!("MSI-X table or PBA outside its BAR: {cap:x?}"));
    }
    Ok(cap)
}

fn read_virtio_cap<E: Endpoint>(host: &mut Host<E>, at: u16) -> Result<VirtioCap, ProbeError> {
    let head = host.cfg_read_ok(at, 4)?;
    let cap = VirtioCap {
        at,
        cap_len: (head >> 16) as u8,
        cfg_type: (head >> 24) as u8,
        bar: host.cfg_read_ok(at + virtio::cap::BAR as u16, 1)? as u8,
        offset: host.cfg_read_ok(at + virtio::cap::OFFSET as u16, 4)?,
        length: host.cfg_read_ok(at + virtio::cap::LENGTH as u16, 4)?,
    };
    if (cap.cap_len as usize) < virtio::cap::LEN {
        return refuse(format!(
            "virtio capability at {at:#x}: cap_len {} < {}",
            cap.cap_len,
            virtio::cap::LEN
        ));
    }
    Ok(cap)
}

fn check_structure(
    bars: &[Bar],
    cap: &VirtioCap,
    min_len: u32,
    align: u32,
    name: &str,
) -> Result<(), ProbeError> {
    let Some(bar) = bars.iter().find(|b| b.index == cap.bar) else {
        return refuse(format!(
            "{name} structure in BAR {}, which is not an implemented memory BAR",
            cap.bar
        ));
    };
    if cap.length < min_len {
        return refuse(format!(
            "{name} structure length {} < {min_len}",
            cap.length
        ));
    }
    if !cap.offset.is_multiple_of(align) {
        return refuse(format!(
            "{name} structure offset {:#x} not aligned to {align}",
            cap.offset
        ));
    }
    if cap.offset as u64 + cap.length as u64 > bar.size {
        return refuse(format!(
            "{name} structure {:#x}+{:#x} overruns BAR {} ({:#x} bytes)",
            cap.offset, cap.length, bar.index, bar.size
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_outside_their_bar_or_misaligned_are_refused() {
        let bars = [Bar {
            index: 0,
            is_64: true,
            prefetchable: false,
            size: 0x4000,
            base: 0xfe00_0000,
        }];
        let cap = |bar: u8, offset: u32, length: u32| VirtioCap {
            at: 0x40,
            cfg_type: virtio::cfg_type::COMMON,
            cap_len: virtio::cap::LEN as u8,
            bar,
            offset,
            length,
        };
        let check = |c: VirtioCap| check_structure(&bars, &c, 0x38, 4, "common");
        assert!(check(cap(0, 0, 0x38)).is_ok());
        assert!(check(cap(0, 0x3fc8, 0x38)).is_ok(), "ends at the BAR's end");
        for (bad, why) in [
            (cap(2, 0, 0x38), "not an implemented memory BAR"),
            (cap(6, 0, 0x38), "not an implemented memory BAR"),
            (cap(0, 0, 0x30), "length"),
            (cap(0, 0x2, 0x38), "not aligned"),
            (cap(0, 0x3fd0, 0x38), "overruns"),
        ] {
            let e = check(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:x?}: {e}");
        }
    }
}
