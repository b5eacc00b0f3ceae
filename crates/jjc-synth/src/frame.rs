//! Building Ethernet frames byte by byte: Ethernet (with 802.1Q / QinQ tags), IPv4 (with
//! its header checksum) or IPv6, then TCP, UDP or ICMP echo with correct checksums.

/// EtherType of IPv4.
const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q customer tag.
const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad service tag (the outer tag of QinQ).
const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Smallest Ethernet frame without its FCS: shorter received frames carry padding.
const MIN_FRAME: usize = 60;

/// The link layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    /// Destination MAC address.
    pub dst_mac: [u8; 6],
    /// Source MAC address.
    pub src_mac: [u8; 6],
    /// VLAN ids, outermost first; `vlan_count` (0, 1 or 2) of them are used.
    pub vlans: [u16; 2],
    /// Number of VLAN tags.
    pub vlan_count: u8,
}

/// The IP header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ip {
    /// IPv4 (no options).
    V4 {
        /// Source address.
        src: [u8; 4],
        /// Destination address.
        dst: [u8; 4],
        /// Time to live.
        ttl: u8,
        /// Identification.
        id: u16,
        /// Whether the Don't Fragment bit is set.
        dont_fragment: bool,
        /// Type of service byte.
        tos: u8,
    },
    /// IPv6 (no extension headers).
    V6 {
        /// Source address.
        src: [u8; 16],
        /// Destination address.
        dst: [u8; 16],
        /// Hop limit.
        hop_limit: u8,
        /// 20-bit flow label.
        flow_label: u32,
        /// Traffic class byte.
        traffic_class: u8,
    },
}

/// The transport header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport<'a> {
    /// TCP, with options (padded with NOPs/EOL to a multiple of 4 bytes).
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Sequence number.
        seq: u32,
        /// Acknowledgment number.
        ack: u32,
        /// Flag bits (FIN 0x01 … CWR 0x80).
        flags: u8,
        /// Window field.
        window: u16,
        /// Option bytes (at most 40).
        options: &'a [u8],
    },
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP (or ICMPv6, by the IP version) echo request or reply.
    IcmpEcho {
        /// ICMP type (8/0 for IPv4, 128/129 for IPv6).
        icmp_type: u8,
        /// Echo identifier.
        id: u16,
        /// Echo sequence number.
        seq: u16,
    },
}

impl Transport<'_> {
    fn protocol(&self, ip: &Ip) -> u8 {
        match (self, ip) {
            (Transport::Tcp { .. }, _) => 6,
            (Transport::Udp { .. }, _) => 17,
            (Transport::IcmpEcho { .. }, Ip::V4 { .. }) => 1,
            (Transport::IcmpEcho { .. }, Ip::V6 { .. }) => 58,
        }
    }
}

