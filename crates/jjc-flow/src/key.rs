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
        // Bytewise order of the addresses is the order of their big-endian integers, which
        // compare in two instructions rather than a byte loop.
        let a = (u128::from_be_bytes(pkt.src_ip), pkt.src_port);
        let b = (u128::from_be_bytes(pkt.dst_ip), pkt.dst_port);
        let ((lo_ip, lo_port), (hi_ip, hi_port)) = if a <= b { (a, b) } else { (b, a) };
        let mut vlans = [0; MAX_VLANS];
        let n = (pkt.vlan_count as usize).min(MAX_VLANS);
        vlans[..n].copy_from_slice(&pkt.vlans[..n]);
        FlowKey {
            lo_ip: lo_ip.to_be_bytes(),
            hi_ip: hi_ip.to_be_bytes(),
            lo_port,
            hi_port,
            protocol: pkt.protocol,
            ip_version: pkt.ip_version,
            vlan_count: n as u8,
            vlans,
        }
    }
}

/// The fixed, unseeded hash of a key: the only hash computed per packet. It picks the key's
/// partition (so it never changes between runs or thread counts, and `--max-flows` evictions
/// and the output are reproducible) and, mixed with a per-run random seed
/// (`seeded`), places the key in its partition's hash table, so hostile captures cannot
/// aim at table collisions.
#[inline]
pub fn partition_hash(key: &FlowKey) -> u64 {
    let w = key.words();
    let a = fold_mul(w[0] ^ K[0], w[1] ^ K[1]);
    let b = fold_mul(w[2] ^ K[2], w[3] ^ K[3]);
    let c = fold_mul(w[4] ^ K[1], w[5] ^ K[2]);
    fold_mul(a ^ c ^ K[3], b ^ K[0])
}

/// The table hash of a key whose [`partition_hash`] is `h`, under a run's random `seed`.
#[inline]
pub fn seeded(h: u64, seed: u64) -> u64 {
    fold_mul(h ^ seed, K[2])
}

/// Constants of the hash (digits of π).
const K: [u64; 4] = [
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
];

/// The 128-bit product of `a` and `b`, folded to 64 bits.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

impl FlowKey {
    /// The key as six words, for hashing.
    #[inline]
    fn words(&self) -> [u64; 6] {
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let small = u64::from(self.lo_port)
            | u64::from(self.hi_port) << 16
            | u64::from(self.protocol) << 32
            | u64::from(self.ip_version) << 40
            | u64::from(self.vlan_count) << 48;
        let vlans = u64::from(self.vlans[0])
            | u64::from(self.vlans[1]) << 16
            | u64::from(self.vlans[2]) << 32;
        [
            word(&self.lo_ip[..8]),
            word(&self.lo_ip[8..]),
            word(&self.hi_ip[..8]),
            word(&self.hi_ip[8..]),
            small,
            vlans,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: u64 = 2_635_168_557_464_760_693;

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
    fn the_lower_endpoint_is_the_bytewise_smaller_address_then_port() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000 {
            let mut p = PacketView::default();
            for b in p.src_ip.iter_mut().chain(p.dst_ip.iter_mut()) {
                // Few distinct bytes, so equal prefixes and equal addresses are common.
                *b = (next() % 3) as u8 * 0x7f;
            }
            if i % 4 == 0 {
                p.dst_ip = p.src_ip;
            }
            (p.src_port, p.dst_port) = ((next() % 3) as u16, (next() % 3) as u16);
            let (a, b) = ((p.src_ip, p.src_port), (p.dst_ip, p.dst_port));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let k = FlowKey::of(&p);
            assert_eq!(((k.lo_ip, k.lo_port), (k.hi_ip, k.hi_port)), (lo, hi));
        }
    }

    #[test]
    fn partition_hash_is_fixed() {
        // Pinned: changing the hash changes --max-flows behaviour across releases.
        let k = FlowKey::of(&pkt([192, 168, 1, 10], 5000, [10, 0, 0, 1], 27015));
        assert_eq!(partition_hash(&k), PINNED);
    }
}
