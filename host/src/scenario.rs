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
//! link down                               # device events
//! queue_irq 1
//! device_error
//! count_msix 0xfee00000 0x4002 expect 1   # MSI-X messages so far with this address/data
//! count_notify 0 expect 2                 # notifications of queue 0 so far
//! intx expect 1                           # INTx level
//! wait 100
//! reset
//! ```

use crate::driver::{self, Driver, DriverOptions};
use crate::endpoint::{DeviceEvent, Endpoint, HostError};
use crate::host::{Host, Outcome};
use crate::probe::{self, Placement, ProbeError, Probed};
use crate::tlp::{status_name, Completion, Tlp};
use crate::virtq::SplitQueue;
use std::fmt;
use vireo_regs::tlp::cpl_status;

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
                "init" => match t.peek() {
            Some("intx") => {
                t.pos += 1;
                OpKind::Init { msix: false }
            }
            Some("msix") => {
                t.pos += 1;
                OpKind::Init { msix: true }
            }
            _ => OpKind::Init { msix: true },
        },
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
                 link, queue_irq, device_error, count_msix, count_notify, intx, wait or reset)"
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
        }
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
            OpKind::Init { msix } => {
                let probed = self.probed.clone().ok_or("init needs a probe first")?;
                let opts = DriverOptions {
                    msix: *msix,
                    ..DriverOptions::default()
                };
                let d = driver::init(&mut self.host, &probed, opts).map_err(|e| e.to_string())?;
                // Empty rings the device may read (and write the used ring).
                for q in &d.queues {
                    SplitQueue::new(q).setup(&mut self.host.ep);
                }
                self.driver = Some(d);
                return Ok(());
            }
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
