//! The virtqueue engine with the virtio-net loopback: DMA engines, frame
//! buffer, transmit side and receive side.
//!
//! ```text
//!   cpl --> DmaRead --+--> frame buffer --> HeaderPatch x2 --> DmaWrite
//!            ^  ^     +--> tx control -> FrameFetch ---------+ frames
//!            |  |     +--> rx control -> FrameDeliver <------+
//!            |  +-- FrameFetch (data)         |
//!            +----- ReadShare <-- FrameDeliver (walk, notifications)
//!                             <-- FrameFetch (walk)
//!   dma <-- TxArbiter <-- DmaRead requests
//!                     <-- DmaWrite <-- FrameDeliver (data, used), FrameFetch (avail_event)
//! ```
//!
//! Both sides wake on any available buffer notification (`kick`) while the
//! device runs (DRIVER_OK without DEVICE_NEEDS_RESET). A fault on either
//! side stops it; once both sides are quiet the engine pulses `dev_error`
//! (DEVICE_NEEDS_RESET and a configuration interrupt) and does nothing
//! until a virtio reset. A virtio reset (`vreset`) restarts both sides at
//! once while the DMA engines drain what is in flight; `drained` then lets
//! the reset complete. A queue reset restarts that queue's side once its
//! own requests are done. Bus Master Enable off holds every request back
//! (nothing is lost; the work resumes when it is set again), and so does
//! DEVICE_NEEDS_RESET, however it was set, until the virtio reset: a
//! device that gave up asks nothing more of host memory.

use crate::byte_buffer::ByteBuffer;
use crate::dma_port::{ReadClient, WriteClient, TARGET_FRAMES, TARGET_RX_CTL, TARGET_TX_CTL};
use crate::dma_read::DmaRead;
use crate::dma_write::DmaWrite;
use crate::frame_deliver::FrameDeliver;
use crate::frame_fetch::FrameFetch;
use crate::header_patch::HeaderPatch;
use crate::lane_ram::LANES;
use crate::notify::QUEUE_BITS;
use crate::read_share::ReadShare;
use crate::tlp_stream::{TlpSink, TlpSource};
use crate::tx_arbiter::TxArbiter;
use rust_hdl::prelude::*;
use vireo_regs::virtio::net::{RECEIVEQ, TRANSMITQ};
use vireo_regs::virtio::{feature, status};
use vireo_regs::DeviceConfig;

/// The engine.
#[derive(LogicBlock)]
pub struct NetEngine {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous reset.
    pub rst: Signal<In, Bit>,
    /// Completions for the engine's reads.
    pub cpl: TlpSink,
    /// The engine's memory requests.
    pub dma: TlpSource,
    /// Bus Master Enable (the engine's requests wait while it is clear).
    pub bus_master: Signal<In, Bit>,
    /// Max_Payload_Size field of Device Control.
    pub max_payload: Signal<In, Bits<3>>,
    /// Max_Read_Request_Size field of Device Control.
    pub max_read: Signal<In, Bits<3>>,
    /// Requester ID.
    pub requester_id: Signal<In, Bits<16>>,
    /// Receiveq table word.
    pub rx_queue: Signal<In, Bits<256>>,
    /// Transmitq table word.
    pub tx_queue: Signal<In, Bits<256>>,
    /// Features the driver accepted.
    pub driver_features: Signal<In, Bits<64>>,
    /// `device_status`.
    pub device_status: Signal<In, Bits<8>>,
    /// An available buffer notification.
    pub kick: Signal<In, Bit>,
    /// Virtio reset started.
    pub vreset: Signal<In, Bit>,
    /// A queue was reset.
    pub queue_reset: Signal<In, Bit>,
    /// That queue.
    pub reset_queue: Signal<In, Bits<QUEUE_BITS>>,
    /// Nothing of a virtio reset is left in flight.
    pub drained: Signal<Out, Bit>,
    /// The receiveq's driver is to be notified.
    pub irq_rx: Signal<Out, Bit>,
    /// The transmitq's driver is to be notified.
    pub irq_tx: Signal<Out, Bit>,
    /// A frame was dropped.
    pub dropped: Signal<Out, Bit>,
    /// The engine gave up: DEVICE_NEEDS_RESET (one cycle).
    pub dev_error: Signal<Out, Bit>,
    /// A reset of the receiveq is in progress (from the `queue_reset`
    /// pulse until its transfers in flight have finished).
    pub rx_resetting: Signal<Out, Bit>,
    /// A reset of the transmitq is in progress.
    pub tx_resetting: Signal<Out, Bit>,
    read: DmaRead,
    share: ReadShare,
    write: DmaWrite,
    requests: TxArbiter,
    frames: ByteBuffer,
    /// Header patches: the frame before the one in hand, then that one.
    patch_prev: HeaderPatch,
    patch: HeaderPatch,
    fetch: FrameFetch,
    deliver: FrameDeliver,
    declared: DFF<Bit>,
    running: Signal<Local, Bit>,
    /// Requests may go out: Bus Master Enable without DEVICE_NEEDS_RESET.
    dma_on: Signal<Local, Bit>,
    indirect_ok: Signal<Local, Bit>,
    event_idx: Signal<Local, Bit>,
    to_frames: Signal<Local, Bit>,
    f_indirect: Constant<Bits<64>>,
    f_event_idx: Constant<Bits<64>>,
    st_driver_ok: Constant<Bits<8>>,
    st_needs_reset: Constant<Bits<8>>,
    t_frames: Constant<Bits<2>>,
    t_tx_ctl: Constant<Bits<2>>,
    t_rx_ctl: Constant<Bits<2>>,
    q_rx: Constant<Bits<QUEUE_BITS>>,
    q_tx: Constant<Bits<QUEUE_BITS>>,
}

