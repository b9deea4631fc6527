//! Scenario files: host operations, one per line (see docs/SCENARIOS.md).
//!
//! ```text
//! # comment
//! probe                                   # enumerate as Linux does
//! cfg_read  0x06 2 expect 0x0010 mask 0x0010
//! cfg_write 0x04 2 0x0006
//! cfg_write 0x04 be=0b0011 0x00000006     # explicit byte enables, whole-DW value
//! mem_read  bar0+0x1000 4 expect 0
//! mem_write bar2+0x10 8 0x1234
//! mem_read  0xfe000000 4 expect ur        # absolute address
//! set_bar 0 0x1_0000_0000                 # move a BAR (both halves of a 64-bit BAR)
//! tlp 0x04000001 0x0000000f 0x01000000 expect ur   # raw header DWs [data DW...]
//! init                                    # virtio driver initialisation (MSI-X)
//! init intx size 4 decline 28 29          # INTx, queues of 4, no INDIRECT_DESC, EVENT_IDX
//! link down                               # device events
//! queue_irq 1
//! device_error
//! count_msix 0xfee00000 0x4002 expect 1   # MSI-X messages so far with this address/data
//! count_notify 0 expect 2                 # notifications of queue 0 so far
//! intx expect 1                           # INTx level
//! grant 0x5000_0000 0x1000 read           # host memory the device may read
//! host_write 0x5000_0000 4 0x11223344     # host memory, as the CPU writes it
//! desc q1 0 0x5000_0000 64 next 1         # descriptor 0 of queue 1's table
//! desc 0x6000_0000 0 0x5000_0000 64 write 0   # entry 0 of an indirect table
//! avail 1 0                               # publish head 0 on queue 1
//! kick 1                                  # available buffer notification
//! queue_reset 1                           # RING_RESET the queue, wait for 0
//! queue_setup 1                           # set it up again, rings zeroed
//! dma_fault ur 0x5000_0000 64             # reads touching the range fail
//! used 1 expect 1                         # queue 1's used idx
//! used_elem 1 0 expect 0x4000_0000_0000   # used element: id | len << 32
//! host_read 0x5000_0000 4 expect 0x11223344
//! wait 100
//! reset
//! ```

use crate::driver::{self, Driver, DriverOptions, QueueSetup};
use crate::endpoint::{DeviceEvent, Endpoint, HostError};
use crate::host::{Host, Outcome};
use crate::memory::{Access, ReadFault};
use crate::probe::{self, Placement, ProbeError, Probed};
use crate::tlp::{status_name, Completion, Tlp};
use crate::virtq::{Segment, SplitQueue};
use std::collections::HashMap;
use std::fmt;
use vireo_regs::tlp::cpl_status;
use vireo_regs::virtio::ring::{
    AVAIL_IDX, AVAIL_RING, DESC_SIZE, F_INDIRECT, F_NEXT, F_WRITE, USED_ELEM_SIZE, USED_IDX,
    USED_RING,
};

/// A parsed scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// File name (for messages).
    pub name: String,
    /// Operations in order.
    pub ops: Vec<Op>,
}

/// One line of a scenario.
#[derive(Clone, Debug)]
pub struct Op {
    /// Line number (1-based).
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What to do.
    pub kind: OpKind,
    /// What must come back.
    pub expect: Option<Expect>,
}

/// A memory address: absolute, or relative to a BAR's current base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// Absolute bus address.
    Abs(u64),
    /// `barN+offset`.
    Bar(u8, u64),
}

/// Width of a configuration access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 1, 2 or 4 bytes at the offset.
    Size(u8),
    /// Explicit byte enables of the DW at the (DW-aligned) offset.
    Be(u8),
}

