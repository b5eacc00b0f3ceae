//! Churn mode: N flows all open at once, to test a flow table at a million concurrent
//! flows. Each flow sends one packet (a TCP SYN or a UDP datagram); 30 s later, in the
//! same order, each gets its answer (SYN-ACK or UDP reply). Nothing is kept per flow:
//! everything about flow `i` is derived from the seed and `i`.

use std::io::{self, Write};

use crate::emit::{Emitter, FlowRef};
use crate::endpoints::Endpoints;
use crate::flow::tcp_flags::{ACK, SYN};
use crate::flow::{Step, TcpState};
use crate::payload::{Content, Filler};
use crate::pcap::PcapWriter;
use crate::rng::mix64;
use crate::{Limits, SynthConfig};

/// Time from a flow's first packet to its answer: well inside a 60 s idle timeout.
const ANSWER_AFTER_US: u64 = 30_000_000;
/// Longest span over which the first packets of a round are spread.
const OPEN_SPAN_US: u64 = 20_000_000;
/// Quiet time after a round, so its flows time out before the next round starts.
const ROUND_GAP_US: u64 = 65_000_000;
/// Server ports of churn flows, TCP and UDP.
const TCP_PORTS: [u16; 4] = [80, 443, 22, 8080];
const UDP_PORTS: [u16; 5] = [53, 443, 123, 27015, 3478];

/// Generates rounds of `n` concurrent flows until `limits` are reached (one round when
/// there is no limit); returns the flows started.
pub(crate) fn run<W: Write>(
    config: &SynthConfig,
    n: usize,
    start_us: u64,
    limits: Limits,
    pcap: &mut PcapWriter<W>,
) -> io::Result<u64> {
    let mut emitter = Emitter::new();
    let n = n as u64;
    let spacing = (OPEN_SPAN_US / n.max(1)).clamp(1, 1_000);
    let round_len = ANSWER_AFTER_US + n * spacing + ROUND_GAP_US;
    let mut flows = 0u64;
    for round in 0u64.. {
        let base = start_us + round * round_len;
        for answer in [false, true] {
            for i in 0..n {
                if limits.reached(pcap) {
                    return Ok(flows);
                }
                let g = round * n + i;
                let ts = base + i * spacing + if answer { ANSWER_AFTER_US } else { 0 };
                emit(config, &mut emitter, pcap, g, answer, ts)?;
                if !answer {
                    flows += 1;
                }
            }
        }
        if !limits.is_set() {
            break;
        }
    }
    Ok(flows)
}

/// Emits the first packet (or, with `answer`, the reply) of global flow `g`.
fn emit<W: Write>(
    config: &SynthConfig,
    emitter: &mut Emitter,
    pcap: &mut PcapWriter<W>,
    g: u64,
    answer: bool,
    ts: u64,
) -> io::Result<()> {
    let h = mix64(config.seed ^ g.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let tcp = h % 10 < 4;
    let mut ends = endpoints(config, g, h, tcp);
    let mut state = TcpState {
        isn: [(h >> 32) as u32, h as u32],
        next: [0, 0],
        window: [502, 509],
    };
    let (step, protocol) = if tcp {
        let syn = Step {
            gap_us: 0,
            from_client: true,
            flags: SYN,
            len: Some(0),
            content: Content::Filler(Filler::Binary),
        };
        if answer {
            // The state after the client's SYN, which was emitted in the first pass.
            state.segment(true, SYN, 0);
            let reply = Step {
                from_client: false,
                flags: SYN | ACK,
                ..syn
            };
            (reply, 6)
        } else {
            (syn, 6)
        }
    } else {
        let len = if answer {
            20 + (h >> 20) % 280
        } else {
            20 + (h >> 12) % 100
        };
        let datagram = Step {
            gap_us: 0,
            from_client: !answer,
            flags: 0,
            len: Some(len as u16),
            content: Content::Filler(Filler::Binary),
        };
        (datagram, 17)
    };
    let flow = FlowRef {
        ends: &mut ends,
        protocol,
        tag: h,
        tcp: &mut state,
        mss: 1460,
        rtt_us: ANSWER_AFTER_US,
    };
    emitter.emit(pcap, flow, &step, ts)
}

/// The ends of churn flow `g`: a unique client address per flow (for the first 16 M
/// flows; ports differ beyond), one of 256 × 254 servers in 198.18.0.0/15.
fn endpoints(config: &SynthConfig, g: u64, h: u64, tcp: bool) -> Endpoints {
    let v6 = (h >> 8).is_multiple_of(5);
    let mut client_ip = [0u8; 16];
    let mut server_ip = [0u8; 16];
    if v6 {
        client_ip[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc0]);
        client_ip[8..].copy_from_slice(&g.to_be_bytes());
        server_ip[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e]);
        server_ip[14..].copy_from_slice(&((h >> 32) as u16).to_be_bytes());
    } else {
        let low = (g & 0x00ff_ffff) as u32;
        client_ip[..4].copy_from_slice(&(0x0a00_0000 | low).to_be_bytes());
        server_ip[..4].copy_from_slice(&[198, 18, (h >> 32) as u8, 1 + ((h >> 40) % 254) as u8]);
    }
    let server_port = if tcp {
        TCP_PORTS[(h >> 48) as usize % TCP_PORTS.len()]
    } else {
        UDP_PORTS[(h >> 48) as usize % UDP_PORTS.len()]
    };
    let client_port = 1024 + ((h >> 24) % 64_000) as u16;
    let vlan = config.vlan && (h >> 16).is_multiple_of(10);
    let mac = (g as u32).to_be_bytes();
    Endpoints {
        v6,
        client_ip,
        server_ip,
        client_port,
        server_port,
        client_mac: [0x02, 0x00, mac[0], mac[1], mac[2], mac[3]],
        vlans: [10 + ((h >> 56) % 4) as u16 * 10, 0],
        vlan_count: u8::from(vlan),
        client_ttl: 64,
        server_ttl: 52,
        flow_labels: [(h & 0xf_ffff) as u32, ((h >> 20) & 0xf_ffff) as u32],
        ip_ids: [(h >> 8) as u16, (h >> 24) as u16],
    }
}