impl NetEngine {
    /// The engine of the device described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            clock: Default::default(),
            rst: Default::default(),
            cpl: Default::default(),
            dma: Default::default(),
            bus_master: Default::default(),
            max_payload: Default::default(),
            max_read: Default::default(),
            requester_id: Default::default(),
            rx_queue: Default::default(),
            tx_queue: Default::default(),
            driver_features: Default::default(),
            device_status: Default::default(),
            kick: Default::default(),
            vreset: Default::default(),
            queue_reset: Default::default(),
            reset_queue: Default::default(),
            drained: Default::default(),
            irq_rx: Default::default(),
            irq_tx: Default::default(),
            dropped: Default::default(),
            dev_error: Default::default(),
            rx_resetting: Default::default(),
            tx_resetting: Default::default(),
            read: Default::default(),
            share: Default::default(),
            write: Default::default(),
            requests: Default::default(),
            frames: ByteBuffer::new(cfg.frame_buffer as usize),
            patch_prev: HeaderPatch::new(cfg.frame_buffer as u64),
            patch: HeaderPatch::new(cfg.frame_buffer as u64),
            fetch: FrameFetch::new(cfg),
            deliver: FrameDeliver::new(cfg),
            declared: Default::default(),
            running: Default::default(),
            dma_on: Default::default(),
            indirect_ok: Default::default(),
            event_idx: Default::default(),
            to_frames: Default::default(),
            f_indirect: Constant::new((1u64 << feature::RING_INDIRECT_DESC).into()),
            f_event_idx: Constant::new((1u64 << feature::RING_EVENT_IDX).into()),
            st_driver_ok: Constant::new((status::DRIVER_OK as u64).into()),
            st_needs_reset: Constant::new((status::DEVICE_NEEDS_RESET as u64).into()),
            t_frames: Constant::new(TARGET_FRAMES.into()),
            t_tx_ctl: Constant::new(TARGET_TX_CTL.into()),
            t_rx_ctl: Constant::new(TARGET_RX_CTL.into()),
            q_rx: Constant::new((RECEIVEQ as u64).into()),
            q_tx: Constant::new((TRANSMITQ as u64).into()),
        }
    }
}

