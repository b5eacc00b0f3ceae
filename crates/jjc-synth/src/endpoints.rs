//! Who talks to whom: client and server addresses, ports, MACs, VLAN tags, TTLs, and the
//! per-direction IP header state of a flow.

use crate::frame::{Ip, Link};
use crate::rng::{Rng, mix64};

/// The router every client talks through.
const GATEWAY_MAC: [u8; 6] = [0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e];
/// VLAN ids a tagged flow may carry.
const VLAN_IDS: [u16; 5] = [10, 20, 100, 200, 300];
/// Outer (service) tag of double-tagged flows.
const SERVICE_VLAN: u16 = 1000;
/// IPv4 DNS resolvers (the first is the local router).
const DNS_V4: [[u8; 4]; 4] = [[192, 168, 1, 1], [8, 8, 8, 8], [1, 1, 1, 1], [9, 9, 9, 9]];
/// IPv6 DNS resolvers.
const DNS_V6: [[u8; 16]; 2] = [
    [
        0x20, 0x01, 0x48, 0x60, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x88,
    ],
    [
        0x26, 0x06, 0x47, 0x00, 0x47, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0x11,
    ],
];
/// Address prefixes (first two bytes) of IPv4 servers.
const SERVER_V4_PREFIXES: [[u8; 2]; 8] = [
    [93, 184],
    [151, 101],
    [142, 250],
    [104, 16],
    [13, 32],
    [52, 84],
    [185, 199],
    [198, 51],
];
/// Address prefixes (first four bytes) of IPv6 servers.
const SERVER_V6_PREFIXES: [[u8; 4]; 3] = [
    [0x26, 0x06, 0x47, 0x00],
    [0x2a, 0x00, 0x14, 0x50],
    [0x20, 0x01, 0x0d, 0xb8],
];

/// The two ends of one flow and the IP header state of each direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    /// IPv6 (else IPv4, in the first 4 bytes of the addresses).
    pub v6: bool,
    /// The initiator's address.
    pub client_ip: [u8; 16],
    /// The responder's address.
    pub server_ip: [u8; 16],
    /// The initiator's port (0 for ICMP).
    pub client_port: u16,
    /// The responder's port (0 for ICMP).
    pub server_port: u16,
    /// The client's MAC address (the server side is the gateway).
    pub client_mac: [u8; 6],
    /// VLAN ids, outermost first.
    pub vlans: [u16; 2],
    /// Number of VLAN tags (0, 1 or 2).
    pub vlan_count: u8,
    /// TTL / hop limit of the client's packets as captured.
    pub client_ttl: u8,
    /// TTL / hop limit of the server's packets as captured.
    pub server_ttl: u8,
    /// IPv6 flow labels, client then server.
    pub flow_labels: [u32; 2],
    /// Next IPv4 identification, client then server.
    pub ip_ids: [u16; 2],
}

impl Endpoints {
    /// The link layer of a packet in the given direction.
    pub(crate) fn link(&self, from_client: bool) -> Link {
        let (src_mac, dst_mac) = if from_client {
            (self.client_mac, GATEWAY_MAC)
        } else {
            (GATEWAY_MAC, self.client_mac)
        };
        Link {
            dst_mac,
            src_mac,
            vlans: self.vlans,
            vlan_count: self.vlan_count,
        }
    }

    /// The IP header of the next packet in the given direction (advancing its IP id).
    pub(crate) fn next_ip(&mut self, from_client: bool, dont_fragment: bool) -> Ip {
        let d = usize::from(!from_client);
        let (src, dst, ttl) = if from_client {
            (self.client_ip, self.server_ip, self.client_ttl)
        } else {
            (self.server_ip, self.client_ip, self.server_ttl)
        };
        if self.v6 {
            Ip::V6 {
                src,
                dst,
                hop_limit: ttl,
                flow_label: self.flow_labels.get(d).copied().unwrap_or(0),
                traffic_class: 0,
            }
        } else {
            let id = self.ip_ids.get(d).copied().unwrap_or(0);
            if let Some(next) = self.ip_ids.get_mut(d) {
                *next = id.wrapping_add(1);
            }
            Ip::V4 {
                src: [src[0], src[1], src[2], src[3]],
                dst: [dst[0], dst[1], dst[2], dst[3]],
                ttl,
                id,
                dont_fragment,
                tos: 0,
            }
        }
    }
}

/// Where the server of a new flow lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    /// A DNS resolver.
    Resolver,
    /// Any Internet server.
    Internet,
}

/// The hosts of the synthetic network: a few dozen clients and a few hundred servers, so
/// flows share endpoints as in real traffic.
#[derive(Debug)]
pub(crate) struct AddressPool {
    clients_v4: Vec<[u8; 16]>,
    clients_v6: Vec<[u8; 16]>,
    servers_v4: Vec<[u8; 16]>,
    servers_v6: Vec<[u8; 16]>,
    next_port: u32,
}

