//! The virtio PCI configuration access window (virtio 4.1.4.9).
//!
//! Sits between the completer and the configuration space. Every
//! configuration access passes through, except those of the `pci_cfg_data`
//! DW with an enabled byte while the window is valid (`cap.bar` 0 or 2,
//! `cap.length` 1, 2 or 4, `cap.offset` a multiple of `cap.length` inside
//! that BAR):
//! - a write stores the bytes in `pci_cfg_data`, then writes its first
//!   `cap.length` bytes to `cap.offset` of BAR `cap.bar`;
//! - a read reads `cap.length` bytes at `cap.offset` of BAR `cap.bar` (with
//!   every side effect, such as clearing the ISR), stores them in the first
//!   bytes of `pci_cfg_data`, and returns `pci_cfg_data`.
//!
//! Window accesses reach the BAR registers whatever Memory Space Enable says:
//! the window exists for drivers that cannot map the BARs. With an invalid
//! window the DW is a plain read-write register.
//!
//! Timing: a pass-through access adds 2 cycles; a window access takes two
//! or three sequential accesses. `busy` is high while the window drives the
//! BAR port.

use crate::bar_decode::BAR_OFFSET_BITS;
use crate::cfg_space::CFG_DW_BITS;
use rust_hdl::prelude::*;
use vireo_regs::{layout, virtio};

/// Window sequencer state.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum WindowState {
    /// Waiting for an access.
    Idle,
    /// A pass-through configuration access is in flight.
    Pass,
    /// Storing written bytes in `pci_cfg_data`.
    Store,
    /// The BAR write is in flight.
    BarWrite,
    /// The BAR read is in flight.
    BarRead,
    /// Storing the bytes read in `pci_cfg_data`.
    Capture,
    /// Reading back `pci_cfg_data`.
    Reply,
}

/// The PCI_CFG window between completer and configuration space.
#[derive(LogicBlock)]
pub struct CfgWindow {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,

    // From the completer.
    /// Access strobe.
    pub up_req: Signal<In, Bit>,
    /// The access is a write.
    pub up_write: Signal<In, Bit>,
    /// DW index.
    pub up_dw: Signal<In, Bits<CFG_DW_BITS>>,
    /// Enabled bytes as a bit mask.
    pub up_wmask: Signal<In, Bits<32>>,
    /// Write data.
    pub up_wdata: Signal<In, Bits<32>>,
    /// Access done.
    pub up_ack: Signal<Out, Bit>,
    /// Read data.
    pub up_rdata: Signal<Out, Bits<32>>,

    // To the configuration space.
    /// Access strobe.
    pub cfg_req: Signal<Out, Bit>,
    /// The access is a write.
    pub cfg_write: Signal<Out, Bit>,
    /// DW index.
    pub cfg_dw: Signal<Out, Bits<CFG_DW_BITS>>,
    /// Enabled bytes as a bit mask.
    pub cfg_wmask: Signal<Out, Bits<32>>,
    /// Write data.
    pub cfg_wdata: Signal<Out, Bits<32>>,
    /// Access done.
    pub cfg_ack: Signal<In, Bit>,
    /// Read data.
    pub cfg_rdata: Signal<In, Bits<32>>,

    // The window registers.
    /// `cap.bar`.
    pub win_bar: Signal<In, Bits<8>>,
    /// `cap.offset`.
    pub win_offset: Signal<In, Bits<32>>,
    /// `cap.length`.
    pub win_length: Signal<In, Bits<32>>,
    /// `pci_cfg_data`.
    pub win_data: Signal<In, Bits<32>>,

