//! The kernel signature: what the engine hands a compiled feature kernel.
//!
//! A kernel keeps its per-flow state in an array of 8-byte slots. The engine calls
//! [`UpdateFn`] once per packet and [`FinishFn`] once when the flow ends; `finish` writes one
//! 8-byte cell per output cell (ints, bools and string ids as `i64`, floats as `f64` bits,
//! addresses as two cells).

use crate::packet::{IpBytes, PacketView};

/// What a kernel's `finish` sees of a flow (`flow.*` in `.jjf`). `#[repr(C)]`: compiled
/// kernels read fields by offset.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FlowView {
    /// Time of the flow's first packet.
    pub start_time: f64,
    /// Time of the flow's last packet (file order).
    pub end_time: f64,
    /// `end_time - start_time`.
    pub duration: f64,
    /// Packets in both directions.
    pub packet_count: i64,
    /// Sum of `pkt.len` in both directions.
    pub byte_count: i64,
    /// Packets from the initiator.
    pub packets_fwd: i64,
    /// Packets from the responder.
    pub packets_bwd: i64,
    /// Bytes (sum of `pkt.len`) from the initiator.
    pub bytes_fwd: i64,
    /// Bytes from the responder.
    pub bytes_bwd: i64,
    /// Initiator port.
    pub src_port: i64,
    /// Responder port.
    pub dst_port: i64,
    /// IP protocol.
    pub protocol: i64,
    /// Innermost VLAN id, 0 if none.
    pub vlan_id: i64,
    /// 4 or 6.
    pub ip_version: i64,
    /// 1 if a FIN or RST was seen, else 0.
    pub terminated: i64,
    /// Initiator address (IPv4 in the last 4 bytes).
    pub src_ip: IpBytes,
    /// Responder address.
    pub dst_ip: IpBytes,
}

