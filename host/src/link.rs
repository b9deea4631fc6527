//! PCI Express link model of the root complex: how many bytes per clock
//! cycle the link moves in each direction, TLP framing included.
//!
//! A Gen3 lane carries 8 GT/s with 128b/130b encoding, 0.985 GB/s, which is
//! 3.94 bytes per cycle of the 250 MHz user clock; DLLPs (Ack, flow control
//! updates) are taken as 2 % of that. Every TLP costs its header, its
//! payload and 8 bytes of framing (STP token and LCRC). Flow control
//! credits are not modelled: the root complex is taken to advertise enough.
//! The ideal link moves whatever the streams offer.

/// A link of the root complex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Link {
    /// No limit beyond the streams (16 bytes per cycle each way).
    #[default]
    Ideal,
    /// PCI Express Gen3, 4 lanes: 15.4 bytes per cycle each way, TLP
    /// framing and headers included.
    Gen3x4,
    /// PCI Express Gen3, 8 lanes: 30.9 bytes per cycle each way.
    Gen3x8,
}

/// Bytes of framing per TLP on a Gen3 link (STP token, LCRC).
pub const TLP_FRAMING: u64 = 8;

/// Thousandths of a byte a Gen3 lane moves per 250 MHz cycle, after
/// 128b/130b encoding and 2 % for DLLPs.
const GEN3_LANE_MILLI: u64 = 3_861;

impl Link {
    /// Thousandths of a byte per cycle and direction; `None`: unlimited.
    pub fn milli_bytes_per_cycle(self) -> Option<u64> {
        match self {
            Link::Ideal => None,
            Link::Gen3x4 => Some(4 * GEN3_LANE_MILLI),
            Link::Gen3x8 => Some(8 * GEN3_LANE_MILLI),
        }
    }

    /// Name in options and files.
    pub fn name(self) -> &'static str {
        match self {
            Link::Ideal => "ideal",
            Link::Gen3x4 => "gen3x4",
            Link::Gen3x8 => "gen3x8",
        }
    }
}

/// One direction of the link: a beat may go while the bytes sent so far
/// do not exceed what the link has moved (a small burst allowance).
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    rate: Option<u64>,
    /// Thousandths of a byte the link may still send.
    credit: i64,
}

/// Most credit the link builds up while idle, in thousandths of a byte.
const BURST_MILLI: i64 = 64_000;

impl Pacer {
    /// A pacer for `link`.
    pub fn new(link: Link) -> Self {
        Self {
            rate: link.milli_bytes_per_cycle(),
            credit: 0,
        }
    }

    /// One cycle passes.
    pub fn tick(&mut self) {
        if let Some(r) = self.rate {
            self.credit = (self.credit + r as i64).min(BURST_MILLI);
        }
    }

    /// A beat may be sent now.
    pub fn ready(&self) -> bool {
        self.rate.is_none() || self.credit >= 0
    }

    /// A beat of `data_dw` payload DWs was sent; `header_dw` is its TLP's
    /// header size when it is the TLP's first beat (0 otherwise).
    pub fn sent(&mut self, data_dw: u32, header_dw: u32) {
        if self.rate.is_some() {
            let mut bytes = 4 * (data_dw + header_dw) as u64;
            if header_dw > 0 {
                bytes += TLP_FRAMING;
            }
            self.credit -= 1000 * bytes as i64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes sent in `cycles` by a sender that sends a 4-DW-header TLP of
    /// 16 payload DWs (4 beats) whenever the pacer lets it.
    fn throughput(link: Link, cycles: u64) -> u64 {
        let mut p = Pacer::new(link);
        let (mut bytes, mut beat) = (0, 0);
        for _ in 0..cycles {
            if p.ready() {
                let header = if beat % 4 == 0 { 4 } else { 0 };
                p.sent(4, header);
                bytes += 16;
                beat += 1;
            }
            p.tick();
        }
        bytes
    }

    #[test]
    fn a_gen3_link_moves_its_rate_less_the_framing() {
        // 64 payload bytes cost 64 + 16 + 8 = 88 link bytes.
        let x4 = throughput(Link::Gen3x4, 100_000) as f64 / 100_000.0;
        let expected = 4.0 * 3.861 * 64.0 / 88.0;
        assert!((x4 - expected).abs() < 0.05, "{x4} vs {expected}");
        // Eight lanes move more than one beat per cycle: the stream limits
        // (but for the first TLP's framing).
        assert!(throughput(Link::Gen3x8, 1000) >= 15_968);
        assert_eq!(throughput(Link::Ideal, 1000), 16_000);
    }
}
