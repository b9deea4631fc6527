//! MSI-X table, Pending Bit Array and message sender (PCIe Base 6.1.4).
//!
//! The table (BAR 2 + 0x000) holds per vector the Message Address (bits 1:0
//! read 0), Upper Address and Data in a RAM, and the Vector Control Mask Bit
//! in a register; after reset every vector is masked with address and data
//! 0. The PBA (BAR 2 + 0x800) shows the pending bits, read-only.
//!
//! An interrupt request for vector V (`queue_irq`/`queue_vector`,
//! `config_irq`/`config_vector`) sets pending bit V while MSI-X is enabled
//! and V is a valid vector (NO_VECTOR and out-of-range vectors do nothing).
//! The sender scans the pending bits round-robin, one vector per cycle; a
//! pending vector that is unmasked, with the function unmasked, MSI-X
//! enabled and Bus Master Enable set, has its pending bit cleared and its
//! message sent: a 1-DW MemWr of the Message Data to the Message Address
//! (3-DW header below 4 GiB, 4-DW above) with the function's Requester ID.
//! A request for a vector while its message is in flight sets the bit
//! again: nothing is lost, requests before a message is sent coalesce. A
//! virtio reset clears the pending bits.
//!
//! Timing: table accesses are acknowledged 3 cycles after `req`, PBA reads 1
//! cycle after; a message leaves 3 cycles after its vector is found (plus
//! back-pressure on `msg`). After `rst` the table is swept for `vectors`
//! cycles; accesses wait for the sweep.

use crate::ram::Ram;
use crate::reg_latch::RegLatch;
use crate::reg_port::RegTarget;
use crate::tlp_stream::TlpSource;
use rust_hdl::prelude::*;
use vireo_regs::layout::MAX_MSIX_VECTORS;
use vireo_regs::tlp::fmt_type;
use vireo_regs::DeviceConfig;

/// Width of a vector index.
pub const VECTOR_BITS: usize = 6;
const _: () = assert!(1 << VECTOR_BITS == MAX_MSIX_VECTORS);

/// MSI-X state.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum MsixState {
    /// Clearing the table after reset.
    Sweep,
    /// Serving table accesses, scanning for pending vectors.
    Idle,
    /// The entry of a table access is being read.
    Access,
    /// The entry of a vector to send is being read.
    Fetch,
    /// The message is presented.
    Send,
}

/// The MSI-X table, PBA and message sender.
#[derive(LogicBlock)]
pub struct Msix {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Register port of the table.
    pub table: RegTarget,
    /// Register port of the PBA.
    pub pba: RegTarget,
    /// MSI-X messages.
    pub msg: TlpSource,
    /// MSI-X Enable.
    pub enable: Signal<In, Bit>,
    /// MSI-X Function Mask.
    pub function_mask: Signal<In, Bit>,
    /// Bus Master Enable.
    pub bus_master: Signal<In, Bit>,
    /// Requester ID of the messages.
    pub requester_id: Signal<In, Bits<16>>,
    /// Virtio device reset.
    pub vreset: Signal<In, Bit>,
    /// Interrupt request of a queue.
    pub queue_irq: Signal<In, Bit>,
    /// Its vector.
    pub queue_vector: Signal<In, Bits<16>>,
    /// Configuration change interrupt request.
    pub config_irq: Signal<In, Bit>,
    /// Its vector.
    pub config_vector: Signal<In, Bits<16>>,

    entries: Ram<Bits<96>, VECTOR_BITS>,
    state: DFF<MsixState>,
    masks: DFF<Bits<64>>,
    pending: DFF<Bits<64>>,
    ptr: DFF<Bits<VECTOR_BITS>>,
    latch: RegLatch,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    pba_ack: DFF<Bit>,
    pba_rdata: DFF<Bits<32>>,
    hdr: DFF<Bits<128>>,
    data: DFF<Bits<32>>,

    vector: Signal<Local, Bits<VECTOR_BITS>>,
    vector_ok: Signal<Local, Bit>,
    entry: Signal<Local, Bits<96>>,
    field: Signal<Local, Bits<32>>,
    new_entry: Signal<Local, Bits<96>>,
    queue_set: Signal<Local, Bits<64>>,
    config_set: Signal<Local, Bits<64>>,
    sets: Signal<Local, Bits<64>>,
    vector_mask: Signal<Local, Bits<64>>,
    ptr_bit: Signal<Local, Bits<64>>,
    sendable: Signal<Local, Bit>,
    addr_lo: Signal<Local, Bits<32>>,
    addr_hi: Signal<Local, Bits<32>>,
    dw0: Signal<Local, Bits<32>>,
    dw1: Signal<Local, Bits<32>>,
    last_vector: Constant<Bits<VECTOR_BITS>>,
    vectors: Constant<Bits<16>>,
    mwr32: Constant<Bits<32>>,
    mwr64: Constant<Bits<32>>,
}

