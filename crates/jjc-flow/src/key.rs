//! The canonical, direction-free flow key.

use jjc_abi::{IpBytes, MAX_VLANS, PacketView};

/// Identifies a bidirectional flow: the two endpoints in canonical order (the smaller
/// (address, port) first, compared bytewise), the protocol, the IP version and the VLAN stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// The smaller endpoint's address.
    pub lo_ip: IpBytes,
    /// The larger endpoint's address.
    pub hi_ip: IpBytes,
    /// The smaller endpoint's port.
    pub lo_port: u16,
    /// The larger endpoint's port.
    pub hi_port: u16,
    /// IP protocol of the transport.
    pub protocol: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// Number of valid VLAN ids.
    pub vlan_count: u8,
    /// VLAN ids, outermost first; unused entries are 0.
    pub vlans: [u16; MAX_VLANS],
}

impl FlowKey {
    /// The key of the flow a packet belongs to.
    #[inline]
    pub fn of(pkt: &PacketView<'_>) -> FlowKey {
        let a = (pkt.src_ip, pkt.src_port);
        let b = (pkt.dst_ip, pkt.dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut vlans = [0; MAX_VLANS];
        let n = (pkt.vlan_count as usize).min(MAX_VLANS);
        vlans[..n].copy_from_slice(&pkt.vlans[..n]);
        FlowKey {
            lo_ip: lo.0,
            hi_ip: hi.0,
            lo_port: lo.1,
            hi_port: hi.1,
            protocol: pkt.protocol,
            ip_version: pkt.ip_version,
            vlan_count: n as u8,
            vlans,
        }
    }
}

/// The fixed, unseeded hash that assigns a key to a partition (64-bit FNV-1a over the key's
/// fields in declaration order). It never changes between runs or thread counts, so
/// `--max-flows` evictions and the output are reproducible.
#[inline]
pub fn partition_hash(key: &FlowKey) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    };
    eat(&key.lo_ip);
    eat(&key.hi_ip);
    eat(&key.lo_port.to_be_bytes());
    eat(&key.hi_port.to_be_bytes());
    eat(&[key.protocol, key.ip_version, key.vlan_count]);
    for v in key.vlans {
        eat(&v.to_be_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: u64 = 18_100_732_690_877_584_802;

    fn pkt(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> PacketView<'static> {
        let mut p = PacketView::default();
        p.src_ip[12..].copy_from_slice(&src);
        p.dst_ip[12..].copy_from_slice(&dst);
        p.src_port = sport;
        p.dst_port = dport;
        p.protocol = 6;
        p
    }

    #[test]
    fn both_directions_share_a_key() {
        let a = pkt([10, 0, 0, 9], 5000, [10, 0, 0, 10], 80);
        let b = pkt([10, 0, 0, 10], 80, [10, 0, 0, 9], 5000);
        assert_eq!(FlowKey::of(&a), FlowKey::of(&b));
        assert_eq!(
            partition_hash(&FlowKey::of(&a)),
            partition_hash(&FlowKey::of(&b))
        );
    }

    #[test]
    fn vlan_stack_and_ports_separate_flows() {
        let a = pkt([10, 0, 0, 1], 1, [10, 0, 0, 2], 2);
        let mut b = a;
        b.vlans = [7, 0, 0];
        b.vlan_count = 1;
        assert_ne!(FlowKey::of(&a), FlowKey::of(&b));
        let c = pkt([10, 0, 0, 1], 1, [10, 0, 0, 2], 3);
        assert_ne!(FlowKey::of(&a), FlowKey::of(&c));
    }

    #[test]
    fn partition_hash_is_fixed() {
        // Pinned: changing the hash changes --max-flows behaviour across releases.
        let k = FlowKey::of(&pkt([192, 168, 1, 10], 5000, [10, 0, 0, 1], 27015));
        assert_eq!(partition_hash(&k), PINNED);
    }
}
