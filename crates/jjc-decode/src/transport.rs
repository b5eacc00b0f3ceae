//! Transport headers: ports, TCP fields, ICMP type/code, payload bounds.

use jjc_abi::PacketView;

use crate::bytes::{be16, be32, len_u32, u8_at};
use crate::ip::proto;

/// TCP header length without options.
const TCP_MIN_LEN: usize = 20;
/// UDP header length.
const UDP_LEN: usize = 8;
/// SCTP common header length.
const SCTP_LEN: usize = 12;
/// ICMP / ICMPv6 fixed header length (type, code, checksum).
const ICMP_LEN: usize = 4;

/// What was wrong with a transport header that was still decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TransportNotes {
    /// The capture cut the header; fields past the cut read as 0.
    pub header_truncated: bool,
    /// The header contradicts the IP length (bad data offset, longer than the IP payload).
    pub header_malformed: bool,
    /// The TCP/UDP payload was cut by the capture.
    pub payload_truncated: bool,
}

/// Fills the transport fields of `view` from `l4`, the captured bytes after the IP headers
/// (cut at the IP length), of which `wire_len` bytes were on the wire. Not for later
/// fragments, which carry no transport header.
pub(crate) fn parse_transport<'a>(
    protocol: u8,
    l4: &'a [u8],
    wire_len: u32,
    view: &mut PacketView<'a>,
) -> TransportNotes {
    match protocol {
        proto::TCP => tcp(l4, wire_len, view),
        proto::UDP => {
            let mut notes = ports(l4, UDP_LEN, view);
            notes.header_malformed = (wire_len as usize) < UDP_LEN;
            payload(l4, UDP_LEN, wire_len, view, &mut notes);
            notes
        }
        proto::SCTP => {
            view.payload_len = wire_len;
            ports(l4, SCTP_LEN, view)
        }
        proto::ICMP | proto::ICMPV6 => {
            // An ICMP error quotes an IP header: it is not this packet's flow; ignored.
            view.icmp_type = u8_at(l4, 0).unwrap_or(0);
            view.icmp_code = u8_at(l4, 1).unwrap_or(0);
            view.payload_len = wire_len;
            TransportNotes {
                header_truncated: l4.len() < ICMP_LEN,
                ..TransportNotes::default()
            }
        }
        _ => {
            view.payload_len = wire_len;
            TransportNotes::default()
        }
    }
}

/// Reads the source and destination ports (the first 4 bytes); a header shorter than 4
/// captured bytes leaves the packet port-less.
fn ports(l4: &[u8], header_len: usize, view: &mut PacketView<'_>) -> TransportNotes {
    if let (Some(src), Some(dst)) = (be16(l4, 0), be16(l4, 2)) {
        view.src_port = src;
        view.dst_port = dst;
    }
    TransportNotes {
        header_truncated: l4.len() < header_len,
        ..TransportNotes::default()
    }
}

fn tcp<'a>(l4: &'a [u8], wire_len: u32, view: &mut PacketView<'a>) -> TransportNotes {
    let offset_byte = u8_at(l4, 12);
    let declared_len = offset_byte.map_or(TCP_MIN_LEN, |b| usize::from(b >> 4) * 4);
    let bad_offset = declared_len < TCP_MIN_LEN;
    let header_len = declared_len.max(TCP_MIN_LEN);
    let mut notes = ports(l4, header_len, view);
    notes.header_malformed = bad_offset || (wire_len as usize) < header_len;
    view.tcp_seq = be32(l4, 4).unwrap_or(0);
    view.tcp_ack = be32(l4, 8).unwrap_or(0);
    let ns = offset_byte.map_or(0, |b| u16::from(b & 1) << 8);
    view.tcp_flags = u8_at(l4, 13).map_or(0, |f| u16::from(f) | ns);
    view.tcp_window = be16(l4, 14).unwrap_or(0);
    view.set_tcp_options(l4.get(TCP_MIN_LEN..header_len.min(l4.len())).unwrap_or(&[]));
    payload(l4, header_len, wire_len, view, &mut notes);
    notes
}