impl Msix {
    /// The MSI-X function of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        let n = cfg.msix_vectors as usize;
        assert!(n <= MAX_MSIX_VECTORS);
        let header = |ft: u8| Constant::new(((ft as u64) << 24 | 1).into());
        Self {
            clock: Default::default(),
            rst: Default::default(),
            table: Default::default(),
            pba: Default::default(),
            msg: Default::default(),
            enable: Default::default(),
            function_mask: Default::default(),
            bus_master: Default::default(),
            requester_id: Default::default(),
            vreset: Default::default(),
            queue_irq: Default::default(),
            queue_vector: Default::default(),
            config_irq: Default::default(),
            config_vector: Default::default(),
            entries: Ram::new(n),
            state: Default::default(),
            masks: Default::default(),
            pending: Default::default(),
            ptr: Default::default(),
            latch: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            pba_ack: Default::default(),
            pba_rdata: Default::default(),
            hdr: Default::default(),
            data: Default::default(),
            vector: Default::default(),
            vector_ok: Default::default(),
            entry: Default::default(),
            field: Default::default(),
            new_entry: Default::default(),
            queue_set: Default::default(),
            config_set: Default::default(),
            sets: Default::default(),
            vector_mask: Default::default(),
            ptr_bit: Default::default(),
            sendable: Default::default(),
            addr_lo: Default::default(),
            addr_hi: Default::default(),
            dw0: Default::default(),
            dw1: Default::default(),
            last_vector: Constant::new(((n - 1) as u64).into()),
            vectors: Constant::new((n as u64).into()),
            mwr32: header(fmt_type::MWR32),
            mwr64: header(fmt_type::MWR64),
        }
    }
}

