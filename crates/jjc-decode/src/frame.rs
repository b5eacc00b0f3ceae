//! Link layers: from a captured frame to the first byte of its IP header.

use jjc_abi::MAX_VLANS;

use crate::bytes::{be16, be32, le16, le32, u8_at};
use crate::link;
use crate::stats::SkipReason;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;

/// Ethernet II header length.
const ETHERNET_LEN: usize = 14;
/// Linux SLL header length.
const SLL_LEN: usize = 16;
/// Linux SLL2 header length.
const SLL2_LEN: usize = 20;
/// PPI fixed header length.
const PPI_MIN_LEN: usize = 8;

/// Which IP version the link layer announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetProto {
    /// IPv4 (ethertype 0x0800, AF_INET, PPP 0x0021, link type 228).
    Ipv4,
    /// IPv6 (ethertype 0x86dd, AF_INET6, PPP 0x0057, link type 229).
    Ipv6,
    /// Raw IP: the version nibble decides.
    ByVersion,
}

/// What the link layer tells about a frame besides its IP bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    /// VLAN ids, outermost first.
    pub vlans: [u16; MAX_VLANS],
    /// Valid entries in `vlans` (tags beyond [`MAX_VLANS`] are passed over, not kept).
    pub vlan_count: u8,
    /// 1 if the frame had MAC addresses.
    pub has_mac: u8,
}

impl LinkInfo {
    fn push_vlan(&mut self, tci: u16) {
        if let Some(slot) = self.vlans.get_mut(usize::from(self.vlan_count)) {
            *slot = tci & 0x0fff;
            self.vlan_count += 1;
        }
    }
}

/// The network layer of a frame: its announced protocol, bytes and link facts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Network<'a> {
    /// Announced IP version.
    pub proto: NetProto,
    /// Captured bytes from the IP header to the end of the frame.
    pub bytes: &'a [u8],
    /// VLANs and MAC presence.
    pub link: LinkInfo,
}

/// Strips the link layer of `frame` (of link type `link_type`).
pub(crate) fn strip_link(link_type: u32, frame: &[u8]) -> Result<Network<'_>, SkipReason> {
    strip(link_type, frame, true)
}

