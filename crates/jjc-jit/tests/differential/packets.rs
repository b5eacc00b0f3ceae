//! Random packet sequences: times that repeat and go backwards, both directions, any
//! lengths, payloads from empty (also with a null pointer) to protocol banners and noise,
//! any TCP flags.

use jjc_abi::{Direction, FlowView, PacketView, TcpFlags};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::harness::Flow;

/// One packet, owning its bytes.
#[derive(Debug, Clone)]
pub struct OwnedPacket {
    /// Time step from the previous packet (may be 0 or negative).
    step: f64,
    /// The fields (without payload and options).
    fields: PacketView<'static>,
    /// The payload; `None` leaves the view's payload pointer null.
    payload: Option<Vec<u8>>,
    /// TCP options.
    options: Vec<u8>,
}

/// A flow of packets, owning them.
#[derive(Debug, Clone)]
pub struct OwnedFlow {
    /// The first packet's time.
    start: f64,
    /// The packets.
    packets: Vec<OwnedPacket>,
}

impl OwnedFlow {
    /// Views of the packets (times accumulated from the steps) and the flow's `FlowView`.
    pub fn flow(&self) -> Flow<'_> {
        let mut ts = self.start;
        let mut packets = Vec::with_capacity(self.packets.len());
        for (i, p) in self.packets.iter().enumerate() {
            if i > 0 {
                ts += p.step;
            }
            let mut v = p.fields;
            v.ts = ts;
            if let Some(bytes) = &p.payload {
                v.set_payload(bytes);
            }
            v.set_tcp_options(&p.options);
            packets.push(v);
        }
        let view = flow_view(&packets);
        Flow { packets, view }
    }
}

/// The `FlowView` the engine would build for these packets.
fn flow_view(packets: &[PacketView<'_>]) -> FlowView {
    let first = packets.first().copied().unwrap_or_default();
    let last = packets.last().copied().unwrap_or_default();
    let mut f = FlowView {
        start_time: first.ts,
        end_time: last.ts,
        duration: last.ts - first.ts,
        src_port: i64::from(first.src_port),
        dst_port: i64::from(first.dst_port),
        protocol: i64::from(first.protocol),
        vlan_id: i64::from(first.inner_vlan()),
        ip_version: i64::from(first.ip_version),
        src_ip: first.src_ip,
        dst_ip: first.dst_ip,
        ..FlowView::default()
    };
    for p in packets {
        let len = i64::from(p.len);
        f.packet_count += 1;
        f.byte_count += len;
        match p.dir {
            Direction::Fwd => {
                f.packets_fwd += 1;
                f.bytes_fwd += len;
            }
            Direction::Bwd => {
                f.packets_bwd += 1;
                f.bytes_bwd += len;
            }
        }
        if p.tcp_flags & (TcpFlags::FIN | TcpFlags::RST) != 0 {
            f.terminated = 1;
        }
    }
    f
}

fn step() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1e-6),
        0.0..0.2f64,
        0.0..120.0f64,
        -2.0..0.0f64,
        Just(0.05),
    ]
}

/// `bytes` with a big-endian length prefix of `width` bytes.
fn prefixed(width: usize, bytes: &[u8]) -> Vec<u8> {
    let len = (bytes.len() as u32).to_be_bytes();
    [&len[4 - width..], bytes].concat()
}

/// A TLS record holding a ClientHello with an SNI and two cipher suites.
fn client_hello() -> Vec<u8> {
    let sni = prefixed(2, &[&[0u8][..], &prefixed(2, b"example.com")].concat());
    let extensions = prefixed(2, &[&[0u8, 0][..], &prefixed(2, &sni)].concat());
    let body = [
        &[3u8, 3][..],
        &[7u8; 32],
        &prefixed(1, &[]),
        &prefixed(2, &[0x13, 0x01, 0xc0, 0x2f]),
        &prefixed(1, &[0]),
        &extensions,
    ]
    .concat();
    let handshake = [&[1u8][..], &prefixed(3, &body)].concat();
    [&[22u8, 3, 1][..], &prefixed(2, &handshake)].concat()
}

fn payload() -> impl Strategy<Value = Option<Vec<u8>>> {
    let banners: Vec<&'static [u8]> = vec![
        b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /a HTTP/1.0\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.0\r\n",
        b"220 mail.example.com ESMTP\r\n",
        b"\x00\x00\x01\x02",
        b"12345 abc",
    ];
    prop_oneof![
        Just(None),
        Just(Some(Vec::new())),
        vec(any::<u8>(), 0..48).prop_map(Some),
        (proptest::sample::select(banners), vec(any::<u8>(), 0..8)).prop_map(|(b, tail)| {
            let mut v = b.to_vec();
            v.extend(tail);
            Some(v)
        }),
        vec(any::<u8>(), 90..130).prop_map(Some),
        (0usize..100).prop_map(|cut| {
            let hello = client_hello();
            let keep = if cut < 50 { hello.len() } else { cut };
            Some(hello.into_iter().take(keep).collect())
        }),
    ]
}

fn packet() -> impl Strategy<Value = OwnedPacket> {
    let lengths = (
        prop_oneof![0u32..100, 0u32..1600, Just(u32::MAX)],
        prop_oneof![0u32..100, 0u32..1500],
        0u32..2000,
    );
    let header = (
        proptest::sample::select(vec![80u16, 443, 22, 53, 27015, 5000, 0, 65535]),
        proptest::sample::select(vec![6u8, 17, 1]),
        any::<u8>(),
        0u16..0x200,
        any::<u32>(),
        any::<u16>(),
    );
    (
        step(),
        any::<bool>(),
        lengths,
        header,
        payload(),
        vec(any::<u8>(), 0..12),
        0u8..4,
    )
        .prop_map(
            |(step, bwd, (len, payload_len, wire), header, payload, options, vlans)| {
                let (port, protocol, ttl, flags, seq, window) = header;
                let mut v = PacketView::default();
                v.dir = if bwd { Direction::Bwd } else { Direction::Fwd };
                v.len = len;
                v.payload_len = payload_len;
                v.wire_len = wire;
                v.cap_len = wire / 2;
                v.src_port = if bwd { port } else { 40000 };
                v.dst_port = if bwd { 40000 } else { port };
                v.protocol = protocol;
                v.ttl = ttl;
                v.tos = ttl / 3;
                v.tcp_flags = flags;
                v.tcp_seq = seq;
                v.tcp_ack = seq.wrapping_mul(3);
                v.tcp_window = window;
                v.ip_id = u32::from(window);
                v.ip_version = if ttl % 5 == 0 { 6 } else { 4 };
                v.src_ip[12..].copy_from_slice(&[10, 0, 0, if bwd { 2 } else { 1 }]);
                v.dst_ip[12..].copy_from_slice(&[10, 0, 0, if bwd { 1 } else { 2 }]);
                v.vlans = [100, 200, 300];
                v.vlan_count = vlans;
                v.has_mac = ttl & 1;
                v.is_fragment = u8::from(ttl > 250);
                OwnedPacket {
                    step,
                    fields: v,
                    payload,
                    options,
                }
            },
        )
}

/// A flow of 1 to `max` packets.
pub fn flow(max: usize) -> impl Strategy<Value = OwnedFlow> {
    (
        prop_oneof![Just(0.0), 1.7e9..1.8e9f64],
        vec(packet(), 1..max),
    )
        .prop_map(|(start, packets)| OwnedFlow { start, packets })
}
