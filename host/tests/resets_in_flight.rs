//! Resets while the device has reads in flight. RTL only: the model
//! resets in no time.
//!
//! A virtqueue reset (virtio 4.1.4.3.2): `queue_reset` reads 1 as long as
//! the reset is ongoing and 0 once it has completed.
//!
//! A device reset (virtio 2.4): the device keeps taking requests while the
//! reset waits for its reads, and `device_status` reads 0 only once they
//! are back. The completions of the device's reads come in on the same
//! stream as the host's requests, behind them; a device that held a
//! request back until its own reads were back would wait for completions
//! queued behind that request (regression seed 3027: the device stopped
//! taking requests until its reads timed out).

use vireo_host::bfm::{BfmConfig, RootComplex};
use vireo_host::dma_server::{DmaConfig, Latency, Split};
use vireo_host::driver::{self, notify_address, DriverOptions};
use vireo_host::endpoint::Endpoint;
use vireo_host::host::{Host, Outcome};
use vireo_host::probe::{self, Placement};
use vireo_host::tlp::Completion;
use vireo_host::virtq::{Segment, SplitQueue};
use vireo_regs::virtio::net::TRANSMITQ;
use vireo_regs::virtio::{common, status};

/// A driven device whose host completes reads 3000 cycles late, with a
/// 1500-byte frame posted (not yet notified) on the transmitq. Returns the
/// host, the address of the common configuration and the transmitq's
/// notification address.
fn frame_posted_with_slow_reads() -> (Host<RootComplex>, u64, u64) {
    let slow = BfmConfig {
        dma: DmaConfig {
            latency: Latency::Fixed(3000),
            split: Split::Rcb,
        },
        ..BfmConfig::default()
    };
    let mut host = Host::new(RootComplex::new(7, slow));
    let probed = probe::probe(&mut host, Placement::default()).unwrap();
    let d = driver::init(&mut host, &probed, DriverOptions::default()).unwrap();
    let setup = d.queues.iter().find(|q| q.index == TRANSMITQ).unwrap();
    let mut tx = SplitQueue::new(setup);
    tx.setup(&mut host.ep);
    let frame = Segment {
        addr: 0x5000_0000,
        len: 1500,
        write: false,
    };
    tx.post(&mut host.ep, &[frame], None).unwrap();
    tx.publish(&mut host.ep, true);

    let common = probed.bar(probed.common.bar).unwrap().base + probed.common.offset as u64;
    let kick = notify_address(&probed, probed.notify_off_multiplier, TRANSMITQ);
    (host, common, kick)
}

#[test]
fn queue_reset_reads_1_until_the_reads_in_flight_have_completed() {
    let (mut host, common, kick) = frame_posted_with_slow_reads();
    let at = |field: usize| common + field as u64;
    let batch = [
        host.mem_request(kick, 2, Some(TRANSMITQ as u64)),
        host.mem_request(at(common::QUEUE_SELECT), 2, Some(TRANSMITQ as u64)),
        host.mem_request(at(common::QUEUE_RESET), 2, Some(1)),
        host.mem_request(at(common::QUEUE_RESET), 2, None),
    ];
    let cpls = host.ep.transact(&batch).unwrap();
    let cpl = Completion::parse(cpls[3].as_ref().unwrap()).unwrap();
    assert!(cpl.ok());
    assert_eq!(
        cpl.data[0] >> 16,
        1,
        "the descriptor or data reads are still in flight"
    );
    assert_eq!(
        host.mem_read(at(common::QUEUE_RESET), 2).unwrap(),
        Outcome::Done(0),
        "completed once the reads are back"
    );
    assert_eq!(
        host.mem_read(at(common::QUEUE_ENABLE), 2).unwrap(),
        Outcome::Done(0)
    );
}

#[test]
fn requests_are_taken_while_a_reset_waits_for_the_reads_in_flight() {
    let (mut host, common, kick) = frame_posted_with_slow_reads();
    let at = |field: usize| common + field as u64;
    let batch = [
        host.mem_request(kick, 2, Some(TRANSMITQ as u64)),
        host.mem_request(at(common::DEVICE_STATUS), 1, Some(0)),
        host.mem_request(at(common::DEVICE_STATUS), 1, None),
        host.mem_request(at(common::QUEUE_SELECT), 2, Some(TRANSMITQ as u64)),
    ];
    let cpls = host
        .ep
        .transact(&batch)
        .expect("every request taken while the reset waits");
    let cpl = Completion::parse(cpls[2].as_ref().unwrap()).unwrap();
    assert!(cpl.ok());
    let during = (cpl.data[0] >> (8 * (common::DEVICE_STATUS % 4))) & 0xff;
    assert_ne!(
        during, 0,
        "the reads are still in flight: the reset is not complete"
    );
    assert_ne!(during & status::DRIVER_OK as u32, 0, "{during:#x}");
    assert_eq!(
        host.mem_read(at(common::DEVICE_STATUS), 1).unwrap(),
        Outcome::Done(0),
        "complete once the reads are back"
    );
    assert_eq!(
        host.mem_read(at(common::QUEUE_SELECT), 2).unwrap(),
        Outcome::Done(0),
        "a write before the reset completed has no effect"
    );
}
