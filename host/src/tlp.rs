//! Transaction-layer packets as the host sees them (PCI Express Base 2.2).
//!
//! A [`Tlp`] is its header DWs (DW 0 first, in the byte order the
//! specification draws: the first byte of the DW in bits 31:24) and its
//! payload DWs (first byte in bits 7:0, as in memory). This module builds the
//! requests the host sends and takes apart the completions it receives.

use std::fmt;
use vireo_regs::tlp::{cpl_status, fmt_type, FMT_4DW, FMT_DATA, MAX_LENGTH_DW};

/// A transaction-layer packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlp {
    /// Header DWs 0..3 (DW 3 unused by a 3-DW header).
    pub hdr: [u32; 4],
    /// Payload DWs.
    pub data: Vec<u32>,
}

/// A PCI function address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Bdf {
    /// Bus number.
    pub bus: u8,
    /// Device number (0..31).
    pub dev: u8,
    /// Function number (0..7).
    pub func: u8,
}

impl Bdf {
    /// The 16-bit Requester/Completer ID.
    pub fn id(self) -> u16 {
        (self.bus as u16) << 8 | ((self.dev as u16) & 0x1F) << 3 | (self.func as u16 & 7)
    }

    /// The function with this 16-bit ID.
    pub fn from_id(id: u16) -> Self {
        Self {
            bus: (id >> 8) as u8,
            dev: ((id >> 3) & 0x1F) as u8,
            func: (id & 7) as u8,
        }
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.dev, self.func)
    }
}

/// Fields of DW 1 shared by every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReqId {
    /// Requester ID.
    pub requester: u16,
    /// Tag (8 bits).
    pub tag: u8,
}

fn dw0(ft: u8, length_dw: u32) -> u32 {
    debug_assert!((1..=MAX_LENGTH_DW).contains(&length_dw));
    (ft as u32) << 24 | (length_dw & 0x3FF)
}

fn dw1(id: ReqId, last_be: u8, first_be: u8) -> u32 {
    (id.requester as u32) << 16
        | (id.tag as u32) << 8
        | ((last_be & 0xF) as u32) << 4
        | (first_be & 0xF) as u32
}

impl Tlp {
    /// Configuration Read Type 0 of DW `reg_dw` (0..1023) of `target`.
    pub fn cfg_rd0(id: ReqId, target: Bdf, reg_dw: u16, be: u8) -> Self {
        Self {
            hdr: [
                dw0(fmt_type::CFGRD0, 1),
                dw1(id, 0, be),
                cfg_dw2(target, reg_dw),
                0,
            ],
            data: vec![],
        }
    }

    /// Configuration Write Type 0 of DW `reg_dw` of `target`.
    pub fn cfg_wr0(id: ReqId, target: Bdf, reg_dw: u16, be: u8, value: u32) -> Self {
        Self {
            hdr: [
                dw0(fmt_type::CFGWR0, 1),
                dw1(id, 0, be),
                cfg_dw2(target, reg_dw),
                0,
            ],
            data: vec![value],
        }
    }

    /// Memory Read of `len_dw` DWs at DW-aligned `addr`; a 3-DW header below
    /// 4 GiB, a 4-DW header above, as PCIe requires.
    pub fn mem_rd(id: ReqId, addr: u64, len_dw: u32, first_be: u8, last_be: u8) -> Self {
        let (ft, hdr) = mem_addr(fmt_type::MRD32, fmt_type::MRD64, addr);
        Self {
            hdr: [dw0(ft, len_dw), dw1(id, last_be, first_be), hdr[0], hdr[1]],
            data: vec![],
        }
    }

    /// Memory Write of `data` at DW-aligned `addr`.
    pub fn mem_wr(id: ReqId, addr: u64, data: Vec<u32>, first_be: u8, last_be: u8) -> Self {
        let (ft, hdr) = mem_addr(fmt_type::MWR32, fmt_type::MWR64, addr);
        Self {
            hdr: [
                dw0(ft, data.len() as u32),
                dw1(id, last_be, first_be),
                hdr[0],
                hdr[1],
            ],
            data,
        }
    }