impl Logic for NetEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, declared);
        clock!(
            self, clock, read, share, write, requests, frames, patch_prev, patch, fetch, deliver
        );
        self.read.rst.next = self.rst.val();
        self.write.rst.next = self.rst.val();
        self.requests.rst.next = self.rst.val();
        self.fetch.rst.next = self.rst.val();
        self.deliver.rst.next = self.rst.val();
        self.running.next = (self.device_status.val() & self.st_driver_ok.val()).any()
            && !(self.device_status.val() & self.st_needs_reset.val()).any();
        self.dma_on.next =
            self.bus_master.val() && !(self.device_status.val() & self.st_needs_reset.val()).any();
        self.indirect_ok.next = (self.driver_features.val() & self.f_indirect.val()).any();
        self.event_idx.next = (self.driver_features.val() & self.f_event_idx.val()).any();

        // DMA engines: PCIe configuration, requests out, completions in.
        self.read.bus_master.next = self.dma_on.val();
        self.read.max_read.next = self.max_read.val();
        self.read.requester_id.next = self.requester_id.val();
        self.read.vreset.next = self.vreset.val();
        self.write.bus_master.next = self.dma_on.val();
        self.write.max_payload.next = self.max_payload.val();
        self.write.requester_id.next = self.requester_id.val();
        self.write.vreset.next = self.vreset.val();
        TlpSink::link(&mut self.cpl, &mut self.read.cpl);
        TlpSource::join(&mut self.read.req, &mut self.requests.a);
        TlpSource::join(&mut self.write.out, &mut self.requests.b);
        TlpSource::link(&mut self.dma, &mut self.requests.out);
        self.drained.next = self.read.drained.val() && self.write.idle.val();

        // Read data goes to its buffer; frames leave through the header
        // patch.
        self.to_frames.next =
            self.read.wr_lanes.val().any() && (self.read.wr_target.val() == self.t_frames.val());
        self.frames.wr_addr.next = self.read.wr_addr.val();
        self.frames.wr_data.next = self.read.wr_data.val();
        self.frames.wr_lanes.next = bits::<LANES>(0);
        if self.to_frames.val() {
            self.frames.wr_lanes.next = self.read.wr_lanes.val();
        }
        self.frames.rd_en.next = self.write.rd_en.val();
        self.frames.rd_addr.next = self.write.rd_addr.val();
        self.patch_prev.rd_addr.next = self.write.rd_addr.val();
        self.patch_prev.rd_data.next = self.frames.rd_data.val();
        self.patch_prev.start.next = self.deliver.hdr_prev.val();
        self.patch_prev.enable.next = self.deliver.hdr_prev_live.val();
        self.patch_prev.len.next = self.deliver.hdr_prev_len.val();
        self.patch.rd_addr.next = self.write.rd_addr.val();
        self.patch.rd_data.next = self.patch_prev.out.val();
        self.patch.start.next = self.deliver.hdr_start.val();
        self.patch.enable.next = self.deliver.hdr_live.val();
        self.patch.len.next = self.deliver.hdr_len.val();
        self.write.rd_data.next = self.patch.out.val();
        self.write.rd_valid.next = self.frames.rd_valid.val();
        self.fetch.ctl_wr_addr.next = self.read.wr_addr.val();
        self.fetch.ctl_wr_data.next = self.read.wr_data.val();
        self.fetch.ctl_wr_lanes.next = bits::<LANES>(0);
        if self.read.wr_target.val() == self.t_tx_ctl.val() {
            self.fetch.ctl_wr_lanes.next = self.read.wr_lanes.val();
        }
        self.deliver.ctl_wr_addr.next = self.read.wr_addr.val();
        self.deliver.ctl_wr_data.next = self.read.wr_data.val();
        self.deliver.ctl_wr_lanes.next = bits::<LANES>(0);
        if self.read.wr_target.val() == self.t_rx_ctl.val() {
            self.deliver.ctl_wr_lanes.next = self.read.wr_lanes.val();
        }

        // Transmit side: the transmitq.
        self.fetch.desc.next = self.tx_queue.val().get_bits::<64>(64);
        self.fetch.driver.next = self.tx_queue.val().get_bits::<64>(128);
        self.fetch.device.next = self.tx_queue.val().get_bits::<64>(192);
        self.fetch.size.next = self.tx_queue.val().get_bits::<16>(0);
        self.fetch.enabled.next = self.tx_queue.val().get_bit(32);
        self.fetch.indirect_ok.next = self.indirect_ok.val();
        self.fetch.event_idx.next = self.event_idx.val();
        self.fetch.running.next = self.running.val();
        self.fetch.kick.next = self.kick.val();
        self.fetch.clear.next = self.vreset.val();
        self.fetch.flush.next =
            self.queue_reset.val() && (self.reset_queue.val() == self.q_tx.val());
        self.fetch.halt.next = self.deliver.fault.val();
        self.fetch.rx_side_flushing.next = self.deliver.tx_flushing.val();
        ReadClient::join(&mut self.fetch.read, &mut self.read.port0);
        WriteClient::join(&mut self.fetch.write, &mut self.write.port1);

        // Receive side: the receiveq, and the transmitq's used ring.
        self.deliver.rx_desc.next = self.rx_queue.val().get_bits::<64>(64);
        self.deliver.rx_driver.next = self.rx_queue.val().get_bits::<64>(128);
        self.deliver.rx_device.next = self.rx_queue.val().get_bits::<64>(192);
        self.deliver.rx_size.next = self.rx_queue.val().get_bits::<16>(0);
        self.deliver.rx_enabled.next = self.rx_queue.val().get_bit(32);
        self.deliver.tx_driver.next = self.tx_queue.val().get_bits::<64>(128);
        self.deliver.tx_device.next = self.tx_queue.val().get_bits::<64>(192);
        self.deliver.tx_size.next = self.tx_queue.val().get_bits::<16>(0);
        self.deliver.tx_enabled.next = self.tx_queue.val().get_bit(32);
        self.deliver.indirect_ok.next = self.indirect_ok.val();
        self.deliver.event_idx.next = self.event_idx.val();
        self.deliver.running.next = self.running.val();
        self.deliver.kick.next = self.kick.val();
        self.deliver.tx_fault.next = self.fetch.fault.val();
        self.deliver.clear.next = self.vreset.val();
        self.deliver.rx_clear.next =
            self.queue_reset.val() && (self.reset_queue.val() == self.q_rx.val());
        self.deliver.tx_clear.next =
            self.queue_reset.val() && (self.reset_queue.val() == self.q_tx.val());
        ReadClient::join(&mut self.deliver.read, &mut self.share.a);
        ReadClient::join(&mut self.fetch.walk_read, &mut self.share.b);
        ReadClient::join(&mut self.share.port, &mut self.read.port1);
        self.share.rst.next = self.rst.val();
        WriteClient::join(&mut self.deliver.write, &mut self.write.port0);
        self.deliver.frame_valid.next = self.fetch.frame_valid.val();
        self.deliver.frame_head.next = self.fetch.frame_head.val();
        self.deliver.frame_start.next = self.fetch.frame_start.val();
        self.deliver.frame_len.next = self.fetch.frame_len.val();
        self.deliver.frame_oversize.next = self.fetch.frame_oversize.val();
        self.deliver.frame_error.next = self.fetch.frame_error.val();
        self.deliver.frame_coming.next = self.fetch.frame_coming.val();
        self.fetch.frame_release.next = self.deliver.frame_release.val();
        self.fetch.frame_freed.next = self.deliver.freed.val();
        self.irq_rx.next = self.deliver.irq_rx.val();
        self.irq_tx.next = self.deliver.irq_tx.val();
        self.dropped.next = self.deliver.dropped.val();

        self.rx_resetting.next = self.deliver.rx_clear.val() || self.deliver.rx_flushing.val();
        self.tx_resetting.next = self.deliver.tx_clear.val()
            || self.deliver.tx_flushing.val()
            || self.fetch.flushing.val();

        // A fault: once nothing moves any more, DEVICE_NEEDS_RESET.
        self.dev_error.next = (self.fetch.fault.val() || self.deliver.fault.val())
            && self.fetch.quiet.val()
            && self.deliver.quiet.val()
            && !self.declared.q.val();
        if self.dev_error.val() {
            self.declared.d.next = true;
        }
        if self.rst.val() || self.vreset.val() {
            self.declared.d.next = false;
        }
    }
}