impl Logic for Msix {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, masks, pending, ptr, ack, rdata, pba_ack, pba_rdata, hdr, data
        );
        self.entries.clock.next = self.clock.val();
        self.entries.write_enable.next = false;
        self.ack.d.next = false;
        self.rdata.d.next = 0.into();

        // Table accesses wait in a latch; PBA reads answer at once.
        self.latch.clock.next = self.clock.val();
        self.latch.rst.next = self.rst.val();
        self.latch.req.next = self.table.req.val();
        self.latch.req_write.next = self.table.write.val();
        self.latch.req_offset.next = self.table.offset.val();
        self.latch.req_wmask.next = self.table.wmask.val();
        self.latch.req_wdata.next = self.table.wdata.val();
        self.latch.take.next = self.state.q.val() == MsixState::Access;
        self.pba_ack.d.next = self.pba.req.val();
        self.pba_rdata.d.next = 0.into();
        if self.pba.req.val() {
            match self.pba.offset.val().index() {
                0 => self.pba_rdata.d.next = self.pending.q.val().get_bits::<32>(0),
                4 => self.pba_rdata.d.next = self.pending.q.val().get_bits::<32>(32),
                _ => {}
            }
        }

        // Interrupt requests set pending bits.
        self.queue_set.next = 0.into();
        if self.enable.val()
            && self.queue_irq.val()
            && (self.queue_vector.val() < self.vectors.val())
        {
            self.queue_set.next = bits::<64>(1) << self.queue_vector.val();
        }
        self.config_set.next = 0.into();
        if self.enable.val()
            && self.config_irq.val()
            && (self.config_vector.val() < self.vectors.val())
        {
            self.config_set.next = bits::<64>(1) << self.config_vector.val();
        }
        self.sets.next = self.queue_set.val() | self.config_set.val();
        self.pending.d.next = self.pending.q.val() | self.sets.val();

        // The accessed entry, and what a write makes of it.
        self.vector.next = self.latch.offset.val().get_bits::<VECTOR_BITS>(4);
        self.vector_ok.next =
            bit_cast::<16, 7>(self.latch.offset.val().get_bits::<7>(4)) < self.vectors.val();
        self.entry.next = self.entries.read_data.val();
        self.vector_mask.next = self.masks.q.val() >> self.vector.val();
        self.field.next = 0.into();
        match self.latch.offset.val().get_bits::<2>(2).index() {
            0 => self.field.next = self.entry.val().get_bits::<32>(0),
            1 => self.field.next = self.entry.val().get_bits::<32>(32),
            2 => self.field.next = self.entry.val().get_bits::<32>(64),
            _ => self.field.next = bit_cast::<32, 1>(self.vector_mask.val().get_bits::<1>(0)),
        }
        self.latch.current.next = self.field.val();
        self.new_entry.next = self.entry.val();
        match self.latch.offset.val().get_bits::<2>(2).index() {
            0 => {
                self.new_entry.next = (self.entry.val() & !bits::<96>(0xFFFF_FFFF_u64))
                    | bit_cast::<96, 32>(self.latch.merged.val() & !bits::<32>(3));
            }
            1 => {
                self.new_entry.next = (self.entry.val() & !(bits::<96>(0xFFFF_FFFF_u64) << 32))
                    | (bit_cast::<96, 32>(self.latch.merged.val()) << 32);
            }
            2 => {
                self.new_entry.next = (self.entry.val() & !(bits::<96>(0xFFFF_FFFF_u64) << 64))
                    | (bit_cast::<96, 32>(self.latch.merged.val()) << 64);
            }
            _ => {}
        }
        self.entries.write_data.next = self.new_entry.val();
        self.entries.write_address.next = self.vector.val();
        self.entries.read_address.next = self.vector.val();

        // The vector under the scan pointer.
        self.ptr_bit.next = bits::<64>(1) << self.ptr.q.val();
        self.sendable.next = (self.pending.q.val() & self.ptr_bit.val()).any()
            && !(self.masks.q.val() & self.ptr_bit.val()).any()
            && self.enable.val()
            && !self.function_mask.val()
            && self.bus_master.val();

        // The message for the fetched entry.
        self.addr_lo.next = self.entry.val().get_bits::<32>(0);
        self.addr_hi.next = self.entry.val().get_bits::<32>(32);
        self.dw1.next = (bit_cast::<32, 16>(self.requester_id.val()) << 16) | 0xF;
        if self.addr_hi.val().any() {
            self.dw0.next = self.mwr64.val();
        } else {
            self.dw0.next = self.mwr32.val();
        }

        match self.state.q.val() {
            MsixState::Sweep => {
                self.entries.write_address.next = self.ptr.q.val();
                self.entries.write_data.next = 0.into();
                self.entries.write_enable.next = true;
                self.ptr.d.next = self.ptr.q.val() + 1;
                if self.ptr.q.val() == self.last_vector.val() {
                    self.ptr.d.next = 0.into();
                    self.state.d.next = MsixState::Idle;
                }
            }
            MsixState::Idle => {
                if self.latch.pending.val() {
                    self.state.d.next = MsixState::Access;
                } else if self.sendable.val() {
                    self.entries.read_address.next = self.ptr.q.val();
                    self.pending.d.next =
                        (self.pending.q.val() & !self.ptr_bit.val()) | self.sets.val();
                    self.state.d.next = MsixState::Fetch;
                } else if self.ptr.q.val() == self.last_vector.val() {
                    self.ptr.d.next = 0.into();
                } else {
                    self.ptr.d.next = self.ptr.q.val() + 1;
                }
            }
            MsixState::Access => {
                self.ack.d.next = true;
                self.state.d.next = MsixState::Idle;
                if self.vector_ok.val() {
                    self.rdata.d.next = self.field.val();
                    if self.latch.write.val() {
                        if self.latch.offset.val().get_bits::<2>(2) == 3 {
                            if self.latch.wmask.val().get_bit(0) {
                                if self.latch.written.val().get_bit(0) {
                                    self.masks.d.next =
                                        self.masks.q.val() | (bits::<64>(1) << self.vector.val());
                                } else {
                                    self.masks.d.next =
                                        self.masks.q.val() & !(bits::<64>(1) << self.vector.val());
                                }
                            }
                        } else {
                            self.entries.write_enable.next = true;
                        }
                    }
                }
            }
            MsixState::Fetch => {
                if self.addr_hi.val().any() {
                    self.hdr.d.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
                        | (bit_cast::<128, 32>(self.dw1.val()) << 64)
                        | (bit_cast::<128, 32>(self.addr_hi.val()) << 32)
                        | bit_cast::<128, 32>(self.addr_lo.val());
                } else {
                    self.hdr.d.next = (bit_cast::<128, 32>(self.dw0.val()) << 96)
                        | (bit_cast::<128, 32>(self.dw1.val()) << 64)
                        | (bit_cast::<128, 32>(self.addr_lo.val()) << 32);
                }
                self.data.d.next = self.entry.val().get_bits::<32>(64);
                self.state.d.next = MsixState::Send;
            }
            MsixState::Send => {
                if self.msg.ready.val() {
                    self.state.d.next = MsixState::Idle;
                }
            }
            _ => {
                self.state.d.next = MsixState::Idle;
            }
        }

        if self.rst.val() || self.vreset.val() {
            self.pending.d.next = 0.into();
        }
        if self.rst.val() {
            self.state.d.next = MsixState::Sweep;
            self.masks.d.next = bits::<64>(0xFFFF_FFFF_FFFF_FFFF_u64);
            self.ptr.d.next = 0.into();
            self.ack.d.next = false;
            self.rdata.d.next = 0.into();
            self.pba_ack.d.next = false;
            self.pba_rdata.d.next = 0.into();
            self.hdr.d.next = 0.into();
            self.data.d.next = 0.into();
        }

        self.table.ack.next = self.ack.q.val();
        self.table.rdata.next = self.rdata.q.val();
        self.pba.ack.next = self.pba_ack.q.val();
        self.pba.rdata.next = self.pba_rdata.q.val();
        self.msg.hdr.next = self.hdr.q.val();
        self.msg.data.next = bit_cast::<128, 32>(self.data.q.val());
        self.msg.strb.next = 1.into();
        self.msg.sop.next = true;
        self.msg.eop.next = true;
        self.msg.valid.next = self.state.q.val() == MsixState::Send;
    }
}