    /// A TLP from raw header DWs and payload (for malformed-input tests).
    pub fn raw(hdr: &[u32], data: Vec<u32>) -> Self {
        let mut h = [0u32; 4];
        h[..hdr.len().min(4)].copy_from_slice(&hdr[..hdr.len().min(4)]);
        Self { hdr: h, data }
    }

    /// Combined Fmt/Type byte.
    pub fn fmt_type(&self) -> u8 {
        (self.hdr[0] >> 24) as u8
    }

    /// The header is 4 DWs.
    pub fn is_4dw(&self) -> bool {
        self.fmt_type() & FMT_4DW != 0
    }

    /// Header length in DWs: 4 or 3.
    pub fn header_dws(&self) -> u32 {
        if self.is_4dw() {
            4
        } else {
            3
        }
    }

    /// The TLP carries a payload (Fmt bit 1).
    pub fn has_data(&self) -> bool {
        self.fmt_type() & FMT_DATA != 0
    }

    /// Length in DWs (a Length field of 0 is 1024).
    pub fn length_dw(&self) -> u32 {
        match self.hdr[0] & 0x3FF {
            0 => MAX_LENGTH_DW,
            n => n,
        }
    }

    /// Poisoned (EP).
    pub fn poisoned(&self) -> bool {
        self.hdr[0] & (1 << 14) != 0
    }

    /// Tag of a request (8 bits).
    pub fn tag(&self) -> u8 {
        (self.hdr[1] >> 8) as u8
    }

    /// Requester ID of a request.
    pub fn requester_id(&self) -> u16 {
        (self.hdr[1] >> 16) as u16
    }

    /// First DW byte enables of a request.
    pub fn first_be(&self) -> u8 {
        (self.hdr[1] & 0xF) as u8
    }

    /// Last DW byte enables of a request.
    pub fn last_be(&self) -> u8 {
        ((self.hdr[1] >> 4) & 0xF) as u8
    }

    /// Address of a memory request (bits 1:0 are zero).
    pub fn address(&self) -> u64 {
        if self.is_4dw() {
            (self.hdr[2] as u64) << 32 | (self.hdr[3] & !3) as u64
        } else {
            (self.hdr[2] & !3) as u64
        }
    }

    /// The function a configuration request targets.
    pub fn cfg_target(&self) -> Bdf {
        Bdf::from_id((self.hdr[2] >> 16) as u16)
    }

    /// DW index of a configuration request (Extended Register Number and Register Number).
    pub fn cfg_reg_dw(&self) -> u16 {
        ((self.hdr[2] >> 2) & 0x3FF) as u16
    }

    /// The request is non-posted: the host waits for a completion.
    pub fn is_non_posted(&self) -> bool {
        use fmt_type::*;
        matches!(
            self.fmt_type(),
            MRD32
                | MRD64
                | MRDLK32
                | MRDLK64
                | IORD
                | IOWR
                | CFGRD0
                | CFGWR0
                | CFGRD1
                | CFGWR1
                | FETCHADD32
                | FETCHADD64
                | SWAP32
                | SWAP64
                | CAS32
                | CAS64
        )
    }

    /// The TLP is a completion (Cpl, CplD, CplLk, CplDLk).
    pub fn is_completion(&self) -> bool {
        matches!(
            self.fmt_type(),
            fmt_type::CPL | fmt_type::CPLD | fmt_type::CPLLK | fmt_type::CPLDLK
        )
    }

    /// The header as the 128-bit `hdr` bus value (DW 0 in bits 127:96).
    pub fn hdr_bits(&self) -> u128 {
        self.hdr
            .iter()
            .fold(0u128, |acc, &dw| acc << 32 | dw as u128)
    }

