//! Used elements of one queue written two at a time (virtio 2.7.8): each
//! element is held until the next one comes, and the two go out in one
//! 16-byte write, one beat of the outgoing stream instead of two.
//!
//! The side offers an element (`put`, with the ring position `used` it
//! takes); with none held it is kept and taken at once. With one held (at
//! `used - 1`) the write is presented: both elements together, or, when
//! the held one is the last of the ring, the held one alone, and the new
//! one is kept instead. `flush` (with no `put`) writes a held element
//! alone, before the side writes the used index. `clear` drops it (reset
//! of the queue or of the device).
//!
//! Timing: `taken` in the cycle of the `put` when nothing is held, else
//! with the write's `ready`; the write's fields come from registers and
//! the queue's configuration.

use rust_hdl::prelude::*;
use vireo_regs::virtio::ring;

/// The block.
#[derive(LogicBlock)]
pub struct UsedPair {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop a held element.
    pub clear: Signal<In, Bit>,
    /// The queue's device area.
    pub device: Signal<In, Bits<64>>,
    /// The queue's size (a power of 2).
    pub size: Signal<In, Bits<16>>,
    /// Ring position of the element offered (free-running, 16 bits); a
    /// held element is at `used - 1`.
    pub used: Signal<In, Bits<16>>,
    /// An element is offered.
    pub put: Signal<In, Bit>,
    /// The element: id in bits 31:0, len in bits 63:32.
    pub elem: Signal<In, Bits<64>>,
    /// Write a held element alone.
    pub flush: Signal<In, Bit>,
    /// The element offered is taken (its position may move on).
    pub taken: Signal<Out, Bit>,
    /// An element is held.
    pub held: Signal<Out, Bit>,
    /// A write is presented.
    pub valid: Signal<Out, Bit>,
    /// It is taken.
    pub ready: Signal<In, Bit>,
    /// Its host address.
    pub addr: Signal<Out, Bits<64>>,
    /// Its length: 8 or 16.
    pub len: Signal<Out, Bits<16>>,
    /// Its bytes.
    pub data: Signal<Out, Bits<128>>,
    h: DFF<Bit>,
    e: DFF<Bits<64>>,
    /// The held element is not the last of the ring.
    pairs: Signal<Local, Bit>,
    used_ring: Constant<Bits<64>>,
}

impl Default for UsedPair {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            clear: Default::default(),
            device: Default::default(),
            size: Default::default(),
            used: Default::default(),
            put: Default::default(),
            elem: Default::default(),
            flush: Default::default(),
            taken: Default::default(),
            held: Default::default(),
            valid: Default::default(),
            ready: Default::default(),
            addr: Default::default(),
            len: Default::default(),
            data: Default::default(),
            h: Default::default(),
            e: Default::default(),
            pairs: Default::default(),
            used_ring: Constant::new(ring::USED_RING.into()),
        }
    }
}

impl Logic for UsedPair {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, h, e);
        self.held.next = self.h.q.val();
        self.pairs.next = (self.used.val() & (self.size.val() - 1)).any();
        self.valid.next = self.h.q.val() && (self.put.val() || self.flush.val());
        self.addr.next = self.device.val()
            + self.used_ring.val()
            + (bit_cast::<64, 16>((self.used.val() - 1) & (self.size.val() - 1)) << 3);
        self.len.next = 8.into();
        self.data.next = bit_cast::<128, 64>(self.e.q.val());
        if self.put.val() && self.pairs.val() {
            self.len.next = 16.into();
            self.data.next =
                bit_cast::<128, 64>(self.e.q.val()) | (bit_cast::<128, 64>(self.elem.val()) << 64);
        }
        self.taken.next = self.put.val() && (!self.h.q.val() || self.ready.val());
        if self.taken.val() {
            // Kept: nothing was held, or the held one went alone.
            self.h.d.next = !self.h.q.val() || !self.pairs.val();
            self.e.d.next = self.elem.val();
        }
        if self.flush.val() && !self.put.val() && self.ready.val() {
            self.h.d.next = false;
        }
        if self.clear.val() {
            self.h.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn elements_reach_the_ring_in_pairs_except_at_its_end() {
        let mut uut = UsedPair::default();
        uut.connect_all();
        let (device, size) = (0x4000_0000u64, 16u64);
        uut.device.next = device.into();
        uut.size.next = size.into();
        uut.clock.next = Clock::from(false);
        let mut rnd = crate::test_rng(11);
        let mut ring: BTreeMap<u64, u64> = BTreeMap::new();
        let (mut used, mut writes, mut pairs) = (0xFFF0u16, 0, 0);
        let mut expected = BTreeMap::new();
        for step in 0..4000 {
            // Offers mostly, a flush now and then (as at the end of a batch).
            let flush = rnd(8) == 0;
            let put = !flush && rnd(3) != 0;
            let elem = (rnd(1 << 17) << 32) | rnd(1 << 16);
            uut.put.next = put;
            uut.flush.next = flush;
            uut.elem.next = elem.into();
            uut.used.next = u64::from(used).into();
            uut.ready.next = rnd(2) == 0;
            uut.clear.next = false;
            assert!(simulate(&mut uut, 50));
            if uut.valid.val() && uut.ready.val() {
                let (addr, len) = (uut.addr.val().to_u64(), uut.len.val().to_u64());
                let slot = (addr - device - ring::USED_RING) / 8;
                assert!(
                    slot * 8 + len <= size * 8,
                    "step {step}: past the ring's end"
                );
                let data = uut.data.val();
                ring.insert(slot, data.get_bits::<64>(0).to_u64());
                if len == 16 {
                    ring.insert(slot + 1, data.get_bits::<64>(64).to_u64());
                    pairs += 1;
                }
                writes += 1;
            }
            if flush {
                assert!(!uut.taken.val());
            }
            if uut.taken.val() {
                expected.insert(u64::from(used) % size, elem);
                used = used.wrapping_add(1);
            }
            if flush && (!uut.held.val() || uut.ready.val()) {
                // Every element taken is in the ring now.
                for (slot, e) in &expected {
                    assert_eq!(ring.get(slot), Some(e), "step {step}, slot {slot}");
                }
            }
            uut.clock.next = Clock::from(true);
            assert!(simulate(&mut uut, 50));
            uut.clock.next = Clock::from(false);
        }
        // Mostly pairs: singles only at the ring's end and at flushes.
        assert!(pairs * 2 > writes, "{pairs} pairs in {writes} writes");
    }

    #[test]
    fn clear_drops_the_held_element() {
        let mut uut = UsedPair::default();
        uut.connect_all();
        uut.size.next = 8.into();
        uut.put.next = true;
        uut.clock.next = Clock::from(false);
        assert!(simulate(&mut uut, 50));
        assert!(uut.taken.val() && !uut.valid.val());
        uut.clock.next = Clock::from(true);
        assert!(simulate(&mut uut, 50));
        uut.clock.next = Clock::from(false);
        uut.put.next = false;
        uut.clear.next = true;
        assert!(simulate(&mut uut, 50));
        assert!(uut.held.val());
        uut.clock.next = Clock::from(true);
        assert!(simulate(&mut uut, 50));
        uut.clock.next = Clock::from(false);
        uut.clear.next = false;
        uut.flush.next = true;
        assert!(simulate(&mut uut, 50));
        assert!(!uut.held.val() && !uut.valid.val());
    }
}
