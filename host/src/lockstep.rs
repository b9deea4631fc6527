//! The comparator: every transaction goes to the RTL and to the golden model,
//! and the first difference stops the run.
//!
//! Compared per request: whether a completion came back, and every header
//! and payload DW of it (status, byte count, IDs, tag, lower address, data).
//! After every batch and event the INTx levels, the available buffer
//! notifications (in order) and the MSI-X messages are compared too. The
//! messages are compared as the set of distinct messages sent since the last
//! check: the RTL decides on used buffer notifications per batch of chains
//! and the model per notification, so one may send a vector's message more
//! often than the other, but both must send it (virtio 2.7.10 only requires
//! that the driver is notified), and messages of different vectors may leave
//! in either order.
//!
//! A batch announced as diverging (`Endpoint::diverge`) interrupts work the
//! model has already finished: with `Deferred` the comparison of memory,
//! messages and INTx waits until the RTL has caught up (the next check);
//! with `Abandoned` the host memory the devices wrote during the batch is
//! taken from the RTL and its messages are not compared.
//!
//! With a live guest ([`Lockstep::live_guest`]: memory shared with a
//! running operating system) only the completions, the available buffer
//! notifications and INTx are compared: the guest changes its rings between
//! the model's handling of a notification (at once) and the RTL's (cycles
//! later), so the two may rightly take different numbers of buffers and
//! send their interrupt messages at different times.
//!
//! Host bytes the model leaves open (`Function::open_bytes`: the
//! `avail_event` fields after a fault) are taken from the RTL's memory into
//! the model's before each comparison. From a check at which the model had
//! given up (DEVICE_NEEDS_RESET) to the next one at which it still has, the
//! RTL must not have asked anything of host memory.

use crate::bfm::RootComplex;
use crate::dma_server::DmaStats;
use crate::endpoint::{DeviceEvent, Divergence, Endpoint, HostError, ModelEndpoint, Notification};
use crate::memory::{Access, HostMemory, ReadFault};
use crate::tlp::Tlp;
use std::collections::BTreeSet;
use std::ops::Range;

/// Bytes per page of host memory.
const PAGE: u64 = 4096;

/// A TLP as an ordered key.
type TlpKey = ([u32; 4], Vec<u32>);

/// RTL and model side by side.
pub struct Lockstep {
    /// The Verilated RTL behind the root-complex BFM.
    pub rtl: RootComplex,
    /// The golden model.
    pub model: ModelEndpoint,
    /// Requests compared so far.
    pub requests: u64,
    notifications_checked: usize,
    messages_seen: (usize, usize),
    recheck: BTreeSet<u64>,
    divergence: Option<Divergence>,
    live: bool,
    /// The RTL's DMA at the last check, when the model had given up then.
    given_up_at: Option<DmaStats>,
}

impl Lockstep {
    /// Pair `rtl` with `model`.
    pub fn new(rtl: RootComplex, model: ModelEndpoint) -> Self {
        Self {
            rtl,
            model,
            requests: 0,
            notifications_checked: 0,
            messages_seen: (0, 0),
            recheck: BTreeSet::new(),
            divergence: None,
            live: false,
            given_up_at: None,
        }
    }

    /// Host memory belongs to a running guest: compare no memory and no
    /// interrupt messages from now on.
    pub fn live_guest(&mut self) {
        self.live = true;
    }

    /// The batch just run diverged as announced: defer or settle the
    /// comparison of what the devices did during it. Returns whether the
    /// regular checks of memory, messages and INTx are to be skipped.
    fn diverged(&mut self) -> bool {
        let Some(how) = self.divergence.take() else {
            return false;
        };
        let mut pages = std::mem::take(&mut self.recheck);
        pages.extend(self.rtl.memory_mut().take_dirty());
        pages.extend(self.model.memory.take_dirty());
        match how {
            Divergence::Deferred => self.recheck = pages,
            Divergence::Abandoned => {
                for p in pages {
                    let bytes = self.rtl.memory().read(p * PAGE, PAGE as usize);
                    self.model.memory.write(p * PAGE, &bytes);
                }
                self.model.memory.take_dirty();
                self.messages_seen = (self.rtl.messages().len(), self.model.messages().len());
            }
        }
        true
    }

    /// Compare host memory where either side wrote since the last check
    /// (and the pages of a deferred comparison).
    fn check_memory(&mut self) -> Result<(), HostError> {
        for r in self.model.function.open_bytes() {
            let bytes = self.rtl.memory().read(r.start, (r.end - r.start) as usize);
            self.model.memory.write(r.start, &bytes);
        }
        let mut pages = std::mem::take(&mut self.recheck);
        pages.extend(self.rtl.memory_mut().take_dirty());
        pages.extend(self.model.memory.take_dirty());
        match self
            .rtl
            .memory()
            .first_difference(&self.model.memory, pages)
        {
            Some((addr, rtl, model)) => Err(HostError::MemoryMismatch { addr, rtl, model }),
            None => Ok(()),
        }
    }

