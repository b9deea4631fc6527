//! The vhost-user device process: the co-simulated endpoint behind User-Mode
//! Linux's virtual PCI transport.
//!
//! The front end's queue 0 carries `virtio_pcidev_msg` commands: each
//! configuration or BAR access becomes the configuration or memory request
//! TLP into the Verilated RTL, and a read's completion goes back into the
//! command's writable buffer (little-endian; all-ones when the RTL did not
//! complete it successfully). The front end gives up on a read after about
//! 40 ms, so reads are answered as soon as their completion arrives, while
//! the device's own work goes on. Queue 1 holds buffers for interrupt
//! messages: every MSI-X memory write of the RTL to UML's MSI address
//! becomes an `MSI` message there. The RTL's DMA is served from the guest's
//! RAM, which the device maps shared.
//!
//! Between guest commands the RTL is clocked as long as it is busy, and the
//! process sleeps in `poll` when it is not.

use super::guest_ram::{GuestRam, RegionDesc};
use super::vhost_user::{self, protocol, request, Call, Connection, Message, FLAG_NEED_REPLY};
use super::vring::{Chain, Vring};
use crate::bfm::RootComplex;
use crate::endpoint::{Endpoint, HostError};
use crate::host::{Host, Outcome};
use crate::lockstep::Lockstep;
use crate::memory::{Access, Containment, HostMemory};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use vireo_regs::pci;

/// Command codes of `virtio_pcidev_msg`.
mod op {
    pub const CFG_READ: u8 = 1;
    pub const CFG_WRITE: u8 = 2;
    pub const MMIO_READ: u8 = 3;
    pub const MMIO_WRITE: u8 = 4;
    pub const MMIO_MEMSET: u8 = 5;
    pub const MSI: u8 = 7;
}

/// Bytes of a `virtio_pcidev_msg` header.
const MSG_HEADER: usize = 16;
/// The address UML programs into every MSI-X table entry.
pub const UML_MSI_ADDRESS: u64 = 0xA_0000;
/// Clock cycles run between looks at the socket while the RTL is busy.
const RUN_CYCLES: u64 = 64;
/// Accesses kept for the report of a failure.
const LOG_DEPTH: usize = 24;

/// The co-simulation the guest talks to: the RTL alone or in lock-step
/// with the golden model.
pub trait Cosim: Endpoint {
    /// The root complex around the RTL.
    fn rc(&mut self) -> &mut RootComplex;
    /// Guest RAM is mapped: serve DMA from it.
    fn attach(&mut self, ram: Arc<GuestRam>);
    /// Requests compared with the golden model so far.
    fn compared(&self) -> u64;
}

/// Let a device read and write all of guest RAM.
fn grant_ram(containment: &mut Containment, ram: &GuestRam) {
    for r in ram.regions() {
        for access in [Access::Read, Access::Write] {
            containment.grant(r.guest_addr..r.guest_addr + r.size, access);
        }
    }
}

/// Where UML takes MSI messages.
fn uml_msi_windows() -> Vec<Range<u64>> {
    std::iter::once(UML_MSI_ADDRESS..UML_MSI_ADDRESS + 4).collect()
}

/// Give the RTL's DMA `ram` and UML's MSI address.
fn attach_rtl(rc: &mut RootComplex, ram: &Arc<GuestRam>) {
    let dma = rc.dma_mut();
    dma.memory = HostMemory::with_external(ram.clone());
    dma.msi_windows = uml_msi_windows();
    grant_ram(&mut dma.containment, ram);
}

impl Cosim for RootComplex {
    fn rc(&mut self) -> &mut RootComplex {
        self
    }
    fn attach(&mut self, ram: Arc<GuestRam>) {
        attach_rtl(self, &ram);
    }
    fn compared(&self) -> u64 {
        0
    }
}

impl Cosim for Lockstep {
    fn rc(&mut self) -> &mut RootComplex {
        &mut self.rtl
    }
    fn attach(&mut self, ram: Arc<GuestRam>) {
        attach_rtl(&mut self.rtl, &ram);
        // The model sees the guest's memory but must not write it: the RTL
        // owns the rings.
        self.model.memory = HostMemory::reading(ram.clone());
        self.model.msi_windows = uml_msi_windows();
        grant_ram(&mut self.model.containment, &ram);
    }
    fn compared(&self) -> u64 {
        self.requests
    }
}