impl AddressPool {
    /// Draws the hosts.
    pub(crate) fn new(rng: &mut Rng) -> AddressPool {
        let mut clients_v4 = Vec::new();
        for i in 0..40u8 {
            let mut a = [0u8; 16];
            if i < 30 {
                a[..4].copy_from_slice(&[192, 168, 1, 10 + i]);
            } else {
                a[..4].copy_from_slice(&[10, 20, rng.below(256) as u8, 1 + rng.below(254) as u8]);
            }
            clients_v4.push(a);
        }
        let mut clients_v6 = Vec::new();
        for _ in 0..16 {
            let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            a[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            clients_v6.push(a);
        }
        let mut servers_v4 = Vec::new();
        for _ in 0..300 {
            let p = rng.pick(&SERVER_V4_PREFIXES).copied().unwrap_or([93, 184]);
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&[p[0], p[1], rng.below(256) as u8, 1 + rng.below(254) as u8]);
            servers_v4.push(a);
        }
        let mut servers_v6 = Vec::new();
        for _ in 0..80 {
            let p = rng
                .pick(&SERVER_V6_PREFIXES)
                .copied()
                .unwrap_or([0x20, 0x01, 0x0d, 0xb8]);
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&p);
            a[4..6].copy_from_slice(&(rng.below(65536) as u16).to_be_bytes());
            a[14..].copy_from_slice(&(1 + rng.below(4095) as u16).to_be_bytes());
            servers_v6.push(a);
        }
        AddressPool {
            clients_v4,
            clients_v6,
            servers_v4,
            servers_v6,
            next_port: 32768 + rng.below(28000) as u32,
        }
    }

    /// An ephemeral client port: Linux's range (32768–60999), advancing so that a port
    /// comes back only after thousands of flows.
    pub(crate) fn ephemeral_port(&mut self, rng: &mut Rng) -> u16 {
        self.next_port = 32768 + (self.next_port - 32768 + 1 + rng.below(7) as u32) % 28232;
        self.next_port as u16
    }

    /// The endpoints of a new flow: `v6` and `vlan` decided by the caller.
    pub(crate) fn endpoints(
        &mut self,
        rng: &mut Rng,
        v6: bool,
        server: ServerKind,
        server_port: u16,
        vlan: bool,
    ) -> Endpoints {
        let pick = |rng: &mut Rng, v: &[[u8; 16]]| rng.pick(v).copied().unwrap_or([0; 16]);
        let client_ip = pick(
            rng,
            if v6 {
                &self.clients_v6
            } else {
                &self.clients_v4
            },
        );
        let server_ip = match (server, v6) {
            (ServerKind::Resolver, false) => {
                let mut a = [0u8; 16];
                a[..4].copy_from_slice(&rng.pick(&DNS_V4).copied().unwrap_or([8, 8, 8, 8]));
                a
            }
            (ServerKind::Resolver, true) => pick(rng, &DNS_V6),
            (ServerKind::Internet, false) => pick(rng, &self.servers_v4),
            (ServerKind::Internet, true) => pick(rng, &self.servers_v6),
        };
        let client_port = if server_port == 0 {
            0
        } else {
            self.ephemeral_port(rng)
        };
        let mac_bits = mix64(
            u64::from_be_bytes(client_ip[8..].try_into().unwrap_or([0; 8]))
                ^ u64::from_be_bytes(client_ip[..8].try_into().unwrap_or([0; 8])),
        )
        .to_be_bytes();
        let client_mac = [
            0x02,
            mac_bits[0],
            mac_bits[1],
            mac_bits[2],
            mac_bits[3],
            mac_bits[4],
        ];
        let (vlans, vlan_count) = if vlan {
            let id = rng.pick(&VLAN_IDS).copied().unwrap_or(10);
            if rng.chance(0.1) {
                ([SERVICE_VLAN, id], 2)
            } else {
                ([id, 0], 1)
            }
        } else {
            ([0, 0], 0)
        };
        let local = server_ip[..3] == [192, 168, 1];
        let server_initial_ttl = [64u8, 128, 255][(mix64(u64::from(server_ip[3])) % 3) as usize];
        let hops = if local { 0 } else { rng.range(6, 22) as u8 };
        let client_ttl = if mix64(u64::from(client_ip[15] ^ client_ip[3])).is_multiple_of(4) {
            128
        } else {
            64
        };
        Endpoints {
            v6,
            client_ip,
            server_ip,
            client_port,
            server_port,
            client_mac,
            vlans,
            vlan_count,
            client_ttl,
            server_ttl: server_initial_ttl - hops,
            flow_labels: [rng.next_u32() & 0xf_ffff, rng.next_u32() & 0xf_ffff],
            ip_ids: [rng.next_u32() as u16, rng.next_u32() as u16],
        }
    }

    /// Whether the server of these endpoints is on the local network.
    pub(crate) fn is_local(ends: &Endpoints) -> bool {
        !ends.v6 && ends.server_ip[..3] == [192, 168, 1]
    }
}