/// An operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Enumerate as Linux does.
    Probe,
    /// Configuration read.
    CfgRead {
        /// Byte offset.
        offset: u16,
        /// Access width.
        width: Width,
    },
    /// Configuration write.
    CfgWrite {
        /// Byte offset.
        offset: u16,
        /// Access width.
        width: Width,
        /// Value (of the accessed bytes, or the whole DW with `be=`).
        value: u32,
    },
    /// Memory read.
    MemRead {
        /// Address.
        addr: Addr,
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
    },
    /// Memory write.
    MemWrite {
        /// Address.
        addr: Addr,
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
        /// Value.
        value: u64,
    },
    /// Program BAR `bar` with `base`.
    SetBar {
        /// BAR index.
        bar: u8,
        /// New base address.
        base: u64,
    },
    /// Send a raw TLP.
    Tlp {
        /// Header DWs (3 or 4).
        hdr: Vec<u32>,
        /// Payload DWs.
        data: Vec<u32>,
    },
    /// Let cycles pass.
    Wait(u64),
    /// Fundamental reset.
    Reset,
    /// Initialise the device as the virtio driver does (MSI-X or INTx).
    Init {
        /// Use MSI-X.
        msix: bool,
        /// Queue size to ask for.
        queue_size: u16,
        /// Feature bits the driver declines.
        decline: u64,
    },
    /// Something happens to the device.
    Event(DeviceEvent),
    /// How many MSI-X messages with this address and data were sent so far.
    CountMsix {
        /// Message Address.
        addr: u64,
        /// Message Data.
        data: u32,
    },
    /// How many available buffer notifications of a queue arrived so far.
    CountNotify(u16),
    /// The INTx level (1 or 0).
    Intx,
    /// The host CPU writes its memory (little-endian).
    HostWrite {
        /// Address.
        addr: u64,
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
        /// Value.
        value: u64,
    },
    /// The host CPU reads its memory.
    HostRead {
        /// Address.
        addr: u64,
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
    },
    /// Let the device read or write a host range.
    Grant {
        /// Start.
        addr: u64,
        /// Bytes.
        len: u64,
        /// Read or write.
        access: Access,
    },
    /// Device reads touching a range fail.
    DmaFault {
        /// How.
        fault: ReadFault,
        /// Start.
        addr: u64,
        /// Bytes.
        len: u64,
    },
    /// Write a descriptor.
    Desc {
        /// Queue N's table (`qN`), or an indirect table's address.
        table: Table,
        /// Index in the table.
        index: u16,
        /// Buffer address.
        addr: u64,
        /// Buffer length.
        len: u32,
        /// NEXT, WRITE, INDIRECT bits.
        flags: u16,
        /// Next descriptor.
        next: u16,
    },
    /// Add heads to a queue's available ring and publish its index.
    Avail {
        /// Queue.
        queue: u16,
        /// Head descriptors.
        heads: Vec<u16>,
    },
    /// Write a queue's available index as given.
    AvailIdx {
        /// Queue.
        queue: u16,
        /// Index.
        idx: u16,
    },
    /// Available buffer notification of a queue (16-bit write of its index
    /// to its notify address).
    Kick(u16),
    /// Reset a queue (RING_RESET) and wait until queue_reset reads 0.
    QueueReset(u16),
    /// Set a queue up again as `init` does, with zeroed rings.
    QueueSetup(u16),
    /// A queue's used index.
    Used(u16),
    /// A queue's used ring element: id | len << 32.
    UsedElem {
        /// Queue.
        queue: u16,
        /// Ring position.
        slot: u16,
    },
}

/// Where a descriptor goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// A queue's descriptor table.
    Queue(u16),
    /// An indirect table at this address.
    At(u64),
}

/// An expected result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A successful read returning `value` in the bits of `mask`.
    Value {
        /// Expected value.
        value: u64,
        /// Bits compared.
        mask: u64,
    },
    /// A completion with this status.
    Status(u8),
    /// No completion at all.
    Nothing,
}

/// A scenario line that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// File name.
    pub name: String,
    /// Line number (1-based).
    pub line: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.name, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parse a number: `0x` hex, `0b` binary or decimal, `_` separators allowed.
pub fn parse_number(tok: &str) -> Option<u64> {
    let t = tok.replace('_', "");
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(b) = t.strip_prefix("0b") {
        u64::from_str_radix(b, 2).ok()
    } else {
        t.parse().ok()
    }
}

