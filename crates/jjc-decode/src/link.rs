//! Link-layer types (the `LINKTYPE_*` values of pcap and pcapng) this crate knows.

/// BSD loopback: a 4-byte address family in the capture writer's byte order.
pub const NULL: u32 = 0;
/// Ethernet II, with optional 802.1Q / 802.1ad tags and PPPoE sessions.
pub const ETHERNET: u32 = 1;
/// Raw IP as some BSDs number it (`DLT_RAW` = 12).
pub const RAW_12: u32 = 12;
/// Raw IP as OpenBSD numbers it (`DLT_RAW` = 14).
pub const RAW_14: u32 = 14;
/// Raw IP (`LINKTYPE_RAW`): the version nibble tells IPv4 from IPv6.
pub const RAW: u32 = 101;
/// OpenBSD loopback: a 4-byte address family, always big-endian.
pub const LOOP: u32 = 108;
/// Linux cooked capture v1 (16-byte header).
pub const LINUX_SLL: u32 = 113;
/// Per-Packet Information header wrapping a frame of another link type.
pub const PPI: u32 = 192;
/// Raw IPv4.
pub const IPV4: u32 = 228;
/// Raw IPv6.
pub const IPV6: u32 = 229;
/// Linux cooked capture v2 (20-byte header).
pub const LINUX_SLL2: u32 = 276;

/// The link type proper: classic pcap keeps FCS information in the upper 16 bits of its
/// link-type field, which this crate ignores (an FCS after the IP packet is cut off by the
/// IP length anyway).
pub(crate) fn base(lt: u32) -> u32 {
    lt & 0xffff
}

/// A short human name of a link type, `"unknown"` for types this crate does not know.
pub fn link_type_name(lt: u32) -> &'static str {
    match base(lt) {
        NULL => "BSD loopback",
        ETHERNET => "Ethernet",
        RAW_12 | RAW_14 | RAW => "raw IP",
        LOOP => "OpenBSD loopback",
        LINUX_SLL => "Linux SLL",
        PPI => "PPI",
        IPV4 => "raw IPv4",
        IPV6 => "raw IPv6",
        LINUX_SLL2 => "Linux SLL2",
        _ => "unknown",
    }
}

/// Whether frames of this link type can be decoded (a PPI frame may still wrap an
/// unsupported one; that frame is then skipped and counted).
pub fn is_supported_link_type(lt: u32) -> bool {
    matches!(
        base(lt),
        NULL | ETHERNET | RAW_12 | RAW_14 | RAW | LOOP | LINUX_SLL | PPI | IPV4 | IPV6 | LINUX_SLL2
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_support_agree() {
        for lt in [
            NULL, ETHERNET, RAW_12, RAW_14, RAW, LOOP, LINUX_SLL, PPI, IPV4, IPV6, LINUX_SLL2,
        ] {
            assert!(is_supported_link_type(lt), "{lt}");
            assert_ne!(link_type_name(lt), "unknown", "{lt}");
        }
        assert_eq!(link_type_name(ETHERNET), "Ethernet");
        assert_eq!(link_type_name(LINUX_SLL), "Linux SLL");
        assert_eq!(link_type_name(105), "unknown");
        assert!(!is_supported_link_type(105));
        assert!(!is_supported_link_type(u32::MAX));
        // pcap's FCS bits above the link type proper.
        assert!(is_supported_link_type(0x1400_0001));
        assert_eq!(link_type_name(0x1400_0001), "Ethernet");
    }
}
