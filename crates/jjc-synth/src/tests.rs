//! Checks of whole generated captures: parsed back with etherparse, frame by frame.

use std::collections::HashMap;

use etherparse::{
    Icmpv4Header, Icmpv6Header, LinkExtSlice, NetSlice, SlicedPacket, TransportSlice,
};

use super::*;

/// The committed sample and the configuration that regenerates it (see tests/data/README.md).
const SAMPLE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sample.pcap");

fn sample_config() -> SynthConfig {
    SynthConfig {
        seed: 1,
        target_packets: Some(2000),
        ..SynthConfig::default()
    }
}

fn generate(config: &SynthConfig) -> (Vec<u8>, SynthSummary) {
    let mut out = Vec::new();
    let summary = write_capture(config, &mut out).unwrap();
    (out, summary)
}

/// The records of a little-endian µs pcap: (timestamp in µs, frame).
fn records(file: &[u8]) -> Vec<(u64, &[u8])> {
    assert_eq!(&file[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "magic");
    assert_eq!(
        u32::from_le_bytes(file[20..24].try_into().unwrap()),
        1,
        "Ethernet"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at < file.len() {
        let field = |i: usize| u32::from_le_bytes(file[at + i..at + i + 4].try_into().unwrap());
        let (secs, micros, incl, orig) = (field(0), field(4), field(8), field(12));
        assert!(micros < 1_000_000);
        assert_eq!(incl, orig, "frames are captured whole");
        let frame = &file[at + 16..at + 16 + incl as usize];
        out.push((u64::from(secs) * 1_000_000 + u64::from(micros), frame));
        at += 16 + incl as usize;
    }
    assert_eq!(at, file.len());
    out
}

/// A flow key: both (address, port) ends sorted, protocol, VLAN ids.
type Key = (Vec<u8>, u16, Vec<u8>, u16, u8, Vec<u16>);

/// One parsed packet.
#[derive(Debug, Clone)]
struct Pkt {
    ts: u64,
    key: Key,
    /// Whether the sender is the first end of the key.
    from_low: bool,
    v6: bool,
    vlans: Vec<u16>,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    tcp: Option<(u32, u32, u8)>,
    payload: Vec<u8>,
}

/// Parses and validates every frame: strict parse, lengths, every checksum.
fn parse_all(file: &[u8]) -> Vec<Pkt> {
    let mut out = Vec::new();
    let mut last_ts = 0;
    for (i, (ts, frame)) in records(file).into_iter().enumerate() {
        assert!(ts >= last_ts, "record {i}: time goes backwards");
        last_ts = ts;
        let p = SlicedPacket::from_ethernet(frame).unwrap_or_else(|e| panic!("record {i}: {e}"));
        let vlans: Vec<u16> = p
            .link_exts
            .iter()
            .map(|e| match e {
                LinkExtSlice::Vlan(v) => v.vlan_identifier().value(),
                LinkExtSlice::Macsec(_) => panic!("no MACsec"),
            })
            .collect();
        let link_len = 14 + 4 * vlans.len();
        let (src, dst, v6, ip_len) = match p.net.as_ref().expect("IP") {
            NetSlice::Ipv4(ip) => {
                let h = ip.header().to_header();
                assert_eq!(
                    h.header_checksum,
                    h.calc_header_checksum(),
                    "record {i}: IPv4 checksum"
                );
                (
                    h.source.to_vec(),
                    h.destination.to_vec(),
                    false,
                    usize::from(h.total_len),
                )
            }
            NetSlice::Ipv6(ip) => {
                let h = ip.header();
                (
                    h.source().to_vec(),
                    h.destination().to_vec(),
                    true,
                    40 + usize::from(h.payload_length()),
                )
            }
            NetSlice::Arp(_) => panic!("no ARP"),
        };
        if link_len + ip_len < frame.len() {
            assert_eq!(frame.len(), 60, "record {i}: only short frames are padded");
            assert!(frame[link_len + ip_len..].iter().all(|&b| b == 0));
        } else {
            assert_eq!(link_len + ip_len, frame.len(), "record {i}: IP length");
        }
        let (protocol, src_port, dst_port, tcp, payload) =
            match p.transport.as_ref().expect("transport") {
                TransportSlice::Tcp(t) => {
                    let sum = if v6 {
                        t.calc_checksum_ipv6(
                            src.clone().try_into().unwrap(),
                            dst.clone().try_into().unwrap(),
                        )
                    } else {
                        t.calc_checksum_ipv4(
                            src.clone().try_into().unwrap(),
                            dst.clone().try_into().unwrap(),
                        )
                    }
                    .unwrap();
                    assert_eq!(sum, t.checksum(), "record {i}: TCP checksum");
                    let flags = u8::from(t.fin())
                        | u8::from(t.syn()) << 1
                        | u8::from(t.rst()) << 2
                        | u8::from(t.psh()) << 3
                        | u8::from(t.ack()) << 4;
                    if t.syn() {
                        assert_eq!(t.options().len(), 20, "SYN options");
                        assert_eq!(&t.options()[..2], &[2, 4], "MSS first");
                    }
                    let seg = (t.sequence_number(), t.acknowledgment_number(), flags);
                    (
                        6,
                        t.source_port(),
                        t.destination_port(),
                        Some(seg),
                        t.payload().to_vec(),
                    )
                }
                TransportSlice::Udp(u) => {
                    let h = u.to_header();
                    let sum = if v6 {
                        h.calc_checksum_ipv6_raw(
                            src.clone().try_into().unwrap(),
                            dst.clone().try_into().unwrap(),
                            u.payload(),
                        )
                    } else {
                        h.calc_checksum_ipv4_raw(
                            src.clone().try_into().unwrap(),
                            dst.clone().try_into().unwrap(),
                            u.payload(),
                        )
                    }
                    .unwrap();
                    assert_eq!(sum, h.checksum, "record {i}: UDP checksum");
                    assert_eq!(usize::from(h.length), 8 + u.payload().len());
                    (
                        17,
                        h.source_port,
                        h.destination_port,
                        None,
                        u.payload().to_vec(),
                    )
                }
                TransportSlice::Icmpv4(c) => {
                    let want = Icmpv4Header::with_checksum(c.icmp_type(), c.payload());
                    assert_eq!(want.checksum, c.checksum(), "record {i}: ICMP checksum");
                    (1, 0, 0, None, c.payload().to_vec())
                }
                TransportSlice::Icmpv6(c) => {
                    let want = Icmpv6Header::with_checksum(
                        c.icmp_type(),
                        src.clone().try_into().unwrap(),
                        dst.clone().try_into().unwrap(),
                        c.payload(),
                    )
                    .unwrap();
                    assert_eq!(want.checksum, c.checksum(), "record {i}: ICMPv6 checksum");
                    (58, 0, 0, None, c.payload().to_vec())
                }
                TransportSlice::Igmp(_) => panic!("no IGMP"),
            };
        let a = (src, src_port);
        let b = (dst, dst_port);
        let from_low = a <= b;
        let (lo, hi) = if from_low { (a, b) } else { (b, a) };
        out.push(Pkt {
            ts,
            key: (lo.0, lo.1, hi.0, hi.1, protocol, vlans.clone()),
            from_low,
            v6,
            vlans,
            protocol,
            src_port,
            dst_port,
            tcp,
            payload,
        });
    }
    out
}

fn flows(pkts: &[Pkt]) -> HashMap<Key, Vec<&Pkt>> {
    let mut m: HashMap<Key, Vec<&Pkt>> = HashMap::new();
    for p in pkts {
        m.entry(p.key.clone()).or_default().push(p);
    }
    m
}

#[test]
fn committed_sample_is_what_the_generator_writes() {
    let (bytes, summary) = generate(&sample_config());
    let committed = std::fs::read(SAMPLE_PATH).expect("tests/data/sample.pcap is committed");
    assert!(
        bytes == committed,
        "tests/data/sample.pcap differs from the generator's output; regenerate it with \
         `cargo run -p jjc-synth -- --seed 1 --packets 2000 -o tests/data/sample.pcap`"
    );
    assert_eq!(summary.packets, 2000);
    assert_eq!(summary.bytes, bytes.len() as u64);
    assert!(summary.bytes <= 1_000_000, "sample stays under 1 MB");
    assert!(
        (100..=200).contains(&summary.flows),
        "{} flows",
        summary.flows
    );
}

#[test]
fn sample_frames_are_valid_and_realistic() {
    let (bytes, summary) = generate(&sample_config());
    let pkts = parse_all(&bytes);
    assert_eq!(pkts.len(), 2000);
    let by_flow = flows(&pkts);
    // A flow that pauses longer than a minute, so idle timeouts matter.
    let long_gap = by_flow
        .values()
        .any(|f| f.windows(2).any(|w| w[1].ts - w[0].ts > 60_000_000));
    assert!(long_gap, "a gap of more than 60 s inside a flow");
    // Flows overlap: at some packet many flows have started and not yet ended.
    let spans: Vec<(u64, u64)> = by_flow
        .values()
        .map(|f| (f[0].ts, f[f.len() - 1].ts))
        .collect();
    let busiest = pkts
        .iter()
        .map(|p| {
            spans
                .iter()
                .filter(|(a, b)| *a <= p.ts && p.ts <= *b)
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest >= 8, "at most {busiest} flows overlap");
    // IPv6 and VLAN shares.
    let n = by_flow.len() as f64;
    let v6 = by_flow.values().filter(|f| f[0].v6).count() as f64 / n;
    let vlan = by_flow.values().filter(|f| !f[0].vlans.is_empty()).count() as f64 / n;
    assert!((0.08..0.35).contains(&v6), "IPv6 share {v6}");
    assert!((0.03..0.25).contains(&vlan), "VLAN share {vlan}");
    assert!(by_flow.len() as u64 <= summary.flows + 5);
    // Inter-arrival gaps from microseconds to seconds.
    let gaps: Vec<u64> = pkts.windows(2).map(|w| w[1].ts - w[0].ts).collect();
    assert!(gaps.iter().any(|&g| g < 100));
    assert!(gaps.iter().any(|&g| g > 1_000_000));
}

#[test]
fn tcp_flows_have_handshakes_and_consistent_sequence_numbers() {
    let (bytes, _) = generate(&SynthConfig {
        seed: 5,
        target_packets: Some(6000),
        ..SynthConfig::default()
    });
    let pkts = parse_all(&bytes);
    let mut handshakes = 0;
    let mut closed = 0;
    for f in flows(&pkts).values().filter(|f| f[0].protocol == 6) {
        let (seq0, _, flags0) = f[0].tcp.unwrap();
        if flags0 != 0x02 {
            continue;
        }
        let client_low = f[0].from_low;
        // Next expected sequence number per direction, checked packet by packet.
        let mut next: [Option<u32>; 2] = [None, None];
        for p in f {
            let (seq, ack, flags) = p.tcp.unwrap();
            let d = usize::from(p.from_low != client_low);
            if flags & 0x02 != 0 {
                if d == 1 {
                    assert_eq!(ack, seq0.wrapping_add(1), "SYN-ACK acknowledges the SYN");
                    assert_eq!(flags, 0x12);
                }
            } else if let Some(n) = next[d] {
                assert_eq!(seq, n, "sequence numbers follow the bytes sent");
            }
            if flags & 0x10 != 0
                && let Some(n) = next[1 - d]
            {
                assert_eq!(ack, n, "ACK acknowledges everything the peer sent");
            }
            let advance = p.payload.len() as u32 + u32::from(flags & 0x03 != 0);
            next[d] = Some(seq.wrapping_add(advance));
        }
        if f.len() >= 3 && f[1].tcp.unwrap().2 == 0x12 && f[2].tcp.unwrap().2 == 0x10 {
            handshakes += 1;
            assert!(f[1].from_low != client_low, "the server answers");
        }
        if f.iter().any(|p| p.tcp.unwrap().2 & 0x01 != 0) {
            closed += 1;
        }
        assert!(f.iter().all(|p| p.payload.len() <= 1460));
    }
    assert!(handshakes >= 40, "{handshakes} handshakes");
    assert!(closed >= 20, "{closed} FIN teardowns");
    assert!(
        pkts.iter().any(|p| p.payload.len() == 1460),
        "full-MSS segments"
    );
    assert!(
        pkts.iter().any(|p| p.tcp.is_some_and(|t| t.2 & 0x04 != 0)),
        "some RSTs"
    );
}

#[test]
fn payloads_look_like_their_protocols() {
    let (bytes, _) = generate(&SynthConfig {
        seed: 9,
        target_packets: Some(20_000),
        ..SynthConfig::default()
    });
    let pkts = parse_all(&bytes);
    let has = |proto: u8, port: u16, prefix: &[u8]| {
        pkts.iter().any(|p| {
            p.protocol == proto
                && (p.src_port == port || p.dst_port == port)
                && p.payload.starts_with(prefix)
        })
    };
    assert!(has(6, 80, b"GET / "), "HTTP request");
    assert!(has(6, 80, b"HTTP/1.1 200 OK\r\n"), "HTTP response");
    assert!(has(6, 22, b"SSH-2.0-OpenSSH_8.9"), "SSH banner");
    assert!(has(6, 25, b"220 "), "SMTP greeting");
    assert!(has(6, 25, b"EHLO "), "SMTP EHLO");
    assert!(has(6, 443, &[0x16, 0x03, 0x01]), "TLS ClientHello");
    assert!(has(6, 443, &[0x17, 0x03, 0x03]), "TLS application data");
    assert!(has(17, 53, &[]), "DNS");
    assert!(has(17, 123, &[0x23]), "NTP request");
    assert!(has(17, 443, &[0xc3, 0, 0, 0, 1]), "QUIC Initial");
    assert!(
        has(17, 27015, b"\xff\xff\xff\xffTSource Engine Query"),
        "A2S_INFO"
    );
    assert!(has(17, 3478, &[0x00, 0x01]), "STUN binding request");
    assert!(pkts.iter().any(|p| p.protocol == 1), "ICMP echo");
    assert!(pkts.iter().any(|p| p.protocol == 58), "ICMPv6 echo");
    assert!(pkts.iter().any(|p| p.vlans.len() == 2), "a few QinQ flows");
}

#[test]
fn no_vlan_means_no_tags() {
    let (bytes, _) = generate(&SynthConfig {
        seed: 2,
        target_packets: Some(3000),
        vlan: false,
        ..SynthConfig::default()
    });
    assert!(parse_all(&bytes).iter().all(|p| p.vlans.is_empty()));
}

#[test]
fn output_is_fixed_by_the_configuration() {
    let config = SynthConfig {
        seed: 11,
        target_packets: Some(500),
        ..SynthConfig::default()
    };
    assert_eq!(generate(&config).0, generate(&config).0);
    let other = SynthConfig {
        seed: 12,
        ..config.clone()
    };
    assert_ne!(generate(&config).0, generate(&other).0);
    let later = SynthConfig {
        start_time: 1_600_000_000.5,
        ..config
    };
    let first = records(&generate(&later).0)[0].0;
    assert_eq!(first, 1_600_000_000_500_000);
}

#[test]
fn targets_stop_generation() {
    let (bytes, s) = generate(&SynthConfig {
        target_packets: Some(1234),
        ..SynthConfig::default()
    });
    assert_eq!((s.packets, s.bytes), (1234, bytes.len() as u64));
    let (bytes, s) = generate(&SynthConfig {
        target_bytes: Some(300_000),
        ..SynthConfig::default()
    });
    assert_eq!(s.bytes, bytes.len() as u64);
    assert!((300_000..300_000 + 1600).contains(&s.bytes), "{}", s.bytes);
    assert_eq!(records(&bytes).len() as u64, s.packets);
    let (_, s) = generate(&SynthConfig::default());
    assert_eq!(s.packets, DEFAULT_PACKETS);
}

#[test]
fn churn_mode_keeps_every_flow_open_at_once() {
    let n = 3000;
    let (bytes, s) = generate(&SynthConfig {
        concurrent_flows: Some(n),
        ..SynthConfig::default()
    });
    assert_eq!((s.packets, s.flows), (2 * n as u64, n as u64));
    let pkts = parse_all(&bytes);
    let by_flow = flows(&pkts);
    assert_eq!(by_flow.len(), n, "every flow has its own key");
    let last_open = pkts[..n].iter().map(|p| p.ts).max().unwrap();
    let first_answer = pkts[n..].iter().map(|p| p.ts).min().unwrap();
    assert!(
        last_open < first_answer,
        "all flows are open before any is answered"
    );
    for f in by_flow.values() {
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].ts - f[0].ts, 30_000_000);
        assert_ne!(f[0].from_low, f[1].from_low, "the answer comes back");
        if let (Some(a), Some(b)) = (f[0].tcp, f[1].tcp) {
            assert_eq!((a.2, b.2), (0x02, 0x12));
            assert_eq!(b.1, a.0.wrapping_add(1));
        }
    }
    let tcp = by_flow.values().filter(|f| f[0].protocol == 6).count();
    assert!((n / 4..n / 2).contains(&tcp), "{tcp} TCP flows");

    // With a target, rounds repeat with new flows.
    let (_, s) = generate(&SynthConfig {
        concurrent_flows: Some(100),
        target_packets: Some(450),
        ..SynthConfig::default()
    });
    assert_eq!(
        (s.packets, s.flows),
        (450, 250),
        "two rounds and half of a third"
    );
}

#[test]
fn invalid_configurations_are_errors() {
    for config in [
        SynthConfig {
            start_time: -1.0,
            ..SynthConfig::default()
        },
        SynthConfig {
            start_time: f64::NAN,
            ..SynthConfig::default()
        },
        SynthConfig {
            flow_rate: 0.0,
            ..SynthConfig::default()
        },
        SynthConfig {
            concurrent_flows: Some(0),
            ..SynthConfig::default()
        },
    ] {
        let err = write_capture(&config, Vec::new()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}

/// The enhanced packet blocks of a little-endian pcapng with one Ethernet interface:
/// (timestamp in µs, frame).
fn pcapng_records(file: &[u8]) -> Vec<(u64, &[u8])> {
    let word = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
    assert_eq!(
        (word(0), word(8)),
        (0x0a0d_0d0a, 0x1a2b_3c4d),
        "section header"
    );
    let idb = word(4) as usize;
    assert_eq!((word(idb), file[idb + 8]), (1, 1), "an Ethernet interface");
    let mut out = Vec::new();
    let mut at = idb + word(idb + 4) as usize;
    while at < file.len() {
        let total = word(at + 4) as usize;
        assert_eq!(
            (word(at), word(at + total - 4)),
            (6, total as u32),
            "framing"
        );
        let (caplen, orig) = (word(at + 20) as usize, word(at + 24) as usize);
        assert_eq!(caplen, orig, "captured whole");
        assert_eq!(total, (32 + caplen).next_multiple_of(4), "no options");
        let ts = u64::from(word(at + 12)) << 32 | u64::from(word(at + 16));
        out.push((ts, &file[at + 28..at + 28 + caplen]));
        at += total;
    }
    out
}

#[test]
fn pcapng_holds_the_same_packets_as_pcap() {
    let (pcap, summary) = generate(&sample_config());
    let (ng, ng_summary) = generate(&SynthConfig {
        pcapng: true,
        ..sample_config()
    });
    assert_eq!(pcapng_records(&ng), records(&pcap));
    assert_eq!(ng_summary.packets, summary.packets);
    assert_eq!(ng_summary.bytes, ng.len() as u64);
}