struct Tokens<'a> {
    toks: Vec<&'a str>,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, String> {
        let t = self
            .toks
            .get(self.pos)
            .copied()
            .ok_or_else(|| format!("expected {what}, found end of line"))?;
        self.pos += 1;
        Ok(t)
    }

    fn number(&mut self, what: &str, max: u64) -> Result<u64, String> {
        let t = self.next(what)?;
        match parse_number(t) {
            Some(v) if v <= max => Ok(v),
            Some(v) => Err(format!("{what} {v:#x} is larger than {max:#x}")),
            None => Err(format!(
                "expected {what} (a number like 0x10, 0b101 or 16), found '{t}'"
            )),
        }
    }

    fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.pos).copied()
    }

    fn addr(&mut self) -> Result<Addr, String> {
        let t = self.next("an address (0x... or barN+0x...)")?;
        if let Some(rest) = t.strip_prefix("bar") {
            let (n, off) = rest.split_once('+').unwrap_or((rest, "0"));
            let bar = n
                .parse::<u8>()
                .ok()
                .filter(|&b| b < 6)
                .ok_or_else(|| format!("'{t}': BAR index must be 0..5"))?;
            let off = parse_number(off).ok_or_else(|| format!("'{t}': bad offset after barN+"))?;
            return Ok(Addr::Bar(bar, off));
        }
        parse_number(t)
            .map(Addr::Abs)
            .ok_or_else(|| format!("expected an address, found '{t}'"))
    }

    fn cfg_offset_width(&mut self) -> Result<(u16, Width), String> {
        let offset = self.number("a configuration offset", 0xFFF)? as u16;
        let w = self.next("a size (1, 2, 4) or be=MASK")?;
        let width = if let Some(be) = w.strip_prefix("be=") {
            let be = parse_number(be)
                .filter(|&b| b <= 0xF)
                .ok_or_else(|| format!("'{w}': byte enables are 4 bits"))?;
            if !offset.is_multiple_of(4) {
                return Err(format!("offset {offset:#x} with be= must be DW aligned"));
            }
            Width::Be(be as u8)
        } else {
            let size = self.size(w, &[1, 2, 4])?;
            if !offset.is_multiple_of(size as u16) {
                return Err(format!(
                    "a {size}-byte access at {offset:#x} is not naturally aligned"
                ));
            }
            Width::Size(size)
        };
        Ok((offset, width))
    }

    fn size(&self, t: &str, allowed: &[u8]) -> Result<u8, String> {
        parse_number(t)
            .and_then(|v| allowed.iter().copied().find(|&a| a as u64 == v))
            .ok_or_else(|| format!("expected a size of {allowed:?} bytes, found '{t}'"))
    }

    fn mem_size(&mut self, addr: Addr) -> Result<u8, String> {
        let t = self.next("a size (1, 2, 4, 8)")?;
        let size = self.size(t, &[1, 2, 4, 8])?;
        let a = match addr {
            Addr::Abs(a) | Addr::Bar(_, a) => a,
        };
        if a % size as u64 != 0 {
            return Err(format!(
                "a {size}-byte access at {a:#x} is not naturally aligned"
            ));
        }
        Ok(size)
    }

    fn expect(&mut self) -> Result<Option<Expect>, String> {
        let Some(t) = self.peek() else {
            return Ok(None);
        };
        if t != "expect" {
            return Err(format!("expected 'expect' or end of line, found '{t}'"));
        }
        self.pos += 1;
        let what = self.next("a value, ur, ca, sc or none after 'expect'")?;
        let e = match what {
            "ur" => Expect::Status(cpl_status::UR),
            "ca" => Expect::Status(cpl_status::CA),
            "sc" => Expect::Status(cpl_status::SC),
            "none" => Expect::Nothing,
            v => {
                let value = parse_number(v)
                    .ok_or_else(|| format!("expected a value, ur, ca, sc or none, found '{v}'"))?;
                let mask = if self.peek() == Some("mask") {
                    self.pos += 1;
                    self.number("a mask", u64::MAX)?
                } else {
                    u64::MAX
                };
                Expect::Value { value, mask }
            }
        };
        Ok(Some(e))
    }

    fn host_size(&mut self, addr: u64) -> Result<u8, String> {
        self.mem_size(Addr::Abs(addr))
    }

    fn flags(&mut self) -> Result<u16, String> {
        let t = self.next("descriptor flags (next, write, indirect joined by |, or a number)")?;
        if let Some(v) = parse_number(t) {
            return u16::try_from(v).map_err(|_| format!("flags {v:#x} are larger than 0xffff"));
        }
        t.split('|').try_fold(0, |acc, f| match f {
            "next" => Ok(acc | F_NEXT),
            "write" => Ok(acc | F_WRITE),
            "indirect" => Ok(acc | F_INDIRECT),
            _ => Err(format!(
                "unknown descriptor flag '{f}' (next, write, indirect or a number)"
            )),
        })
    }

    fn queue(&mut self) -> Result<u16, String> {
        Ok(self.number("a queue index", 0xFFFF)? as u16)
    }

    fn end(&self) -> Result<(), String> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(format!("unexpected '{t}' at end of line")),
        }
    }
}

