//! Shared constants of the vireo virtio-pci endpoint.
//!
//! This crate is the single place where register offsets, field bits, the
//! capability layout, feature bits and TLP codes are written down. The RTL
//! (`vireo-rtl`) and the golden model (`vireo-host::model`) both read these
//! constants; neither reads the other's behaviour.
//!
//! - [`pci`]: facts of the PCI / PCI Express specifications (header offsets,
//!   Command/Status bits, capability IDs and register layouts).
//! - [`virtio`]: facts of the virtio specification (capability types, common
//!   configuration offsets, status and feature bits, virtio-net config).
//! - [`tlp`]: transaction-layer packet format and type codes.
//! - [`layout`]: the choices vireo makes (where each capability sits, BAR
//!   sizes, where each virtio structure lives in its BAR, identity).
//! - [`stream`]: the TLP stream interface (datapath width).
//! - [`config`]: generation-time parameters of one endpoint instance.
#![deny(missing_docs)]

pub mod config;
pub mod dma;
pub mod layout;
pub mod pci;
pub mod stream;
pub mod tlp;
pub mod virtio;

pub use config::{DeviceConfig, DeviceType, LinkSpeed};
