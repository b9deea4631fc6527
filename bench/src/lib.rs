//! `vireo bench`: throughput of the endpoint's ring processing, measured
//! cycle by cycle on the Verilated RTL.
//!
//! - [`point`]: one measurement (steady-state loopback traffic through the
//!   regression's own BFM and driver, every byte checked);
//! - [`sweep`]: the points of a run, checked before anything runs, and the
//!   parallel runner;
//! - [`report`]: the numbers per point, CSV and JSON;
//! - [`figures`] and [`plot`]: the charts, PNG and SVG;
//! - [`command`]: the `vireo bench` command.
//!
//! This crate also builds the `vireo` binary: it sits at the top of the
//! dependency chain rtl <- sim <- host <- bench, so it can offer the
//! host-side commands ([`vireo_host::cli`]) and `bench` together.
#![deny(missing_docs)]

pub mod command;
pub mod figures;
pub mod plot;
pub mod point;
pub mod report;
pub mod sweep;
