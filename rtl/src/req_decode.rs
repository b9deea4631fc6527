//! Request decoder of the completer.
//!
//! Takes a received TLP header (held in a register by the completer), the
//! number of payload DWs that arrived and whether it came in one beat, and
//! decides what the function does with it. First match wins:
//!
//! 1. completions and messages: dropped (no completion is owed);
//! 2. unknown Fmt/Type: malformed, dropped;
//! 3. payload DWs differ from Length, or a TLP without payload spans beats:
//!    malformed; Unsupported Request completion if non-posted, else dropped;
//! 4. poisoned (EP): Unsupported Request completion if non-posted, else dropped;
//! 5. CfgRd0/CfgWr0: Length other than 1 or a Last DW BE is malformed (UR);
//!    a function number other than 0 is unsupported (UR); else served;
//! 6. MRd/MWr: byte enables against the Length rules are malformed, more than
//!    `MAX_MMIO_DWS` (one beat) or no BAR hit is unsupported (UR for reads, dropped
//!    writes); else served;
//! 7. any other request (I/O, Type 1 config, locked reads, AtomicOps): UR.
//!
//! A request that hits both BARs (overlapping BARs) goes to the virtio BAR.
//! It also computes the Byte Count and Lower Address of the completion.
//! Purely combinational; zero latency.

use crate::bar_decode::{BarDecode, BAR_OFFSET_BITS};
use crate::cfg_space::CFG_DW_BITS;
use rust_hdl::prelude::*;
use vireo_regs::layout::MAX_MMIO_DWS;
use vireo_regs::tlp::fmt_type;

/// What the completer does with a request.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum ReqAction {
    /// Consume it; nothing is sent.
    Drop,
    /// Send a completion without data, status Unsupported Request.
    Unsupported,
    /// Read one configuration DW; CplD.
    CfgRead,
    /// Write one configuration DW; Cpl.
    CfgWrite,
    /// Read DWs of a BAR; CplD.
    MemRead,
    /// Write DWs of a BAR; nothing is sent.
    MemWrite,
}

/// Width of a decoded Length (1 ..= 1024 DW).
pub const LENGTH_BITS: usize = 11;

/// Classifies a received request and extracts the fields a completion needs.
#[derive(LogicBlock)]
pub struct ReqDecode {
    /// TLP header (DW 0 in bits 127:96).
    pub hdr: Signal<In, Bits<128>>,
    /// Payload DWs received (sum of strobes over all beats).
    pub dw_count: Signal<In, Bits<LENGTH_BITS>>,
    /// The TLP arrived in a single beat.
    pub single_beat: Signal<In, Bit>,
    /// Memory Space Enable (and D0).
    pub mem_enable: Signal<In, Bit>,
    /// BAR 0 register.
    pub bar0: Signal<In, Bits<32>>,
    /// BAR 1 register.
    pub bar1: Signal<In, Bits<32>>,
    /// BAR 2 register.
    pub bar2: Signal<In, Bits<32>>,

    /// The decision.
    pub action: Signal<Out, ReqAction>,
    /// The TLP was poisoned.
    pub ev_poisoned: Signal<Out, Bit>,
    /// The TLP was malformed.
    pub ev_malformed: Signal<Out, Bit>,
    /// The request is not supported by the function.
    pub ev_unsupported: Signal<Out, Bit>,
    /// A CfgWr0 that carries the function's bus and device number.
    pub capture_id: Signal<Out, Bit>,
    /// Length in DWs (1 ..= 1024).
    pub length: Signal<Out, Bits<LENGTH_BITS>>,
    /// First DW byte enables.
    pub first_be: Signal<Out, Bits<4>>,
    /// Last DW byte enables.
    pub last_be: Signal<Out, Bits<4>>,
    /// Requester ID.
    pub requester_id: Signal<Out, Bits<16>>,
    /// Tag bits 7:0.
    pub tag: Signal<Out, Bits<8>>,
    /// Tag bits 9:8 (T9, T8).
    pub tag_hi: Signal<Out, Bits<2>>,
    /// Traffic Class.
    pub tc: Signal<Out, Bits<3>>,
    /// Attributes: bit 2 ID-based ordering, bits 1:0 relaxed ordering / no snoop.
    pub attr: Signal<Out, Bits<3>>,
    /// Configuration DW index (extended register number and register number).
    pub cfg_dw: Signal<Out, Bits<CFG_DW_BITS>>,
    /// Bus number of a configuration request.
    pub cfg_bus: Signal<Out, Bits<8>>,
    /// Device number of a configuration request.
    pub cfg_dev: Signal<Out, Bits<5>>,
    /// The memory request targets the MSI-X BAR (else the virtio BAR).
    pub bar_msix: Signal<Out, Bit>,
    /// Byte offset of the first DW inside the BAR.
    pub bar_offset: Signal<Out, Bits<BAR_OFFSET_BITS>>,
    /// Byte Count of the completion.
    pub byte_count: Signal<Out, Bits<12>>,
    /// Lower Address of the completion.
    pub lower_addr: Signal<Out, Bits<7>>,