    /// A TLP from the 128-bit `hdr` bus value and its payload.
    pub fn from_hdr_bits(hdr: u128, data: Vec<u32>) -> Self {
        Self {
            hdr: std::array::from_fn(|i| (hdr >> (96 - 32 * i)) as u32),
            data,
        }
    }
}

fn cfg_dw2(target: Bdf, reg_dw: u16) -> u32 {
    (target.id() as u32) << 16 | ((reg_dw as u32) & 0x3FF) << 2
}

fn mem_addr(ft32: u8, ft64: u8, addr: u64) -> (u8, [u32; 2]) {
    assert_eq!(
        addr & 3,
        0,
        "memory request address {addr:#x} is not DW aligned"
    );
    if addr >> 32 == 0 {
        (ft32, [addr as u32, 0])
    } else {
        (ft64, [(addr >> 32) as u32, addr as u32])
    }
}

/// A completion taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// Completion Status.
    pub status: u8,
    /// Completer ID.
    pub completer_id: u16,
    /// Byte Count.
    pub byte_count: u16,
    /// Byte Count Modified.
    pub bcm: bool,
    /// Requester ID.
    pub requester_id: u16,
    /// Tag (10 bits: T9, T8 and the 8-bit field).
    pub tag: u16,
    /// Lower Address.
    pub lower_addr: u8,
    /// Traffic Class.
    pub tc: u8,
    /// Attributes (bit 2 is Attr[2]).
    pub attr: u8,
    /// Payload (empty for Cpl).
    pub data: Vec<u32>,
}

impl Completion {
    /// Takes apart `tlp`, or `None` if it is not a completion.
    pub fn parse(tlp: &Tlp) -> Option<Self> {
        if !tlp.is_completion() {
            return None;
        }
        let [d0, d1, d2, _] = tlp.hdr;
        Some(Self {
            status: ((d1 >> 13) & 7) as u8,
            completer_id: (d1 >> 16) as u16,
            byte_count: (d1 & 0xFFF) as u16,
            bcm: d1 & (1 << 12) != 0,
            requester_id: (d2 >> 16) as u16,
            tag: (((d0 >> 23) & 1) << 9 | ((d0 >> 19) & 1) << 8 | ((d2 >> 8) & 0xFF)) as u16,
            lower_addr: (d2 & 0x7F) as u8,
            tc: ((d0 >> 20) & 7) as u8,
            attr: (((d0 >> 18) & 1) << 2 | ((d0 >> 12) & 3)) as u8,
            data: tlp.data.clone(),
        })
    }

    /// Successful Completion.
    pub fn ok(&self) -> bool {
        self.status == cpl_status::SC
    }
}

/// Name of a Completion Status value.
pub fn status_name(status: u8) -> &'static str {
    match status {
        cpl_status::SC => "SC",
        cpl_status::UR => "UR",
        cpl_status::CRS => "CRS",
        cpl_status::CA => "CA",
        _ => "reserved",
    }
}

