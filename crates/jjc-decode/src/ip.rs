//! The IP layer: IPv4 and IPv6 headers, extension headers (IPv6 and IPv4 AH), IP-in-IP.

use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, err};
use jjc_abi::IpBytes;

use crate::bytes::{be16, be32, len_u32, u8_at};
use crate::frame::NetProto;
use crate::stats::SkipReason;

/// IP protocol numbers this crate looks at.
pub(crate) mod proto {
    /// IPv6 hop-by-hop options.
    pub const HOP_BY_HOP: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IPv4 in IP.
    pub const IPV4: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 in IP.
    pub const IPV6: u8 = 41;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// Authentication header.
    pub const AUTH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const NO_NEXT: u8 = 59;
    /// IPv6 destination options.
    pub const DEST_OPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// IPv6 mobility header.
    pub const MOBILITY: u8 = 135;
    /// Host Identity Protocol.
    pub const HIP: u8 = 139;
    /// Shim6.
    pub const SHIM6: u8 = 140;
}

/// IPv6 fixed header length.
const IPV6_HEADER_LEN: usize = 40;

/// Where a fragment sits in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fragment {
    /// Offset of the fragment's data in the datagram, in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
}

/// The flow's (innermost) IP header and what follows it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IpLayer<'a> {
    /// 4 or 6.
    pub version: u8,
    /// Source address (IPv4 in the last 4 bytes).
    pub src: IpBytes,
    /// Destination address (IPv4 in the last 4 bytes).
    pub dst: IpBytes,
    /// TTL / hop limit.
    pub ttl: u8,
    /// TOS / traffic class.
    pub tos: u8,
    /// IPv6 flow label.
    pub flow_label: u32,
    /// IPv4 id, or the IPv6 fragment header's id (0 without one).
    pub ip_id: u32,
    /// The transport protocol after extension headers; for a later fragment, the protocol
    /// its fragmenting header names.
    pub protocol: u8,
    /// The protocol named by the fragmenting header (IPv4 header, IPv6 fragment header):
    /// the same in every fragment of a datagram, so part of the datagram's key.
    pub datagram_protocol: u8,
    /// IPv4 total length, IPv6 payload length + 40.
    pub len: u32,
    /// Set if the packet is a fragment (first or later).
    pub fragment: Option<Fragment>,
    /// Bytes after all IP headers, by the length fields.
    pub l4_wire_len: u32,
    /// Captured bytes after all IP headers, cut at the IP length.
    pub l4: &'a [u8],
    /// IP-in-IP encapsulations removed.
    pub tunnel_depth: u8,
    /// Some IP length field on the way was 0 and the captured length stood in for it.
    pub zero_length: bool,
}

/// Parses the IP header(s) at the start of `bytes` into `layer`, removing up to
/// `max_tunnel_depth` IP-in-IP encapsulations of unfragmented packets.
///
/// Fills the caller's layer rather than returning one: a layer returned by value is copied
/// with wide moves that wait on the narrow stores that just made it.
pub(crate) fn parse_ip<'a>(
    announced: NetProto,
    bytes: &'a [u8],
    max_tunnel_depth: u8,
    layer: &mut IpLayer<'a>,
) -> Result<(), SkipReason> {
    let mut version = match announced {
        NetProto::Ipv4 => 4,
        NetProto::Ipv6 => 6,
        NetProto::ByVersion => u8_at(bytes, 0).ok_or(SkipReason::TruncatedIpHeader)? >> 4,
    };
    let mut bytes = bytes;
    let mut depth = 0u8;
    let mut zero_length = false;
    loop {
        match version {
            4 => parse_v4(bytes, layer)?,
            6 => parse_v6(bytes, layer)?,
            _ => return Err(SkipReason::MalformedIpHeader),
        }
        zero_length |= layer.zero_length;
        let inner = match layer.protocol {
            proto::IPV4 => 4,
            proto::IPV6 => 6,
            _ => 0,
        };
        if inner == 0 || layer.fragment.is_some() {
            layer.tunnel_depth = depth;
            layer.zero_length = zero_length;
            return Ok(());
        }
        if depth >= max_tunnel_depth {
            return Err(SkipReason::TunnelTooDeep);
        }
        depth += 1;
        version = inner;
        bytes = layer.l4;
    }
}

