//! The decoder: frames in, [`PacketView`]s out, fragments attributed to their datagrams.

use jjc_abi::PacketView;

use crate::bytes::len_u32;
use crate::fragments::{DatagramKey, FragmentTracker};
use crate::frame::strip_link;
use crate::ip::{Fragment, IpLayer, parse_ip};
use crate::stats::{DecodeStats, SkipReason};
use crate::transport::parse_transport;

/// Limits of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeConfig {
    /// Most later fragments held while waiting for their first fragment (oldest released
    /// port-less beyond it).
    pub max_held_fragments: usize,
    /// Most datagrams whose first fragment's ports are remembered (oldest forgotten beyond it).
    pub max_fragment_datagrams: usize,
    /// Seconds of capture time after which a datagram is forgotten and a held fragment is
    /// released port-less.
    pub fragment_timeout: f64,
    /// Most IP-in-IP encapsulations removed; deeper packets are skipped.
    pub max_tunnel_depth: u8,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            max_held_fragments: 4096,
            max_fragment_datagrams: 4096,
            fragment_timeout: 30.0,
            max_tunnel_depth: 4,
        }
    }
}

/// Decodes the frames of one capture, in file order.
pub struct Decoder {
    config: DecodeConfig,
    stats: DecodeStats,
    fragments: FragmentTracker,
    /// Largest timestamp seen so far.
    clock: f64,
    /// Whether the last frame decoded was plain (see [`Decoder::last_was_plain`]).
    plain: bool,
}

impl Decoder {
    /// A decoder with empty fragment tables.
    pub fn new(config: DecodeConfig) -> Decoder {
        Decoder {
            config,
            stats: DecodeStats::default(),
            fragments: FragmentTracker::new(
                config.fragment_timeout,
                config.max_fragment_datagrams,
                config.max_held_fragments,
            ),
            clock: f64::NEG_INFINITY,
            plain: false,
        }
    }

    /// Decodes one captured frame. Calls `emit` once for the packet if it is a usable IP
    /// packet, and also for earlier held fragments that this frame releases (before it).
    /// A later fragment whose first fragment was not seen yet may be held and emitted by a
    /// later call or by [`finish`](Self::finish). Frames that are not usable are counted by
    /// reason in [`stats`](Self::stats) and emit nothing.
    pub fn decode<'a>(
        &mut self,
        link_type: u32,
        ts: f64,
        frame: &'a [u8],
        wire_len: u32,
        emit: &mut impl FnMut(PacketView<'a>),
    ) {
        self.stats.frames += 1;
        self.plain = false;
        self.clock = self.clock.max(ts);
        let orphaned = self.stats.fragments_orphaned;
        self.fragments.expire(self.clock, &mut self.stats, emit);
        let released = self.stats.fragments_orphaned != orphaned;
        // Built in place, and only a small result returned: a view or key returned by value is
        // copied with wide moves that would wait on the narrow stores that just filled it.
        let mut view = PacketView::default();
        let fragment = match build(
            &self.config,
            &mut self.stats,
            link_type,
            ts,
            frame,
            wire_len,
            &mut view,
        ) {
            Ok(decoded) => decoded,
            Err(reason) => {
                self.stats.skip(reason);
                return;
            }
        };
        let Some((fragment, datagram_protocol)) = fragment else {
            self.stats.packets += 1;
            self.plain = !released;
            emit(view);
            return;
        };
        self.stats.fragments += 1;
        let key = DatagramKey::of(&view, datagram_protocol);
        if fragment.offset == 0 {
            self.fragments.first(key, ts, &view, &mut self.stats, emit);
            self.stats.packets += 1;
            emit(view);
        } else {
            self.fragments.later(key, view, &mut self.stats, emit);
        }
    }

    /// Whether the last frame [`decode`](Self::decode) took was plain: one usable packet
    /// (emitted with the frame's time), not a fragment, and nothing else released with it.
    /// Another decoder in the same state may [`pass`](Self::pass) that frame.
    pub fn last_was_plain(&self) -> bool {
        self.plain
    }

    /// Accounts for a frame without decoding it, as [`decode`](Self::decode) would, when
    /// another decoder in the same state found it plain ([`Decoder::last_was_plain`]). The
    /// clock, the fragment timeouts and the counts then move exactly as decoding it would
    /// move them, so the two decoders stay in the same state.
    pub fn pass(&mut self, ts: f64) {
        self.stats.frames += 1;
        self.stats.packets += 1;
        self.clock = self.clock.max(ts);
        self.fragments
            .expire(self.clock, &mut self.stats, &mut |_| {
                debug_assert!(false, "a passed frame released fragments")
            });
    }