fn parse_line(text: &str) -> Result<Option<(OpKind, Option<Expect>)>, String> {
    let code = text.split('#').next().unwrap_or("");
    let mut t = Tokens {
        toks: code.split_whitespace().collect(),
        pos: 0,
    };
    let Some(verb) = t.peek() else {
        return Ok(None);
    };
    t.pos += 1;
    let kind = match verb {
        "probe" => OpKind::Probe,
        "reset" => OpKind::Reset,
        "wait" => OpKind::Wait(t.number("a cycle count", 10_000_000)?),
        "cfg_read" => {
            let (offset, width) = t.cfg_offset_width()?;
            OpKind::CfgRead { offset, width }
        }
        "cfg_write" => {
            let (offset, width) = t.cfg_offset_width()?;
            let max = match width {
                Width::Size(s) => (1u64 << (8 * s as u32)) - 1,
                Width::Be(_) => u32::MAX as u64,
            };
            OpKind::CfgWrite { offset, width, value: t.number("a value", max)? as u32 }
        }
        "mem_read" => {
            let addr = t.addr()?;
            OpKind::MemRead { addr, size: t.mem_size(addr)? }
        }
        "mem_write" => {
            let addr = t.addr()?;
            let size = t.mem_size(addr)?;
            let max = if size == 8 { u64::MAX } else { (1u64 << (8 * size as u32)) - 1 };
            OpKind::MemWrite { addr, size, value: t.number("a value", max)? }
        }
        "set_bar" => {
            let bar = t.number("a BAR index", 5)? as u8;
            OpKind::SetBar { bar, base: t.number("a base address", u64::MAX)? }
        }
        "init" => {
            let mut msix = true;
            if let Some(m @ ("intx" | "msix")) = t.peek() {
                t.pos += 1;
                msix = m == "msix";
            }
            let mut queue_size = DriverOptions::default().queue_size;
            if t.peek() == Some("size") {
                t.pos += 1;
                let n = t.number("a queue size", 0x8000)?;
                if !n.is_power_of_two() {
                    return Err(format!("queue size {n} is not a power of two"));
                }
                queue_size = n as u16;
            }
            let mut decline = 0u64;
            if t.peek() == Some("decline") {
                t.pos += 1;
                while t.peek().is_some_and(|p| p != "expect") {
                    decline |= 1 << t.number("a feature bit", 63)?;
                }
            }
            OpKind::Init { msix, queue_size, decline }
        }
        "link" => match t.next("up or down")? {
            "up" => OpKind::Event(DeviceEvent::Link(true)),
            "down" => OpKind::Event(DeviceEvent::Link(false)),
            other => return Err(format!("expected up or down, found '{other}'")),
        },
        "queue_irq" => OpKind::Event(DeviceEvent::QueueIrq(t.number("a queue index", 0xFFFF)? as u16)),
        "device_error" => OpKind::Event(DeviceEvent::DeviceError),
        "count_msix" => {
            let addr = t.number("a message address", u64::MAX)?;
            OpKind::CountMsix { addr, data: t.number("message data", u32::MAX as u64)? as u32 }
        }
        "count_notify" => OpKind::CountNotify(t.number("a queue index", 0xFFFF)? as u16),
        "intx" => OpKind::Intx,
        "host_write" => {
            let addr = t.number("an address", u64::MAX)?;
            let size = t.host_size(addr)?;
            let max = if size == 8 { u64::MAX } else { (1u64 << (8 * size as u32)) - 1 };
            OpKind::HostWrite { addr, size, value: t.number("a value", max)? }
        }
        "host_read" => {
            let addr = t.number("an address", u64::MAX)?;
            OpKind::HostRead { addr, size: t.host_size(addr)? }
        }
        "grant" => {
            let addr = t.number("an address", u64::MAX)?;
            let len = t.number("a length", u64::MAX - addr)?;
            let access = match t.next("read or write")? {
                "read" => Access::Read,
                "write" => Access::Write,
                other => return Err(format!("expected read or write, found '{other}'")),
            };
            OpKind::Grant { addr, len, access }
        }
        "dma_fault" => {
            let fault = match t.next("ur, ca, poison or drop")? {
                "ur" => ReadFault::Ur,
                "ca" => ReadFault::Ca,
                "poison" => ReadFault::Poison,
                "drop" => ReadFault::Drop,
                other => return Err(format!("expected ur, ca, poison or drop, found '{other}'")),
            };
            let addr = t.number("an address", u64::MAX)?;
            OpKind::DmaFault { fault, addr, len: t.number("a length", u64::MAX - addr)? }
        }
        "desc" => {
            let where_ = t.next("qN (a queue's table) or the address of an indirect table")?;
            let table = match where_.strip_prefix('q') {
                Some(q) => Table::Queue(
                    q.parse().map_err(|_| format!("'{where_}': expected qN with N a queue index"))?,
                ),
                None => Table::At(
                    parse_number(where_)
                        .ok_or_else(|| format!("expected qN or a table address, found '{where_}'"))?,
                ),
            };
            let index = t.number("a descriptor index", 0xFFFF)? as u16;
            let addr = t.number("a buffer address", u64::MAX)?;
            let len = t.number("a buffer length", u32::MAX as u64)? as u32;
            let flags = t.flags()?;
            let next = t.number("the next index", 0xFFFF)? as u16;
            OpKind::Desc { table, index, addr, len, flags, next }
        }
        "avail" => {
            let queue = t.queue()?;
            let mut heads = Vec::new();
            while t.peek().is_some_and(|p| p != "expect") {
                heads.push(t.number("a head index", 0xFFFF)? as u16);
            }
            if heads.is_empty() {
                return Err("expected at least one head index after the queue".into());
            }
            OpKind::Avail { queue, heads }
        }
        "avail_idx" => {
            let queue = t.queue()?;
            OpKind::AvailIdx { queue, idx: t.number("an index", 0xFFFF)? as u16 }
        }
        "kick" => OpKind::Kick(t.queue()?),
        "queue_reset" => OpKind::QueueReset(t.queue()?),
        "queue_setup" => OpKind::QueueSetup(t.queue()?),
        "used" => OpKind::Used(t.queue()?),
        "used_elem" => {
            let queue = t.queue()?;
            OpKind::UsedElem { queue, slot: t.number("a ring position", 0xFFFF)? as u16 }
        }
        "tlp" => {
            let mut hdr = Vec::new();
            let mut data = Vec::new();
            let mut in_data = false;
            while let Some(tok) = t.peek() {
                if tok == "expect" {
                    break;
                }
                t.pos += 1;
                if tok == "data" {
                    in_data = true;
                    continue;
                }
                let v = parse_number(tok).filter(|&v| v <= u32::MAX as u64);
                let v = v.ok_or_else(|| format!("expected a 32-bit DW, 'data' or 'expect', found '{tok}'"))? as u32;
                if in_data { data.push(v) } else { hdr.push(v) }
            }
            if !(3..=4).contains(&hdr.len()) {
                return Err(format!("a TLP header has 3 or 4 DWs, found {}", hdr.len()));
            }
            OpKind::Tlp { hdr, data }
        }
        v => {
            return Err(format!(
                "unknown operation '{v}' (expected probe, init, cfg_read, cfg_write, mem_read, mem_write, set_bar, tlp, \
                 link, queue_irq, device_error, count_msix, count_notify, intx, host_write, host_read, grant, \
                 dma_fault, desc, avail, avail_idx, kick, queue_reset, queue_setup, used, used_elem, wait or reset)"
            ))
        }
    };
    let expect = t.expect()?;
    t.end()?;
    Ok(Some((kind, expect)))
}