/// Name of a Fmt/Type byte.
pub fn type_name(ft: u8) -> String {
    use fmt_type::*;
    match ft {
        MRD32 | MRD64 => "MRd".into(),
        MRDLK32 | MRDLK64 => "MRdLk".into(),
        MWR32 | MWR64 => "MWr".into(),
        IORD => "IORd".into(),
        IOWR => "IOWr".into(),
        CFGRD0 => "CfgRd0".into(),
        CFGWR0 => "CfgWr0".into(),
        CFGRD1 => "CfgRd1".into(),
        CFGWR1 => "CfgWr1".into(),
        CPL => "Cpl".into(),
        CPLD => "CplD".into(),
        CPLLK => "CplLk".into(),
        CPLDLK => "CplDLk".into(),
        FETCHADD32 | FETCHADD64 => "FetchAdd".into(),
        SWAP32 | SWAP64 => "Swap".into(),
        CAS32 | CAS64 => "CAS".into(),
        x if x & !fmt_type::MSG_ROUTING_MASK == MSG => "Msg".into(),
        x if x & !fmt_type::MSG_ROUTING_MASK == MSGD => "MsgD".into(),
        x => format!("fmt/type {x:#04x}"),
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ft = self.fmt_type();
        write!(f, "{}", type_name(ft))?;
        if let Some(c) = Completion::parse(self) {
            write!(
                f,
                " {} completer={} requester={} tag={:#x} byte_count={} lower_addr={:#x}",
                status_name(c.status),
                Bdf::from_id(c.completer_id),
                Bdf::from_id(c.requester_id),
                c.tag,
                c.byte_count,
                c.lower_addr
            )?;
        } else {
            write!(
                f,
                " requester={} tag={:#x} len={}",
                Bdf::from_id(self.requester_id()),
                self.tag(),
                self.length_dw()
            )?;
            match ft {
                fmt_type::CFGRD0 | fmt_type::CFGWR0 | fmt_type::CFGRD1 | fmt_type::CFGWR1 => {
                    write!(
                        f,
                        " target={} reg={:#05x}",
                        self.cfg_target(),
                        self.cfg_reg_dw() as u32 * 4
                    )?
                }
                _ => write!(f, " addr={:#x}", self.address())?,
            }
            write!(f, " be={:x}/{:x}", self.last_be(), self.first_be())?;
            if self.poisoned() {
                write!(f, " poisoned")?;
            }
        }
        if !self.data.is_empty() {
            write!(f, " data=[")?;
            for (i, d) in self.data.iter().enumerate() {
                write!(f, "{}{d:08x}", if i > 0 { " " } else { "" })?;
            }
            write!(f, "]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bus_value_round_trips_and_puts_dw0_on_top() {
        let t = Tlp::mem_rd(
            ReqId {
                requester: 0x0100,
                tag: 7,
            },
            0x1_2345_6780,
            2,
            0xF,
            0x3,
        );
        assert!(t.is_4dw());
        assert_eq!((t.hdr_bits() >> 120) as u8, fmt_type::MRD64);
        assert_eq!(Tlp::from_hdr_bits(t.hdr_bits(), vec![]), t);
        assert_eq!(t.address(), 0x1_2345_6780);
        assert_eq!((t.first_be(), t.last_be(), t.tag()), (0xF, 0x3, 7));
    }

    #[test]
    fn addresses_below_4g_use_three_dw_headers() {
        let t = Tlp::mem_wr(ReqId::default(), 0xFE00_0010, vec![1], 0xF, 0);
        assert_eq!(t.fmt_type(), fmt_type::MWR32);
        assert_eq!(t.address(), 0xFE00_0010);
    }

    #[test]
    fn config_request_fields() {
        let t = Tlp::cfg_wr0(
            ReqId {
                requester: 1,
                tag: 2,
            },
            Bdf {
                bus: 3,
                dev: 4,
                func: 0,
            },
            0x3C4 / 4,
            0x3,
            9,
        );
        assert_eq!(
            t.cfg_target(),
            Bdf {
                bus: 3,
                dev: 4,
                func: 0
            }
        );
        assert_eq!(t.cfg_reg_dw(), 0x3C4 / 4);
        assert!(t.is_non_posted() && t.has_data());
    }

    #[test]
    fn completion_fields() {
        // CplD, TC 0, length 1; completer 01:00.0, SC, byte count 4; requester 00:00.0 tag 5, lower address 0x10.
        let t = Tlp::raw(&[0x4A00_0001, 0x0100_0004, 0x0000_0510], vec![0xDEAD_BEEF]);
        let c = Completion::parse(&t).unwrap();
        assert_eq!(
            (c.completer_id, c.status, c.byte_count, c.tag, c.lower_addr),
            (0x0100, 0, 4, 5, 0x10)
        );
        assert!(c.ok());
    }
}
