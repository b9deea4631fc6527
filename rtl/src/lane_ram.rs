//! Simple dual-port RAM of datapath-wide rows with one write enable per
//! byte lane (the byte-enable RAM FPGA block memories implement).
//!
//! One write port and one synchronous read port on one clock: `read_data`
//! shows the row at `read_address` one clock edge after the address is
//! presented (read-before-write when both ports hit the same row). Only
//! `depth` rows exist; callers never address beyond them. Contents are not
//! reset.

use crate::{DATA_WIDTH, STRB_WIDTH};
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// Byte lanes of a row.
pub const LANES: usize = DATA_WIDTH / 8;

/// A `depth`-row RAM of `DATA_WIDTH`-bit rows with byte write enables,
/// addressed by `A` bits.
#[derive(LogicBlock)]
pub struct LaneRam<const A: usize> {
    /// Clock of both ports.
    pub clock: Signal<In, Clock>,
    /// Read address.
    pub read_address: Signal<In, Bits<A>>,
    /// Row at the read address of the previous cycle.
    pub read_data: Signal<Out, Bits<DATA_WIDTH>>,
    /// Write address.
    pub write_address: Signal<In, Bits<A>>,
    /// Write data (lane i in bits 8i+7:8i).
    pub write_data: Signal<In, Bits<DATA_WIDTH>>,
    /// Lanes to write.
    pub write_lanes: Signal<In, Bits<LANES>>,
    _depth: usize,
    _sim: BTreeMap<Bits<A>, Bits<DATA_WIDTH>>,
}

const _: () = assert!(LANES == 4 * STRB_WIDTH);

impl<const A: usize> LaneRam<A> {
    /// A RAM of `depth` rows (1 ..= 2^A).
    pub fn new(depth: usize) -> Self {
        assert!(
            depth >= 1 && depth <= 1 << A,
            "RAM depth {depth} does not fit {A} address bits"
        );
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            write_lanes: Default::default(),
            _depth: depth,
            _sim: BTreeMap::new(),
        }
    }
}

impl<const A: usize> Logic for LaneRam<A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let addr = self.write_address.val();
            let old = self._sim.get(&self.read_address.val()).copied();
            self.read_data.next = old.unwrap_or_default();
            let lanes = self.write_lanes.val();
            if lanes.any() {
                let mut row = self._sim.get(&addr).copied().unwrap_or_default();
                let data = self.write_data.val();
                for i in (0..LANES).filter(|&i| lanes.get_bit(i)) {
                    row.set_bits::<8>(8 * i, data.get_bits::<8>(8 * i));
                }
                self._sim.insert(addr, row);
            }
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "\
reg [{msb}:0] mem [0:{last}];
integer lane;

always @(posedge clock) begin
   read_data <= mem[read_address];
   for (lane = 0; lane < {lanes}; lane = lane + 1) begin
      if (write_lanes[lane]) begin
         mem[write_address][8*lane +: 8] <= write_data[8*lane +: 8];
      end
   end
end
",
            msb = DATA_WIDTH - 1,
            last = self._depth - 1,
            lanes = LANES
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "lane_ram".into(),
            clock: "clock".into(),
            inputs: vec![
                "read_address".into(),
                "write_address".into(),
                "write_data".into(),
                "write_lanes".into(),
            ],
            outputs: vec!["read_data".into()],
        }]
    }
}