    bars: BarDecode,
    ft: Signal<Local, Bits<8>>,
    has_data: Signal<Local, Bit>,
    poisoned: Signal<Local, Bit>,
    addr: Signal<Local, Bits<64>>,
    is_cpl: Signal<Local, Bit>,
    is_msg: Signal<Local, Bit>,
    is_cfg_rd: Signal<Local, Bit>,
    is_cfg_wr: Signal<Local, Bit>,
    is_mrd: Signal<Local, Bit>,
    is_mwr: Signal<Local, Bit>,
    is_other_np: Signal<Local, Bit>,
    non_posted: Signal<Local, Bit>,
    framing_ok: Signal<Local, Bit>,
    mem_be_ok: Signal<Local, Bit>,
    first_skip: Signal<Local, Bits<13>>,
    last_skip: Signal<Local, Bits<13>>,
    first_span: Signal<Local, Bits<13>>,
    mem_count: Signal<Local, Bits<13>>,
    last_idx: Signal<Local, Bits<LENGTH_BITS>>,

    ft_mrd32: Constant<Bits<8>>,
    ft_mrd64: Constant<Bits<8>>,
    ft_mwr32: Constant<Bits<8>>,
    ft_mwr64: Constant<Bits<8>>,
    ft_cfgrd0: Constant<Bits<8>>,
    ft_cfgwr0: Constant<Bits<8>>,
    ft_cpl: Constant<Bits<8>>,
    ft_cpld: Constant<Bits<8>>,
    ft_cpllk: Constant<Bits<8>>,
    ft_cpldlk: Constant<Bits<8>>,
    ft_msg: Constant<Bits<8>>,
    ft_msgd: Constant<Bits<8>>,
    ft_msg_routing: Constant<Bits<8>>,
    ft_mrdlk32: Constant<Bits<8>>,
    ft_mrdlk64: Constant<Bits<8>>,
    ft_iord: Constant<Bits<8>>,
    ft_iowr: Constant<Bits<8>>,
    ft_cfgrd1: Constant<Bits<8>>,
    ft_cfgwr1: Constant<Bits<8>>,
    ft_fetchadd32: Constant<Bits<8>>,
    ft_fetchadd64: Constant<Bits<8>>,
    ft_swap32: Constant<Bits<8>>,
    ft_swap64: Constant<Bits<8>>,
    ft_cas32: Constant<Bits<8>>,
    ft_cas64: Constant<Bits<8>>,
    max_dws: Constant<Bits<LENGTH_BITS>>,
}

fn ft(code: u8) -> Constant<Bits<8>> {
    Constant::new((code as u64).into())
}

