//! What the engine itself knows about a flow.

use std::fmt;
use std::net::IpAddr;

use jjc_abi::packet::ip_from_bytes;
use jjc_abi::{Direction, IpBytes, MAX_VLANS, PacketView};

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Idle for longer than the idle timeout.
    IdleTimeout,
    /// Older than the active timeout.
    ActiveTimeout,
    /// Ended by its TCP flags under `--tcp-end`.
    TcpEnd,
    /// Evicted (least recently used) to make room under `--max-flows`.
    Evicted,
    /// Still open when the input ended.
    EndOfInput,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::ActiveTimeout => "active_timeout",
            EndReason::TcpEnd => "tcp_end",
            EndReason::Evicted => "evicted",
            EndReason::EndOfInput => "end_of_input",
        })
    }
}

/// The engine's record of one flow: identity (oriented from the initiator), times and counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowRecord {
    /// Initiator address (the sender of the flow's first packet).
    pub src_ip: IpBytes,
    /// Responder address.
    pub dst_ip: IpBytes,
    /// Initiator port (0 for port-less protocols).
    pub src_port: u16,
    /// Responder port.
    pub dst_port: u16,
    /// IP protocol.
    pub protocol: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// Number of VLAN tags.
    pub vlan_count: u8,
    /// VLAN ids, outermost first.
    pub vlans: [u16; MAX_VLANS],
    /// Time of the flow's first packet (in file order).
    pub start_time: f64,
    /// Time of the flow's last packet (in file order; may be before `start_time` if the
    /// capture's clock went backwards).
    pub end_time: f64,
    /// Packets sent by the initiator.
    pub packets_fwd: u64,
    /// Packets sent by the responder.
    pub packets_bwd: u64,
    /// Sum of `pkt.len` (IP total length) sent by the initiator.
    pub bytes_fwd: u64,
    /// Sum of `pkt.len` sent by the responder.
    pub bytes_bwd: u64,
    /// Whether any packet carried FIN or RST.
    pub terminated: bool,
    /// Why the flow ended (meaningful once it has).
    pub end_reason: EndReason,
    /// Whether the initiator sent a FIN.
    pub(crate) fin_fwd: bool,
    /// Whether the responder sent a FIN.
    pub(crate) fin_bwd: bool,
    /// When the graceful close began (RST, or the second side's FIN), on the capture clock.
    pub(crate) closing_since: Option<f64>,
    /// The capture clock when the flow's first packet arrived.
    pub(crate) start_clock: f64,
    /// The capture clock when the flow's last packet arrived. Timeouts count from the clock,
    /// not from packet times, so time that goes backwards never ends a flow.
    pub(crate) last_clock: f64,
}

impl FlowRecord {
    /// A flow whose first packet is `pkt`, arriving when the capture clock reads `clock`.
    pub fn first(pkt: &PacketView<'_>, clock: f64) -> FlowRecord {
        FlowRecord {
            src_ip: pkt.src_ip,
            dst_ip: pkt.dst_ip,
            src_port: pkt.src_port,
            dst_port: pkt.dst_port,
            protocol: pkt.protocol,
            ip_version: pkt.ip_version,
            vlan_count: pkt.vlan_count,
            vlans: pkt.vlans,
            start_time: pkt.ts,
            end_time: pkt.ts,
            packets_fwd: 0,
            packets_bwd: 0,
            bytes_fwd: 0,
            bytes_bwd: 0,
            terminated: false,
            end_reason: EndReason::EndOfInput,
            fin_fwd: false,
            fin_bwd: false,
            closing_since: None,
            start_clock: clock,
            last_clock: clock,
        }
    }

    /// The direction of `pkt` in this flow: forward iff sent from the initiator's endpoint.
    #[inline]
    pub fn direction_of(&self, pkt: &PacketView<'_>) -> Direction {
        if pkt.src_ip == self.src_ip && pkt.src_port == self.src_port {
            Direction::Fwd
        } else {
            Direction::Bwd
        }
    }

    /// Counts `pkt` (whose `dir` is set), arriving at capture clock `clock`, into the record.
    #[inline]
    pub(crate) fn count(&mut self, pkt: &PacketView<'_>, clock: f64) {
        self.end_time = pkt.ts;
        self.last_clock = clock;
        match pkt.dir {
            Direction::Fwd => {
                self.packets_fwd += 1;
                self.bytes_fwd += u64::from(pkt.len);
            }
            Direction::Bwd => {
                self.packets_bwd += 1;
                self.bytes_bwd += u64::from(pkt.len);
            }
        }
    }

    /// Total packets in both directions.
    pub fn total_packets(&self) -> u64 {
        self.packets_fwd + self.packets_bwd
    }

    /// Total bytes (sum of `pkt.len`) in both directions.
    pub fn total_bytes(&self) -> u64 {
        self.bytes_fwd + self.bytes_bwd
    }

    /// `end_time - start_time`, as JoyfulJay computes it.
    pub fn duration(&self) -> f64 {
        self.end_time - self.start_time
    }

    /// The initiator's address.
    pub fn src_addr(&self) -> IpAddr {
        ip_from_bytes(self.ip_version, &self.src_ip)
    }

    /// The responder's address.
    pub fn dst_addr(&self) -> IpAddr {
        ip_from_bytes(self.ip_version, &self.dst_ip)
    }

    /// The innermost VLAN id, 0 if none.
    pub fn vlan_id(&self) -> u16 {
        let n = (self.vlan_count as usize).min(MAX_VLANS);
        if n == 0 { 0 } else { self.vlans[n - 1] }
    }
}