/// An IPv4 address in the last 4 of 16 bytes. Made in a register and stored whole: 16 zero
/// bytes overwritten by 4 would make the next 16-byte read of it wait for both stores.
fn v4_address(a: [u8; 4]) -> IpBytes {
    u128::from(u32::from_be_bytes(a)).to_be_bytes()
}

fn parse_v4<'a>(bytes: &'a [u8], layer: &mut IpLayer<'a>) -> Result<(), SkipReason> {
    let h = Ipv4HeaderSlice::from_slice(bytes).map_err(|e| match e {
        err::ipv4::HeaderSliceError::Len(_) => SkipReason::TruncatedIpHeader,
        err::ipv4::HeaderSliceError::Content(_) => SkipReason::MalformedIpHeader,
    })?;
    let header_len = h.slice().len();
    let declared = usize::from(h.total_len());
    let zero_length = declared == 0;
    let total = if zero_length { bytes.len() } else { declared };
    let l4_wire = total
        .checked_sub(header_len)
        .ok_or(SkipReason::MalformedIpHeader)?;
    let end = total.min(bytes.len());
    // The offset field counts 8-byte units in 13 bits: at most 65528 bytes.
    let offset = h.fragments_offset().value().saturating_mul(8);
    let more = h.more_fragments();
    let protocol = h.protocol().0;
    *layer = IpLayer {
        version: 4,
        src: v4_address(h.source()),
        dst: v4_address(h.destination()),
        ttl: h.ttl(),
        tos: (h.dcp().value() << 2) | h.ecn().value(),
        flow_label: 0,
        ip_id: u32::from(h.identification()),
        protocol,
        datagram_protocol: protocol,
        len: len_u32(total),
        fragment: (offset > 0 || more).then_some(Fragment { offset, more }),
        l4_wire_len: len_u32(l4_wire),
        l4: bytes.get(header_len..end).unwrap_or(&[]),
        tunnel_depth: 0,
        zero_length,
    };
    if offset == 0 {
        walk_extensions(layer, false)?;
    }
    Ok(())
}

fn parse_v6<'a>(bytes: &'a [u8], layer: &mut IpLayer<'a>) -> Result<(), SkipReason> {
    let h = Ipv6HeaderSlice::from_slice(bytes).map_err(|e| match e {
        err::ipv6::HeaderSliceError::Len(_) => SkipReason::TruncatedIpHeader,
        err::ipv6::HeaderSliceError::Content(_) => SkipReason::MalformedIpHeader,
    })?;
    let declared = usize::from(h.payload_length());
    let next = h.next_header().0;
    let captured_payload = bytes.len().saturating_sub(IPV6_HEADER_LEN);
    // 0 with a payload present: a jumbogram or an offloaded segment.
    let zero_length = declared == 0 && next != proto::NO_NEXT && captured_payload > 0;
    let payload = if zero_length {
        captured_payload
    } else {
        declared
    };
    let total = IPV6_HEADER_LEN + payload;
    let end = total.min(bytes.len());
    *layer = IpLayer {
        version: 6,
        src: h.source(),
        dst: h.destination(),
        ttl: h.hop_limit(),
        tos: h.traffic_class(),
        flow_label: h.flow_label().value(),
        ip_id: 0,
        protocol: next,
        datagram_protocol: next,
        len: len_u32(total),
        fragment: None,
        l4_wire_len: len_u32(payload),
        l4: bytes.get(IPV6_HEADER_LEN..end).unwrap_or(&[]),
        tunnel_depth: 0,
        zero_length,
    };
    walk_extensions(layer, true)?;
    Ok(())
}

/// The kinds of extension header, by how their length is encoded.
enum ExtensionKind {
    /// Length byte in 8-octet units, not counting the first 8 octets.
    Generic,
    /// Authentication header: length byte in 4-octet units, minus 2.
    Auth,
    /// IPv6 fragment header: always 8 bytes.
    Fragment,
}