    // To the BAR registers.
    /// The window drives the BAR port.
    pub busy: Signal<Out, Bit>,
    /// Access strobe.
    pub bar_req: Signal<Out, Bit>,
    /// The access is to the MSI-X BAR.
    pub bar_msix: Signal<Out, Bit>,
    /// Byte offset of the DW.
    pub bar_offset: Signal<Out, Bits<BAR_OFFSET_BITS>>,
    /// The access is a write.
    pub bar_write: Signal<Out, Bit>,
    /// Enabled bytes as a bit mask.
    pub bar_wmask: Signal<Out, Bits<32>>,
    /// Write data.
    pub bar_wdata: Signal<Out, Bits<32>>,
    /// Access done.
    pub bar_ack: Signal<In, Bit>,
    /// Read data.
    pub bar_rdata: Signal<In, Bits<32>>,

    state: DFF<WindowState>,
    write: DFF<Bit>,
    dw: DFF<Bits<CFG_DW_BITS>>,
    wmask: DFF<Bits<32>>,
    wdata: DFF<Bits<32>>,
    strobe: DFF<Bit>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    valid: Signal<Local, Bit>,
    len_mask: Signal<Local, Bits<32>>,
    shift: Signal<Local, Bits<8>>,
    data_dw: Constant<Bits<CFG_DW_BITS>>,
    msix_bar: Constant<Bits<8>>,
    virtio_bar: Constant<Bits<8>>,
    virtio_size: Constant<Bits<32>>,
    msix_size: Constant<Bits<32>>,
}

impl Default for CfgWindow {
    fn default() -> Self {
        let c8 = |v: u8| Constant::new((v as u64).into());
        let c32 = |v: u64| Constant::new(v.into());
        Self {
            clock: Default::default(),
            rst: Default::default(),
            up_req: Default::default(),
            up_write: Default::default(),
            up_dw: Default::default(),
            up_wmask: Default::default(),
            up_wdata: Default::default(),
            up_ack: Default::default(),
            up_rdata: Default::default(),
            cfg_req: Default::default(),
            cfg_write: Default::default(),
            cfg_dw: Default::default(),
            cfg_wmask: Default::default(),
            cfg_wdata: Default::default(),
            cfg_ack: Default::default(),
            cfg_rdata: Default::default(),
            win_bar: Default::default(),
            win_offset: Default::default(),
            win_length: Default::default(),
            win_data: Default::default(),
            busy: Default::default(),
            bar_req: Default::default(),
            bar_msix: Default::default(),
            bar_offset: Default::default(),
            bar_write: Default::default(),
            bar_wmask: Default::default(),
            bar_wdata: Default::default(),
            bar_ack: Default::default(),
            bar_rdata: Default::default(),
            state: Default::default(),
            write: Default::default(),
            dw: Default::default(),
            wmask: Default::default(),
            wdata: Default::default(),
            strobe: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            valid: Default::default(),
            len_mask: Default::default(),
            shift: Default::default(),
            data_dw: Constant::new(
                (((layout::CAP_PCI_CFG + virtio::cap::PCI_CFG_DATA) / 4) as u64).into(),
            ),
            msix_bar: c8(layout::MSIX_BAR),
            virtio_bar: c8(layout::VIRTIO_BAR),
            virtio_size: c32(layout::VIRTIO_BAR_SIZE),
            msix_size: c32(layout::MSIX_BAR_SIZE),
        }
    }
}

