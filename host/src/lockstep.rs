//! The comparator: every transaction goes to the RTL and to the golden model,
//! and the first difference stops the run.
//!
//! Compared per request: whether a completion came back, and every header
//! and payload DW of it (status, byte count, IDs, tag, lower address, data).
//! After every batch the INTx levels are compared too.

use crate::bfm::RootComplex;
use crate::endpoint::{Endpoint, HostError, ModelEndpoint};
use crate::tlp::Tlp;

/// RTL and model side by side.
pub struct Lockstep {
    /// The Verilated RTL behind the root-complex BFM.
    pub rtl: RootComplex,
    /// The golden model.
    pub model: ModelEndpoint,
    /// Requests compared so far.
    pub requests: u64,
}

impl Lockstep {
    /// Pair `rtl` with `model`.
    pub fn new(rtl: RootComplex, model: ModelEndpoint) -> Self {
        Self {
            rtl,
            model,
            requests: 0,
        }
    }

    fn check_intx(&self) -> Result<(), HostError> {
        let (rtl, model) = (self.rtl.intx(), self.model.intx());
        if rtl != model {
            return Err(HostError::IntxMismatch { rtl, model });
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
        self.check_intx()?;
        Ok(rtl)
    }

    fn reset(&mut self) -> Result<(), HostError> {
        self.rtl.reset()?;
        self.model.reset()?;
        self.check_intx()
    }

    fn idle(&mut self, cycles: u64) -> Result<(), HostError> {
        self.rtl.idle(cycles)?;
        self.model.idle(cycles)?;
        self.check_intx()
    }

    fn intx(&self) -> bool {
        self.rtl.intx()
    }
}