/// Replaces `out` with the frame: link, IP and transport headers, then `payload`; with
/// `pad` a frame shorter than 60 bytes is padded with zeros (as a received frame is).
pub(crate) fn build_frame(
    out: &mut Vec<u8>,
    link: &Link,
    ip: &Ip,
    transport: &Transport<'_>,
    payload: &[u8],
    pad: bool,
) {
    out.clear();
    out.extend_from_slice(&link.dst_mac);
    out.extend_from_slice(&link.src_mac);
    let tags = link.vlans.iter().take(usize::from(link.vlan_count.min(2)));
    let tag_count = tags.len();
    for (i, &vid) in tags.enumerate() {
        let tpid = if tag_count == 2 && i == 0 {
            ETHERTYPE_QINQ
        } else {
            ETHERTYPE_VLAN
        };
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    let ethertype = match ip {
        Ip::V4 { .. } => ETHERTYPE_IPV4,
        Ip::V6 { .. } => ETHERTYPE_IPV6,
    };
    out.extend_from_slice(&ethertype.to_be_bytes());

    let protocol = transport.protocol(ip);
    let ip_start = out.len();
    let transport_len = transport_header_len(transport) + payload.len();
    let mut pseudo = 0u64;
    match *ip {
        Ip::V4 {
            src,
            dst,
            ttl,
            id,
            dont_fragment,
            tos,
        } => {
            let total = (20 + transport_len).min(usize::from(u16::MAX)) as u16;
            let flags: u16 = if dont_fragment { 0x4000 } else { 0 };
            out.extend_from_slice(&[0x45, tos]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&flags.to_be_bytes());
            out.extend_from_slice(&[ttl, protocol, 0, 0]);
            out.extend_from_slice(&src);
            out.extend_from_slice(&dst);
            let sum = checksum(out.get(ip_start..).unwrap_or_default(), 0);
            if let Some(field) = out.get_mut(ip_start + 10..ip_start + 12) {
                field.copy_from_slice(&sum.to_be_bytes());
            }
            pseudo = sum_words(&src, pseudo);
            pseudo = sum_words(&dst, pseudo);
            pseudo += u64::from(protocol) + transport_len as u64;
        }
        Ip::V6 {
            src,
            dst,
            hop_limit,
            flow_label,
            traffic_class,
        } => {
            let first = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0xf_ffff);
            out.extend_from_slice(&first.to_be_bytes());
            out.extend_from_slice(&(transport_len.min(usize::from(u16::MAX)) as u16).to_be_bytes());
            out.extend_from_slice(&[protocol, hop_limit]);
            out.extend_from_slice(&src);
            out.extend_from_slice(&dst);
            pseudo = sum_words(&src, pseudo);
            pseudo = sum_words(&dst, pseudo);
            pseudo += u64::from(protocol) + transport_len as u64;
        }
    }

    let transport_start = out.len();
    let checksum_at = match *transport {
        Transport::Tcp {
            src_port,
            dst_port,
            seq,
            ack,
            flags,
            window,
            options,
        } => {
            let options = options.get(..options.len().min(40)).unwrap_or_default();
            let header_len = transport_header_len(transport);
            out.extend_from_slice(&src_port.to_be_bytes());
            out.extend_from_slice(&dst_port.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&ack.to_be_bytes());
            out.extend_from_slice(&[((header_len / 4) as u8) << 4, flags]);
            out.extend_from_slice(&window.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(options);
            out.resize(transport_start + header_len, 0);
            transport_start + 16
        }
        Transport::Udp { src_port, dst_port } => {
            let len = transport_len.min(usize::from(u16::MAX)) as u16;
            out.extend_from_slice(&src_port.to_be_bytes());
            out.extend_from_slice(&dst_port.to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            transport_start + 6
        }
        Transport::IcmpEcho { icmp_type, id, seq } => {
            out.extend_from_slice(&[icmp_type, 0, 0, 0]);
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
            if protocol == 1 {
                // ICMPv4 has no pseudo-header.
                pseudo = 0;
            }
            transport_start + 2
        }
    };
    out.extend_from_slice(payload);
    let mut sum = checksum(out.get(transport_start..).unwrap_or_default(), pseudo);
    if sum == 0 && protocol == 17 {
        sum = 0xffff;
    }
    if let Some(field) = out.get_mut(checksum_at..checksum_at + 2) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
    if pad && out.len() < MIN_FRAME {
        out.resize(MIN_FRAME, 0);
    }
}

/// Length of the transport header, options included.
fn transport_header_len(transport: &Transport<'_>) -> usize {
    match transport {
        Transport::Tcp { options, .. } => 20 + options.len().min(40).div_ceil(4) * 4,
        Transport::Udp { .. } | Transport::IcmpEcho { .. } => 8,
    }
}

/// Adds `data` as big-endian 16-bit words (an odd last byte padded with zero) to `acc`.
fn sum_words(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc += (w >> 48) + ((w >> 32) & 0xffff) + ((w >> 16) & 0xffff) + (w & 0xffff);
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for c in &mut words {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// The Internet checksum of `data` with `acc` already summed (the pseudo-header).
fn checksum(data: &[u8], acc: u64) -> u16 {
    let mut sum = sum_words(data, acc);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: Link = Link {
        dst_mac: [2, 0, 0, 0, 0, 1],
        src_mac: [2, 0, 0, 0, 0, 2],
        vlans: [0, 0],
        vlan_count: 0,
    };

    fn v4() -> Ip {
        Ip::V4 {
            src: [192, 168, 1, 10],
            dst: [93, 184, 216, 34],
            ttl: 64,
            id: 0x1234,
            dont_fragment: true,
            tos: 0,
        }
    }

    #[test]
    fn ipv4_header_checksum_matches_a_known_header() {
        // The classic example header from RFC 1071 discussions (Wikipedia's IPv4 article):
        // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
        let header = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&header, 0), 0xb861);
        assert_eq!(checksum(&[0x01], 0), !0x0100);
    }

    #[test]
    fn tcp_frame_layout_and_checksums() {
        let mut out = Vec::new();
        let options = [2, 4, 0x05, 0xb4, 4, 2, 1];
        let tcp = Transport::Tcp {
            src_port: 40000,
            dst_port: 80,
            seq: 1000,
            ack: 0,
            flags: 0x02,
            window: 64240,
            options: &options,
        };
        build_frame(&mut out, &LINK, &v4(), &tcp, b"", false);
        // 14 Ethernet + 20 IPv4 + 20 TCP + 8 options (7 padded to 8).
        assert_eq!(out.len(), 62);
        assert_eq!(&out[12..14], &[0x08, 0x00]);
        assert_eq!(&out[16..18], &48u16.to_be_bytes());
        assert_eq!(checksum(&out[14..34], 0), 0, "IPv4 header sums to zero");
        assert_eq!(out[46] >> 4, 7, "data offset");
        assert_eq!(out[47], 0x02);
        assert_eq!(&out[54..62], &[2, 4, 0x05, 0xb4, 4, 2, 1, 0]);
        let mut pseudo = sum_words(&out[26..34], 0);
        pseudo += 6 + 28;
        assert_eq!(checksum(&out[34..], pseudo), 0, "TCP checksum verifies");
    }

    #[test]
    fn vlan_tags_padding_and_udp_over_ipv6() {
        let mut out = Vec::new();
        let link = Link {
            vlans: [1000, 20],
            vlan_count: 2,
            ..LINK
        };
        let ip = Ip::V6 {
            src: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            dst: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            hop_limit: 64,
            flow_label: 0xabcde,
            traffic_class: 0,
        };
        build_frame(
            &mut out,
            &link,
            &ip,
            &Transport::Udp {
                src_port: 5353,
                dst_port: 53,
            },
            b"abc",
            true,
        );
        assert_eq!(&out[12..14], &[0x88, 0xa8]);
        assert_eq!(&out[14..16], &1000u16.to_be_bytes());
        assert_eq!(&out[16..18], &[0x81, 0x00]);
        assert_eq!(&out[18..20], &20u16.to_be_bytes());
        assert_eq!(&out[20..22], &[0x86, 0xdd]);
        assert_eq!(&out[22..26], &[0x60, 0x0a, 0xbc, 0xde]);
        assert_eq!(&out[26..28], &11u16.to_be_bytes());
        let udp = &out[62..73];
        assert_eq!(&udp[4..6], &11u16.to_be_bytes());
        let pseudo = sum_words(&out[30..62], 0) + 17 + 11;
        assert_eq!(checksum(udp, pseudo), 0);
        assert_eq!(out.len(), 73, "long enough: no padding");

        build_frame(
            &mut out,
            &LINK,
            &v4(),
            &Transport::Udp {
                src_port: 1,
                dst_port: 2,
            },
            b"",
            true,
        );
        assert_eq!(out.len(), 60, "padded to the Ethernet minimum");
        assert_eq!(
            &out[16..18],
            &28u16.to_be_bytes(),
            "IP length excludes padding"
        );
    }

    #[test]
    fn icmp_echo_checksums() {
        let mut out = Vec::new();
        let echo = Transport::IcmpEcho {
            icmp_type: 8,
            id: 7,
            seq: 1,
        };
        build_frame(&mut out, &LINK, &v4(), &echo, &[0xab; 56], false);
        assert_eq!(out[23], 1, "protocol ICMP");
        assert_eq!(checksum(&out[34..], 0), 0);
    }
}
