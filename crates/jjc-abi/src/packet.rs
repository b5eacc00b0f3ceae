//! The decoded packet as features see it (`pkt.*` in `.jjf`).

use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Maximum number of VLAN tags kept per packet (802.1Q, QinQ, and one more).
pub const MAX_VLANS: usize = 3;

/// An IP address as 16 bytes: IPv6 as is, IPv4 in the last 4 bytes with the rest zero.
///
/// Whether it is IPv4 or IPv6 is told by [`PacketView::ip_version`], never guessed from the bytes.
pub type IpBytes = [u8; 16];

/// Who sent a packet, relative to its flow.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Sent by the flow's initiator (the sender of its first packet).
    #[default]
    Fwd = 0,
    /// Sent by the flow's responder.
    Bwd = 1,
}

/// TCP flag bits as they appear in the header's flags byte; `NS` is bit 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags;

impl TcpFlags {
    /// FIN: no more data from the sender.
    pub const FIN: u16 = 0x01;
    /// SYN: synchronise sequence numbers.
    pub const SYN: u16 = 0x02;
    /// RST: reset the connection.
    pub const RST: u16 = 0x04;
    /// PSH: push buffered data.
    pub const PSH: u16 = 0x08;
    /// ACK: the acknowledgment field is significant.
    pub const ACK: u16 = 0x10;
    /// URG: the urgent pointer is significant.
    pub const URG: u16 = 0x20;
    /// ECE: ECN echo.
    pub const ECE: u16 = 0x40;
    /// CWR: congestion window reduced.
    pub const CWR: u16 = 0x80;
    /// NS: ECN nonce (RFC 3540), bit 8.
    pub const NS: u16 = 0x100;
}

/// One decoded IP packet: every field a feature can read, at fixed offsets.
///
/// Built by the decoder without heap allocation; borrowed bytes (payload, TCP options)
/// point into the capture's record and live as long as `'a`. The layout is `#[repr(C)]`
/// because JIT-compiled kernels read fields by offset.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PacketView<'a> {
    /// Capture time in seconds since the epoch (seconds + fraction, as JoyfulJay computes it).
    pub ts: f64,
    payload_ptr: *const u8,
    tcp_options_ptr: *const u8,
    payload_caplen: u32,
    /// IP total length of the flow's IP header (IPv6: payload length + 40) [JoyfulJay `total_len`].
    pub len: u32,
    /// Transport payload length on the wire: for TCP/UDP the IP total length minus the IP and
    /// transport headers; for other protocols (and non-first fragments) the whole IP payload.
    pub payload_len: u32,
    /// Length of the frame on the wire, as the capture record says (link layer included).
    pub wire_len: u32,
    /// Bytes of the frame that were captured (≤ `wire_len` when the snaplen cut it).
    pub cap_len: u32,
    /// IP identification (IPv4: 16 bits; IPv6: the fragment header's 32-bit id, else 0).
    pub ip_id: u32,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// TCP sequence number (0 if not TCP).
    pub tcp_seq: u32,
    /// TCP acknowledgment number (0 if not TCP).
    pub tcp_ack: u32,
    /// Source address of the flow's IP header.
    pub src_ip: IpBytes,
    /// Destination address of the flow's IP header.
    pub dst_ip: IpBytes,
    /// VLAN ids, outermost first; `vlan_count` of them are valid.
    pub vlans: [u16; MAX_VLANS],
    /// Transport source port (TCP, UDP, SCTP), else 0.
    pub src_port: u16,
    /// Transport destination port (TCP, UDP, SCTP), else 0.
    pub dst_port: u16,
    /// TCP flags (see [`TcpFlags`]), 0 if not TCP.
    pub tcp_flags: u16,
    /// TCP window field, unscaled (0 if not TCP).
    pub tcp_window: u16,
    /// Fragment offset in bytes (0 for unfragmented packets and first fragments).
    pub frag_offset: u16,
    /// IP protocol of the transport (after IPv6 extension headers and IP-in-IP).
    pub protocol: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 TOS byte or IPv6 traffic class.
    pub tos: u8,
    /// ICMP / ICMPv6 type (0 if not ICMP).
    pub icmp_type: u8,
    /// ICMP / ICMPv6 code (0 if not ICMP).
    pub icmp_code: u8,
    /// Number of valid entries in `vlans`.
    pub vlan_count: u8,
    /// 1 if the frame had a link layer with MAC addresses (Ethernet, SLL with an address), else 0.
    pub has_mac: u8,
    /// 1 if this packet is an IP fragment (first or later), else 0.
    pub is_fragment: u8,
    /// 1 if more fragments follow this one, else 0.
    pub more_fragments: u8,
    /// Number of IP-in-IP encapsulations removed to reach the flow's IP header.
    pub tunnel_depth: u8,
    /// Direction within the flow; set by the flow table before features see the packet.
    pub dir: Direction,
    tcp_options_len: u8,
    _bytes: PhantomData<&'a [u8]>,
}

