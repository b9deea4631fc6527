//! Throughput benchmarks of virtqueue ring processing (`vireo bench`).
//!
//! The ring engine does not exist yet, so there is nothing to measure; this
//! crate holds the place of the benchmark in the dependency chain
//! rtl <- sim <- host <- bench.
#![deny(missing_docs)]

/// Datapath limit of the endpoint in payload bytes per cycle and direction.
pub fn datapath_limit_bytes_per_cycle() -> usize {
    vireo_regs::stream::DATA_WIDTH / 8
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_128_bit_datapath_moves_16_bytes_per_cycle() {
        assert_eq!(super::datapath_limit_bytes_per_cycle(), 16);
    }
}