impl Default for ReqDecode {
    fn default() -> Self {
        Self {
            hdr: Default::default(),
            dw_count: Default::default(),
            single_beat: Default::default(),
            mem_enable: Default::default(),
            bar0: Default::default(),
            bar1: Default::default(),
            bar2: Default::default(),
            action: Default::default(),
            ev_poisoned: Default::default(),
            ev_malformed: Default::default(),
            ev_unsupported: Default::default(),
            capture_id: Default::default(),
            length: Default::default(),
            first_be: Default::default(),
            last_be: Default::default(),
            requester_id: Default::default(),
            tag: Default::default(),
            tag_hi: Default::default(),
            tc: Default::default(),
            attr: Default::default(),
            cfg_dw: Default::default(),
            cfg_bus: Default::default(),
            cfg_dev: Default::default(),
            bar_msix: Default::default(),
            bar_offset: Default::default(),
            byte_count: Default::default(),
            lower_addr: Default::default(),
            bars: Default::default(),
            ft: Default::default(),
            has_data: Default::default(),
            poisoned: Default::default(),
            addr: Default::default(),
            is_cpl: Default::default(),
            is_msg: Default::default(),
            is_cfg_rd: Default::default(),
            is_cfg_wr: Default::default(),
            is_mrd: Default::default(),
            is_mwr: Default::default(),
            is_other_np: Default::default(),
            non_posted: Default::default(),
            framing_ok: Default::default(),
            mem_be_ok: Default::default(),
            first_skip: Default::default(),
            last_skip: Default::default(),
            first_span: Default::default(),
            mem_count: Default::default(),
            last_idx: Default::default(),
            ft_mrd32: ft(fmt_type::MRD32),
            ft_mrd64: ft(fmt_type::MRD64),
            ft_mwr32: ft(fmt_type::MWR32),
            ft_mwr64: ft(fmt_type::MWR64),
            ft_cfgrd0: ft(fmt_type::CFGRD0),
            ft_cfgwr0: ft(fmt_type::CFGWR0),
            ft_cpl: ft(fmt_type::CPL),
            ft_cpld: ft(fmt_type::CPLD),
            ft_cpllk: ft(fmt_type::CPLLK),
            ft_cpldlk: ft(fmt_type::CPLDLK),
            ft_msg: ft(fmt_type::MSG),
            ft_msgd: ft(fmt_type::MSGD),
            ft_msg_routing: ft(fmt_type::MSG_ROUTING_MASK),
            ft_mrdlk32: ft(fmt_type::MRDLK32),
            ft_mrdlk64: ft(fmt_type::MRDLK64),
            ft_iord: ft(fmt_type::IORD),
            ft_iowr: ft(fmt_type::IOWR),
            ft_cfgrd1: ft(fmt_type::CFGRD1),
            ft_cfgwr1: ft(fmt_type::CFGWR1),
            ft_fetchadd32: ft(fmt_type::FETCHADD32),
            ft_fetchadd64: ft(fmt_type::FETCHADD64),
            ft_swap32: ft(fmt_type::SWAP32),
            ft_swap64: ft(fmt_type::SWAP64),
            ft_cas32: ft(fmt_type::CAS32),
            ft_cas64: ft(fmt_type::CAS64),
            max_dws: Constant::new((MAX_MMIO_DWS as u64).into()),
        }
    }
}