impl Scenario {
    /// Parse scenario `text`, naming it `name` in messages.
    pub fn parse(name: &str, text: &str) -> Result<Self, ParseError> {
        let mut ops = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let parsed = parse_line(line).map_err(|message| ParseError {
                name: name.into(),
                line: i + 1,
                message,
            })?;
            if let Some((kind, expect)) = parsed {
                ops.push(Op {
                    line: i + 1,
                    text: line.trim().to_string(),
                    kind,
                    expect,
                });
            }
        }
        Ok(Self {
            name: name.into(),
            ops,
        })
    }
}

/// A scenario step that failed.
#[derive(Debug)]
pub struct StepError {
    /// Scenario name.
    pub name: String,
    /// Line number.
    pub line: usize,
    /// The line.
    pub text: String,
    /// What went wrong.
    pub error: String,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}`: {}",
            self.name, self.line, self.text, self.error
        )
    }
}

impl std::error::Error for StepError {}

/// Runs scenarios against an endpoint, keeping the host's view of the BARs.
pub struct Runner<E: Endpoint> {
    /// The host.
    pub host: Host<E>,
    /// What the last `probe` found (BAR bases follow `set_bar`).
    pub probed: Option<Probed>,
    /// What the last `init` set up.
    pub driver: Option<Driver>,
    /// The available index the scenario has published, per queue.
    avail_idx: HashMap<u16, u16>,
    /// The options of the last `init`.
    opts: DriverOptions,
}

fn check(expect: Option<Expect>, got: Outcome) -> Result<(), String> {
    let Some(e) = expect else { return Ok(()) };
    let ok = match (e, got) {
        (Expect::Value { value, mask }, Outcome::Done(v)) => v & mask == value & mask,
        (Expect::Status(s), Outcome::Done(_)) => s == cpl_status::SC,
        (Expect::Status(s), Outcome::Status(g)) => s == g,
        (Expect::Nothing, Outcome::Posted) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let want = match e {
        Expect::Value {
            value,
            mask: u64::MAX,
        } => format!("{value:#x}"),
        Expect::Value { value, mask } => format!("{value:#x} in the bits of {mask:#x}"),
        Expect::Status(s) => format!("a completion with status {}", status_name(s)),
        Expect::Nothing => "no completion".into(),
    };
    let got = match got {
        Outcome::Done(v) => format!("{v:#x}"),
        Outcome::Status(s) => format!("a completion with status {}", status_name(s)),
        Outcome::Posted => "no completion".into(),
    };
    Err(format!("expected {want}, got {got}"))
}

impl<E: Endpoint> Runner<E> {
    /// A runner over `ep`.
    pub fn new(ep: E) -> Self {
        Self {
            host: Host::new(ep),
            probed: None,
            driver: None,
            avail_idx: HashMap::new(),
            opts: DriverOptions::default(),
        }
    }

    fn queue(&self, q: u16) -> Result<QueueSetup, String> {
        let d = self
            .driver
            .as_ref()
            .ok_or("ring operations need an init first")?;
        d.queues
            .iter()
            .find(|s| s.index == q)
            .copied()
            .ok_or_else(|| format!("queue {q} was not set up by init"))
    }

    fn host_write(&mut self, addr: u64, bytes: &[u8]) {
        self.host.ep.memory_write(addr, bytes);
    }

    /// `size` bytes of host memory at `addr`, little-endian.
    fn host_read(&self, addr: u64, size: usize) -> Outcome {
        let b = self.host.ep.memory().read(addr, size);
        Outcome::Done(b.iter().rev().fold(0, |acc, &x| acc << 8 | x as u64))
    }

    /// Run a ring operation (after `init`).
    fn ring_step(&mut self, kind: &OpKind) -> Result<Outcome, String> {
        match kind {
            OpKind::Desc {
                table,
                index,
                addr,
                len,
                flags,
                next,
            } => {
                let base = match table {
                    Table::Queue(q) => self.queue(*q)?.desc,
                    Table::At(a) => *a,
                };
                let buffer = Segment {
                    addr: *addr,
                    len: *len,
                    write: flags & F_WRITE != 0,
                };
                let at = base + *index as u64 * DESC_SIZE;
                SplitQueue::write_desc(&mut self.host.ep, at, &buffer, *flags, *next);
            }
            OpKind::Avail { queue, heads } => {
                let q = self.queue(*queue)?;
                let mut idx = self.avail_idx.get(queue).copied().unwrap_or(0);
                for h in heads {
                    let slot = q.driver + AVAIL_RING + 2 * (idx % q.size) as u64;
                    self.host_write(slot, &h.to_le_bytes());
                    idx = idx.wrapping_add(1);
                }
                self.host_write(q.driver + AVAIL_IDX, &idx.to_le_bytes());
                self.avail_idx.insert(*queue, idx);
            }
            OpKind::AvailIdx { queue, idx } => {
                let q = self.queue(*queue)?;
                self.host_write(q.driver + AVAIL_IDX, &idx.to_le_bytes());
                self.avail_idx.insert(*queue, *idx);
            }
            OpKind::Kick(q) => {
                let d = self.driver.as_ref().ok_or("kick needs an init first")?;
                let at = driver::notify_address(&d.probed, d.probed.notify_off_multiplier, *q);
                return self
                    .host
                    .mem_write(at, 2, *q as u64)
                    .map_err(|e| e.to_string());
            }
            OpKind::QueueReset(q) | OpKind::QueueSetup(q) => {
                let d = self
                    .driver
                    .as_mut()
                    .ok_or("queue operations need an init first")?;
                let mut regs = driver::Regs::new(&mut self.host, &d.probed);
                let err = |e: driver::DriverError| e.to_string();
                if matches!(kind, OpKind::QueueReset(_)) {
                    driver::reset_queue(&mut regs, *q).map_err(err)?;
                } else {
                    let setup = driver::setup_queue(&mut regs, *q, self.opts)
                        .map_err(err)?
                        .ok_or(format!("queue {q} does not exist"))?;
                    SplitQueue::new(&setup).setup(&mut self.host.ep);
                    d.queues.retain(|s| s.index != *q);
                    d.queues.push(setup);
                    self.avail_idx.insert(*q, 0);
                }
            }
            OpKind::Used(queue) => {
                let q = self.queue(*queue)?;
                return Ok(self.host_read(q.device + USED_IDX, 2));
            }
            OpKind::UsedElem { queue, slot } => {
                let q = self.queue(*queue)?;
                let at = q.device + USED_RING + USED_ELEM_SIZE * (*slot % q.size) as u64;
                return Ok(self.host_read(at, 8));
            }
            other => unreachable!("not a ring operation: {other:?}"),
        }
        Ok(Outcome::Posted)
    }

    fn resolve(&self, addr: Addr) -> Result<u64, String> {
        match addr {
            Addr::Abs(a) => Ok(a),
            Addr::Bar(n, off) => {
                let bar = self.probed.as_ref().and_then(|p| p.bar(n));
                let bar =
                    bar.ok_or_else(|| format!("bar{n} has no known address (run probe first)"))?;
                Ok(bar.base.wrapping_add(off))
            }
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        let host_err = |e: HostError| e.to_string();
        let got = match &op.kind {
            OpKind::Probe => {
                let p = probe::probe(&mut self.host, Placement::default())
                    .map_err(|e| e.to_string())?;
                self.probed = Some(p);
                return Ok(());
            }
            OpKind::Reset => {
                self.probed = None;
                return self.host.ep.reset().map_err(host_err);
            }
            OpKind::Wait(n) => return self.host.ep.idle(*n).map_err(host_err),
            OpKind::Init {
                msix,
                queue_size,
                decline,
            } => {
                let probed = self.probed.clone().ok_or("init needs a probe first")?;
                let mut opts = DriverOptions {
                    msix: *msix,
                    queue_size: *queue_size,
                    ..DriverOptions::default()
                };
                opts.understood &= !decline;
                let d = driver::init(&mut self.host, &probed, opts).map_err(|e| e.to_string())?;
                // Empty rings the device may read (and write the used ring).
                for q in &d.queues {
                    SplitQueue::new(q).setup(&mut self.host.ep);
                }
                self.driver = Some(d);
                self.avail_idx.clear();
                self.opts = opts;
                return Ok(());
            }
            OpKind::HostWrite { addr, size, value } => {
                self.host_write(*addr, &value.to_le_bytes()[..*size as usize]);
                return Ok(());
            }
            OpKind::HostRead { addr, size } => Ok(self.host_read(*addr, *size as usize)),
            OpKind::Grant { addr, len, access } => {
                self.host.ep.grant(*addr..addr + len, *access);
                return Ok(());
            }
            OpKind::DmaFault { fault, addr, len } => {
                self.host.ep.inject(*addr..addr + len, *fault);
                return Ok(());
            }
            OpKind::Desc { .. }
            | OpKind::Avail { .. }
            | OpKind::AvailIdx { .. }
            | OpKind::Kick(_)
            | OpKind::QueueReset(_)
            | OpKind::QueueSetup(_)
            | OpKind::Used(_)
            | OpKind::UsedElem { .. } => self.ring_step(&op.kind).map_err(HostError::Expectation),
            OpKind::Event(e) => return self.host.ep.event(*e).map_err(host_err),
            OpKind::CountMsix { addr, data } => {
                let n = self
                    .host
                    .ep
                    .messages()
                    .iter()
                    .filter(|m| m.address() == *addr && m.data == [*data])
                    .count();
                Ok(Outcome::Done(n as u64))
            }
            OpKind::CountNotify(q) => {
                let n = self
                    .host
                    .ep
                    .notifications()
                    .iter()
                    .filter(|n| n.queue == *q)
                    .count();
                Ok(Outcome::Done(n as u64))
            }
            OpKind::Intx => Ok(Outcome::Done(self.host.ep.intx() as u64)),
            OpKind::SetBar { bar, base } => {
                let probed = self.probed.as_mut().ok_or("set_bar needs a probe first")?;
                let b = probed
                    .bars
                    .iter_mut()
                    .find(|b| b.index == *bar)
                    .ok_or(format!("BAR {bar} is not implemented"))?;
                let target = *b;
                probe::set_bar(&mut self.host, &target, *base)
                    .map_err(|e: ProbeError| e.to_string())?;
                b.base = *base;
                return Ok(());
            }
            OpKind::CfgRead {
                offset,
                width: Width::Size(s),
            } => self.host.cfg_read(*offset, *s),
            OpKind::CfgRead {
                offset,
                width: Width::Be(be),
            } => self.host.cfg_read_dw(offset / 4, *be),
            OpKind::CfgWrite {
                offset,
                width: Width::Size(s),
                value,
            } => self.host.cfg_write(*offset, *s, *value),
            OpKind::CfgWrite {
                offset,
                width: Width::Be(be),
                value,
            } => self.host.cfg_write_dw(offset / 4, *be, *value),
            OpKind::MemRead { addr, size } => {
                let a = self.resolve(*addr)?;
                self.host.mem_read(a, *size)
            }
            OpKind::MemWrite { addr, size, value } => {
                let a = self.resolve(*addr)?;
                self.host.mem_write(a, *size, *value)
            }
            OpKind::Tlp { hdr, data } => {
                let cpl = self
                    .host
                    .send(Tlp::raw(hdr, data.clone()))
                    .map_err(host_err)?;
                Ok(match cpl.as_ref().and_then(Completion::parse) {
                    None => Outcome::Posted,
                    Some(c) if c.ok() => Outcome::Done(c.data.first().copied().unwrap_or(0) as u64),
                    Some(c) => Outcome::Status(c.status),
                })
            }
        };
        check(op.expect, got.map_err(host_err)?)
    }

    /// Run every step of `scenario`; stop at the first failure.
    pub fn run(&mut self, scenario: &Scenario) -> Result<(), StepError> {
        for op in &scenario.ops {
            self.step(op).map_err(|error| StepError {
                name: scenario.name.clone(),
                line: op.line,
                text: op.text.clone(),
                error,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_parses() {
        let s = Scenario::parse(
            "t",
            "probe\n# comment\ncfg_read 0x06 2 expect 0x10 mask 0x10\ncfg_write 0x04 be=0b0011 6\n\
             mem_read bar0+0x1000 4 expect ur\nmem_write 0xfe000000 8 0x1\nset_bar 2 0xfe100000\n\
             tlp 0x44000001 0x0000010f 0x01000000 data 5 expect sc\nwait 10\nreset\n",
        )
        .unwrap();
        assert_eq!(s.ops.len(), 9);
        assert_eq!(
            s.ops[1].kind,
            OpKind::CfgRead {
                offset: 6,
                width: Width::Size(2)
            }
        );
        assert_eq!(
            s.ops[1].expect,
            Some(Expect::Value {
                value: 0x10,
                mask: 0x10
            })
        );
        assert_eq!(
            s.ops[3].kind,
            OpKind::MemRead {
                addr: Addr::Bar(0, 0x1000),
                size: 4
            }
        );
        assert_eq!(
            s.ops[6].kind,
            OpKind::Tlp {
                hdr: vec![0x4400_0001, 0x10F, 0x0100_0000],
                data: vec![5]
            }
        );
        assert_eq!(s.ops[6].line, 8);
    }

    #[test]
    fn ring_operations_parse() {
        let s = Scenario::parse(
            "t",
            "init intx decline 28 29\ndesc q1 3 0x5000 64 next|write 4\ndesc 0x6000 0 0x5000 16 4 0\n\
             avail 1 3 4\ndma_fault poison 0x5000 16\ngrant 0x5000 0x100 write\nused_elem 0 2 expect 5\n",
        )
        .unwrap();
        let kinds: Vec<&OpKind> = s.ops.iter().map(|o| &o.kind).collect();
        assert_eq!(
            kinds[0],
            &OpKind::Init {
                msix: false,
                queue_size: 256,
                decline: 3 << 28
            }
        );
        assert_eq!(
            kinds[1],
            &OpKind::Desc {
                table: Table::Queue(1),
                index: 3,
                addr: 0x5000,
                len: 64,
                flags: F_NEXT | F_WRITE,
                next: 4
            }
        );
        assert!(matches!(
            kinds[2],
            OpKind::Desc {
                table: Table::At(0x6000),
                flags: F_INDIRECT,
                ..
            }
        ));
        assert_eq!(
            kinds[3],
            &OpKind::Avail {
                queue: 1,
                heads: vec![3, 4]
            }
        );
        assert!(matches!(
            kinds[4],
            OpKind::DmaFault {
                fault: ReadFault::Poison,
                ..
            }
        ));
        assert!(matches!(
            kinds[5],
            OpKind::Grant {
                access: Access::Write,
                len: 0x100,
                ..
            }
        ));
        let err = |text: &str| Scenario::parse("f.scn", text).unwrap_err().to_string();
        assert!(err("desc q1 0 0 16 loop 0").contains("unknown descriptor flag 'loop'"));
        assert!(err("avail 1").contains("at least one head"));
        assert!(err("dma_fault slow 0 1").contains("ur, ca, poison or drop"));
        assert!(err("desc qx 0 0 16 0 0").contains("expected qN"));
    }

    #[test]
    fn errors_name_the_line_and_what_was_expected() {
        let err = |text: &str| Scenario::parse("f.scn", text).unwrap_err().to_string();
        assert_eq!(
            err("probe\ncfg_read 0x05 2"),
            "f.scn:2: a 2-byte access at 0x5 is not naturally aligned"
        );
        assert!(err("cfg_read 0x10 3").contains("expected a size of [1, 2, 4] bytes, found '3'"));
        assert!(err("frob").starts_with("f.scn:1: unknown operation 'frob'"));
        assert!(err("mem_read bar9+0 4").contains("BAR index must be 0..5"));
        assert!(err("cfg_write 0x04 2 0x10000").contains("larger than 0xffff"));
        assert!(err("tlp 1 2").contains("3 or 4 DWs"));
        assert!(err("cfg_read 0 4 expect banana").contains("found 'banana'"));
        assert!(err("wait").contains("expected a cycle count, found end of line"));
    }
}
