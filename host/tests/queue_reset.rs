//! Virtqueue reset while the device has reads in flight (virtio 4.1.4.3.2):
//! `queue_reset` reads 1 as long as the reset is ongoing and 0 once it has
//! completed. RTL only: the model resets a queue in no time.

use vireo_host::bfm::{BfmConfig, RootComplex};
use vireo_host::dma_server::{DmaConfig, Latency, Split};
use vireo_host::driver::{self, notify_address, DriverOptions};
use vireo_host::endpoint::Endpoint;
use vireo_host::host::{Host, Outcome};
use vireo_host::probe::{self, Placement};
use vireo_host::tlp::Completion;
use vireo_host::virtq::{Segment, SplitQueue};
use vireo_regs::virtio::common;
use vireo_regs::virtio::net::TRANSMITQ;

#[test]
fn queue_reset_reads_1_until_the_reads_in_flight_have_completed() {
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
    let at = |field: usize| common + field as u64;
    let kick = notify_address(&probed, probed.notify_off_multiplier, TRANSMITQ);
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
