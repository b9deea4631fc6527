//! BAR address decoder.
//!
//! Compares a request's address range against the current BAR registers:
//! the 64-bit virtio BAR (BAR 0/1) and the 32-bit MSI-X BAR (BAR 2). A hit
//! needs Memory Space Enable (and D0), the first DW inside the BAR and the
//! last DW inside the same BAR. Decoding always follows the current register
//! values, so a moved BAR stops decoding at its old address at once.
//!
//! Purely combinational; zero latency.

use rust_hdl::prelude::*;
use vireo_regs::layout;

/// Width of a byte offset inside the largest BAR.
pub const BAR_OFFSET_BITS: usize = layout::VIRTIO_BAR_SIZE_LOG2 as usize;

/// Decodes a request's address against BAR 0/1 and BAR 2.
#[derive(LogicBlock)]
pub struct BarDecode {
    /// Byte address of the first DW (bits 1:0 are zero).
    pub addr: Signal<In, Bits<64>>,
    /// Length of the request in DWs, minus one (at most 3).
    pub last_dw: Signal<In, Bits<2>>,
    /// Memory Space Enable (and D0).
    pub mem_enable: Signal<In, Bit>,
    /// BAR 0 register.
    pub bar0: Signal<In, Bits<32>>,
    /// BAR 1 register.
    pub bar1: Signal<In, Bits<32>>,
    /// BAR 2 register.
    pub bar2: Signal<In, Bits<32>>,
    /// The request falls inside the virtio BAR.
    pub hit_virtio: Signal<Out, Bit>,
    /// The request falls inside the MSI-X BAR.
    pub hit_msix: Signal<Out, Bit>,
    /// Byte offset of the first DW inside the BAR that was hit.
    pub offset: Signal<Out, Bits<BAR_OFFSET_BITS>>,
    virtio_base: Signal<Local, Bits<64>>,
    msix_base: Signal<Local, Bits<64>>,
    virtio_end: Signal<Local, Bits<64>>,
    msix_end: Signal<Local, Bits<64>>,
    virtio_mask: Constant<Bits<64>>,
    msix_mask: Constant<Bits<64>>,
}

impl Default for BarDecode {
    fn default() -> Self {
        let base_mask = |size: u64| Constant::new((!(size - 1)).into());
        Self {
            addr: Default::default(),
            last_dw: Default::default(),
            mem_enable: Default::default(),
            bar0: Default::default(),
            bar1: Default::default(),
            bar2: Default::default(),
            hit_virtio: Default::default(),
            hit_msix: Default::default(),
            offset: Default::default(),
            virtio_base: Default::default(),
            msix_base: Default::default(),
            virtio_end: Default::default(),
            msix_end: Default::default(),
            virtio_mask: base_mask(layout::VIRTIO_BAR_SIZE),
            msix_mask: base_mask(layout::MSIX_BAR_SIZE),
        }
    }
}

impl Logic for BarDecode {
    #[hdl_gen]
    fn update(&mut self) {
        self.virtio_base.next =
            (bit_cast::<64, 32>(self.bar1.val()) << 32) | bit_cast::<64, 32>(self.bar0.val());
        self.msix_base.next = bit_cast::<64, 32>(self.bar2.val());
        // Offset of the last DW: it must not carry out of the BAR.
        self.virtio_end.next = (self.addr.val() & !self.virtio_mask.val())
            + (bit_cast::<64, 2>(self.last_dw.val()) << 2);
        self.msix_end.next = (self.addr.val() & !self.msix_mask.val())
            + (bit_cast::<64, 2>(self.last_dw.val()) << 2);
        self.hit_virtio.next = self.mem_enable.val()
            && ((self.addr.val() & self.virtio_mask.val())
                == (self.virtio_base.val() & self.virtio_mask.val()))
            && !(self.virtio_end.val() & self.virtio_mask.val()).any();
        self.hit_msix.next = self.mem_enable.val()
            && ((self.addr.val() & self.msix_mask.val())
                == (self.msix_base.val() & self.msix_mask.val()))
            && !(self.msix_end.val() & self.msix_mask.val()).any();
        self.offset.next = self.addr.val().get_bits::<BAR_OFFSET_BITS>(0);
    }
}
