//! The virtio registers as named fields (`vireo regs`), read through the
//! BARs after a driver initialisation.

use crate::driver::{Driver, DriverError, Regs};
use crate::endpoint::Endpoint;
use crate::host::Host;
use std::fmt::Write;
use vireo_regs::virtio::{self, common, feature, status};

/// Names of the feature bits vireo knows.
fn feature_names(bits: u64) -> String {
    let names = [
        (virtio::net::F_MTU, "MTU"),
        (virtio::net::F_MAC, "MAC"),
        (virtio::net::F_MRG_RXBUF, "MRG_RXBUF"),
        (virtio::net::F_STATUS, "STATUS"),
        (feature::RING_INDIRECT_DESC, "RING_INDIRECT_DESC"),
        (feature::RING_EVENT_IDX, "RING_EVENT_IDX"),
        (feature::VERSION_1, "VERSION_1"),
        (feature::ACCESS_PLATFORM, "ACCESS_PLATFORM"),
        (feature::RING_PACKED, "RING_PACKED"),
        (feature::IN_ORDER, "IN_ORDER"),
        (feature::ORDER_PLATFORM, "ORDER_PLATFORM"),
        (feature::NOTIFICATION_DATA, "NOTIFICATION_DATA"),
        (feature::NOTIF_CONFIG_DATA, "NOTIF_CONFIG_DATA"),
        (feature::RING_RESET, "RING_RESET"),
    ];
    let mut out: Vec<String> = names
        .iter()
        .filter(|(b, _)| bits >> b & 1 != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known = names.iter().fold(0u64, |m, (b, _)| m | 1 << b);
    if bits & !known != 0 {
        out.push(format!("unknown {:#x}", bits & !known));
    }
    out.join(" ")
}

fn status_names(s: u8) -> String {
    let names = [
        (status::ACKNOWLEDGE, "ACKNOWLEDGE"),
        (status::DRIVER, "DRIVER"),
        (status::FEATURES_OK, "FEATURES_OK"),
        (status::DRIVER_OK, "DRIVER_OK"),
        (status::DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET"),
        (status::FAILED, "FAILED"),
    ];
    names
        .iter()
        .filter(|(b, _)| s & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The 64 feature bits of a select/window pair.
fn features<E: Endpoint>(
    regs: &mut Regs<'_, E>,
    select: usize,
    field: usize,
) -> Result<u64, DriverError> {
    let mut v = 0;
    for w in 0..2u64 {
        regs.common_write(select, 4, w)?;
        v |= regs.common_read(field, 4)? << (32 * w);
    }
    Ok(v)
}

/// Read and format the common and device configuration of `driver`'s device.
pub fn show<E: Endpoint>(host: &mut Host<E>, driver: &Driver) -> Result<String, DriverError> {
    let mut regs = Regs::new(host, &driver.probed);
    let mut out = String::new();
    let device_features = features(
        &mut regs,
        common::DEVICE_FEATURE_SELECT,
        common::DEVICE_FEATURE,
    )?;
    let driver_features = features(
        &mut regs,
        common::DRIVER_FEATURE_SELECT,
        common::DRIVER_FEATURE,
    )?;
    let st = regs.common_read(common::DEVICE_STATUS, 1)? as u8;
    let num_queues = regs.common_read(common::NUM_QUEUES, 2)? as u16;
    let p = &driver.probed;
    writeln!(
        out,
        "virtio common configuration (BAR {} + {:#06x})",
        p.common.bar, p.common.offset
    )
    .unwrap();
    writeln!(
        out,
        "  device_feature       {device_features:#018x}  {}",
        feature_names(device_features)
    )
    .unwrap();
    writeln!(
        out,
        "  driver_feature       {driver_features:#018x}  {}",
        feature_names(driver_features)
    )
    .unwrap();
    let vector = |v: u64| {
        if v as u16 == virtio::NO_VECTOR {
            "NO_VECTOR".to_string()
        } else {
            v.to_string()
        }
    };
    writeln!(
        out,
        "  config_msix_vector   {}",
        vector(regs.common_read(common::CONFIG_MSIX_VECTOR, 2)?)
    )
    .unwrap();
    writeln!(out, "  num_queues           {num_queues}").unwrap();
    writeln!(
        out,
        "  device_status        {st:#04x}  {}",
        status_names(st)
    )
    .unwrap();
    writeln!(
        out,
        "  config_generation    {}",
        regs.common_read(common::CONFIG_GENERATION, 1)?
    )
    .unwrap();
    for q in 0..num_queues {
        regs.common_write(common::QUEUE_SELECT, 2, q as u64)?;
        let size = regs.common_read(common::QUEUE_SIZE, 2)?;
        let v = regs.common_read(common::QUEUE_MSIX_VECTOR, 2)?;
        let enable = regs.common_read(common::QUEUE_ENABLE, 2)?;
        let notify_off = regs.common_read(common::QUEUE_NOTIFY_OFF, 2)?;
        let desc = regs.common_read(common::QUEUE_DESC, 8)?;
        let drv = regs.common_read(common::QUEUE_DRIVER, 8)?;
        let dev = regs.common_read(common::QUEUE_DEVICE, 8)?;
        let reset = regs.common_read(common::QUEUE_RESET, 2)?;
        writeln!(
            out,
            "  queue {q}: size {size}, msix_vector {}, enable {enable}, notify_off {notify_off}, \
             desc {desc:#x}, driver {drv:#x}, device {dev:#x}, reset {reset}",
            vector(v)
        )
        .unwrap();
    }
    if let Some(d) = p.device_cfg {
        let net = regs.read_net_config()?;
        let mac: Vec<String> = net.mac.iter().map(|b| format!("{b:02x}")).collect();
        let link = if net.status & virtio::net::S_LINK_UP != 0 {
            "LINK_UP"
        } else {
            "link down"
        };
        writeln!(
            out,
            "virtio-net configuration (BAR {} + {:#06x})",
            d.bar, d.offset
        )
        .unwrap();
        writeln!(out, "  mac                  {}", mac.join(":")).unwrap();
        writeln!(out, "  status               {:#06x}  {link}", net.status).unwrap();
        writeln!(out, "  max_virtqueue_pairs  {}", net.max_virtqueue_pairs).unwrap();
        writeln!(out, "  mtu                  {}", net.mtu).unwrap();
    }
    Ok(out)
}