/// Follows extension headers at the start of `layer.l4` (all IPv6 ones when `ipv6`, only
/// AH for IPv4), moving `l4` past them. Stops after the fragment header of a later
/// fragment: what follows is fragment data.
fn walk_extensions(layer: &mut IpLayer<'_>, ipv6: bool) -> Result<(), SkipReason> {
    loop {
        let kind = match layer.protocol {
            proto::AUTH => ExtensionKind::Auth,
            proto::FRAGMENT if ipv6 => ExtensionKind::Fragment,
            proto::HOP_BY_HOP
            | proto::ROUTING
            | proto::DEST_OPTS
            | proto::MOBILITY
            | proto::HIP
            | proto::SHIM6
                if ipv6 =>
            {
                ExtensionKind::Generic
            }
            _ => return Ok(()),
        };
        let wire = layer.l4_wire_len as usize;
        let missing = |needed: usize| {
            if needed > wire {
                SkipReason::MalformedIpHeader
            } else {
                SkipReason::TruncatedIpHeader
            }
        };
        let next = u8_at(layer.l4, 0).ok_or(missing(2))?;
        let size = u8_at(layer.l4, 1).ok_or(missing(2))?;
        let header_len = match kind {
            ExtensionKind::Generic => (usize::from(size) + 1) * 8,
            ExtensionKind::Auth => (usize::from(size) + 2) * 4,
            ExtensionKind::Fragment => 8,
        };
        let rest = layer.l4.get(header_len..).ok_or(missing(header_len))?;
        let rest_wire = wire
            .checked_sub(header_len)
            .ok_or(SkipReason::MalformedIpHeader)?;
        let mut later_fragment = false;
        if let ExtensionKind::Fragment = kind {
            let field = be16(layer.l4, 2).ok_or(missing(header_len))?;
            layer.ip_id = be32(layer.l4, 4).ok_or(missing(header_len))?;
            let offset = field & 0xfff8;
            let more = field & 1 == 1;
            if offset > 0 || more {
                layer.fragment = Some(Fragment { offset, more });
                layer.datagram_protocol = next;
            }
            later_fragment = offset > 0;
        }
        layer.l4 = rest;
        layer.l4_wire_len = len_u32(rest_wire);
        layer.protocol = next;
        if later_fragment {
            return Ok(());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// [`super::parse_ip`] into a fresh layer.
    fn parse_ip(
        announced: NetProto,
        bytes: &[u8],
        max_tunnel_depth: u8,
    ) -> Result<IpLayer<'_>, SkipReason> {
        let mut layer = IpLayer::default();
        super::parse_ip(announced, bytes, max_tunnel_depth, &mut layer).map(|()| layer)
    }

    /// An IPv4 header (no options unless given) followed by `payload`; total length as built.
    pub(crate) fn ipv4(
        protocol: u8,
        src: [u8; 4],
        dst: [u8; 4],
        options: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let header_len = 20 + options.len();
        let total = header_len + payload.len();
        let mut h = vec![0x40 | (header_len / 4) as u8, 0xb8];
        h.extend_from_slice(&(total as u16).to_be_bytes());
        h.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, protocol, 0, 0]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend_from_slice(options);
        h.extend_from_slice(payload);
        h
    }

    /// Sets an IPv4 header's fragment fields (offset in bytes).
    pub(crate) fn set_v4_fragment(packet: &mut [u8], id: u16, offset: u16, more: bool) {
        packet[4..6].copy_from_slice(&id.to_be_bytes());
        let field = (offset / 8) | if more { 0x2000 } else { 0 };
        packet[6..8].copy_from_slice(&field.to_be_bytes());
    }

    /// An IPv6 header followed by `payload` (extension headers included in it).
    pub(crate) fn ipv6(next: u8, src: u8, dst: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0x6a, 0xb1, 0x23, 0x45];
        h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        h.extend_from_slice(&[next, 57]);
        let mut s = [0u8; 16];
        s[0] = 0x20;
        s[1] = 0x01;
        s[15] = src;
        let mut d = s;
        d[15] = dst;
        h.extend_from_slice(&s);
        h.extend_from_slice(&d);
        h.extend_from_slice(payload);
        h
    }

    /// A generic IPv6 extension header of `len8` extra 8-octet units.
    pub(crate) fn ext(next: u8, len8: u8) -> Vec<u8> {
        let mut e = vec![next, len8];
        e.resize((usize::from(len8) + 1) * 8, 1);
        e
    }

    /// An IPv6 fragment header.
    pub(crate) fn frag6(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
        let mut e = vec![next, 0];
        e.extend_from_slice(&(offset | u16::from(more)).to_be_bytes());
        e.extend_from_slice(&id.to_be_bytes());
        e
    }

    #[test]
    fn ipv4_fields_and_options() {
        let p = ipv4(
            proto::TCP,
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            &[1, 1, 1, 0],
            &[9; 30],
        );
        let l = parse_ip(NetProto::Ipv4, &p, 4).unwrap();
        assert_eq!(
            (l.version, l.len, l.l4_wire_len, l.l4.len()),
            (4, 54, 30, 30)
        );
        assert_eq!(
            (l.protocol, l.ttl, l.tos, l.ip_id, l.fragment),
            (proto::TCP, 64, 0xb8, 0x1234, None)
        );
        assert_eq!(&l.src[12..], &[10, 0, 0, 1]);
        assert_eq!(l.src[..12], [0; 12]);
        assert_eq!(&l.dst[12..], &[10, 0, 0, 2]);
    }

    #[test]
    fn ipv4_length_rules() {
        let mut p = ipv4(proto::UDP, [1; 4], [2; 4], &[], &[0; 12]);
        p.extend_from_slice(&[0xee; 6]); // Ethernet trailer padding
        let l = parse_ip(NetProto::ByVersion, &p, 4).unwrap();
        assert_eq!((l.len, l.l4.len(), l.zero_length), (32, 12, false));
        p[2..4].copy_from_slice(&[0, 0]);
        let l = parse_ip(NetProto::Ipv4, &p, 4).unwrap();
        assert_eq!((l.len, l.l4_wire_len, l.zero_length), (38, 18, true));
        p[2..4].copy_from_slice(&[0, 19]);
        assert_eq!(
            parse_ip(NetProto::Ipv4, &p, 4).err(),
            Some(SkipReason::MalformedIpHeader)
        );
        p[0] = 0x44;
        assert_eq!(
            parse_ip(NetProto::Ipv4, &p, 4).err(),
            Some(SkipReason::MalformedIpHeader)
        );
        p[0] = 0x65;
        assert_eq!(
            parse_ip(NetProto::Ipv4, &p, 4).err(),
            Some(SkipReason::MalformedIpHeader)
        );
        p[0] = 0x15;
        assert_eq!(
            parse_ip(NetProto::ByVersion, &p, 4).err(),
            Some(SkipReason::MalformedIpHeader)
        );
        assert_eq!(
            parse_ip(NetProto::ByVersion, &[], 4).err(),
            Some(SkipReason::TruncatedIpHeader)
        );
        let big = ipv4(proto::UDP, [1; 4], [2; 4], &[0; 40], &[]);
        assert_eq!(
            parse_ip(NetProto::Ipv4, &big[..59], 4).err(),
            Some(SkipReason::TruncatedIpHeader)
        );
    }

    #[test]
    fn ipv6_extension_chain_reaches_the_transport() {
        let payload = [
            ext(proto::DEST_OPTS, 0),
            ext(proto::ROUTING, 1),
            ext(proto::DEST_OPTS, 0),
            ext(proto::TCP, 0),
            vec![7; 20],
        ]
        .concat();
        let p = ipv6(proto::HOP_BY_HOP, 1, 2, &payload);
        let l = parse_ip(NetProto::Ipv6, &p, 4).unwrap();
        assert_eq!(
            (l.protocol, l.len, l.l4_wire_len, l.l4),
            (proto::TCP, 40 + 60, 20, &[7u8; 20][..])
        );
        assert_eq!(
            (l.ttl, l.tos, l.flow_label, l.ip_id),
            (57, 0xab, 0x12345, 0)
        );
        assert_eq!(l.src[15], 1);
        // Cut inside the routing header: truncated; declared too short for it: malformed.
        assert_eq!(
            parse_ip(NetProto::Ipv6, &p[..60], 4).err(),
            Some(SkipReason::TruncatedIpHeader)
        );
        let mut short = p.clone();
        short[4..6].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(
            parse_ip(NetProto::Ipv6, &short, 4).err(),
            Some(SkipReason::MalformedIpHeader)
        );
    }

    #[test]
    fn ipv6_fragment_header_and_auth() {
        let first = ipv6(
            proto::FRAGMENT,
            1,
            2,
            &[frag6(proto::UDP, 0, true, 0xdead_beef), vec![1; 16]].concat(),
        );
        let l = parse_ip(NetProto::Ipv6, &first, 4).unwrap();
        assert_eq!(
            l.fragment,
            Some(Fragment {
                offset: 0,
                more: true
            })
        );
        assert_eq!(
            (l.ip_id, l.protocol, l.datagram_protocol, l.l4_wire_len),
            (0xdead_beef, 17, 17, 16)
        );
        let later = ipv6(
            proto::FRAGMENT,
            1,
            2,
            &[frag6(proto::DEST_OPTS, 1448, false, 7), vec![1; 16]].concat(),
        );
        let l = parse_ip(NetProto::Ipv6, &later, 4).unwrap();
        assert_eq!(
            l.fragment,
            Some(Fragment {
                offset: 1448,
                more: false
            })
        );
        assert_eq!(
            (l.protocol, l.datagram_protocol, l.l4.len()),
            (proto::DEST_OPTS, proto::DEST_OPTS, 16)
        );
        let atomic = ipv6(
            proto::FRAGMENT,
            1,
            2,
            &[frag6(proto::UDP, 0, false, 9), vec![1; 8]].concat(),
        );
        let l = parse_ip(NetProto::Ipv6, &atomic, 4).unwrap();
        assert_eq!((l.fragment, l.ip_id, l.protocol), (None, 9, proto::UDP));
        let mut ah = vec![proto::TCP, 4, 0, 0];
        ah.resize(24, 0);
        let v4 = ipv4(
            proto::AUTH,
            [1; 4],
            [2; 4],
            &[],
            &[ah, vec![3; 20]].concat(),
        );
        let l = parse_ip(NetProto::Ipv4, &v4, 4).unwrap();
        assert_eq!(
            (l.protocol, l.datagram_protocol, l.l4_wire_len),
            (proto::TCP, proto::AUTH, 20)
        );
    }

    #[test]
    fn ip_in_ip_is_removed_up_to_the_limit() {
        let inner6 = ipv6(proto::UDP, 3, 4, &[5; 8]);
        let six_in_four = ipv4(proto::IPV6, [1; 4], [2; 4], &[], &inner6);
        let l = parse_ip(NetProto::Ipv4, &six_in_four, 4).unwrap();
        assert_eq!(
            (l.version, l.protocol, l.len, l.tunnel_depth),
            (6, proto::UDP, 48, 1)
        );
        let inner4 = ipv4(proto::ICMP, [7; 4], [8; 4], &[], &[8, 0, 0, 0]);
        let four_in_four = ipv4(proto::IPV4, [1; 4], [2; 4], &[], &inner4);
        let twice = ipv4(proto::IPV4, [1; 4], [2; 4], &[], &four_in_four);
        let l = parse_ip(NetProto::Ipv4, &twice, 4).unwrap();
        assert_eq!(
            (l.src[12], l.len, l.tunnel_depth, l.protocol),
            (7, 24, 2, proto::ICMP)
        );
        assert_eq!(
            parse_ip(NetProto::Ipv4, &twice, 1).err(),
            Some(SkipReason::TunnelTooDeep)
        );
        let mut fragmented = four_in_four.clone();
        set_v4_fragment(&mut fragmented, 5, 0, true);
        let l = parse_ip(NetProto::Ipv4, &fragmented, 4).unwrap();
        assert_eq!((l.protocol, l.tunnel_depth, l.src[12]), (proto::IPV4, 0, 1));
    }
}
