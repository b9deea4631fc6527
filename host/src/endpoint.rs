//! The device side as the host sees it, at transaction level.
//!
//! [`Endpoint`] is implemented by the Verilated RTL behind the root-complex
//! BFM ([`crate::bfm::RootComplex`]), by the golden model
//! ([`ModelEndpoint`]) and by the two in lockstep
//! ([`crate::lockstep::Lockstep`]).

use crate::dma_server::MSI_WINDOWS;
use crate::memory::{Access, Containment, FaultMap, HostMemory, ReadFault};
use crate::model::net::{Dma, Fault, Stop};
use crate::model::Function;
use crate::tlp::Tlp;
use std::fmt;
use std::ops::Range;
use vireo_regs::DeviceConfig;

/// Why a transaction could not be completed or compared.
#[derive(Debug)]
pub enum HostError {
    /// A non-posted request got no completion in time.
    NoCompletion {
        /// The request.
        request: Tlp,
        /// Cycles waited.
        cycles: u64,
    },
    /// The device stopped taking request beats.
    Stalled {
        /// Beats still waiting.
        beats: usize,
        /// Cycles without progress.
        cycles: u64,
    },
    /// The device kept the streams busy without end.
    NeverQuiet {
        /// Cycles run.
        cycles: u64,
    },
    /// The device sent a TLP nobody asked for.
    Unexpected {
        /// The TLP.
        tlp: Tlp,
    },
    /// The device sent a TLP that breaks the stream or TLP rules.
    Malformed {
        /// The TLP (as far as it was received).
        tlp: Tlp,
        /// What is wrong with it.
        reason: String,
    },
    /// The RTL and the model disagree.
    Mismatch {
        /// The request.
        request: Tlp,
        /// What the RTL returned.
        rtl: Option<Tlp>,
        /// What the model returned.
        model: Option<Tlp>,
    },
    /// The RTL's available buffer notifications differ from the model's.
    NotifyMismatch {
        /// RTL notifications.
        rtl: Vec<Notification>,
        /// Model notifications.
        model: Vec<Notification>,
    },
    /// The RTL sent MSI-X messages the model did not, or the other way
    /// round, since the last comparison.
    MessageMismatch {
        /// Messages only the RTL sent.
        rtl_only: Vec<Tlp>,
        /// Messages only the model sent.
        model_only: Vec<Tlp>,
    },
    /// Host memory written by the RTL differs from the model's.
    MemoryMismatch {
        /// The first differing address.
        addr: u64,
        /// The RTL's byte.
        rtl: u8,
        /// The model's byte.
        model: u8,
    },
    /// The RTL's INTx level differs from the model's.
    IntxMismatch {
        /// RTL level.
        rtl: bool,
        /// Model level.
        model: bool,
    },
    /// The golden model reached host memory outside its grants.
    OutOfBounds {
        /// The first byte outside.
        addr: u64,
        /// What it tried.
        access: Access,
    },
    /// A scenario expectation failed.
    Expectation(String),
    /// An I/O error (trace file, scenario file).
    Io(std::io::Error),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoCompletion { request, cycles } => {
                write!(f, "no completion within {cycles} cycles for {request}")
            }
            HostError::Stalled { beats, cycles } => {
                write!(
                    f,
                    "the device took no request beat for {cycles} cycles ({beats} beats waiting)"
                )
            }
            HostError::NeverQuiet { cycles } => {
                write!(
                    f,
                    "the device was still busy after {cycles} cycles (sending without end?)"
                )
            }
            HostError::Unexpected { tlp } => write!(f, "unexpected TLP from the device: {tlp}"),
            HostError::Malformed { tlp, reason } => {
                write!(f, "malformed TLP from the device ({reason}): {tlp}")
            }
            HostError::Mismatch {
                request,
                rtl,
                model,
            } => {
                writeln!(f, "RTL and model disagree on {request}")?;
                let show = |t: &Option<Tlp>| {
                    t.as_ref()
                        .map_or("no completion".to_string(), |t| t.to_string())
                };
                writeln!(f, "  rtl:   {}", show(rtl))?;
                writeln!(f, "  model: {}", show(model))?;
                if let (Some(r), Some(m)) = (rtl, model) {
                    for (i, (a, b)) in r.hdr.iter().zip(m.hdr.iter()).enumerate() {
                        if a != b {
                            writeln!(
                                f,
                                "  header DW{i}: rtl {a:08x} model {b:08x} (differing bits {:08x})",
                                a ^ b
                            )?;
                        }
                    }
                    for (i, (a, b)) in r.data.iter().zip(m.data.iter()).enumerate() {
                        if a != b {
                            writeln!(f, "  data DW{i}: rtl {a:08x} model {b:08x}")?;
                        }
                    }
                }
                Ok(())
            }
            HostError::NotifyMismatch { rtl, model } => {
                write!(
                    f,
                    "available buffer notifications differ:\n  rtl:   {rtl:?}\n  model: {model:?}"
                )
            }
            HostError::MessageMismatch {
                rtl_only,
                model_only,
            } => {
                writeln!(f, "MSI-X messages differ")?;
                for t in rtl_only {
                    writeln!(f, "  only rtl:   {t}")?;
                }
                for t in model_only {
                    writeln!(f, "  only model: {t}")?;
                }
                Ok(())
            }
            HostError::MemoryMismatch { addr, rtl, model } => {
                write!(
                    f,
                    "host memory differs at {addr:#x}: rtl wrote {rtl:#04x}, model {model:#04x}"
                )
            }
            HostError::IntxMismatch { rtl, model } => {
                write!(f, "INTx level: rtl {rtl}, model {model}")
            }
            HostError::OutOfBounds { addr, access } => {
                write!(
                    f,
                    "the model's DMA {access:?} of {addr:#x} is outside the grants"
                )
            }
            HostError::Expectation(s) => write!(f, "{s}"),
            HostError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HostError {}

impl From<std::io::Error> for HostError {
    fn from(e: std::io::Error) -> Self {
        HostError::Io(e)
    }
}

/// An available buffer notification the device received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The queue.
    pub queue: u16,
    /// The value written (its enabled bytes).
    pub data: u32,
}