/// What the device saw and did.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Configuration reads and writes.
    pub cfg: [u64; 2],
    /// BAR reads and writes.
    pub mmio: [u64; 2],
    /// MSI messages delivered, per message data (the guest's vector).
    pub msi: BTreeMap<u32, u64>,
    /// Clock cycles simulated.
    pub cycles: u64,
}

/// The device: vhost-user protocol state, the two transport queues and the
/// co-simulation.
pub struct Device<E: Cosim> {
    conn: Connection,
    back: Option<File>,
    ram: Option<Arc<GuestRam>>,
    rings: [Vring; 2],
    calls: [Call; 2],
    protocol: u64,
    host: Host<E>,
    /// BAR register values, read from the RTL when first needed after a
    /// configuration write.
    bars: Option<[u32; 6]>,
    messages_seen: usize,
    pending_msi: VecDeque<(u64, u32)>,
    /// The last accesses, oldest first.
    log: VecDeque<String>,
    /// Errors: accesses the RTL did not answer, protocol violations.
    pub errors: Vec<String>,
    /// What was done.
    pub counts: Counts,
}

/// Protocol features offered to the front end.
const PROTOCOL_FEATURES: u64 =
    protocol::REPLY_ACK | protocol::SLAVE_REQ | protocol::CONFIG | protocol::INBAND_NOTIFICATIONS;
/// Feature bits offered: vhost-user protocol features and VERSION_1.
const FEATURES: u64 = vhost_user::F_PROTOCOL_FEATURES | 1 << 32;

fn protocol_error(what: String) -> HostError {
    HostError::Io(io::Error::new(io::ErrorKind::InvalidData, what))
}

