//! Generating realistic synthetic captures for examples, tests and benchmarks.
//!
//! [`write_capture`] writes a classic pcap (microsecond timestamps, little-endian,
//! Ethernet) built byte by byte: Ethernet with optional 802.1Q (and a few QinQ) tags,
//! IPv4 with correct header checksums or IPv6, TCP (options on SYNs), UDP and ICMP echo,
//! all with correct lengths and transport checksums. The traffic is a mix of
//! applications — DNS, NTP, QUIC-like UDP/443, a Source-engine game on UDP/27015,
//! STUN/voice on UDP/3478, ping, and TCP flows of HTTP, TLS, SSH, SMTP and other
//! services with handshakes, request/response bursts, slow start, delayed ACKs, and
//! FIN, RST or no teardown — whose payloads start like the real protocols (HTTP
//! requests and responses, TLS ClientHello with SNI, SSH banners and KEXINIT, SMTP
//! dialogue, DNS queries and answers…). Flows start at a Poisson rate and overlap; a
//! few long flows pause for more than a minute, so idle timeouts matter.
//!
//! The output is fixed by the [`SynthConfig`]: the same configuration always gives the
//! same bytes. Memory is bounded by the number of concurrently active flows.

#![warn(missing_docs)]

mod churn;
mod emit;
mod endpoints;
mod flow;
mod frame;
mod generator;
mod payload;
mod pcap;
mod rng;
#[cfg(test)]
mod tests;

use std::io::{self, BufWriter, Write};

use crate::pcap::PcapWriter;

/// Packets written when neither a packet nor a byte target is given (realistic mode).
pub const DEFAULT_PACKETS: u64 = 10_000;
/// Default capture start: 2023-11-14 22:13:20 UTC.
pub const DEFAULT_START_TIME: f64 = 1_700_000_000.0;
/// Default rate at which new flows start, per second of capture time.
pub const DEFAULT_FLOW_RATE: f64 = 1.5;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Seed of the pseudo-random generator: the whole capture follows from it.
    pub seed: u64,
    /// Stop after this many packets (exactly).
    pub target_packets: Option<u64>,
    /// Stop once the file reaches this many bytes (headers included; the last record
    /// may go past it).
    pub target_bytes: Option<u64>,
    /// Whether some flows (about 10%) carry VLAN tags.
    pub vlan: bool,
    /// Churn mode: this many flows open at once, each answered 30 s later, in rounds
    /// (one round without a target), instead of the realistic mix.
    pub concurrent_flows: Option<usize>,
    /// Time of the first packet, in seconds since the epoch.
    pub start_time: f64,
    /// New flows per second of capture time (realistic mode).
    pub flow_rate: f64,
    /// Write pcapng (one interface, an enhanced packet block per packet) instead of
    /// classic pcap; the packets are the same.
    pub pcapng: bool,
}

impl Default for SynthConfig {
    fn default() -> SynthConfig {
        SynthConfig {
            seed: 1,
            target_packets: None,
            target_bytes: None,
            vlan: true,
            concurrent_flows: None,
            start_time: DEFAULT_START_TIME,
            flow_rate: DEFAULT_FLOW_RATE,
            pcapng: false,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSummary {
    /// Packets written.
    pub packets: u64,
    /// Bytes written, file header included.
    pub bytes: u64,
    /// Flows started (a flow cut off by the end of the capture counts).
    pub flows: u64,
}

/// When generation stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    packets: Option<u64>,
    bytes: Option<u64>,
}

impl Limits {
    /// Whether a limit was set at all.
    pub(crate) fn is_set(&self) -> bool {
        self.packets.is_some() || self.bytes.is_some()
    }

    /// Whether the capture written so far reaches a limit.
    pub(crate) fn reached<W: Write>(&self, pcap: &PcapWriter<W>) -> bool {
        self.packets.is_some_and(|n| pcap.packets() >= n)
            || self.bytes.is_some_and(|n| pcap.bytes() >= n)
    }
}

/// Writes a synthetic capture to `out` (buffered here; pass the file or stream as is).
///
/// Errors: an invalid configuration (`InvalidInput`: start time outside 0–4e9 s, a flow
/// rate that is not positive, zero concurrent flows) or a failed write.
pub fn write_capture(config: &SynthConfig, out: impl Write) -> io::Result<SynthSummary> {
    let invalid = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned());
    if !(0.0..4e9).contains(&config.start_time) {
        return Err(invalid("start time must be between 0 and 4e9 seconds"));
    }
    if !(config.flow_rate.is_finite() && config.flow_rate > 0.0) {
        return Err(invalid("flow rate must be a positive number"));
    }
    let start_us = (config.start_time * 1e6).round() as u64;
    let mut pcap = PcapWriter::new(BufWriter::with_capacity(1 << 20, out), config.pcapng)?;
    let flows = match config.concurrent_flows {
        Some(0) => return Err(invalid("concurrent flows must be at least 1")),
        Some(n) => {
            let limits = Limits {
                packets: config.target_packets,
                bytes: config.target_bytes,
            };
            churn::run(config, n, start_us, limits, &mut pcap)?
        }
        None => {
            let no_target = config.target_packets.is_none() && config.target_bytes.is_none();
            let limits = Limits {
                packets: if no_target {
                    Some(DEFAULT_PACKETS)
                } else {
                    config.target_packets
                },
                bytes: config.target_bytes,
            };
            generator::run(config, start_us, limits, &mut pcap)?
        }
    };
    pcap.flush()?;
    Ok(SynthSummary {
        packets: pcap.packets(),
        bytes: pcap.bytes(),
        flows,
    })
}
