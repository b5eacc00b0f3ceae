//! The external floor: a minimal hand-written read+decode loop that uses none of jjc's crates —
//! a memory-mapped classic pcap walked record by record, each frame sliced by etherparse down
//! to its addresses and ports. No flow table, no features: what any tool must at least pay.

use std::path::Path;

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// Reads and decodes every packet of a little-endian microsecond pcap; returns the packets
/// decoded and a checksum of their ports (so the work cannot be optimised away).
pub fn read_and_decode(path: &Path) -> std::io::Result<(u64, u64)> {
    let file = std::fs::File::open(path)?;
    // SAFETY: the benchmark's own capture, not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let bytes: &[u8] = &map;
    let mut pos = 24;
    let (mut packets, mut sum) = (0u64, 0u64);
    while pos + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes([
            bytes[pos + 8],
            bytes[pos + 9],
            bytes[pos + 10],
            bytes[pos + 11],
        ]) as usize;
        let start = pos + 16;
        let Some(frame) = bytes.get(start..start + caplen) else {
            break;
        };
        pos = start + caplen;
        let Ok(p) = LaxSlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let len = match &p.net {
            Some(LaxNetSlice::Ipv4(ip)) => u64::from(ip.header().total_len()),
            Some(LaxNetSlice::Ipv6(ip)) => u64::from(ip.header().payload_length()) + 40,
            _ => continue,
        };
        let ports = match &p.transport {
            Some(TransportSlice::Tcp(t)) => {
                u64::from(t.source_port()) ^ u64::from(t.destination_port())
            }
            Some(TransportSlice::Udp(u)) => {
                u64::from(u.source_port()) ^ u64::from(u.destination_port())
            }
            _ => 0,
        };
        packets += 1;
        sum = sum.wrapping_add(ports ^ len);
    }
    Ok((packets, sum))
}
