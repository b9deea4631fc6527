//! Simple dual-port RAM whose depth is fixed at elaboration.
//!
//! One write port and one synchronous read port on one clock. `read_data`
//! shows the word at `read_address` one clock edge after the address is
//! presented (read-before-write when both ports hit the same word). The
//! address is `A` bits wide but only `depth` words exist (synthesis sizes the
//! memory to them); callers never address beyond `depth`. Contents are not
//! reset: owners clear them with a write sweep.

use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// A `depth`-word RAM of `D`, addressed by `A` bits.
#[derive(LogicBlock)]
pub struct Ram<D: Synth, const A: usize> {
    /// Clock of both ports.
    pub clock: Signal<In, Clock>,
    /// Read address.
    pub read_address: Signal<In, Bits<A>>,
    /// Word at the read address of the previous cycle.
    pub read_data: Signal<Out, D>,
    /// Write address.
    pub write_address: Signal<In, Bits<A>>,
    /// Write data.
    pub write_data: Signal<In, D>,
    /// Write strobe.
    pub write_enable: Signal<In, Bit>,
    _depth: usize,
    _sim: BTreeMap<Bits<A>, D>,
}

impl<D: Synth, const A: usize> Ram<D, A> {
    /// A RAM of `depth` words (1 ..= 2^A).
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
            write_enable: Default::default(),
            _depth: depth,
            _sim: BTreeMap::new(),
        }
    }
}

impl<D: Synth, const A: usize> Logic for Ram<D, A> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.read_data.next = self
                ._sim
                .get(&self.read_address.val())
                .copied()
                .unwrap_or_default();
            if self.write_enable.val() {
                self._sim
                    .insert(self.write_address.val(), self.write_data.val());
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

always @(posedge clock) begin
   read_data <= mem[read_address];
   if (write_enable) begin
      mem[write_address] <= write_data;
   end
end
",
            msb = D::BITS - 1,
            last = self._depth - 1
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "ram".into(),
            clock: "clock".into(),
            inputs: vec![
                "read_address".into(),
                "write_address".into(),
                "write_data".into(),
                "write_enable".into(),
            ],
            outputs: vec!["read_data".into()],
        }]
    }
}
