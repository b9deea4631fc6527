//! Completion header assembler.
//!
//! Builds the 3-DW header of a Cpl (no data) or CplD from the fields of the
//! request it answers (PCIe Base 2.2.9): Traffic Class, Attributes and Tag
//! (all ten bits) are copied from the request, TD and EP are 0, BCM is 0.
//!
//! Purely combinational; zero latency.

use rust_hdl::prelude::*;
use vireo_regs::tlp::fmt_type;

/// Assembles `hdr[127:0]` of a completion.
#[derive(LogicBlock)]
pub struct CplHeader {
    /// CplD (with data) rather than Cpl.
    pub with_data: Signal<In, Bit>,
    /// Length in DWs of the payload (ignored without data).
    pub length: Signal<In, Bits<10>>,
    /// Completion Status.
    pub status: Signal<In, Bits<3>>,
    /// Completer ID (bus, device, function).
    pub completer_id: Signal<In, Bits<16>>,
    /// Byte Count.
    pub byte_count: Signal<In, Bits<12>>,
    /// Requester ID of the request.
    pub requester_id: Signal<In, Bits<16>>,
    /// Tag bits 7:0 of the request.
    pub tag: Signal<In, Bits<8>>,
    /// Tag bits 9:8 (T9, T8) of the request.
    pub tag_hi: Signal<In, Bits<2>>,
    /// Traffic Class of the request.
    pub tc: Signal<In, Bits<3>>,
    /// Attributes of the request (bit 2 is Attr[2]).
    pub attr: Signal<In, Bits<3>>,
    /// Lower Address.
    pub lower_addr: Signal<In, Bits<7>>,
    /// The header, DW 0 in bits 127:96.
    pub hdr: Signal<Out, Bits<128>>,
    dw0_fields: Signal<Local, Bits<32>>,
    dw0: Signal<Local, Bits<32>>,
    dw1: Signal<Local, Bits<32>>,
    dw2: Signal<Local, Bits<32>>,
    ft_cpl: Constant<Bits<32>>,
    ft_cpld: Constant<Bits<32>>,
}

impl Default for CplHeader {
    fn default() -> Self {
        Self {
            with_data: Default::default(),
            length: Default::default(),
            status: Default::default(),
            completer_id: Default::default(),
            byte_count: Default::default(),
            requester_id: Default::default(),
            tag: Default::default(),
            tag_hi: Default::default(),
            tc: Default::default(),
            attr: Default::default(),
            lower_addr: Default::default(),
            hdr: Default::default(),
            dw0_fields: Default::default(),
            dw0: Default::default(),
            dw1: Default::default(),
            dw2: Default::default(),
            ft_cpl: Constant::new((fmt_type::CPL as u64).into()),
            ft_cpld: Constant::new((fmt_type::CPLD as u64).into()),
        }
    }
}

impl Logic for CplHeader {
    #[hdl_gen]
    fn update(&mut self) {
        // DW 0: Fmt/Type, T9, TC, T8, Attr[2], TD=0, EP=0, Attr[1:0], Length.
        self.dw0_fields.next = (bit_cast::<32, 1>(self.tag_hi.val().get_bits::<1>(1)) << 23)
            | (bit_cast::<32, 3>(self.tc.val()) << 20)
            | (bit_cast::<32, 1>(self.tag_hi.val().get_bits::<1>(0)) << 19)
            | (bit_cast::<32, 1>(self.attr.val().get_bits::<1>(2)) << 18)
            | (bit_cast::<32, 2>(self.attr.val().get_bits::<2>(0)) << 12);
        if self.with_data.val() {
            self.dw0.next = self.dw0_fields.val()
                | (self.ft_cpld.val() << 24)
                | bit_cast::<32, 10>(self.length.val());
        } else {
            self.dw0.next = self.dw0_fields.val() | (self.ft_cpl.val() << 24);
        }
        // DW 1: Completer ID, Completion Status, BCM=0, Byte Count.
        self.dw1.next = (bit_cast::<32, 16>(self.completer_id.val()) << 16)
            | (bit_cast::<32, 3>(self.status.val()) << 13)
            | bit_cast::<32, 12>(self.byte_count.val());
        // DW 2: Requester ID, Tag, Lower Address.
        self.dw2.next = (bit_cast::<32, 16>(self.requester_id.val()) << 16)
            | (bit_cast::<32, 8>(self.tag.val()) << 8)
            | bit_cast::<32, 7>(self.lower_addr.val());
        self.hdr.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
            | (bit_cast::<128, 32>(self.dw1.val()) << 64)
            | (bit_cast::<128, 32>(self.dw2.val()) << 32);
    }
}