/// Sets `payload_len` (wire length minus the header, floor 0) and the captured payload.
fn payload<'a>(
    l4: &'a [u8],
    header_len: usize,
    wire_len: u32,
    view: &mut PacketView<'a>,
    notes: &mut TransportNotes,
) {
    view.payload_len = wire_len.saturating_sub(len_u32(header_len));
    let captured = l4.get(header_len..).unwrap_or(&[]);
    view.set_payload(captured);
    notes.payload_truncated = !notes.header_truncated && captured.len() < view.payload_len as usize;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TCP header (`data offset` from the options) plus payload.
    pub(crate) fn tcp_segment(
        src: u16,
        dst: u16,
        flags: u16,
        options: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let header_len = 20 + options.len();
        let mut t = Vec::new();
        t.extend_from_slice(&src.to_be_bytes());
        t.extend_from_slice(&dst.to_be_bytes());
        t.extend_from_slice(&1000u32.to_be_bytes());
        t.extend_from_slice(&2000u32.to_be_bytes());
        t.push(((header_len / 4) as u8) << 4 | (flags >> 8) as u8);
        t.push(flags as u8);
        t.extend_from_slice(&[0x72, 0x10, 0, 0, 0, 0]);
        t.extend_from_slice(options);
        t.extend_from_slice(payload);
        t
    }

    /// A UDP header plus payload.
    pub(crate) fn udp_datagram(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        u.extend_from_slice(&src.to_be_bytes());
        u.extend_from_slice(&dst.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    fn run(protocol: u8, l4: &[u8], wire: u32) -> (PacketView<'_>, TransportNotes) {
        let mut v = PacketView::default();
        let notes = parse_transport(protocol, l4, wire, &mut v);
        (v, notes)
    }

    #[test]
    fn tcp_fields_options_and_payload() {
        let seg = tcp_segment(443, 51000, 0x1c2, &[2, 4, 5, 0xb4], b"hello");
        let (v, notes) = run(proto::TCP, &seg, 29);
        assert_eq!(
            (v.src_port, v.dst_port, v.tcp_seq, v.tcp_ack, v.tcp_window),
            (443, 51000, 1000, 2000, 0x7210)
        );
        assert_eq!(v.tcp_flags, 0x1c2);
        assert!(v.has_tcp_flags(
            jjc_abi::TcpFlags::NS | jjc_abi::TcpFlags::ECE | jjc_abi::TcpFlags::CWR
        ));
        assert_eq!(
            (v.tcp_options(), v.payload(), v.payload_len),
            (&[2, 4, 5, 0xb4][..], &b"hello"[..], 5)
        );
        assert_eq!(notes, TransportNotes::default());
        // Snaplen cut the payload: the wire length still counts.
        let (v, notes) = run(proto::TCP, &seg[..26], 29);
        assert_eq!(
            (v.payload(), v.payload_len, notes.payload_truncated),
            (&b"he"[..], 5, true)
        );
    }

    #[test]
    fn tcp_cut_inside_the_header_keeps_what_was_captured() {
        let seg = tcp_segment(80, 1234, 0x12, &[1, 1, 1, 1], &[]);
        let (v, notes) = run(proto::TCP, &seg[..14], 24);
        assert_eq!(
            (v.src_port, v.dst_port, v.tcp_flags, v.tcp_window),
            (80, 1234, 0x12, 0)
        );
        assert!(notes.header_truncated && !notes.payload_truncated);
        assert_eq!((v.payload_len, v.payload().len()), (0, 0));
        // Data offset not captured: the header is taken as 20 bytes.
        let (v, notes) = run(proto::TCP, &seg[..3], 24);
        assert_eq!(
            (v.src_port, v.dst_port, v.tcp_flags, v.payload_len),
            (0, 0, 0, 4)
        );
        assert!(notes.header_truncated);
    }

    #[test]
    fn tcp_bad_data_offset_and_short_ip_payload() {
        let mut seg = tcp_segment(1, 2, 0x10, &[], &[0; 10]);
        seg[12] = 0x30;
        let (v, notes) = run(proto::TCP, &seg, 30);
        assert!(notes.header_malformed);
        assert_eq!((v.payload_len, v.payload().len()), (10, 10));
        let seg = tcp_segment(1, 2, 0x10, &[0; 20], &[]);
        let (v, notes) = run(proto::TCP, &seg, 30);
        assert!(notes.header_malformed);
        assert_eq!(v.payload_len, 0);
    }

    #[test]
    fn udp_sctp_icmp_and_others() {
        let d = udp_datagram(53, 5353, b"abc");
        let (v, notes) = run(proto::UDP, &d, 11);
        assert_eq!(
            (v.src_port, v.dst_port, v.payload_len, v.payload()),
            (53, 5353, 3, &b"abc"[..])
        );
        assert_eq!(notes, TransportNotes::default());
        assert_eq!(v.tcp_flags, 0);
        let (v, notes) = run(proto::UDP, &d[..4], 11);
        assert_eq!(
            (
                v.src_port,
                v.dst_port,
                v.payload_len,
                notes.header_truncated
            ),
            (53, 5353, 3, true)
        );

        let sctp = [0x0b, 0x59, 0x00, 0x50, 1, 2, 3, 4, 0, 0, 0, 0, 9, 9];
        let (v, notes) = run(proto::SCTP, &sctp, 14);
        assert_eq!(
            (v.src_port, v.dst_port, v.payload_len, v.payload().len()),
            (2905, 80, 14, 0)
        );
        assert!(!notes.header_truncated);

        // Time exceeded quoting a UDP packet: the quoted ports are not this packet's.
        let quoted = [vec![11, 0, 0, 0, 0, 0, 0, 0], udp_datagram(1, 2, &[])].concat();
        let (v, _) = run(proto::ICMP, &quoted, 16);
        assert_eq!(
            (
                v.icmp_type,
                v.icmp_code,
                v.src_port,
                v.dst_port,
                v.payload_len
            ),
            (11, 0, 0, 0, 16)
        );
        let (v, _) = run(proto::ICMPV6, &[128, 0, 0, 0], 4);
        assert_eq!((v.icmp_type, v.payload_len), (128, 4));
        let (v, notes) = run(47, &[0; 8], 8);
        assert_eq!(
            (v.src_port, v.payload_len, v.payload().len(), notes),
            (0, 8, 0, TransportNotes::default())
        );
    }
}
