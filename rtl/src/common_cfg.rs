//! virtio common configuration structure (virtio 4.1.4.3) with the
//! per-queue table, device status, reset and feature negotiation.
//!
//! Global fields are registers; the per-queue fields live in one RAM word per
//! queue (`Ram`, depth `num_queues`), addressed by `queue_select`:
//! `[15:0]` queue_size, `[31:16]` queue_msix_vector, `[32]` queue_enable,
//! `[127:64]` queue_desc, `[191:128]` queue_driver, `[255:192]` queue_device.
//!
//! Field rules (docs/ARCHITECTURE.md, "Common configuration"):
//! - feature windows 0 and 1 hold bits 0..63; other windows read 0; a nonzero
//!   write to another driver window is remembered and refuses FEATURES_OK;
//!   driver feature writes are ignored once FEATURES_OK is set;
//! - FEATURES_OK is refused unless VERSION_1 is accepted and every accepted
//!   bit is offered; DEVICE_NEEDS_RESET is owned by the device;
//! - writing 0 to device_status starts a reset: `vreset` pulses, the queue
//!   table is swept back to its reset values (one cycle per queue), then the
//!   reset waits for `drain_done` (the engine's reads in flight). Accesses
//!   are served meanwhile, as they must be: the completions of those reads
//!   may be queued behind them. device_status reads its old value until the
//!   reset is complete, then 0; writes while it drains have no effect;
//! - MSI-X vectors beyond the table read back NO_VECTOR;
//! - queue fields of a queue_select beyond num_queues read 0, writes ignored;
//!   queue_size takes only a power of two up to the maximum, and only while
//!   the queue is disabled, as do the ring addresses; queue_enable takes 1
//!   (0 is ignored); queue_reset (with RING_RESET negotiated) resets the
//!   queue: it reads 1 while the engine finishes the queue's transfers in
//!   flight (`queue_reset` pulse, then `rx_resetting` / `tx_resetting`),
//!   and the queue's fields keep their values, so that nothing in flight
//!   goes to address 0; then the queue goes back to its reset values and
//!   queue_reset reads 0. Queues the engine does not serve reset at once.
//!
//! Interrupt side bands: `irq_valid`/`irq_queue` (a used buffer notification
//! of a queue, after DRIVER_OK) looks up the queue's vector and pulses
//! `queue_irq` with `queue_vector`; a configuration change (`cfg_changed`) or
//! a device error (`dev_error`, which sets DEVICE_NEEDS_RESET) pulses
//! `config_irq` when DRIVER_OK is set.
//!
//! Timing: register accesses are acknowledged 3 cycles after `req` (latch,
//! table read, answer); accesses that arrive during the reset sweep wait for
//! it. One access and one interrupt lookup pending at a time.

use crate::notify::QUEUE_BITS;
use crate::ram::Ram;
use crate::reg_latch::RegLatch;
use crate::reg_port::RegTarget;
use rust_hdl::prelude::*;
use vireo_regs::{virtio, DeviceConfig};

/// Address width of the queue table (up to 1024 queues).
pub const QUEUE_TABLE_BITS: usize = 10;

/// Common configuration state.
#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum CommonState {
    /// Writing reset values into the queue table.
    Sweep,
    /// Serving accesses.
    Idle,
    /// The queue word of a register access is being read.
    Access,
    /// The queue word of an interrupt lookup is being read.
    Lookup,
}