fn strip(link_type: u32, frame: &[u8], ppi_allowed: bool) -> Result<Network<'_>, SkipReason> {
    let mut info = LinkInfo::default();
    match link::base(link_type) {
        link::ETHERNET => {
            let ethertype = be16(frame, 12).ok_or(SkipReason::TruncatedLinkHeader)?;
            info.has_mac = 1;
            from_ethertype(ethertype, rest(frame, ETHERNET_LEN), info)
        }
        link::LINUX_SLL => {
            if frame.len() < SLL_LEN {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            let addr_len = be16(frame, 4).ok_or(SkipReason::TruncatedLinkHeader)?;
            let protocol = be16(frame, 14).ok_or(SkipReason::TruncatedLinkHeader)?;
            info.has_mac = u8::from(addr_len > 0);
            from_ethertype(protocol, rest(frame, SLL_LEN), info)
        }
        link::LINUX_SLL2 => {
            if frame.len() < SLL2_LEN {
                return Err(SkipReason::TruncatedLinkHeader);
            }
            let protocol = be16(frame, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
            let addr_len = u8_at(frame, 11).ok_or(SkipReason::TruncatedLinkHeader)?;
            info.has_mac = u8::from(addr_len > 0);
            from_ethertype(protocol, rest(frame, SLL2_LEN), info)
        }
        link::RAW | link::RAW_12 | link::RAW_14 => Ok(net(NetProto::ByVersion, frame, info)),
        link::IPV4 => Ok(net(NetProto::Ipv4, frame, info)),
        link::IPV6 => Ok(net(NetProto::Ipv6, frame, info)),
        link::NULL => {
            let raw = le32(frame, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
            // Written in the writer's byte order: a family read as > 0xFFFF was big-endian.
            let family = if raw > 0xffff { raw.swap_bytes() } else { raw };
            from_address_family(family, rest(frame, 4), info)
        }
        link::LOOP => {
            let family = be32(frame, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
            from_address_family(family, rest(frame, 4), info)
        }
        link::PPI if ppi_allowed => {
            let header_len = le16(frame, 2).ok_or(SkipReason::TruncatedLinkHeader)?;
            let inner_link = le32(frame, 4).ok_or(SkipReason::TruncatedLinkHeader)?;
            let header_len = usize::from(header_len);
            if header_len < PPI_MIN_LEN {
                return Err(SkipReason::MalformedLinkHeader);
            }
            let inner = frame
                .get(header_len..)
                .ok_or(SkipReason::TruncatedLinkHeader)?;
            strip(inner_link, inner, false)
        }
        _ => Err(SkipReason::UnsupportedLinkType),
    }
}

/// The bytes after a header of `len` bytes (empty if the frame is shorter).
fn rest(frame: &[u8], len: usize) -> &[u8] {
    frame.get(len..).unwrap_or(&[])
}

fn net(proto: NetProto, bytes: &[u8], link: LinkInfo) -> Network<'_> {
    Network { proto, bytes, link }
}

/// Follows VLAN tags and PPPoE from an ethertype to the IP header.
fn from_ethertype(
    mut ethertype: u16,
    mut bytes: &[u8],
    mut info: LinkInfo,
) -> Result<Network<'_>, SkipReason> {
    loop {
        match ethertype {
            ETHERTYPE_IPV4 => return Ok(net(NetProto::Ipv4, bytes, info)),
            ETHERTYPE_IPV6 => return Ok(net(NetProto::Ipv6, bytes, info)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tci = be16(bytes, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
                ethertype = be16(bytes, 2).ok_or(SkipReason::TruncatedLinkHeader)?;
                info.push_vlan(tci);
                bytes = rest(bytes, 4);
            }
            ETHERTYPE_PPPOE_SESSION => {
                // version/type, code, session id, length, then the PPP protocol.
                let ppp = be16(bytes, 6).ok_or(SkipReason::TruncatedLinkHeader)?;
                let version_type = u8_at(bytes, 0).ok_or(SkipReason::TruncatedLinkHeader)?;
                let code = u8_at(bytes, 1).ok_or(SkipReason::TruncatedLinkHeader)?;
                if version_type != 0x11 || code != 0 {
                    return Err(SkipReason::NonIp);
                }
                let proto = match ppp {
                    PPP_IPV4 => NetProto::Ipv4,
                    PPP_IPV6 => NetProto::Ipv6,
                    _ => return Err(SkipReason::NonIp),
                };
                return Ok(net(proto, rest(bytes, 8), info));
            }
            _ => return Err(SkipReason::NonIp),
        }
    }
}

/// BSD address families: AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (OpenBSD,
/// NetBSD), 28 (FreeBSD), 30 (Darwin).
fn from_address_family(
    family: u32,
    bytes: &[u8],
    info: LinkInfo,
) -> Result<Network<'_>, SkipReason> {
    match family {
        2 => Ok(net(NetProto::Ipv4, bytes, info)),
        10 | 24 | 28 | 30 => Ok(net(NetProto::Ipv6, bytes, info)),
        _ => Err(SkipReason::NonIp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    fn ok(lt: u32, frame: &[u8]) -> Network<'_> {
        match strip_link(lt, frame) {
            Ok(n) => n,
            Err(e) => panic!("link type {lt}: {e:?}"),
        }
    }

    fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0xaa; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    fn tag(tci: u16, ethertype: u16) -> Vec<u8> {
        [tci.to_be_bytes(), ethertype.to_be_bytes()].concat()
    }

    #[test]
    fn ethernet_plain_and_non_ip() {
        let f = eth(0x0800, &IP);
        let n = ok(link::ETHERNET, &f);
        assert_eq!(
            (n.proto, n.bytes, n.link.has_mac, n.link.vlan_count),
            (NetProto::Ipv4, &IP[..], 1, 0)
        );
        assert_eq!(ok(link::ETHERNET, &eth(0x86dd, &IP)).proto, NetProto::Ipv6);
        assert_eq!(ok(0x1400_0001, &f).proto, NetProto::Ipv4);
        for other in [0x0806, 0x0026, 0x8137, 0x88cc] {
            assert_eq!(
                strip_link(link::ETHERNET, &eth(other, &IP)).err(),
                Some(SkipReason::NonIp)
            );
        }
        assert_eq!(
            strip_link(link::ETHERNET, &f[..13]).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );
    }

    #[test]
    fn vlan_stacks_keep_three_outermost_first() {
        let single = eth(0x8100, &[tag(0x2064, 0x0800), IP.to_vec()].concat());
        let n = ok(link::ETHERNET, &single);
        assert_eq!(
            (n.link.vlan_count, n.link.vlans[0], n.bytes),
            (1, 100, &IP[..])
        );

        let qinq = eth(
            0x88a8,
            &[tag(93, 0x8100), tag(258, 0x0800), IP.to_vec()].concat(),
        );
        let n = ok(link::ETHERNET, &qinq);
        assert_eq!((n.link.vlan_count, n.link.vlans), (2, [93, 258, 0]));

        let triple = eth(
            0x9100,
            &[
                tag(1, 0x8100),
                tag(10, 0x8100),
                tag(100, 0x86dd),
                IP.to_vec(),
            ]
            .concat(),
        );
        let n = ok(link::ETHERNET, &triple);
        assert_eq!(
            (n.proto, n.link.vlan_count, n.link.vlans),
            (NetProto::Ipv6, 3, [1, 10, 100])
        );

        let four = eth(
            0x8100,
            &[
                tag(1, 0x8100),
                tag(2, 0x8100),
                tag(3, 0x8100),
                tag(4, 0x0800),
                IP.to_vec(),
            ]
            .concat(),
        );
        let n = ok(link::ETHERNET, &four);
        assert_eq!(
            (n.link.vlan_count, n.link.vlans, n.bytes),
            (3, [1, 2, 3], &IP[..])
        );

        let cut = eth(0x8100, &[0x00, 0x64, 0x08]);
        assert_eq!(
            strip_link(link::ETHERNET, &cut).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );
    }

    #[test]
    fn pppoe_session() {
        let hdr = |ppp: u16| {
            [
                vec![0x11, 0x00, 0x12, 0x34, 0x00, 0x16],
                ppp.to_be_bytes().to_vec(),
            ]
            .concat()
        };
        let f = eth(0x8864, &[hdr(0x0021), IP.to_vec()].concat());
        let n = ok(link::ETHERNET, &f);
        assert_eq!((n.proto, n.bytes), (NetProto::Ipv4, &IP[..]));
        let f = eth(0x8864, &[hdr(0x0057), IP.to_vec()].concat());
        assert_eq!(ok(link::ETHERNET, &f).proto, NetProto::Ipv6);
        let lcp = eth(0x8864, &[hdr(0xc021), IP.to_vec()].concat());
        assert_eq!(
            strip_link(link::ETHERNET, &lcp).err(),
            Some(SkipReason::NonIp)
        );
        let cut = eth(0x8864, &hdr(0x0021)[..7]);
        assert_eq!(
            strip_link(link::ETHERNET, &cut).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );
    }

    #[test]
    fn linux_sll_and_sll2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&IP);
        let n = ok(link::LINUX_SLL, &sll);
        assert_eq!(
            (n.proto, n.bytes, n.link.has_mac),
            (NetProto::Ipv4, &IP[..], 1)
        );
        sll[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(ok(link::LINUX_SLL, &sll).link.has_mac, 0);
        let mut tagged = sll[..14].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x86, 0xdd]);
        tagged.extend_from_slice(&IP);
        let n = ok(link::LINUX_SLL, &tagged);
        assert_eq!(
            (n.proto, n.link.vlans[0], n.link.vlan_count),
            (NetProto::Ipv6, 7, 1)
        );
        assert_eq!(
            strip_link(link::LINUX_SLL, &sll[..15]).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );

        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(&IP);
        let n = ok(link::LINUX_SLL2, &sll2);
        assert_eq!(
            (n.proto, n.bytes, n.link.has_mac),
            (NetProto::Ipv6, &IP[..], 1)
        );
        sll2[11] = 0;
        assert_eq!(ok(link::LINUX_SLL2, &sll2).link.has_mac, 0);
        assert_eq!(
            strip_link(link::LINUX_SLL2, &sll2[..19]).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );
    }

    #[test]
    fn raw_ip_link_types() {
        for lt in [link::RAW, link::RAW_12, link::RAW_14] {
            let n = ok(lt, &IP);
            assert_eq!(
                (n.proto, n.bytes, n.link.has_mac),
                (NetProto::ByVersion, &IP[..], 0)
            );
        }
        assert_eq!(ok(link::IPV4, &IP).proto, NetProto::Ipv4);
        assert_eq!(ok(link::IPV6, &IP).proto, NetProto::Ipv6);
    }

    #[test]
    fn null_and_loop_families() {
        let with = |fam: [u8; 4]| [fam.to_vec(), IP.to_vec()].concat();
        assert_eq!(
            ok(link::NULL, &with(2u32.to_le_bytes())).proto,
            NetProto::Ipv4
        );
        assert_eq!(
            ok(link::NULL, &with(30u32.to_le_bytes())).proto,
            NetProto::Ipv6
        );
        assert_eq!(
            ok(link::NULL, &with(24u32.to_be_bytes())).proto,
            NetProto::Ipv6
        );
        assert_eq!(
            ok(link::NULL, &with(2u32.to_be_bytes())).proto,
            NetProto::Ipv4
        );
        assert_eq!(ok(link::NULL, &with(10u32.to_le_bytes())).bytes, &IP[..]);
        assert_eq!(
            strip_link(link::NULL, &with(7u32.to_le_bytes())).err(),
            Some(SkipReason::NonIp)
        );
        assert_eq!(
            ok(link::LOOP, &with(28u32.to_be_bytes())).proto,
            NetProto::Ipv6
        );
        assert_eq!(
            ok(link::LOOP, &with(2u32.to_be_bytes())).proto,
            NetProto::Ipv4
        );
        // LOOP is always big-endian: a little-endian 2 is no known family.
        assert_eq!(
            strip_link(link::LOOP, &with(2u32.to_le_bytes())).err(),
            Some(SkipReason::NonIp)
        );
        assert_eq!(
            strip_link(link::NULL, &[2, 0, 0]).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );
    }

    #[test]
    fn ppi_wraps_other_link_types_once() {
        let ppi = |len: u16, dlt: u32, inner: &[u8]| {
            let mut f = vec![0, 0];
            f.extend_from_slice(&len.to_le_bytes());
            f.extend_from_slice(&dlt.to_le_bytes());
            f.resize(usize::from(len).max(8), 0xee);
            f.extend_from_slice(inner);
            f
        };
        let wrapped = ppi(8, link::ETHERNET, &eth(0x0800, &IP));
        let n = ok(link::PPI, &wrapped);
        assert_eq!(
            (n.proto, n.bytes, n.link.has_mac),
            (NetProto::Ipv4, &IP[..], 1)
        );
        let wrapped = ppi(32, link::RAW, &IP);
        let n = ok(link::PPI, &wrapped);
        assert_eq!(
            (n.proto, n.bytes, n.link.has_mac),
            (NetProto::ByVersion, &IP[..], 0)
        );
        let nested = ppi(8, link::PPI, &ppi(8, link::RAW, &IP));
        assert_eq!(
            strip_link(link::PPI, &nested).err(),
            Some(SkipReason::UnsupportedLinkType)
        );
        assert_eq!(
            strip_link(link::PPI, &ppi(8, 105, &IP)).err(),
            Some(SkipReason::UnsupportedLinkType)
        );
        assert_eq!(
            strip_link(link::PPI, &ppi(4, link::RAW, &IP)).err(),
            Some(SkipReason::MalformedLinkHeader)
        );
        let mut long = ppi(8, link::RAW, &[]);
        long[2] = 200;
        assert_eq!(
            strip_link(link::PPI, &long).err(),
            Some(SkipReason::TruncatedLinkHeader)
        );
        assert_eq!(
            strip_link(777, &IP).err(),
            Some(SkipReason::UnsupportedLinkType)
        );
    }
}