impl std::fmt::Debug for PacketView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketView")
            .field("ts", &self.ts)
            .field("src", &(self.src_addr(), self.src_port))
            .field("dst", &(self.dst_addr(), self.dst_port))
            .field("protocol", &self.protocol)
            .field("len", &self.len)
            .field("payload_len", &self.payload_len)
            .field("payload", &self.payload().len())
            .field("tcp_flags", &self.tcp_flags)
            .field("vlans", &self.vlan_ids())
            .field("is_fragment", &self.is_fragment)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Default for PacketView<'_> {
    fn default() -> Self {
        PacketView {
            ts: 0.0,
            payload_ptr: std::ptr::null(),
            tcp_options_ptr: std::ptr::null(),
            payload_caplen: 0,
            len: 0,
            payload_len: 0,
            wire_len: 0,
            cap_len: 0,
            ip_id: 0,
            flow_label: 0,
            tcp_seq: 0,
            tcp_ack: 0,
            src_ip: [0; 16],
            dst_ip: [0; 16],
            vlans: [0; MAX_VLANS],
            src_port: 0,
            dst_port: 0,
            tcp_flags: 0,
            tcp_window: 0,
            frag_offset: 0,
            protocol: 0,
            ip_version: 4,
            ttl: 0,
            tos: 0,
            icmp_type: 0,
            icmp_code: 0,
            vlan_count: 0,
            has_mac: 0,
            is_fragment: 0,
            more_fragments: 0,
            tunnel_depth: 0,
            dir: Direction::Fwd,
            tcp_options_len: 0,
            _bytes: PhantomData,
        }
    }
}

// SAFETY: the raw pointers only ever point into a `&'a [u8]` (see `set_payload` and
// `set_tcp_options`), which is itself Send and Sync.
unsafe impl Send for PacketView<'_> {}
// SAFETY: as above.
unsafe impl Sync for PacketView<'_> {}