impl<E: Cosim> Device<E> {
    /// Serve the front end on `conn` with `cosim` behind the transport.
    /// With `settle`, every guest access waits until the device is quiet
    /// again (as the lock-step comparison needs: the model finishes its
    /// work at once); otherwise a read returns with its completion and
    /// a write at once.
    pub fn new(conn: Connection, cosim: E, settle: bool) -> Self {
        let mut host = Host::new(cosim);
        host.ep.rc().free_run(!settle);
        Self {
            conn,
            back: None,
            ram: None,
            rings: Default::default(),
            calls: [Call::None, Call::None],
            protocol: 0,
            host,
            bars: None,
            messages_seen: 0,
            pending_msi: VecDeque::new(),
            log: VecDeque::new(),
            errors: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// The co-simulation.
    pub fn cosim(&mut self) -> &mut E {
        &mut self.host.ep
    }

    /// One round: take the front end's messages (waiting up to `wait_ms`
    /// if the RTL is idle), serve the command queue, clock the RTL while it
    /// is busy, deliver interrupt messages. Returns false once the front
    /// end has hung up.
    pub fn round(&mut self, wait_ms: i32) -> Result<bool, HostError> {
        let busy = self.host.ep.rc().busy();
        let mut wait = if busy { 0 } else { wait_ms };
        while self.conn.readable(wait)? {
            wait = 0;
            let Some(m) = self.conn.recv()? else {
                return Ok(false);
            };
            self.message(m)?;
        }
        self.commands()?;
        if self.host.ep.rc().busy() {
            self.host.ep.rc().run(RUN_CYCLES)?;
        }
        self.interrupts()?;
        self.counts.cycles = self.host.ep.rc().cycles();
        Ok(true)
    }

    /// Handle one front-end message.
    fn message(&mut self, mut m: Message) -> Result<(), HostError> {
        let fds = std::mem::take(&mut m.fds);
        let index = (m.u32_at(0) & 0xFF) as usize;
        let queue = |index: usize| -> Result<usize, HostError> {
            (index < 2)
                .then_some(index)
                .ok_or_else(|| protocol_error(format!("queue {index} does not exist")))
        };
        let mut replied = false;
        match m.request {
            request::GET_FEATURES => {
                self.conn.reply_u64(m.request, FEATURES)?;
                replied = true;
            }
            request::GET_PROTOCOL_FEATURES => {
                self.conn.reply_u64(m.request, PROTOCOL_FEATURES)?;
                replied = true;
            }
            request::SET_PROTOCOL_FEATURES => self.protocol = m.u64_at(0),
            request::GET_QUEUE_NUM => {
                self.conn.reply_u64(m.request, 2)?;
                replied = true;
            }
            request::SET_FEATURES
            | request::SET_OWNER
            | request::RESET_OWNER
            | request::SET_VRING_ERR
            | request::SET_CONFIG => {}
            request::SET_MEM_TABLE => self.mem_table(&m, fds)?,
            request::SET_SLAVE_REQ_FD => {
                self.back = fds.into_iter().next().map(File::from);
            }
            request::SET_VRING_NUM => self.rings[queue(index)?].num = m.u32_at(4) as u16,
            request::SET_VRING_BASE => self.rings[queue(index)?].set_base(m.u32_at(4) as u16),
            request::GET_VRING_BASE => {
                let q = queue(index)?;
                self.rings[q].enabled = false;
                let mut state = (q as u32).to_le_bytes().to_vec();
                state.extend((self.rings[q].last_avail as u32).to_le_bytes());
                self.conn.reply(m.request, &state)?;
                replied = true;
            }
            request::SET_VRING_ADDR => {
                let q = queue(index)?;
                let ram = self.ram.as_ref().ok_or_else(|| {
                    protocol_error("ring addresses before the memory table".into())
                })?;
                let guest = |at| {
                    ram.guest_of_user(m.u64_at(at)).ok_or_else(|| {
                        protocol_error(format!(
                            "ring address {:#x} outside guest RAM",
                            m.u64_at(at)
                        ))
                    })
                };
                let (desc, used, avail) = (guest(8)?, guest(16)?, guest(24)?);
                let r = &mut self.rings[q];
                (r.desc, r.used, r.avail) = (desc, used, avail);
            }
            request::SET_VRING_KICK => {}
            request::SET_VRING_CALL => {
                let q = queue(index)?;
                self.calls[q] = match fds.into_iter().next() {
                    Some(fd) if m.u64_at(0) & vhost_user::VRING_NOFD == 0 => Call::Fd(fd.into()),
                    _ => Call::Inband,
                };
            }
            request::SET_VRING_ENABLE => {
                let q = queue(index)?;
                self.rings[q].enabled = m.u32_at(4) != 0;
                if matches!(self.calls[q], Call::None) {
                    self.calls[q] = Call::Inband;
                }
            }
            request::GET_CONFIG => {
                // The transport device has no configuration space of its own.
                let size = m.u32_at(4) as usize;
                let mut reply = m.payload[..12.min(m.payload.len())].to_vec();
                reply.resize(12 + size, 0);
                self.conn.reply(m.request, &reply)?;
                replied = true;
            }
            request::VRING_KICK => {
                queue(index)?;
            }
            other => {
                self.errors
                    .push(format!("vhost-user request {other} not supported"));
            }
        }
        if !replied && m.flags & FLAG_NEED_REPLY != 0 && self.protocol & protocol::REPLY_ACK != 0 {
            self.conn.reply_u64(m.request, 0)?;
        }
        Ok(())
    }

    /// `SET_MEM_TABLE`: map the guest's RAM.
    fn mem_table(&mut self, m: &Message, fds: Vec<OwnedFd>) -> Result<(), HostError> {
        let n = m.u32_at(0) as usize;
        if n != fds.len() {
            return Err(protocol_error(format!(
                "memory table of {n} regions with {} descriptors",
                fds.len()
            )));
        }
        let regions: Vec<(RegionDesc, _)> = fds
            .into_iter()
            .enumerate()
            .map(|(i, fd)| {
                let at = 8 + 32 * i;
                let desc = RegionDesc {
                    guest_addr: m.u64_at(at),
                    size: m.u64_at(at + 8),
                    user_addr: m.u64_at(at + 16),
                    mmap_offset: m.u64_at(at + 24),
                };
                (desc, fd)
            })
            .collect();
        let ram = Arc::new(GuestRam::map(&regions)?);
        self.host.ep.attach(ram.clone());
        self.ram = Some(ram);
        Ok(())
    }

    /// Serve every command waiting in queue 0.
    fn commands(&mut self) -> Result<(), HostError> {
        let Some(ram) = self.ram.clone() else {
            return Ok(());
        };
        loop {
            let chain = match self.rings[0].pop(&ram) {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(protocol_error(format!("command queue: {e}"))),
            };
            let reply = self.command(&chain)?;
            let written = chain.fill(&ram, &reply);
            if self.rings[0].push(&ram, chain.head, written) {
                vhost_user::call(&mut self.calls[0], self.back.as_mut(), 0)?;
            }
        }
        Ok(())
    }

    /// Remember `line` for the failure report.
    fn note(&mut self, line: String) {
        if self.log.len() == LOG_DEPTH {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Carry out one command; returns what to write back (reads only).
    fn command(&mut self, chain: &Chain) -> Result<Vec<u8>, HostError> {
        let msg = &chain.readable;
        if msg.len() < MSG_HEADER {
            self.errors.push(format!(
                "command of {} bytes, shorter than its header",
                msg.len()
            ));
            return Ok(Vec::new());
        }
        let (opcode, bar) = (msg[0], msg[1]);
        let size = u32::from_le_bytes(msg[4..8].try_into().unwrap()) as usize;
        let addr = u64::from_le_bytes(msg[8..16].try_into().unwrap());
        let data = &msg[MSG_HEADER..];
        // Configuration requests carry one DW at most; memory requests two.
        let max = if matches!(opcode, op::CFG_READ | op::CFG_WRITE) {
            4
        } else {
            8
        };
        match opcode {
            op::CFG_READ | op::MMIO_READ => {
                let size = size.min(chain.writable_len());
                let mut out = vec![0xFF; size];
                for (at, n) in pieces(addr, size, max) {
                    let v = if opcode == op::CFG_READ {
                        self.counts.cfg[0] += 1;
                        self.cfg_read(at, n)?
                    } else {
                        self.counts.mmio[0] += 1;
                        self.mmio_read(bar, at, n)?
                    };
                    let i = (at - addr) as usize;
                    out[i..i + n as usize].copy_from_slice(&v.to_le_bytes()[..n as usize]);
                }
                Ok(out)
            }
            op::CFG_WRITE | op::MMIO_WRITE if data.len() >= size => {
                for (at, n) in pieces(addr, size, max) {
                    let i = (at - addr) as usize;
                    let mut v = [0u8; 8];
                    v[..n as usize].copy_from_slice(&data[i..i + n as usize]);
                    let v = u64::from_le_bytes(v);
                    if opcode == op::CFG_WRITE {
                        self.counts.cfg[1] += 1;
                        self.cfg_write(at, n, v)?;
                    } else {
                        self.counts.mmio[1] += 1;
                        self.mmio_write(bar, at, n, v)?;
                    }
                }
                Ok(Vec::new())
            }
            op::MMIO_MEMSET if !data.is_empty() => {
                for (at, n) in pieces(addr, size, max) {
                    let v = u64::from_le_bytes([data[0]; 8]);
                    self.counts.mmio[1] += 1;
                    self.mmio_write(bar, at, n, v)?;
                }
                Ok(Vec::new())
            }
            other => {
                self.errors.push(format!(
                    "command {other} (bar {bar}, {size} bytes at {addr:#x}) not supported"
                ));
                Ok(Vec::new())
            }
        }
    }

    /// The value of an access, or all-ones (and an error) when the RTL did
    /// not complete it in time.
    fn answered(
        &mut self,
        what: String,
        r: Result<Outcome, HostError>,
        size: u8,
    ) -> Result<u64, HostError> {
        match r {
            Ok(o) => {
                let v = o.cpu_value(size);
                self.note(format!("{what} -> {v:#x}"));
                Ok(v)
            }
            Err(e @ (HostError::NoCompletion { .. } | HostError::Stalled { .. })) => {
                self.note(format!("{what} -> no completion"));
                self.errors.push(format!("{what}: {e}"));
                Ok(u64::MAX >> (64 - 8 * size as u32))
            }
            Err(e) => Err(e),
        }
    }

    fn cfg_read(&mut self, at: u64, n: u8) -> Result<u64, HostError> {
        let r = self.host.cfg_read(at as u16, n);
        self.answered(format!("cfg read {n} @ {at:#x}"), r, n)
    }

    fn cfg_write(&mut self, at: u64, n: u8, v: u64) -> Result<(), HostError> {
        if (pci::hdr::BAR0 as u64..pci::hdr::BAR0 as u64 + 24).contains(&at) {
            self.bars = None;
        }
        self.note(format!("cfg write {n} @ {at:#x} = {v:#x}"));
        self.host.cfg_write(at as u16, n, v as u32)?;
        Ok(())
    }

    /// The address of byte `at` of BAR `bar`, as the guest assigned it.
    fn bar_address(&mut self, bar: u8, at: u64) -> Result<Option<u64>, HostError> {
        if self.bars.is_none() {
            let mut bars = [0u32; 6];
            for (i, b) in bars.iter_mut().enumerate() {
                let r = self.host.cfg_read(pci::hdr::BAR0 as u16 + 4 * i as u16, 4);
                *b = self.answered(format!("cfg read 4 @ BAR{i}"), r, 4)? as u32;
            }
            self.bars = Some(bars);
        }
        let bars = self.bars.unwrap();
        let b = bar as usize;
        let Some(&low) = bars.get(b) else {
            return Ok(None);
        };
        let wide = low & 0b110 == 0b100;
        let high = if wide {
            bars.get(b + 1).copied().unwrap_or(0)
        } else {
            0
        };
        Ok(Some(((high as u64) << 32 | (low & !0xF) as u64) + at))
    }

    fn mmio_read(&mut self, bar: u8, at: u64, n: u8) -> Result<u64, HostError> {
        let Some(addr) = self.bar_address(bar, at)? else {
            self.errors
                .push(format!("read of BAR {bar}, which does not exist"));
            return Ok(u64::MAX);
        };
        let r = self.host.mem_read(addr, n);
        self.answered(format!("BAR{bar} read {n} @ {at:#x}"), r, n)
    }

    fn mmio_write(&mut self, bar: u8, at: u64, n: u8, v: u64) -> Result<(), HostError> {
        let Some(addr) = self.bar_address(bar, at)? else {
            self.errors
                .push(format!("write of BAR {bar}, which does not exist"));
            return Ok(());
        };
        self.note(format!("BAR{bar} write {n} @ {at:#x} = {v:#x}"));
        self.host.mem_write(addr, n, v)?;
        Ok(())
    }

    /// Turn the RTL's new interrupt messages into MSI messages in queue 1.
    fn interrupts(&mut self) -> Result<(), HostError> {
        let messages = self.host.ep.messages();
        for m in &messages[self.messages_seen..] {
            self.pending_msi.push_back((m.address(), m.data[0]));
        }
        self.messages_seen = messages.len();
        let Some(ram) = self.ram.clone() else {
            return Ok(());
        };
        let mut call = false;
        while let Some(&(addr, data)) = self.pending_msi.front() {
            let chain = match self.rings[1].pop(&ram) {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(protocol_error(format!("interrupt queue: {e}"))),
            };
            let mut msg = vec![op::MSI, 0, 0, 0];
            msg.extend(4u32.to_le_bytes());
            msg.extend(addr.to_le_bytes());
            msg.extend(data.to_le_bytes());
            let written = chain.fill(&ram, &msg);
            call |= self.rings[1].push(&ram, chain.head, written);
            self.pending_msi.pop_front();
            *self.counts.msi.entry(data).or_default() += 1;
        }
        if call {
            vhost_user::call(&mut self.calls[1], self.back.as_mut(), 1)?;
        }
        Ok(())
    }

    /// A report of the transport's state and the accesses before a
    /// failure.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for (i, (name, r)) in ["command", "interrupt"].iter().zip(&self.rings).enumerate() {
            let avail = self.ram.as_ref().and_then(|ram| ram.read_u16(r.avail + 2));
            let _ = writeln!(
                s,
                "transport queue {i} ({name}): size {}, enabled {}, taken {}, driver's index {avail:?}",
                r.num, r.enabled, r.last_avail
            );
        }
        let _ = writeln!(
            s,
            "interrupt messages waiting for a buffer: {}",
            self.pending_msi.len()
        );
        s += "last accesses (oldest first):\n";
        for l in &self.log {
            let _ = writeln!(s, "  {l}");
        }
        s
    }
}

/// Split `size` bytes at `addr` into naturally aligned accesses of 1, 2, 4
/// or (up to `max`) 8 bytes.
fn pieces(addr: u64, size: usize, max: u64) -> Vec<(u64, u8)> {
    let mut out = Vec::new();
    let (mut at, end) = (addr, addr + size as u64);
    while at < end {
        let n = [8u64, 4, 2, 1]
            .into_iter()
            .find(|&n| n <= max && at % n == 0 && at + n <= end)
            .unwrap();
        out.push((at, n as u8));
        at += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_split_into_aligned_pieces() {
        assert_eq!(pieces(0x10, 4, 8), vec![(0x10, 4)]);
        assert_eq!(pieces(0x10, 8, 8), vec![(0x10, 8)]);
        assert_eq!(pieces(0x10, 8, 4), vec![(0x10, 4), (0x14, 4)]);
        assert_eq!(pieces(0x13, 4, 8), vec![(0x13, 1), (0x14, 2), (0x16, 1)]);
        assert_eq!(pieces(0x4, 12, 8), vec![(0x4, 4), (0x8, 8)]);
        assert!(pieces(0x4, 0, 8).is_empty());
    }
}