/// A compiled per-packet update: `update(state, pkt)`.
pub type UpdateFn = unsafe extern "C" fn(state: *mut u64, pkt: *const PacketView<'_>);

/// A compiled per-flow finish: `finish(state, flow, out)`.
pub type FinishFn = unsafe extern "C" fn(state: *mut u64, flow: *const FlowView, out: *mut u64);

/// Byte offsets of [`PacketView`] fields, for code generators.
pub mod packet_offsets {
    use std::mem::offset_of;

    use crate::packet::PacketView;

    /// `ts: f64`.
    pub const TS: usize = offset_of!(PacketView<'static>, ts);
    /// The payload pointer (`*const u8`).
    pub const PAYLOAD_PTR: usize = PacketView::PAYLOAD_PTR_OFFSET;
    /// The captured payload length (`u32`).
    pub const PAYLOAD_CAPLEN: usize = PacketView::PAYLOAD_CAPLEN_OFFSET;
    /// The TCP options pointer (`*const u8`).
    pub const TCP_OPTIONS_PTR: usize = PacketView::TCP_OPTIONS_PTR_OFFSET;
    /// The TCP options length (`u8`).
    pub const TCP_OPTIONS_LEN: usize = PacketView::TCP_OPTIONS_LEN_OFFSET;
    /// `len: u32`.
    pub const LEN: usize = offset_of!(PacketView<'static>, len);
    /// `payload_len: u32`.
    pub const PAYLOAD_LEN: usize = offset_of!(PacketView<'static>, payload_len);
    /// `wire_len: u32`.
    pub const WIRE_LEN: usize = offset_of!(PacketView<'static>, wire_len);
    /// `cap_len: u32`.
    pub const CAP_LEN: usize = offset_of!(PacketView<'static>, cap_len);
    /// `ip_id: u32`.
    pub const IP_ID: usize = offset_of!(PacketView<'static>, ip_id);
    /// `flow_label: u32`.
    pub const FLOW_LABEL: usize = offset_of!(PacketView<'static>, flow_label);
    /// `tcp_seq: u32`.
    pub const TCP_SEQ: usize = offset_of!(PacketView<'static>, tcp_seq);
    /// `tcp_ack: u32`.
    pub const TCP_ACK: usize = offset_of!(PacketView<'static>, tcp_ack);
    /// `src_ip: [u8; 16]`.
    pub const SRC_IP: usize = offset_of!(PacketView<'static>, src_ip);
    /// `dst_ip: [u8; 16]`.
    pub const DST_IP: usize = offset_of!(PacketView<'static>, dst_ip);
    /// `vlans: [u16; 3]`.
    pub const VLANS: usize = offset_of!(PacketView<'static>, vlans);
    /// `src_port: u16`.
    pub const SRC_PORT: usize = offset_of!(PacketView<'static>, src_port);
    /// `dst_port: u16`.
    pub const DST_PORT: usize = offset_of!(PacketView<'static>, dst_port);
    /// `tcp_flags: u16`.
    pub const TCP_FLAGS: usize = offset_of!(PacketView<'static>, tcp_flags);
    /// `tcp_window: u16`.
    pub const TCP_WINDOW: usize = offset_of!(PacketView<'static>, tcp_window);
    /// `frag_offset: u16`.
    pub const FRAG_OFFSET: usize = offset_of!(PacketView<'static>, frag_offset);
    /// `protocol: u8`.
    pub const PROTOCOL: usize = offset_of!(PacketView<'static>, protocol);
    /// `ip_version: u8`.
    pub const IP_VERSION: usize = offset_of!(PacketView<'static>, ip_version);
    /// `ttl: u8`.
    pub const TTL: usize = offset_of!(PacketView<'static>, ttl);
    /// `tos: u8`.
    pub const TOS: usize = offset_of!(PacketView<'static>, tos);
    /// `icmp_type: u8`.
    pub const ICMP_TYPE: usize = offset_of!(PacketView<'static>, icmp_type);
    /// `icmp_code: u8`.
    pub const ICMP_CODE: usize = offset_of!(PacketView<'static>, icmp_code);
    /// `vlan_count: u8`.
    pub const VLAN_COUNT: usize = offset_of!(PacketView<'static>, vlan_count);
    /// `has_mac: u8`.
    pub const HAS_MAC: usize = offset_of!(PacketView<'static>, has_mac);
    /// `is_fragment: u8`.
    pub const IS_FRAGMENT: usize = offset_of!(PacketView<'static>, is_fragment);
    /// `more_fragments: u8`.
    pub const MORE_FRAGMENTS: usize = offset_of!(PacketView<'static>, more_fragments);
    /// `tunnel_depth: u8`.
    pub const TUNNEL_DEPTH: usize = offset_of!(PacketView<'static>, tunnel_depth);
    /// `dir: Direction` (`u8`: 0 fwd, 1 bwd).
    pub const DIR: usize = offset_of!(PacketView<'static>, dir);
}

/// Byte offsets of [`FlowView`] fields, for code generators.
pub mod flow_offsets {
    use std::mem::offset_of;

    use super::FlowView;

    /// `start_time: f64`.
    pub const START_TIME: usize = offset_of!(FlowView, start_time);
    /// `end_time: f64`.
    pub const END_TIME: usize = offset_of!(FlowView, end_time);
    /// `duration: f64`.
    pub const DURATION: usize = offset_of!(FlowView, duration);
    /// `packet_count: i64`.
    pub const PACKET_COUNT: usize = offset_of!(FlowView, packet_count);
    /// `byte_count: i64`.
    pub const BYTE_COUNT: usize = offset_of!(FlowView, byte_count);
    /// `packets_fwd: i64`.
    pub const PACKETS_FWD: usize = offset_of!(FlowView, packets_fwd);
    /// `packets_bwd: i64`.
    pub const PACKETS_BWD: usize = offset_of!(FlowView, packets_bwd);
    /// `bytes_fwd: i64`.
    pub const BYTES_FWD: usize = offset_of!(FlowView, bytes_fwd);
    /// `bytes_bwd: i64`.
    pub const BYTES_BWD: usize = offset_of!(FlowView, bytes_bwd);
    /// `src_port: i64`.
    pub const SRC_PORT: usize = offset_of!(FlowView, src_port);
    /// `dst_port: i64`.
    pub const DST_PORT: usize = offset_of!(FlowView, dst_port);
    /// `protocol: i64`.
    pub const PROTOCOL: usize = offset_of!(FlowView, protocol);
    /// `vlan_id: i64`.
    pub const VLAN_ID: usize = offset_of!(FlowView, vlan_id);
    /// `ip_version: i64`.
    pub const IP_VERSION: usize = offset_of!(FlowView, ip_version);
    /// `terminated: i64`.
    pub const TERMINATED: usize = offset_of!(FlowView, terminated);
    /// `src_ip: [u8; 16]`.
    pub const SRC_IP: usize = offset_of!(FlowView, src_ip);
    /// `dst_ip: [u8; 16]`.
    pub const DST_IP: usize = offset_of!(FlowView, dst_ip);
}