    /// Compare what the two devices did besides completions.
    fn check(&mut self) -> Result<(), HostError> {
        let diverged = self.diverged();
        let from = self.notifications_checked;
        let (r, m): (&[Notification], &[Notification]) =
            (self.rtl.notifications(), self.model.notifications());
        if r[from..] != m[from..] {
            return Err(HostError::NotifyMismatch {
                rtl: r[from..].to_vec(),
                model: m[from..].to_vec(),
            });
        }
        self.notifications_checked = r.len();
        if diverged {
            return Ok(());
        }
        let (rtl, model) = (self.rtl.intx(), self.model.intx());
        if rtl != model {
            return Err(HostError::IntxMismatch { rtl, model });
        }
        if self.live {
            return Ok(());
        }
        let new = |log: &[Tlp], seen: &mut usize| -> BTreeSet<TlpKey> {
            let set = log[*seen..]
                .iter()
                .map(|t| (t.hdr, t.data.clone()))
                .collect();
            *seen = log.len();
            set
        };
        let rtl = new(self.rtl.messages(), &mut self.messages_seen.0);
        let model = new(self.model.messages(), &mut self.messages_seen.1);
        self.check_memory()?;
        let (dma, given_up) = (self.rtl.dma_stats(), self.model.function.needs_reset());
        if let (Some(then), true) = (self.given_up_at, given_up) {
            if dma != then {
                return Err(HostError::Expectation(format!(
                    "the device asked {} reads and {} writes of host memory after DEVICE_NEEDS_RESET",
                    dma.reads - then.reads,
                    dma.writes - then.writes
                )));
            }
        }
        self.given_up_at = given_up.then_some(dma);
        if rtl != model {
            let only = |a: &BTreeSet<TlpKey>, b: &BTreeSet<TlpKey>| -> Vec<Tlp> {
                a.difference(b)
                    .map(|(hdr, data)| Tlp {
                        hdr: *hdr,
                        data: data.clone(),
                    })
                    .collect()
            };
            return Err(HostError::MessageMismatch {
                rtl_only: only(&rtl, &model),
                model_only: only(&model, &rtl),
            });
        }
        Ok(())
    }
}

impl Endpoint for Lockstep {
    fn transact(&mut self, requests: &[Tlp]) -> Result<Vec<Option<Tlp>>, HostError> {
        let rtl = self.rtl.transact(requests)?;
        let model = self.model.transact(requests)?;
        for ((request, r), m) in requests.iter().zip(&rtl).zip(model) {
            if *r != m {
                return Err(HostError::Mismatch {
                    request: request.clone(),
                    rtl: r.clone(),
                    model: m,
                });
            }
        }
        self.requests += requests.len() as u64;
        self.check()?;
        Ok(rtl)
    }

    fn reset(&mut self) -> Result<(), HostError> {
        self.rtl.reset()?;
        self.model.reset()?;
        self.check()
    }

    fn idle(&mut self, cycles: u64) -> Result<(), HostError> {
        self.rtl.idle(cycles)?;
        self.model.idle(cycles)?;
        self.check()
    }

    fn intx(&self) -> bool {
        self.rtl.intx()
    }

    fn event(&mut self, event: DeviceEvent) -> Result<(), HostError> {
        self.rtl.event(event)?;
        self.model.event(event)?;
        self.check()
    }

    fn notifications(&self) -> &[Notification] {
        self.rtl.notifications()
    }

    fn messages(&self) -> &[Tlp] {
        self.rtl.messages()
    }

    fn memory(&self) -> &HostMemory {
        self.rtl.memory()
    }

    fn memory_write(&mut self, addr: u64, data: &[u8]) {
        self.rtl.memory_write(addr, data);
        self.model.memory_write(addr, data);
    }

    fn grant(&mut self, range: Range<u64>, access: Access) {
        self.rtl.grant(range.clone(), access);
        self.model.grant(range, access);
    }

    fn revoke(&mut self, range: Range<u64>, access: Access) {
        self.rtl.revoke(range.clone(), access);
        self.model.revoke(range, access);
    }

    fn inject(&mut self, range: Range<u64>, fault: ReadFault) {
        self.rtl.inject(range.clone(), fault);
        self.model.inject(range, fault);
    }

    fn diverge(&mut self, how: Divergence) {
        self.divergence = Some(how);
    }
}