/// The common configuration registers and queue table.
#[derive(LogicBlock)]
pub struct CommonCfg {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Register port.
    pub regs: RegTarget,
    /// `config_generation` (owned by the device configuration).
    pub generation: Signal<In, Bits<8>>,
    /// The device configuration changed.
    pub cfg_changed: Signal<In, Bit>,
    /// A device error that needs a reset.
    pub dev_error: Signal<In, Bit>,
    /// In-flight work has drained (a reset may complete).
    pub drain_done: Signal<In, Bit>,
    /// The reset of queue 0 (the receiveq) is still in progress.
    pub rx_resetting: Signal<In, Bit>,
    /// The reset of queue 1 (the transmitq) is still in progress.
    pub tx_resetting: Signal<In, Bit>,
    /// A used buffer notification for `irq_queue`.
    pub irq_valid: Signal<In, Bit>,
    /// Its queue.
    pub irq_queue: Signal<In, Bits<QUEUE_BITS>>,
    /// Virtio reset started (one cycle).
    pub vreset: Signal<Out, Bit>,
    /// Queue interrupt (one cycle) for `queue_vector`.
    pub queue_irq: Signal<Out, Bit>,
    /// MSI-X vector of the queue interrupt.
    pub queue_vector: Signal<Out, Bits<16>>,
    /// Configuration change interrupt (one cycle).
    pub config_irq: Signal<Out, Bit>,
    /// `config_msix_vector`.
    pub config_vector: Signal<Out, Bits<16>>,
    /// An interrupt request (`irq_valid`) is taken now.
    pub irq_ready: Signal<Out, Bit>,
    /// The receiveq's table word (queue 0).
    pub rx_queue: Signal<Out, Bits<256>>,
    /// The transmitq's table word (queue 1; 0 if there is none).
    pub tx_queue: Signal<Out, Bits<256>>,
    /// Feature bits the driver accepted.
    pub driver_features: Signal<Out, Bits<64>>,
    /// `device_status`.
    pub device_status: Signal<Out, Bits<8>>,
    /// A queue was reset through queue_reset (one cycle).
    pub queue_reset: Signal<Out, Bit>,
    /// That queue.
    pub reset_queue: Signal<Out, Bits<QUEUE_BITS>>,

    queues: Ram<Bits<256>, QUEUE_TABLE_BITS>,
    state: DFF<CommonState>,
    /// A reset waits for the engine's work in flight (`drain_done`).
    draining: DFF<Bit>,
    sweep: DFF<Bits<QUEUE_TABLE_BITS>>,
    latch: RegLatch,
    irq_pend: DFF<Bit>,
    irq_q: DFF<Bits<QUEUE_TABLE_BITS>>,
    dfselect: DFF<Bits<32>>,
    drfselect: DFF<Bits<32>>,
    drf_lo: DFF<Bits<32>>,
    drf_hi: DFF<Bits<32>>,
    drf_invalid: DFF<Bit>,
    cfg_vector: DFF<Bits<16>>,
    status: DFF<Bits<8>>,
    qselect: DFF<Bits<16>>,
    ack: DFF<Bit>,
    rdata: DFF<Bits<32>>,
    qirq: DFF<Bit>,
    qirq_vector: DFF<Bits<16>>,
    cirq: DFF<Bit>,
    rxq: DFF<Bits<256>>,
    txq: DFF<Bits<256>>,
    qreset: DFF<Bit>,
    qreset_q: DFF<Bits<QUEUE_BITS>>,
    /// Resets of queue 0 (bit 0) and 1 (bit 1) waiting for the engine.
    qr_pending: DFF<Bits<2>>,
    qr_write: Signal<Local, Bit>,

    dw: Signal<Local, Bits<10>>,
    entry: Signal<Local, Bits<256>>,
    new_entry: Signal<Local, Bits<256>>,
    q_size: Signal<Local, Bits<16>>,
    q_vector: Signal<Local, Bits<16>>,
    entry_write: Signal<Local, Bit>,
    q_valid: Signal<Local, Bit>,
    q_enabled: Signal<Local, Bit>,
    field: Signal<Local, Bits<32>>,
    vector_lo: Signal<Local, Bits<16>>,
    vector_hi: Signal<Local, Bits<16>>,
    merged_size: Signal<Local, Bits<16>>,
    size_ok: Signal<Local, Bit>,
    features_ok: Signal<Local, Bit>,
    new_status: Signal<Local, Bits<8>>,
    status_written: Signal<Local, Bits<8>>,
    status_kept: Signal<Local, Bits<8>>,
    entry_shifted: Signal<Local, Bits<256>>,
    addr_half: Signal<Local, Bits<32>>,
    addr_shift: Signal<Local, Bits<9>>,
    field_mask: Signal<Local, Bits<256>>,
    last_queue: Constant<Bits<QUEUE_TABLE_BITS>>,
    num_queues: Constant<Bits<16>>,
    max_size: Constant<Bits<16>>,
    vectors: Constant<Bits<16>>,
    no_vector: Constant<Bits<16>>,
    offered_lo: Constant<Bits<32>>,
    offered_hi: Constant<Bits<32>>,
    version_1: Constant<Bits<32>>,
    ring_reset: Constant<Bits<32>>,
    reset_entry: Constant<Bits<256>>,
    st_features_ok: Constant<Bits<8>>,
    st_driver_ok: Constant<Bits<8>>,
    st_needs_reset: Constant<Bits<8>>,
}