impl Logic for ReqDecode {
    #[hdl_gen]
    fn update(&mut self) {
        // Header fields (PCIe Base 2.2.1; DW 0 is hdr[127:96]).
        self.ft.next = self.hdr.val().get_bits::<8>(120);
        self.has_data.next = self.hdr.val().get_bit(126);
        self.tag_hi.next = bit_cast::<2, 1>(self.hdr.val().get_bits::<1>(119)) << 1
            | bit_cast::<2, 1>(self.hdr.val().get_bits::<1>(115));
        self.tc.next = self.hdr.val().get_bits::<3>(116);
        self.attr.next = bit_cast::<3, 1>(self.hdr.val().get_bits::<1>(114)) << 2
            | bit_cast::<3, 2>(self.hdr.val().get_bits::<2>(108));
        self.poisoned.next = self.hdr.val().get_bit(110);
        self.length.next = bit_cast::<LENGTH_BITS, 10>(self.hdr.val().get_bits::<10>(96));
        if !self.hdr.val().get_bits::<10>(96).any() {
            self.length.next = bits::<LENGTH_BITS>(1024);
        }
        self.requester_id.next = self.hdr.val().get_bits::<16>(80);
        self.tag.next = self.hdr.val().get_bits::<8>(72);
        self.last_be.next = self.hdr.val().get_bits::<4>(68);
        self.first_be.next = self.hdr.val().get_bits::<4>(64);
        self.cfg_bus.next = self.hdr.val().get_bits::<8>(56);
        self.cfg_dev.next = self.hdr.val().get_bits::<5>(51);
        self.cfg_dw.next = self.hdr.val().get_bits::<CFG_DW_BITS>(34);
        if self.hdr.val().get_bit(125) {
            self.addr.next = self.hdr.val().get_bits::<64>(0) & !bits::<64>(3);
        } else {
            self.addr.next = bit_cast::<64, 32>(self.hdr.val().get_bits::<32>(32)) & !bits::<64>(3);
        }

        // Request kinds.
        self.is_cpl.next = (self.ft.val() == self.ft_cpl.val())
            || (self.ft.val() == self.ft_cpld.val())
            || (self.ft.val() == self.ft_cpllk.val())
            || (self.ft.val() == self.ft_cpldlk.val());
        self.is_msg.next = ((self.ft.val() & !self.ft_msg_routing.val()) == self.ft_msg.val())
            || ((self.ft.val() & !self.ft_msg_routing.val()) == self.ft_msgd.val());
        self.is_cfg_rd.next = self.ft.val() == self.ft_cfgrd0.val();
        self.is_cfg_wr.next = self.ft.val() == self.ft_cfgwr0.val();
        self.is_mrd.next =
            (self.ft.val() == self.ft_mrd32.val()) || (self.ft.val() == self.ft_mrd64.val());
        self.is_mwr.next =
            (self.ft.val() == self.ft_mwr32.val()) || (self.ft.val() == self.ft_mwr64.val());
        self.is_other_np.next = (self.ft.val() == self.ft_mrdlk32.val())
            || (self.ft.val() == self.ft_mrdlk64.val())
            || (self.ft.val() == self.ft_iord.val())
            || (self.ft.val() == self.ft_iowr.val())
            || (self.ft.val() == self.ft_cfgrd1.val())
            || (self.ft.val() == self.ft_cfgwr1.val())
            || (self.ft.val() == self.ft_fetchadd32.val())
            || (self.ft.val() == self.ft_fetchadd64.val())
            || (self.ft.val() == self.ft_swap32.val())
            || (self.ft.val() == self.ft_swap64.val())
            || (self.ft.val() == self.ft_cas32.val())
            || (self.ft.val() == self.ft_cas64.val());
        self.non_posted.next = self.is_cfg_rd.val()
            || self.is_cfg_wr.val()
            || self.is_mrd.val()
            || self.is_other_np.val();
        if self.has_data.val() {
            self.framing_ok.next = self.dw_count.val() == self.length.val();
        } else {
            self.framing_ok.next = self.single_beat.val();
        }
        if self.length.val() == 1 {
            self.mem_be_ok.next = !self.last_be.val().any();
        } else {
            self.mem_be_ok.next = self.first_be.val().any() && self.last_be.val().any();
        }

        // BAR decode of the request's DW range.
        self.bars.addr.next = self.addr.val();
        self.last_idx.next = self.length.val() - 1;
        self.bars.last_dw.next = self.last_idx.val().get_bits::<2>(0);
        self.bars.mem_enable.next = self.mem_enable.val();
        self.bars.bar0.next = self.bar0.val();
        self.bars.bar1.next = self.bar1.val();
        self.bars.bar2.next = self.bar2.val();
        self.bar_msix.next = self.bars.hit_msix.val() && !self.bars.hit_virtio.val();
        self.bar_offset.next = self.bars.offset.val();

        // Decision.
        self.action.next = ReqAction::Drop;
        self.ev_poisoned.next = false;
        self.ev_malformed.next = false;
        self.ev_unsupported.next = false;
        self.capture_id.next = false;
        if self.is_cpl.val() || self.is_msg.val() {
            self.action.next = ReqAction::Drop;
        } else if !(self.non_posted.val() || self.is_mwr.val()) {
            self.ev_malformed.next = true;
        } else if !self.framing_ok.val() {
            self.ev_malformed.next = true;
            if self.non_posted.val() {
                self.action.next = ReqAction::Unsupported;
            }
        } else if self.poisoned.val() {
            self.ev_poisoned.next = true;
            if self.non_posted.val() {
                self.action.next = ReqAction::Unsupported;
            }
        } else if self.is_cfg_rd.val() || self.is_cfg_wr.val() {
            if (self.length.val() != 1) || self.last_be.val().any() {
                self.ev_malformed.next = true;
                self.action.next = ReqAction::Unsupported;
            } else if self.hdr.val().get_bits::<3>(48).any() {
                self.ev_unsupported.next = true;
                self.action.next = ReqAction::Unsupported;
            } else if self.is_cfg_wr.val() {
                self.capture_id.next = true;
                self.action.next = ReqAction::CfgWrite;
            } else {
                self.action.next = ReqAction::CfgRead;
            }
        } else if self.is_mrd.val() || self.is_mwr.val() {
            if !self.mem_be_ok.val() {
                self.ev_malformed.next = true;
                if self.is_mrd.val() {
                    self.action.next = ReqAction::Unsupported;
                }
            } else if (self.length.val() > self.max_dws.val())
                || !(self.bars.hit_virtio.val() || self.bars.hit_msix.val())
            {
                self.ev_unsupported.next = true;
                if self.is_mrd.val() {
                    self.action.next = ReqAction::Unsupported;
                }
            } else if self.is_mrd.val() {
                self.action.next = ReqAction::MemRead;
            } else {
                self.action.next = ReqAction::MemWrite;
            }
        } else {
            self.ev_unsupported.next = true;
            self.action.next = ReqAction::Unsupported;
        }

        // Byte Count and Lower Address (PCIe Base 2.3.1.1): memory reads with
        // legal byte enables count the enabled bytes from the first to the
        // last; every other completion has Byte Count 4, Lower Address 0.
        self.first_skip.next = 0.into();
        if !self.first_be.val().get_bit(0) {
            self.first_skip.next = 1.into();
            if !self.first_be.val().get_bit(1) {
                self.first_skip.next = 2.into();
                if !self.first_be.val().get_bit(2) {
                    self.first_skip.next = 3.into();
                }
            }
        }
        if !self.first_be.val().any() {
            self.first_skip.next = 0.into();
        }
        self.last_skip.next = 0.into();
        if !self.last_be.val().get_bit(3) {
            self.last_skip.next = 1.into();
            if !self.last_be.val().get_bit(2) {
                self.last_skip.next = 2.into();
                if !self.last_be.val().get_bit(1) {
                    self.last_skip.next = 3.into();
                }
            }
        }
        // Enabled span of a single-DW request: 4 minus the disabled bytes at
        // both ends; a zero-length read counts 1.
        self.first_span.next = 4.into();
        if !self.first_be.val().get_bit(3) {
            self.first_span.next = 3.into();
            if !self.first_be.val().get_bit(2) {
                self.first_span.next = 2.into();
                if !self.first_be.val().get_bit(1) {
                    self.first_span.next = 1.into();
                }
            }
        }
        if self.length.val() == 1 {
            self.mem_count.next = self.first_span.val() - self.first_skip.val();
            if !self.first_be.val().any() {
                self.mem_count.next = 1.into();
            }
        } else {
            self.mem_count.next = (bit_cast::<13, LENGTH_BITS>(self.length.val()) << 2)
                - self.first_skip.val()
                - self.last_skip.val();
        }
        if self.is_mrd.val() && self.mem_be_ok.val() {
            self.byte_count.next = self.mem_count.val().get_bits::<12>(0);
            self.lower_addr.next = (self.addr.val().get_bits::<7>(0) & !bits::<7>(3))
                | self.first_skip.val().get_bits::<7>(0);
        } else {
            self.byte_count.next = 4.into();
            self.lower_addr.next = 0.into();
        }
    }
}