impl Logic for CfgWindow {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, write, dw, wmask, wdata, strobe, ack, rdata);
        // Window parameters.
        self.len_mask.next = 0.into();
        match self.win_length.val().index() {
            1 => self.len_mask.next = bits::<32>(0xFF),
            2 => self.len_mask.next = bits::<32>(0xFFFF),
            4 => self.len_mask.next = bits::<32>(0xFFFF_FFFF_u64),
            _ => {}
        }
        self.valid.next = self.len_mask.val().any()
            && !(self.win_offset.val() & (self.win_length.val() - 1)).any()
            && (((self.win_bar.val() == self.virtio_bar.val())
                && (self.win_offset.val() < self.virtio_size.val()))
                || ((self.win_bar.val() == self.msix_bar.val())
                    && (self.win_offset.val() < self.msix_size.val())));
        self.shift.next = bit_cast::<8, 32>(self.win_offset.val() & 3) << 3;

        self.ack.d.next = false;
        self.strobe.d.next = false;
        match self.state.q.val() {
            WindowState::Idle => {
                if self.up_req.val() {
                    self.write.d.next = self.up_write.val();
                    self.dw.d.next = self.up_dw.val();
                    self.wmask.d.next = self.up_wmask.val();
                    self.wdata.d.next = self.up_wdata.val();
                    self.strobe.d.next = true;
                    if (self.up_dw.val() == self.data_dw.val())
                        && self.up_wmask.val().any()
                        && self.valid.val()
                    {
                        if self.up_write.val() {
                            self.state.d.next = WindowState::Store;
                        } else {
                            self.state.d.next = WindowState::BarRead;
                        }
                    } else {
                        self.state.d.next = WindowState::Pass;
                    }
                }
            }
            WindowState::Pass => {
                if self.cfg_ack.val() {
                    self.ack.d.next = true;
                    self.rdata.d.next = self.cfg_rdata.val();
                    self.state.d.next = WindowState::Idle;
                }
            }
            WindowState::Store => {
                if self.cfg_ack.val() {
                    self.strobe.d.next = true;
                    self.state.d.next = WindowState::BarWrite;
                }
            }
            WindowState::BarWrite => {
                if self.bar_ack.val() {
                    self.ack.d.next = true;
                    self.rdata.d.next = 0.into();
                    self.state.d.next = WindowState::Idle;
                }
            }
            WindowState::BarRead => {
                if self.bar_ack.val() {
                    self.wdata.d.next = self.bar_rdata.val() >> self.shift.val();
                    self.wmask.d.next = self.len_mask.val();
                    self.write.d.next = true;
                    self.strobe.d.next = true;
                    self.state.d.next = WindowState::Capture;
                }
            }
            WindowState::Capture => {
                if self.cfg_ack.val() {
                    self.write.d.next = false;
                    self.strobe.d.next = true;
                    self.state.d.next = WindowState::Reply;
                }
            }
            WindowState::Reply => {
                if self.cfg_ack.val() {
                    self.ack.d.next = true;
                    self.rdata.d.next = self.cfg_rdata.val();
                    self.state.d.next = WindowState::Idle;
                }
            }
            _ => {
                self.state.d.next = WindowState::Idle;
            }
        }
        if self.rst.val() {
            self.state.d.next = WindowState::Idle;
            self.write.d.next = false;
            self.dw.d.next = 0.into();
            self.wmask.d.next = 0.into();
            self.wdata.d.next = 0.into();
            self.strobe.d.next = false;
            self.ack.d.next = false;
            self.rdata.d.next = 0.into();
        }

        // Configuration space side: pass-through, store, capture, reply.
        self.cfg_req.next = self.strobe.q.val()
            && ((self.state.q.val() == WindowState::Pass)
                || (self.state.q.val() == WindowState::Store)
                || (self.state.q.val() == WindowState::Capture)
                || (self.state.q.val() == WindowState::Reply));
        self.cfg_write.next = self.write.q.val();
        self.cfg_dw.next = self.dw.q.val();
        self.cfg_wmask.next = self.wmask.q.val();
        self.cfg_wdata.next = self.wdata.q.val();
        // BAR side.
        self.busy.next = (self.state.q.val() == WindowState::BarWrite)
            || (self.state.q.val() == WindowState::BarRead);
        self.bar_req.next = self.strobe.q.val() && self.busy.val();
        self.bar_msix.next = self.win_bar.val() == self.msix_bar.val();
        self.bar_offset.next =
            self.win_offset.val().get_bits::<BAR_OFFSET_BITS>(0) & !bits::<BAR_OFFSET_BITS>(3);
        self.bar_write.next = self.state.q.val() == WindowState::BarWrite;
        self.bar_wmask.next = self.len_mask.val() << self.shift.val();
        self.bar_wdata.next = self.win_data.val() << self.shift.val();
        self.up_ack.next = self.ack.q.val();
        self.up_rdata.next = self.rdata.q.val();
    }
}