impl CommonCfg {
    /// The common configuration of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        let c32 = |v: u64| Constant::new(v.into());
        let c16 = |v: u16| Constant::new((v as u64).into());
        let c8 = |v: u8| Constant::new((v as u64).into());
        let hi_bit = |b: u32| Constant::new((1u64 << (b - 32)).into());
        let reset_entry: Bits<256> = Bits::<256>::from(cfg.max_queue_size as u64)
            | (Bits::<256>::from(virtio::NO_VECTOR as u64) << 16);
        Self {
            clock: Default::default(),
            rst: Default::default(),
            regs: Default::default(),
            generation: Default::default(),
            cfg_changed: Default::default(),
            dev_error: Default::default(),
            drain_done: Default::default(),
            rx_resetting: Default::default(),
            tx_resetting: Default::default(),
            irq_valid: Default::default(),
            irq_queue: Default::default(),
            vreset: Default::default(),
            queue_irq: Default::default(),
            queue_vector: Default::default(),
            config_irq: Default::default(),
            config_vector: Default::default(),
            queues: Ram::new(cfg.num_queues as usize),
            state: Default::default(),
            draining: Default::default(),
            sweep: Default::default(),
            latch: Default::default(),
            irq_pend: Default::default(),
            irq_q: Default::default(),
            dfselect: Default::default(),
            drfselect: Default::default(),
            drf_lo: Default::default(),
            drf_hi: Default::default(),
            drf_invalid: Default::default(),
            cfg_vector: Default::default(),
            status: Default::default(),
            qselect: Default::default(),
            ack: Default::default(),
            rdata: Default::default(),
            qirq: Default::default(),
            qirq_vector: Default::default(),
            cirq: Default::default(),
            rxq: Default::default(),
            txq: Default::default(),
            qreset: Default::default(),
            qreset_q: Default::default(),
            qr_pending: Default::default(),
            qr_write: Default::default(),
            irq_ready: Default::default(),
            rx_queue: Default::default(),
            tx_queue: Default::default(),
            driver_features: Default::default(),
            device_status: Default::default(),
            queue_reset: Default::default(),
            reset_queue: Default::default(),
            dw: Default::default(),
            entry: Default::default(),
            new_entry: Default::default(),
            q_size: Default::default(),
            q_vector: Default::default(),
            entry_write: Default::default(),
            q_valid: Default::default(),
            q_enabled: Default::default(),
            field: Default::default(),
            vector_lo: Default::default(),
            vector_hi: Default::default(),
            merged_size: Default::default(),
            size_ok: Default::default(),
            features_ok: Default::default(),
            new_status: Default::default(),
            status_written: Default::default(),
            status_kept: Default::default(),
            entry_shifted: Default::default(),
            addr_half: Default::default(),
            addr_shift: Default::default(),
            field_mask: Default::default(),
            last_queue: Constant::new((cfg.num_queues as u64 - 1).into()),
            num_queues: c16(cfg.num_queues),
            max_size: c16(cfg.max_queue_size),
            vectors: c16(cfg.msix_vectors),
            no_vector: c16(virtio::NO_VECTOR),
            offered_lo: c32(cfg.features & 0xFFFF_FFFF),
            offered_hi: c32(cfg.features >> 32),
            version_1: hi_bit(virtio::feature::VERSION_1),
            ring_reset: hi_bit(virtio::feature::RING_RESET),
            reset_entry: Constant::new(reset_entry),
            st_features_ok: c8(virtio::status::FEATURES_OK),
            st_driver_ok: c8(virtio::status::DRIVER_OK),
            st_needs_reset: c8(virtio::status::DEVICE_NEEDS_RESET),
        }
    }
}