/// Something that happens to the device apart from host requests: the
/// link input of the network function and the side-band inputs of the
/// transport (`irq_*`, `dev_error`) that sources besides the engine use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The network link goes up (true) or down.
    Link(bool),
    /// A used buffer notification request of a queue (`irq_*`).
    QueueIrq(u16),
    /// The device hits an error it cannot recover from.
    DeviceError,
}

/// How the next batch lets the RTL and the model part ways, because it
/// interrupts work the model (transaction-level: every notification runs
/// to completion at once) has already finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Divergence {
    /// The RTL finishes the work later (Bus Master Enable cleared and set
    /// again): memory, messages and INTx are compared at the next check
    /// after the one that follows the batch.
    Deferred,
    /// The work is abandoned (device reset): whatever the devices wrote to
    /// host memory during the batch is taken from the RTL, the messages
    /// sent during it are not compared.
    Abandoned,
}

/// A PCI Express function seen from the root complex.
pub trait Endpoint {
    /// Deliver `requests` in order and return, for each, the completion the
    /// device sent for it (`None` for posted or dropped requests).
    fn transact(&mut self, requests: &[Tlp]) -> Result<Vec<Option<Tlp>>, HostError>;
    /// Fundamental reset of the function.
    fn reset(&mut self) -> Result<(), HostError>;
    /// Let `cycles` clock cycles pass with no request.
    fn idle(&mut self, cycles: u64) -> Result<(), HostError>;
    /// The INTx level the function drives.
    fn intx(&self) -> bool;
    /// Apply `event` and let the device settle.
    fn event(&mut self, event: DeviceEvent) -> Result<(), HostError>;
    /// Every available buffer notification so far, in order.
    fn notifications(&self) -> &[Notification];
    /// Every MSI-X message (device memory write) so far, in order.
    fn messages(&self) -> &[Tlp];
    /// Host memory (of the RTL, for the lockstep pair).
    fn memory(&self) -> &HostMemory;
    /// The host CPU writes its memory.
    fn memory_write(&mut self, addr: u64, data: &[u8]);
    /// Let the device `access` a host range.
    fn grant(&mut self, range: Range<u64>, access: Access);
    /// Withdraw a grant.
    fn revoke(&mut self, range: Range<u64>, access: Access);
    /// Device reads touching `range` fail with `fault` from now on.
    fn inject(&mut self, range: Range<u64>, fault: ReadFault);
    /// The next batch diverges RTL and model as `how` says (a single
    /// device has nothing to compare).
    fn diverge(&mut self, _how: Divergence) {}
}