impl PacketView<'_> {
    /// Byte offset of the payload pointer, for code generators.
    pub const PAYLOAD_PTR_OFFSET: usize = std::mem::offset_of!(PacketView<'static>, payload_ptr);
    /// Byte offset of the captured payload length (`u32`), for code generators.
    pub const PAYLOAD_CAPLEN_OFFSET: usize =
        std::mem::offset_of!(PacketView<'static>, payload_caplen);
    /// Byte offset of the TCP options pointer, for code generators.
    pub const TCP_OPTIONS_PTR_OFFSET: usize =
        std::mem::offset_of!(PacketView<'static>, tcp_options_ptr);
    /// Byte offset of the TCP options length (`u8`), for code generators.
    pub const TCP_OPTIONS_LEN_OFFSET: usize =
        std::mem::offset_of!(PacketView<'static>, tcp_options_len);
}

impl<'a> PacketView<'a> {
    /// The captured bytes of the TCP/UDP/SCTP payload (empty for other protocols and for
    /// what the snaplen cut off).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        if self.payload_caplen == 0 {
            return &[];
        }
        // SAFETY: set only by `set_payload` from a `&'a [u8]` of exactly this length.
        unsafe { std::slice::from_raw_parts(self.payload_ptr, self.payload_caplen as usize) }
    }

    /// Points the payload at `bytes` (its captured part).
    #[inline]
    pub fn set_payload(&mut self, bytes: &'a [u8]) {
        self.payload_ptr = bytes.as_ptr();
        self.payload_caplen = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        if self.payload_caplen as usize != bytes.len() {
            self.payload_caplen = 0;
        }
    }

    /// Drops the borrowed bytes (payload and TCP options), giving a view that owns nothing.
    #[inline]
    pub fn without_bytes<'b>(&self) -> PacketView<'b> {
        let mut v = *self;
        v.payload_ptr = std::ptr::null();
        v.payload_caplen = 0;
        v.tcp_options_ptr = std::ptr::null();
        v.tcp_options_len = 0;
        // SAFETY: no pointer into borrowed bytes remains; only the lifetime parameter changes.
        unsafe { std::mem::transmute::<PacketView<'a>, PacketView<'b>>(v) }
    }

    /// The TCP options bytes (empty if not TCP or none).
    #[inline]
    pub fn tcp_options(&self) -> &'a [u8] {
        if self.tcp_options_len == 0 {
            return &[];
        }
        // SAFETY: set only by `set_tcp_options` from a `&'a [u8]` of exactly this length.
        unsafe { std::slice::from_raw_parts(self.tcp_options_ptr, self.tcp_options_len as usize) }
    }

    /// Points the TCP options at `bytes` (at most 40 bytes in a valid header; longer is cut).
    #[inline]
    pub fn set_tcp_options(&mut self, bytes: &'a [u8]) {
        let n = bytes.len().min(u8::MAX as usize);
        self.tcp_options_ptr = bytes.as_ptr();
        self.tcp_options_len = n as u8;
    }

    /// The VLAN ids of the frame, outermost first.
    #[inline]
    pub fn vlan_ids(&self) -> &[u16] {
        &self.vlans[..(self.vlan_count as usize).min(MAX_VLANS)]
    }

    /// The innermost VLAN id, 0 if the frame had none.
    #[inline]
    pub fn inner_vlan(&self) -> u16 {
        self.vlan_ids().last().copied().unwrap_or(0)
    }

    /// The source address as an [`IpAddr`].
    pub fn src_addr(&self) -> IpAddr {
        ip_from_bytes(self.ip_version, &self.src_ip)
    }

    /// The destination address as an [`IpAddr`].
    pub fn dst_addr(&self) -> IpAddr {
        ip_from_bytes(self.ip_version, &self.dst_ip)
    }

    /// Whether the packet has the given TCP flag bits (all of them).
    #[inline]
    pub fn has_tcp_flags(&self, bits: u16) -> bool {
        self.tcp_flags & bits == bits
    }
}

/// Turns 16 address bytes into an [`IpAddr`] of the given IP version.
pub fn ip_from_bytes(version: u8, bytes: &IpBytes) -> IpAddr {
    if version == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_detaches() {
        let data = b"GET / HTTP/1.1".to_vec();
        let mut v = PacketView::default();
        assert!(v.payload().is_empty());
        v.set_payload(&data);
        v.set_tcp_options(&data[..4]);
        assert_eq!(v.payload(), b"GET / HTTP/1.1");
        assert_eq!(v.tcp_options(), b"GET ");
        let owned: PacketView<'static> = v.without_bytes();
        assert!(owned.payload().is_empty());
        assert!(owned.tcp_options().is_empty());
    }

    #[test]
    fn addresses_and_vlans() {
        let mut v = PacketView::default();
        v.src_ip[12..].copy_from_slice(&[10, 0, 0, 1]);
        v.vlans = [1, 10, 100];
        v.vlan_count = 2;
        assert_eq!(v.src_addr().to_string(), "10.0.0.1");
        assert_eq!(v.vlan_ids(), &[1, 10]);
        assert_eq!(v.inner_vlan(), 10);
        v.ip_version = 6;
        assert_eq!(v.src_addr().to_string(), "::a00:1");
    }
}