impl Logic for CommonCfg {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            draining,
            sweep,
            irq_pend,
            irq_q,
            dfselect,
            drfselect,
            drf_lo,
            drf_hi,
            drf_invalid,
            cfg_vector,
            status,
            qselect,
            ack,
            rdata,
            qirq,
            qirq_vector,
            cirq,
            rxq,
            txq,
            qreset,
            qreset_q,
            qr_pending
        );
        self.queues.clock.next = self.clock.val();
        self.queues.read_address.next = self.qselect.q.val().get_bits::<QUEUE_TABLE_BITS>(0);
        self.queues.write_address.next = self.qselect.q.val().get_bits::<QUEUE_TABLE_BITS>(0);
        self.queues.write_enable.next = false;
        self.vreset.next = false;
        self.ack.d.next = false;
        self.rdata.d.next = 0.into();
        self.qirq.d.next = false;
        self.cirq.d.next = false;
        self.qreset.d.next = false;

        // Latch requests: one register access and one interrupt lookup.
        self.latch.clock.next = self.clock.val();
        self.latch.rst.next = self.rst.val();
        self.latch.req.next = self.regs.req.val();
        self.latch.req_write.next = self.regs.write.val();
        self.latch.req_offset.next = self.regs.offset.val();
        self.latch.req_wmask.next = self.regs.wmask.val();
        self.latch.req_wdata.next = self.regs.wdata.val();
        self.latch.take.next = self.state.q.val() == CommonState::Access;
        self.dw.next = self.latch.offset.val().get_bits::<10>(2);
        if self.irq_valid.val()
            && !self.irq_pend.q.val()
            && (self.irq_queue.val() < self.num_queues.val())
            && (self.status.q.val() & self.st_driver_ok.val()).any()
        {
            self.irq_pend.d.next = true;
            self.irq_q.d.next = self.irq_queue.val().get_bits::<QUEUE_TABLE_BITS>(0);
        }

        // Configuration change and device error notifications.
        if self.dev_error.val() {
            self.status.d.next = self.status.q.val() | self.st_needs_reset.val();
        }
        self.cirq.d.next = (self.status.q.val() & self.st_driver_ok.val()).any()
            && (self.cfg_changed.val()
                || (self.dev_error.val()
                    && !(self.status.q.val() & self.st_needs_reset.val()).any()));

        // The selected queue's word and the current value of the accessed DW.
        self.entry.next = self.queues.read_data.val();
        self.q_valid.next = self.qselect.q.val() < self.num_queues.val();
        self.q_enabled.next = self.entry.val().get_bit(32);
        // Ring address halves: DW 8..13 are entry bits 64 + 32 * (dw - 8).
        self.addr_shift.next = (bit_cast::<9, 10>(self.dw.val()) << 5) - 192;
        self.entry_shifted.next = self.entry.val() >> self.addr_shift.val();
        self.addr_half.next = self.entry_shifted.val().get_bits::<32>(0);
        self.field.next = 0.into();
        match self.dw.val().index() {
            0 => self.field.next = self.dfselect.q.val(),
            1 => {
                if !self.dfselect.q.val().any() {
                    self.field.next = self.offered_lo.val();
                } else if self.dfselect.q.val() == 1 {
                    self.field.next = self.offered_hi.val();
                }
            }
            2 => self.field.next = self.drfselect.q.val(),
            3 => {
                if !self.drfselect.q.val().any() {
                    self.field.next = self.drf_lo.q.val();
                } else if self.drfselect.q.val() == 1 {
                    self.field.next = self.drf_hi.q.val();
                }
            }
            4 => {
                self.field.next = bit_cast::<32, 16>(self.cfg_vector.q.val())
                    | (bit_cast::<32, 16>(self.num_queues.val()) << 16);
            }
            5 => {
                self.field.next = bit_cast::<32, 8>(self.status.q.val())
                    | (bit_cast::<32, 8>(self.generation.val()) << 8)
                    | (bit_cast::<32, 16>(self.qselect.q.val()) << 16);
            }
            6 => {
                if self.q_valid.val() {
                    self.field.next = self.entry.val().get_bits::<32>(0);
                }
            }
            7 => {
                if self.q_valid.val() {
                    self.field.next = bit_cast::<32, 1>(self.entry.val().get_bits::<1>(32))
                        | (bit_cast::<32, 16>(self.qselect.q.val()) << 16);
                }
            }
            14 => {
                // queue_reset reads 1 while the queue's reset is in progress.
                if (!self.qselect.q.val().any()
                    && (self.rx_resetting.val() || self.qr_pending.q.val().get_bit(0)))
                    || ((self.qselect.q.val() == 1)
                        && (self.tx_resetting.val() || self.qr_pending.q.val().get_bit(1)))
                {
                    self.field.next = bits::<32>(1) << 16;
                }
            }
            _ => {
                if self.q_valid.val() && (self.dw.val() >= 8) && (self.dw.val() <= 13) {
                    self.field.next = self.addr_half.val();
                }
            }
        }

        // The written value merged into it, and what the rules make of it.
        self.latch.current.next = self.field.val();
        self.merged_size.next = self.latch.merged.val().get_bits::<16>(0);
        self.size_ok.next = self.merged_size.val().any()
            && !(self.merged_size.val() & (self.merged_size.val() - 1)).any()
            && (self.merged_size.val() <= self.max_size.val());
        self.vector_lo.next = self.latch.merged.val().get_bits::<16>(0);
        if (self.vector_lo.val() >= self.vectors.val())
            && (self.vector_lo.val() != self.no_vector.val())
        {
            self.vector_lo.next = self.no_vector.val();
        }
        self.vector_hi.next = self.latch.merged.val().get_bits::<16>(16);
        if (self.vector_hi.val() >= self.vectors.val())
            && (self.vector_hi.val() != self.no_vector.val())
        {
            self.vector_hi.next = self.no_vector.val();
        }
        self.features_ok.next = (self.drf_hi.q.val() & self.version_1.val()).any()
            && !(self.drf_lo.q.val() & !self.offered_lo.val()).any()
            && !(self.drf_hi.q.val() & !self.offered_hi.val()).any()
            && !self.drf_invalid.q.val();
        self.status_written.next = self.latch.written.val().get_bits::<8>(0);
        self.status_kept.next = self.status.q.val() & self.st_needs_reset.val();
        self.new_status.next =
            (self.status_written.val() & !self.st_needs_reset.val()) | self.status_kept.val();
        if (self.status_written.val() & self.st_features_ok.val()).any()
            && !(self.status.q.val() & self.st_features_ok.val()).any()
            && !self.features_ok.val()
        {
            self.new_status.next = (self.status_written.val()
                & !(self.st_needs_reset.val() | self.st_features_ok.val()))
                | self.status_kept.val();
        }
        // queue_size / queue_msix_vector after a write of DW 6.
        self.q_size.next = self.entry.val().get_bits::<16>(0);
        if self.latch.wmask.val().get_bits::<16>(0).any()
            && self.size_ok.val()
            && !self.q_enabled.val()
        {
            self.q_size.next = self.merged_size.val();
        }
        self.q_vector.next = self.entry.val().get_bits::<16>(16);
        if self.latch.wmask.val().get_bits::<16>(16).any() {
            self.q_vector.next = self.vector_hi.val();
        }
        self.field_mask.next =
            bit_cast::<256, 32>(bits::<32>(0xFFFF_FFFF_u64)) << self.addr_shift.val();

        // The queue word after a write to a queue field.
        self.new_entry.next = self.entry.val();
        self.entry_write.next = false;
        self.qr_write.next = self.latch.write.val()
            && self.q_valid.val()
            && (self.dw.val() == 14)
            && self.latch.written.val().get_bit(16)
            && (self.drf_hi.q.val() & self.ring_reset.val()).any()
            && (self.status.q.val() & self.st_features_ok.val()).any();
        if self.latch.write.val() && self.q_valid.val() {
            match self.dw.val().index() {
                6 => {
                    self.entry_write.next = true;
                    self.new_entry.next = (self.entry.val() & !bits::<256>(0xFFFF_FFFF_u64))
                        | bit_cast::<256, 16>(self.q_size.val())
                        | (bit_cast::<256, 16>(self.q_vector.val()) << 16);
                }
                7 => {
                    if self.latch.written.val().get_bit(0) {
                        self.entry_write.next = true;
                        self.new_entry.next = self.entry.val() | (bits::<256>(1) << 32);
                    }
                }
                14 => {
                    // The loopback's queues go back to their reset values
                    // once the engine has finished with them (Idle below).
                    if self.qr_write.val() && (self.qselect.q.val() > 1) {
                        self.entry_write.next = true;
                        self.new_entry.next = self.reset_entry.val();
                    }
                }
                _ => {
                    if (self.dw.val() >= 8) && (self.dw.val() <= 13) && !self.q_enabled.val() {
                        self.entry_write.next = true;
                        self.new_entry.next = (self.entry.val() & !self.field_mask.val())
                            | (bit_cast::<256, 32>(self.latch.merged.val())
                                << self.addr_shift.val());
                    }
                }
            }
        }

        self.queues.write_data.next = self.new_entry.val();
        match self.state.q.val() {
            CommonState::Sweep => {
                self.queues.write_address.next = self.sweep.q.val();
                self.queues.write_data.next = self.reset_entry.val();
                self.queues.write_enable.next = true;
                self.sweep.d.next = self.sweep.q.val() + 1;
                if self.sweep.q.val() == self.last_queue.val() {
                    self.state.d.next = CommonState::Idle;
                }
            }
            CommonState::Idle => {
                if self.qr_pending.q.val().get_bit(0) && !self.rx_resetting.val() {
                    self.queues.write_address.next = 0.into();
                    self.queues.write_data.next = self.reset_entry.val();
                    self.queues.write_enable.next = true;
                    self.qr_pending.d.next = self.qr_pending.q.val() & 2;
                } else if self.qr_pending.q.val().get_bit(1) && !self.tx_resetting.val() {
                    self.queues.write_address.next = 1.into();
                    self.queues.write_data.next = self.reset_entry.val();
                    self.queues.write_enable.next = true;
                    self.qr_pending.d.next = self.qr_pending.q.val() & 1;
                }
                if self.latch.pending.val() {
                    self.state.d.next = CommonState::Access;
                } else if self.irq_pend.q.val() {
                    self.queues.read_address.next = self.irq_q.q.val();
                    self.state.d.next = CommonState::Lookup;
                }
            }
            CommonState::Lookup => {
                self.irq_pend.d.next = false;
                self.qirq.d.next = true;
                self.qirq_vector.d.next = self.entry.val().get_bits::<16>(16);
                self.state.d.next = CommonState::Idle;
            }
            CommonState::Access => {
                self.ack.d.next = true;
                self.rdata.d.next = self.field.val();
                self.state.d.next = CommonState::Idle;
                self.queues.write_enable.next = self.entry_write.val() && !self.draining.q.val();
                self.qreset.d.next = self.qr_write.val() && !self.draining.q.val();
                self.qreset_q.d.next = self.qselect.q.val();
                if self.qr_write.val() && !self.draining.q.val() && !self.qselect.q.val().any() {
                    self.qr_pending.d.next = self.qr_pending.q.val() | 1;
                }
                if self.qr_write.val() && !self.draining.q.val() && (self.qselect.q.val() == 1) {
                    self.qr_pending.d.next = self.qr_pending.q.val() | 2;
                }
                if self.latch.write.val() && !self.draining.q.val() {
                    match self.dw.val().index() {
                        0 => self.dfselect.d.next = self.latch.merged.val(),
                        2 => self.drfselect.d.next = self.latch.merged.val(),
                        3 => {
                            if !(self.status.q.val() & self.st_features_ok.val()).any() {
                                if !self.drfselect.q.val().any() {
                                    self.drf_lo.d.next = self.latch.merged.val();
                                } else if self.drfselect.q.val() == 1 {
                                    self.drf_hi.d.next = self.latch.merged.val();
                                } else if self.latch.written.val().any() {
                                    self.drf_invalid.d.next = true;
                                }
                            }
                        }
                        4 => self.cfg_vector.d.next = self.vector_lo.val(),
                        5 => {
                            self.qselect.d.next = self.latch.merged.val().get_bits::<16>(16);
                            if self.latch.wmask.val().get_bits::<8>(0).any() {
                                if self.status_written.val().any() {
                                    self.status.d.next = self.new_status.val();
                                } else {
                                    self.vreset.next = true;
                                    self.qr_pending.d.next = 0.into();
                                    self.sweep.d.next = 0.into();
                                    self.draining.d.next = true;
                                    self.state.d.next = CommonState::Sweep;
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                self.state.d.next = CommonState::Idle;
            }
        }

        // The reset completes once the engine has drained.
        if self.draining.q.val() && self.drain_done.val() {
            self.status.d.next = 0.into();
            self.draining.d.next = false;
        }

        if self.rst.val() {
            self.state.d.next = CommonState::Sweep;
            self.draining.d.next = true;
            self.sweep.d.next = 0.into();
            self.qr_pending.d.next = 0.into();
            self.irq_pend.d.next = false;
            self.irq_q.d.next = 0.into();
            self.status.d.next = 0.into();
            self.ack.d.next = false;
            self.rdata.d.next = 0.into();
            self.qirq.d.next = false;
            self.qirq_vector.d.next = 0.into();
            self.cirq.d.next = false;
        }
        if self.rst.val() || self.vreset.val() {
            self.dfselect.d.next = 0.into();
            self.drfselect.d.next = 0.into();
            self.drf_lo.d.next = 0.into();
            self.drf_hi.d.next = 0.into();
            self.drf_invalid.d.next = false;
            self.cfg_vector.d.next = self.no_vector.val();
            self.qselect.d.next = 0.into();
        }

        self.regs.ack.next = self.ack.q.val();
        self.regs.rdata.next = self.rdata.q.val();
        self.queue_irq.next = self.qirq.q.val();
        self.queue_vector.next = self.qirq_vector.q.val();
        self.config_irq.next = self.cirq.q.val();
        self.config_vector.next = self.cfg_vector.q.val();

        // The loopback's two queues, mirrored out of the table as written.
        if self.queues.write_enable.val() && (self.queues.write_address.val() == 0) {
            self.rxq.d.next = self.queues.write_data.val();
        }
        if self.queues.write_enable.val() && (self.queues.write_address.val() == 1) {
            self.txq.d.next = self.queues.write_data.val();
        }
        if self.rst.val() {
            self.rxq.d.next = 0.into();
            self.txq.d.next = 0.into();
            self.qreset.d.next = false;
        }
        self.irq_ready.next = !self.irq_pend.q.val();
        self.rx_queue.next = self.rxq.q.val();
        self.tx_queue.next = self.txq.q.val();
        self.driver_features.next = (bit_cast::<64, 32>(self.drf_hi.q.val()) << 32)
            | bit_cast::<64, 32>(self.drf_lo.q.val());
        self.device_status.next = self.status.q.val();
        self.queue_reset.next = self.qreset.q.val();
        self.reset_queue.next = self.qreset_q.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vireo_regs::virtio::common;

    /// One clock cycle: settle, sample `ack` and `rdata`, rising edge.
    fn cycle(uut: &mut CommonCfg) -> Option<u32> {
        uut.clock.next = Clock::from(false);
        assert!(simulate(uut, 100));
        let answer = uut
            .regs
            .ack
            .val()
            .then(|| uut.regs.rdata.val().to_u64() as u32);
        uut.clock.next = Clock::from(true);
        assert!(simulate(uut, 100));
        answer
    }

    /// A 16-bit register access at byte offset `at`; returns the field's
    /// value (before a write).
    fn access16(uut: &mut CommonCfg, at: usize, write: Option<u16>) -> u16 {
        let shift = 8 * (at % 4);
        uut.regs.req.next = true;
        uut.regs.write.next = write.is_some();
        uut.regs.offset.next = ((at & !3) as u64).into();
        uut.regs.wmask.next = ((0xFFFFu64) << shift).into();
        uut.regs.wdata.next = ((write.unwrap_or(0) as u64) << shift).into();
        let mut answer = cycle(uut);
        uut.regs.req.next = false;
        for _ in 0..50 {
            if let Some(v) = answer {
                return (v >> shift) as u16;
            }
            answer = cycle(uut);
        }
        panic!("no ack for the access at {at:#x}");
    }

    /// A common configuration block for `max_queue_size`, out of reset.
    fn block(max_queue_size: u16) -> CommonCfg {
        let cfg = DeviceConfig {
            max_queue_size,
            ..DeviceConfig::default()
        };
        let mut uut = CommonCfg::new(&cfg);
        uut.connect_all();
        uut.drain_done.next = true;
        uut.rst.next = true;
        cycle(&mut uut);
        uut.rst.next = false;
        for _ in 0..8 {
            cycle(&mut uut);
        }
        uut
    }

    #[test]
    fn queue_size_takes_powers_of_two_up_to_the_configured_maximum() {
        for max in [256u16, 1024] {
            let mut uut = block(max);
            access16(&mut uut, common::QUEUE_SELECT, Some(1));
            assert_eq!(access16(&mut uut, common::QUEUE_SIZE, None), max);
            for (write, reads) in [
                (max / 2, max / 2),
                (max * 2, max / 2), // beyond the maximum: ignored
                (max - 1, max / 2), // not a power of two: ignored
                (max, max),
                (2, 2),
            ] {
                access16(&mut uut, common::QUEUE_SIZE, Some(write));
                assert_eq!(
                    access16(&mut uut, common::QUEUE_SIZE, None),
                    reads,
                    "maximum {max}, wrote {write}"
                );
            }
        }
    }
}