    /// Accounts for a frame at `ts` that a decoder with no fragments held found plain (one
    /// usable packet, not a fragment), as [`pass`](Self::pass) does, if this decoder would
    /// find it plain too: if the frame's time would release none of the fragments this
    /// decoder holds. Otherwise changes nothing and returns false: the frame must be decoded.
    pub fn pass_plain(&mut self, ts: f64) -> bool {
        if self.fragments.would_release(self.clock.max(ts)) {
            return false;
        }
        self.pass(ts);
        true
    }

    /// End of input: releases every fragment still held, as port-less packets, in file order.
    pub fn finish(&mut self, emit: &mut impl FnMut(PacketView<'static>)) {
        self.fragments.finish(&mut self.stats, emit);
    }

    /// The counters so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }
}

/// Decodes one frame into `v` (a default view); for a fragment, gives where it sits and the
/// protocol its fragmenting header names (part of its datagram's key).
fn build<'a>(
    config: &DecodeConfig,
    stats: &mut DecodeStats,
    link_type: u32,
    ts: f64,
    frame: &'a [u8],
    wire_len: u32,
    v: &mut PacketView<'a>,
) -> Result<Option<(Fragment, u8)>, SkipReason> {
    let net = strip_link(link_type, frame)?;
    let mut ip = IpLayer::default();
    parse_ip(net.proto, net.bytes, config.max_tunnel_depth, &mut ip)?;
    v.ts = ts;
    v.wire_len = wire_len;
    v.cap_len = len_u32(frame.len());
    v.len = ip.len;
    v.ip_id = ip.ip_id;
    v.flow_label = ip.flow_label;
    v.src_ip = ip.src;
    v.dst_ip = ip.dst;
    v.vlans = net.link.vlans;
    v.vlan_count = net.link.vlan_count;
    v.has_mac = net.link.has_mac;
    v.protocol = ip.protocol;
    v.ip_version = ip.version;
    v.ttl = ip.ttl;
    v.tos = ip.tos;
    v.tunnel_depth = ip.tunnel_depth;
    if ip.zero_length {
        stats.zero_ip_lengths += 1;
    }
    if let Some(f) = ip.fragment {
        v.is_fragment = 1;
        v.frag_offset = f.offset;
        v.more_fragments = u8::from(f.more);
    }
    if v.frag_offset > 0 {
        // A later fragment: no transport header, no payload bytes.
        v.payload_len = ip.l4_wire_len;
    } else {
        let notes = parse_transport(ip.protocol, ip.l4, ip.l4_wire_len, v);
        stats.truncated_transport_headers += u64::from(notes.header_truncated);
        stats.malformed_transport_headers += u64::from(notes.header_malformed);
        stats.truncated_payloads += u64::from(notes.payload_truncated);
    }
    Ok(ip.fragment.map(|f| (f, ip.datagram_protocol)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::proto;
    use crate::ip::tests::{ext, frag6, ipv4, ipv6, set_v4_fragment};
    use crate::link;
    use crate::transport::tests::{tcp_segment, udp_datagram};
    use jjc_abi::TcpFlags;

    const A: [u8; 4] = [192, 168, 1, 10];
    const B: [u8; 4] = [10, 0, 0, 1];

    fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    /// Decodes `frames` (link type, ts, bytes) and finishes; returns owned copies of the
    /// views plus the payloads, and the decoder.
    fn run_all(
        config: DecodeConfig,
        frames: &[(u32, f64, Vec<u8>)],
    ) -> (Vec<PacketView<'static>>, Vec<Vec<u8>>, Decoder) {
        let mut d = Decoder::new(config);
        let mut views = Vec::new();
        let mut payloads = Vec::new();
        for (lt, ts, f) in frames {
            d.decode(*lt, *ts, f, f.len() as u32 + 4, &mut |v| {
                payloads.push(v.payload().to_vec());
                views.push(v.without_bytes());
            });
        }
        d.finish(&mut |v| {
            payloads.push(Vec::new());
            views.push(v);
        });
        let s = d.stats();
        assert_eq!(s.frames, s.packets + s.skipped_total(), "{s:?}");
        assert_eq!(s.packets as usize, views.len());
        (views, payloads, d)
    }

    fn one(lt: u32, frame: &[u8]) -> (PacketView<'static>, Vec<u8>, DecodeStats) {
        let (views, payloads, d) = run_all(DecodeConfig::default(), &[(lt, 1.5, frame.to_vec())]);
        assert_eq!(views.len(), 1, "{:?}", d.stats());
        (views[0], payloads[0].clone(), d.stats().clone())
    }

    fn skipped(lt: u32, frame: &[u8]) -> SkipReason {
        let (views, _, d) = run_all(DecodeConfig::default(), &[(lt, 1.0, frame.to_vec())]);
        assert!(views.is_empty());
        let reasons: Vec<_> = SkipReason::ALL
            .into_iter()
            .filter(|r| d.stats().skipped_for(*r) == 1)
            .collect();
        assert_eq!(reasons.len(), 1);
        reasons[0]
    }

    fn tcp_v4(flags: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
        ipv4(
            proto::TCP,
            A,
            B,
            &[],
            &tcp_segment(51000, 443, flags, options, payload),
        )
    }

    #[test]
    fn ethernet_ipv4_tcp_fills_every_field() {
        let f = eth(
            0x0800,
            &tcp_v4(
                TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::NS,
                &[2, 4, 5, 0xb4],
                b"data",
            ),
        );
        let (v, payload, stats) = one(link::ETHERNET, &f);
        assert_eq!(
            (v.ts, v.wire_len, v.cap_len),
            (1.5, f.len() as u32 + 4, f.len() as u32)
        );
        assert_eq!(
            (v.len, v.payload_len, payload.as_slice()),
            (48, 4, &b"data"[..])
        );
        assert_eq!(v.src_addr().to_string(), "192.168.1.10");
        assert_eq!(v.dst_addr().to_string(), "10.0.0.1");
        assert_eq!(
            (v.src_port, v.dst_port, v.protocol, v.ip_version),
            (51000, 443, 6, 4)
        );
        assert_eq!((v.ttl, v.tos, v.ip_id, v.flow_label), (64, 0xb8, 0x1234, 0));
        assert_eq!(v.tcp_flags, 0x1c2);
        assert!(v.has_tcp_flags(TcpFlags::NS | TcpFlags::CWR | TcpFlags::ECE | TcpFlags::SYN));
        assert!(!v.has_tcp_flags(TcpFlags::ACK));
        assert_eq!((v.tcp_seq, v.tcp_ack, v.tcp_window), (1000, 2000, 0x7210));
        assert_eq!(
            (v.has_mac, v.vlan_count, v.is_fragment, v.tunnel_depth),
            (1, 0, 0, 0)
        );
        assert_eq!(
            stats,
            DecodeStats {
                frames: 1,
                packets: 1,
                ..DecodeStats::default()
            }
        );
    }

    #[test]
    fn tcp_options_point_into_the_frame() {
        let f = eth(
            0x0800,
            &tcp_v4(TcpFlags::ACK, &[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], b""),
        );
        let mut d = Decoder::new(DecodeConfig::default());
        let mut seen = Vec::new();
        d.decode(link::ETHERNET, 0.0, &f, f.len() as u32, &mut |v| {
            seen.push(v.tcp_options().to_vec())
        });
        assert_eq!(seen, vec![vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]]);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = eth(
            0x0800,
            &ipv4(proto::UDP, A, B, &[], &udp_datagram(5000, 53, b"hi")),
        );
        f.resize(60, 0);
        let (v, payload, stats) = one(link::ETHERNET, &f);
        assert_eq!(
            (v.len, v.payload_len, payload.as_slice()),
            (30, 2, &b"hi"[..])
        );
        assert_eq!(stats.truncated_payloads, 0);
        let f = eth(0x0800, &tcp_v4(TcpFlags::ACK, &[], &[]));
        let mut padded = f.clone();
        padded.resize(60, 0);
        let (v, payload, _) = one(link::ETHERNET, &padded);
        assert_eq!((v.len, v.payload_len, payload.len()), (40, 0, 0));
    }

    #[test]
    fn vlan_stacks_reach_the_view() {
        let ip = ipv4(proto::ICMP, A, B, &[], &[8, 0, 0, 0, 0, 1, 0, 1]);
        let qinq = eth(
            0x88a8,
            &[vec![0, 93, 0x81, 0x00, 0x01, 0x02, 0x08, 0x00], ip.clone()].concat(),
        );
        let (v, _, _) = one(link::ETHERNET, &qinq);
        assert_eq!(
            (v.vlan_ids(), v.inner_vlan(), v.icmp_type),
            (&[93u16, 258][..], 258, 8)
        );
        let triple = eth(
            0x8100,
            &[
                vec![0, 1, 0x81, 0x00, 0, 10, 0x81, 0x00, 0, 100, 0x08, 0x00],
                ip,
            ]
            .concat(),
        );
        let (v, _, _) = one(link::ETHERNET, &triple);
        assert_eq!((v.vlan_ids(), v.inner_vlan()), (&[1u16, 10, 100][..], 100));
    }

    #[test]
    fn every_link_type_decodes_the_same_packet() {
        let ip = tcp_v4(TcpFlags::ACK, &[], b"x");
        let ip6 = ipv6(proto::UDP, 1, 2, &udp_datagram(1, 2, b"yz"));
        let fam = |f: [u8; 4], ip: &[u8]| [f.to_vec(), ip.to_vec()].concat();
        let ppi = |dlt: u32, inner: &[u8]| {
            [vec![0, 0, 8, 0], dlt.to_le_bytes().to_vec(), inner.to_vec()].concat()
        };
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ip);
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        sll2.extend_from_slice(&ip6);
        let pppoe = eth(
            0x8864,
            &[vec![0x11, 0, 0, 1, 0, 0, 0x00, 0x21], ip.clone()].concat(),
        );
        let cases: Vec<(u32, Vec<u8>, u8, u8)> = vec![
            (link::ETHERNET, pppoe, 4, 1),
            (link::LINUX_SLL, sll, 4, 1),
            (link::LINUX_SLL2, sll2, 6, 0),
            (link::RAW, ip.clone(), 4, 0),
            (link::RAW, ip6.clone(), 6, 0),
            (link::RAW_12, ip6.clone(), 6, 0),
            (link::RAW_14, ip.clone(), 4, 0),
            (link::IPV4, ip.clone(), 4, 0),
            (link::IPV6, ip6.clone(), 6, 0),
            (link::NULL, fam(2u32.to_le_bytes(), &ip), 4, 0),
            (link::NULL, fam(30u32.to_le_bytes(), &ip6), 6, 0),
            (link::NULL, fam(24u32.to_be_bytes(), &ip6), 6, 0),
            (link::LOOP, fam(2u32.to_be_bytes(), &ip), 4, 0),
            (link::PPI, ppi(link::ETHERNET, &eth(0x86dd, &ip6)), 6, 1),
            (link::PPI, ppi(link::RAW, &ip), 4, 0),
        ];
        for (lt, frame, version, has_mac) in cases {
            let (v, payload, _) = one(lt, &frame);
            assert_eq!(
                (v.ip_version, v.has_mac),
                (version, has_mac),
                "link type {lt}"
            );
            if version == 4 {
                assert_eq!(
                    (v.src_port, v.dst_port, v.len, payload.as_slice()),
                    (51000, 443, 41, &b"x"[..]),
                    "{lt}"
                );
            } else {
                assert_eq!(
                    (v.src_port, v.dst_port, v.len, payload.as_slice()),
                    (1, 2, 50, &b"yz"[..]),
                    "{lt}"
                );
                assert_eq!((v.ttl, v.flow_label), (57, 0x12345));
            }
        }
    }

    #[test]
    fn non_ip_and_unsupported_frames_are_counted() {
        assert_eq!(
            skipped(link::ETHERNET, &eth(0x0806, &[0; 28])),
            SkipReason::NonIp
        );
        assert_eq!(
            skipped(link::ETHERNET, &eth(0x0026, &[0x42; 38])),
            SkipReason::NonIp
        );
        assert_eq!(skipped(105, &[0; 40]), SkipReason::UnsupportedLinkType);
        assert_eq!(
            skipped(link::RAW, &[0x25; 40]),
            SkipReason::MalformedIpHeader
        );
        let deep = (0..3).fold(
            ipv4(proto::UDP, A, B, &[], &udp_datagram(1, 2, &[])),
            |inner, _| ipv4(proto::IPV4, A, B, &[], &inner),
        );
        let cfg = DecodeConfig {
            max_tunnel_depth: 2,
            ..DecodeConfig::default()
        };
        let (views, _, d) = run_all(cfg, &[(link::RAW, 0.0, deep.clone())]);
        assert!(views.is_empty());
        assert_eq!(d.stats().skipped_for(SkipReason::TunnelTooDeep), 1);
        assert_eq!(one(link::RAW, &deep).0.tunnel_depth, 3);
    }

    #[test]
    fn ipv6_extension_headers_and_ipv4_options() {
        let payload = [
            ext(proto::DEST_OPTS, 0),
            ext(proto::ROUTING, 0),
            ext(proto::TCP, 1),
            tcp_segment(8080, 40000, TcpFlags::PSH | TcpFlags::ACK, &[], b"abc"),
        ]
        .concat();
        let f = eth(0x86dd, &ipv6(proto::HOP_BY_HOP, 1, 2, &payload));
        let (v, p, _) = one(link::ETHERNET, &f);
        assert_eq!(
            (v.protocol, v.src_port, v.dst_port, v.len),
            (proto::TCP, 8080, 40000, 40 + 8 + 8 + 16 + 23)
        );
        assert_eq!(
            (v.payload_len, p.as_slice(), v.tcp_flags),
            (3, &b"abc"[..], 0x18)
        );
        let opts = [0x94, 0x04, 0, 0, 1, 1, 1, 0];
        let f = eth(
            0x0800,
            &ipv4(proto::UDP, A, B, &opts, &udp_datagram(67, 68, &[1; 10])),
        );
        let (v, p, _) = one(link::ETHERNET, &f);
        assert_eq!(
            (v.len, v.payload_len, p.len(), v.src_port),
            (46, 10, 10, 67)
        );
    }

    #[test]
    fn tunnels_take_the_inner_header() {
        let inner6 = ipv6(
            proto::TCP,
            3,
            4,
            &tcp_segment(1, 2, TcpFlags::SYN, &[], &[]),
        );
        let (v, _, _) = one(
            link::ETHERNET,
            &eth(0x0800, &ipv4(proto::IPV6, A, B, &[], &inner6)),
        );
        assert_eq!(
            (v.ip_version, v.len, v.protocol, v.tunnel_depth, v.src_port),
            (6, 60, 6, 1, 1)
        );
        assert_eq!(v.src_ip[15], 3);
        let inner4 = ipv4(
            proto::UDP,
            [7, 7, 7, 7],
            [8, 8, 8, 8],
            &[],
            &udp_datagram(9, 10, b"q"),
        );
        let (v, p, _) = one(
            link::ETHERNET,
            &eth(0x0800, &ipv4(proto::IPV4, A, B, &[], &inner4)),
        );
        assert_eq!(
            (
                v.src_addr().to_string(),
                v.len,
                v.tunnel_depth,
                v.dst_port,
                p
            ),
            ("7.7.7.7".into(), 29, 1, 10, b"q".to_vec())
        );
        let four_in_six = ipv6(proto::IPV4, 1, 2, &inner4);
        let (v, _, _) = one(link::RAW, &four_in_six);
        assert_eq!((v.ip_version, v.src_port, v.tunnel_depth), (4, 9, 1));
    }

    #[test]
    fn icmp_errors_keep_their_own_flow_and_sctp_has_ports() {
        let quoted = ipv4(proto::UDP, B, A, &[], &udp_datagram(33434, 53, &[]));
        let icmp = [vec![11, 0, 0, 0, 0, 0, 0, 0], quoted].concat();
        let (v, p, _) = one(link::RAW, &ipv4(proto::ICMP, [9, 9, 9, 9], A, &[], &icmp));
        assert_eq!(
            (
                v.protocol,
                v.src_port,
                v.dst_port,
                v.icmp_type,
                v.payload_len,
                p.len()
            ),
            (1, 0, 0, 11, 36, 0)
        );
        let sctp = [
            vec![0x0b, 0x59, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0],
            vec![1; 20],
        ]
        .concat();
        let (v, p, _) = one(link::RAW, &ipv4(proto::SCTP, A, B, &[], &sctp));
        assert_eq!(
            (v.protocol, v.src_port, v.dst_port, v.payload_len, p.len()),
            (132, 2905, 80, 32, 0)
        );
    }

    #[test]
    fn zero_ip_length_uses_the_captured_length() {
        let mut ip = tcp_v4(TcpFlags::ACK, &[], &[5; 100]);
        ip[2..4].copy_from_slice(&[0, 0]);
        let (v, p, stats) = one(link::RAW, &ip);
        assert_eq!(
            (v.len, v.payload_len, p.len(), stats.zero_ip_lengths),
            (140, 100, 100, 1)
        );
    }

    /// IPv4 UDP datagram in two fragments: (first, later), id 77.
    fn v4_fragments() -> (Vec<u8>, Vec<u8>) {
        let mut first = ipv4(
            proto::UDP,
            A,
            B,
            &[],
            &udp_datagram(5353, 53, &[1; 16])[..16],
        );
        set_v4_fragment(&mut first, 77, 0, true);
        let mut later = ipv4(proto::UDP, A, B, &[], &[2; 8]);
        set_v4_fragment(&mut later, 77, 16, false);
        (first, later)
    }

    #[test]
    fn fragments_in_order_get_their_datagram_ports() {
        let (first, later) = v4_fragments();
        let (views, payloads, d) = run_all(
            DecodeConfig::default(),
            &[(link::RAW, 1.0, first), (link::RAW, 1.1, later)],
        );
        assert_eq!(views.len(), 2);
        let (f, l) = (views[0], views[1]);
        assert_eq!(
            (
                f.is_fragment,
                f.more_fragments,
                f.frag_offset,
                f.src_port,
                f.dst_port
            ),
            (1, 1, 0, 5353, 53)
        );
        assert_eq!((f.payload_len, payloads[0].len()), (8, 8));
        assert_eq!(
            (
                l.is_fragment,
                l.more_fragments,
                l.frag_offset,
                l.src_port,
                l.dst_port
            ),
            (1, 0, 16, 5353, 53)
        );
        assert_eq!(
            (l.payload_len, l.len, l.ip_id, l.protocol, payloads[1].len()),
            (8, 28, 77, 17, 0)
        );
        let s = d.stats();
        assert_eq!(
            (s.fragments, s.fragments_held, s.fragments_orphaned),
            (2, 0, 0)
        );
    }

    /// What scanning threads rely on: a decoder that passes the frames another decoder found
    /// plain, and decodes the rest, emits the same packets for the rest and ends in the same
    /// state (clock, fragment tables, counts) — with fragments held, released, timed out
    /// and out-of-order times among the plain frames.
    #[test]
    fn passing_the_plain_frames_another_decoder_decoded_keeps_the_same_state() {
        let (first, later) = v4_fragments();
        let mut other = ipv4(proto::UDP, B, A, &[], &[3; 8]);
        set_v4_fragment(&mut other, 78, 64, false);
        let plain = tcp_v4(TcpFlags::ACK, &[], &[]);
        let frames = [
            (link::RAW, 1.0, plain.clone()),
            (link::RAW, 1.05, first),
            // Times out the datagram of 1.05, releasing nothing: passed, it must still move
            // the clock, or the follower would give the next fragment that datagram's ports.
            (link::RAW, 40.0, plain.clone()),
            (link::RAW, 20.0, later),
            // Releases the fragment of 20.0 (timed out): not plain.
            (link::RAW, 90.0, plain.clone()),
            (link::RAW, 2.0, plain.clone()),
            (link::RAW, 2.1, other.clone()),
            (link::RAW, 2.2, plain.clone()),
            // Not decodable: never plain.
            (link::RAW, 2.3, vec![0x45, 0, 0]),
            (link::RAW, 200.1, other),
            (link::RAW, 200.2, plain),
        ];
        let config = DecodeConfig::default();
        let (mut leader, mut follower) = (Decoder::new(config), Decoder::new(config));
        let (mut led, mut followed) = (Vec::new(), Vec::new());
        let mut passed = 0;
        for (lt, ts, f) in &frames {
            let wire = f.len() as u32;
            leader.decode(*lt, *ts, f, wire, &mut |v| led.push(v.without_bytes()));
            if leader.last_was_plain() {
                // The follower will not see this packet: it is another thread's.
                let plain_packet = led.pop();
                assert_eq!(plain_packet.map(|v| v.ts), Some(*ts));
                follower.pass(*ts);
                passed += 1;
            } else {
                follower.decode(*lt, *ts, f, wire, &mut |v| followed.push(v.without_bytes()));
            }
        }
        leader.finish(&mut |v| led.push(v));
        follower.finish(&mut |v| followed.push(v));
        // At 1.0, 40.0, 2.0 and 200.2.
        assert_eq!(passed, 4, "the plain frames that released nothing else");
        assert_eq!(format!("{led:?}"), format!("{followed:?}"));
        assert_eq!(leader.stats(), follower.stats());
        assert_eq!(leader.clock.to_bits(), follower.clock.to_bits());
        assert!(
            leader.stats().fragments_orphaned > 0,
            "{:?}",
            leader.stats()
        );
    }

    /// What threads splitting a capture in segments rely on: each frame judged by a decoder
    /// that has seen no frame before (a segment's), and passed with its view by one that has
    /// seen them all when both find it plain, gives the packets, counts and clock of decoding
    /// every frame.
    #[test]
    fn frames_judged_plain_without_history_pass_only_when_they_release_nothing() {
        let (first, later) = v4_fragments();
        let plain = tcp_v4(TcpFlags::ACK, &[], &[]);
        let frames = [
            (link::RAW, 1.0, plain.clone()),
            // Held: its first fragment comes later.
            (link::RAW, 1.05, later.clone()),
            (link::RAW, 2.0, plain.clone()),
            // Times the held fragment out: plain to a decoder without history, not to one
            // that holds it.
            (link::RAW, 40.0, plain.clone()),
            (link::RAW, 41.0, first),
            (link::RAW, 41.1, later),
            (link::RAW, 42.0, plain),
        ];
        let config = DecodeConfig::default();
        let mut all = Decoder::new(config);
        let mut split = Decoder::new(config);
        let (mut every, mut passed_or_decoded) = (Vec::new(), Vec::new());
        let mut refused = 0;
        for (lt, ts, f) in &frames {
            let wire = f.len() as u32;
            all.decode(*lt, *ts, f, wire, &mut |v| every.push(v.without_bytes()));
            let mut judge = Decoder::new(config);
            let mut judged = Vec::new();
            judge.decode(*lt, *ts, f, wire, &mut |v| judged.push(v.without_bytes()));
            if judge.last_was_plain() && split.pass_plain(*ts) {
                passed_or_decoded.extend(judged);
            } else {
                refused += usize::from(judge.last_was_plain());
                split.decode(*lt, *ts, f, wire, &mut |v| {
                    passed_or_decoded.push(v.without_bytes())
                });
            }
        }
        all.finish(&mut |v| every.push(v));
        split.finish(&mut |v| passed_or_decoded.push(v));
        assert_eq!(refused, 1, "the frame at 40.0 releases the held fragment");
        assert_eq!(format!("{every:?}"), format!("{passed_or_decoded:?}"));
        assert_eq!(all.stats(), split.stats());
        assert_eq!(all.clock.to_bits(), split.clock.to_bits());
    }

    #[test]
    fn early_fragments_wait_and_come_out_before_their_first() {
        let (first, later) = v4_fragments();
        let mut other = ipv4(proto::UDP, B, A, &[], &[3; 8]);
        set_v4_fragment(&mut other, 78, 64, false);
        let plain = tcp_v4(TcpFlags::ACK, &[], &[]);
        let frames = [
            (link::RAW, 1.0, later.clone()),
            (link::RAW, 1.1, other),
            (link::RAW, 1.2, plain),
            (link::RAW, 1.3, later),
            (link::RAW, 1.4, first),
        ];
        let (views, _, d) = run_all(DecodeConfig::default(), &frames);
        let order: Vec<_> = views
            .iter()
            .map(|v| (v.ts, v.src_port, v.frag_offset))
            .collect();
        assert_eq!(
            order,
            vec![
                (1.2, 51000, 0),
                (1.0, 5353, 16),
                (1.3, 5353, 16),
                (1.4, 5353, 0),
                (1.1, 0, 64)
            ]
        );
        let s = d.stats();
        assert_eq!(
            (
                s.fragments,
                s.fragments_held,
                s.fragments_orphaned,
                s.packets
            ),
            (4, 3, 1, 5)
        );
    }

    #[test]
    fn held_fragments_expire_and_overflow_port_less() {
        let (_, later) = v4_fragments();
        let plain = tcp_v4(TcpFlags::ACK, &[], &[]);
        let frames = [
            (link::RAW, 10.0, later.clone()),
            (link::RAW, 40.5, plain.clone()),
        ];
        let (views, _, d) = run_all(DecodeConfig::default(), &frames);
        let order: Vec<_> = views.iter().map(|v| (v.ts, v.src_port)).collect();
        assert_eq!(order, vec![(10.0, 0), (40.5, 51000)]);
        assert_eq!(d.stats().fragments_orphaned, 1);

        let cfg = DecodeConfig {
            max_held_fragments: 2,
            ..DecodeConfig::default()
        };
        let frames: Vec<_> = (0..3)
            .map(|i| (link::RAW, f64::from(i), later.clone()))
            .collect();
        let mut d = Decoder::new(cfg);
        let mut seen = Vec::new();
        for (lt, ts, f) in &frames {
            d.decode(*lt, *ts, f, 0, &mut |v| seen.push(v.ts));
        }
        assert_eq!(seen, vec![0.0]);
        d.finish(&mut |v| seen.push(v.ts));
        assert_eq!(seen, vec![0.0, 1.0, 2.0]);
        assert_eq!(
            (d.stats().fragments_held, d.stats().fragments_orphaned),
            (3, 3)
        );
    }

    #[test]
    fn remembered_datagrams_expire() {
        let (first, later) = v4_fragments();
        let frames = [(link::RAW, 1.0, first), (link::RAW, 100.0, later)];
        let (views, _, d) = run_all(DecodeConfig::default(), &frames);
        assert_eq!((views[1].src_port, views[1].ts), (0, 100.0));
        assert_eq!(d.stats().fragments_orphaned, 1);
    }

    #[test]
    fn ipv6_fragments_out_of_order_and_icmp_fragments_never_wait() {
        let udp = udp_datagram(546, 547, &[4; 24]);
        let first = ipv6(
            proto::FRAGMENT,
            1,
            2,
            &[frag6(proto::UDP, 0, true, 0xabcd), udp[..16].to_vec()].concat(),
        );
        let later = ipv6(
            proto::FRAGMENT,
            1,
            2,
            &[frag6(proto::UDP, 16, false, 0xabcd), udp[16..].to_vec()].concat(),
        );
        let (views, _, _) = run_all(
            DecodeConfig::default(),
            &[(link::RAW, 1.0, later), (link::RAW, 2.0, first)],
        );
        let got: Vec<_> = views
            .iter()
            .map(|v| {
                (
                    v.ts,
                    v.src_port,
                    v.dst_port,
                    v.frag_offset,
                    v.payload_len,
                    v.ip_id,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1.0, 546, 547, 16, 16, 0xabcd),
                (2.0, 546, 547, 0, 8, 0xabcd)
            ]
        );

        let icmp_later = ipv6(
            proto::FRAGMENT,
            1,
            2,
            &[frag6(proto::ICMPV6, 1232, false, 5), vec![0; 100]].concat(),
        );
        let mut d = Decoder::new(DecodeConfig::default());
        let mut n = 0;
        d.decode(link::RAW, 0.0, &icmp_later, 0, &mut |v| {
            assert_eq!(
                (v.protocol, v.src_port, v.payload_len, v.len),
                (58, 0, 100, 148)
            );
            n += 1;
        });
        assert_eq!((n, d.stats().fragments_held), (1, 0));
    }

    /// Every prefix of a valid frame decodes without panicking: a prefix inside the link
    /// header or the IP header is skipped with that reason, anything longer is emitted.
    #[test]
    fn every_truncation_is_handled() {
        let tcp = eth(
            0x8100,
            &[
                vec![0, 5, 0x08, 0x00],
                tcp_v4(TcpFlags::ACK, &[1, 1, 1, 1], &[7; 30]),
            ]
            .concat(),
        );
        let udp6 = eth(
            0x86dd,
            &ipv6(
                proto::HOP_BY_HOP,
                1,
                2,
                &[ext(proto::UDP, 0), udp_datagram(1, 2, &[7; 9])].concat(),
            ),
        );
        let cases = [
            (link::ETHERNET, tcp, 18, 38, 62),
            (link::ETHERNET, udp6, 14, 62, 70),
        ];
        for (lt, frame, link_len, ip_end, transport_end) in cases {
            for cut in 0..=frame.len() {
                let (views, _, d) =
                    run_all(DecodeConfig::default(), &[(lt, 0.0, frame[..cut].to_vec())]);
                let s = d.stats();
                if cut < link_len {
                    assert_eq!(
                        s.skipped_for(SkipReason::TruncatedLinkHeader),
                        1,
                        "cut {cut}"
                    );
                } else if cut < ip_end {
                    assert_eq!(s.skipped_for(SkipReason::TruncatedIpHeader), 1, "cut {cut}");
                } else {
                    assert_eq!(views.len(), 1, "cut {cut}");
                    let v = views[0];
                    assert_eq!(v.cap_len as usize, cut);
                    assert_eq!(v.src_port != 0, cut >= ip_end + 4, "cut {cut}");
                    assert_eq!(
                        s.truncated_transport_headers,
                        u64::from(cut < transport_end),
                        "cut {cut}"
                    );
                    assert_eq!(
                        s.truncated_payloads,
                        u64::from(cut >= transport_end && cut < frame.len()),
                        "cut {cut}"
                    );
                }
            }
        }
    }

    /// Random bytes under every link type: no panic, and every frame accounted for.
    #[test]
    fn random_frames_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base = eth(0x0800, &tcp_v4(TcpFlags::ACK, &[1; 8], &[0; 20]));
        let link_types = [0, 1, 12, 14, 101, 108, 113, 192, 228, 229, 276, 9999];
        let mut d = Decoder::new(DecodeConfig {
            max_held_fragments: 8,
            max_fragment_datagrams: 8,
            ..DecodeConfig::default()
        });
        let mut emitted = 0u64;
        for i in 0..20_000u32 {
            let mut f = base.clone();
            for _ in 0..(next() % 6) {
                let at = (next() as usize) % f.len();
                f[at] = next() as u8;
            }
            f.truncate((next() as usize) % (f.len() + 1));
            let lt = link_types[(next() as usize) % link_types.len()];
            d.decode(lt, f64::from(i) * 0.01, &f, f.len() as u32, &mut |_| {
                emitted += 1
            });
        }
        d.finish(&mut |_| emitted += 1);
        let s = d.stats();
        assert_eq!(s.frames, 20_000);
        assert_eq!(s.packets, emitted);
        assert_eq!(s.frames, s.packets + s.skipped_total());
        assert!(s.packets > 500 && s.skipped_total() > 1000, "{s:?}");
    }
}