/// The golden model as an [`Endpoint`], with its own host memory.
#[derive(Clone, Debug)]
pub struct ModelEndpoint {
    /// The modelled function.
    pub function: Function,
    /// Host memory.
    pub memory: HostMemory,
    /// What the device may touch.
    pub containment: Containment,
    /// Reads that fail.
    pub faults: FaultMap,
    /// Where a message is an interrupt ([`MSI_WINDOWS`] unless the
    /// platform has its own, as the root complex's).
    pub msi_windows: Vec<Range<u64>>,
}

impl ModelEndpoint {
    /// A model of the function described by `cfg`.
    pub fn new(cfg: &DeviceConfig) -> Self {
        Self {
            function: Function::new(cfg),
            memory: HostMemory::default(),
            containment: Containment::default(),
            faults: FaultMap::default(),
            msi_windows: MSI_WINDOWS.to_vec(),
        }
    }

    /// The function's messages from the `from`-th on: those to addresses
    /// outside the interrupt windows are plain memory writes to the root
    /// complex (as the RTL's are to the BFM's): they go to memory, through
    /// the grants, and leave the list.
    fn route_messages(&mut self, from: usize) -> Result<(), HostError> {
        for m in self.function.messages.split_off(from) {
            let addr = m.address();
            if self.msi_windows.iter().any(|w| w.contains(&addr)) {
                self.function.messages.push(m);
                continue;
            }
            self.containment
                .check(addr, 4, Access::Write)
                .map_err(|addr| HostError::OutOfBounds {
                    addr,
                    access: Access::Write,
                })?;
            self.memory.write(addr, &m.data[0].to_le_bytes());
        }
        Ok(())
    }
}

/// Host memory as the model's engine reaches it: through the grants.
struct ModelDma<'a> {
    memory: &'a mut HostMemory,
    containment: &'a Containment,
    faults: &'a FaultMap,
}

impl ModelDma<'_> {
    fn check(&self, addr: u64, len: usize, access: Access) -> Result<(), Stop> {
        self.containment
            .check(addr, len as u64, access)
            .map_err(|addr| Stop::Host(HostError::OutOfBounds { addr, access }))
    }
}

impl Dma for ModelDma<'_> {
    fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, Stop> {
        self.check(addr, len, Access::Read)?;
        if self.faults.check(addr, len as u64).is_some() {
            return Err(Stop::Fault(Fault::ReadError(addr)));
        }
        Ok(self.memory.read(addr, len))
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Stop> {
        self.check(addr, data.len(), Access::Write)?;
        self.memory.write(addr, data);
        Ok(())
    }
}

impl Endpoint for ModelEndpoint {
    fn transact(&mut self, requests: &[Tlp]) -> Result<Vec<Option<Tlp>>, HostError> {
        let mut completions = Vec::with_capacity(requests.len());
        for r in requests {
            let mut dma = ModelDma {
                memory: &mut self.memory,
                containment: &self.containment,
                faults: &self.faults,
            };
            let sent = self.function.messages.len();
            completions.push(self.function.handle(r, &mut dma)?);
            // (A message's memory write goes before the next request's.)
            self.route_messages(sent)?;
        }
        Ok(completions)
    }

    fn reset(&mut self) -> Result<(), HostError> {
        self.function.reset();
        Ok(())
    }

    fn idle(&mut self, _cycles: u64) -> Result<(), HostError> {
        Ok(())
    }

    fn intx(&self) -> bool {
        self.function.space.intx()
    }

    fn event(&mut self, event: DeviceEvent) -> Result<(), HostError> {
        let sent = self.function.messages.len();
        self.function.event(event);
        self.route_messages(sent)
    }

    fn notifications(&self) -> &[Notification] {
        &self.function.bars.notifications
    }

    fn messages(&self) -> &[Tlp] {
        &self.function.messages
    }

    fn memory(&self) -> &HostMemory {
        &self.memory
    }

    fn memory_write(&mut self, addr: u64, data: &[u8]) {
        self.memory.write(addr, data);
    }

    fn grant(&mut self, range: Range<u64>, access: Access) {
        self.containment.grant(range, access);
    }

    fn revoke(&mut self, range: Range<u64>, access: Access) {
        self.containment.revoke(range, access);
    }

    fn inject(&mut self, range: Range<u64>, fault: ReadFault) {
        self.faults.inject(range, fault);
    }
}
