//! Why frames were skipped, and the counters of a decoding run.

/// Why a frame produced no packet. Each reason has a stable snake_case [`name`](Self::name)
/// for run summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The frame's link type (or the one a PPI header names) is not decoded.
    UnsupportedLinkType,
    /// The frame carries something other than IPv4/IPv6 (ARP, LLC, STP, …).
    NonIp,
    /// The link-layer header (Ethernet, VLAN tag, PPPoE, SLL, NULL, PPI) was cut short.
    TruncatedLinkHeader,
    /// The link-layer header contradicts itself (a PPI length shorter than its header).
    MalformedLinkHeader,
    /// An IP header or IPv6 extension header was cut short by the capture.
    TruncatedIpHeader,
    /// An IP header is invalid: wrong version, header length below the minimum, total
    /// length shorter than the header, extension headers beyond the declared length.
    MalformedIpHeader,
    /// More nested IP-in-IP encapsulations than `max_tunnel_depth`.
    TunnelTooDeep,
}

impl SkipReason {
    /// Number of reasons.
    pub const COUNT: usize = 7;

    /// Every reason, in the order of [`DecodeStats::skipped`].
    pub const ALL: [SkipReason; Self::COUNT] = [
        SkipReason::UnsupportedLinkType,
        SkipReason::NonIp,
        SkipReason::TruncatedLinkHeader,
        SkipReason::MalformedLinkHeader,
        SkipReason::TruncatedIpHeader,
        SkipReason::MalformedIpHeader,
        SkipReason::TunnelTooDeep,
    ];

    /// The stable snake_case name of the reason.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType => "unsupported_link_type",
            SkipReason::NonIp => "non_ip",
            SkipReason::TruncatedLinkHeader => "truncated_link_header",
            SkipReason::MalformedLinkHeader => "malformed_link_header",
            SkipReason::TruncatedIpHeader => "truncated_ip_header",
            SkipReason::MalformedIpHeader => "malformed_ip_header",
            SkipReason::TunnelTooDeep => "tunnel_too_deep",
        }
    }

    /// The reason's index in [`SkipReason::ALL`] and [`DecodeStats::skipped`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Counters of one decoder. Every frame either becomes exactly one packet (perhaps later,
/// if it is a held fragment) or is skipped for one reason, so after
/// [`Decoder::finish`](crate::Decoder::finish): `frames == packets + skipped_total()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames given to the decoder.
    pub frames: u64,
    /// Packets emitted.
    pub packets: u64,
    /// IP fragments decoded (first or later, held ones included).
    pub fragments: u64,
    /// Later fragments that waited for their datagram's first fragment.
    pub fragments_held: u64,
    /// Held fragments released without ports because their first fragment never came
    /// (buffer full, timeout, or end of input).
    pub fragments_orphaned: u64,
    /// Skipped frames per reason, indexed by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::COUNT],
    /// Emitted TCP/UDP packets whose captured payload is shorter than on the wire (snaplen).
    pub truncated_payloads: u64,
    /// Emitted packets whose transport header was cut by the capture (fields not captured
    /// read as 0; fewer than 4 bytes of a TCP/UDP/SCTP header leave the packet port-less).
    pub truncated_transport_headers: u64,
    /// Emitted packets whose transport header contradicts the IP length (a TCP data offset
    /// below 5, or a TCP/UDP header longer than the IP payload).
    pub malformed_transport_headers: u64,
    /// Emitted packets whose IP length field was 0 (segmentation offload; IPv6 jumbograms):
    /// the captured length was used instead.
    pub zero_ip_lengths: u64,
}

impl DecodeStats {
    /// Frames skipped for `reason`.
    pub fn skipped_for(&self, reason: SkipReason) -> u64 {
        self.skipped.get(reason.index()).copied().unwrap_or(0)
    }

    /// Frames skipped for any reason.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// `(name, count)` of every reason with a non-zero count, in [`SkipReason::ALL`] order.
    pub fn iter_skipped(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        SkipReason::ALL
            .iter()
            .map(|&r| (r.name(), self.skipped_for(r)))
            .filter(|&(_, n)| n > 0)
    }

    /// `(name, count)` of the non-zero damage counters of emitted packets
    /// (`truncated_payloads`, `truncated_transport_headers`, `malformed_transport_headers`,
    /// `zero_ip_lengths`, `fragments_orphaned`), for a run summary.
    pub fn iter_damaged(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        [
            ("truncated_payloads", self.truncated_payloads),
            (
                "truncated_transport_headers",
                self.truncated_transport_headers,
            ),
            (
                "malformed_transport_headers",
                self.malformed_transport_headers,
            ),
            ("zero_ip_lengths", self.zero_ip_lengths),
            ("fragments_orphaned", self.fragments_orphaned),
        ]
        .into_iter()
        .filter(|&(_, n)| n > 0)
    }

    /// Counts one skipped frame.
    pub(crate) fn skip(&mut self, reason: SkipReason) {
        if let Some(n) = self.skipped.get_mut(reason.index()) {
            *n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_indexed_in_order_with_unique_names() {
        for (i, r) in SkipReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(r.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        let mut names: Vec<_> = SkipReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SkipReason::COUNT);
    }

    #[test]
    fn totals_and_non_zero_iteration() {
        let mut s = DecodeStats::default();
        s.skip(SkipReason::NonIp);
        s.skip(SkipReason::NonIp);
        s.skip(SkipReason::TunnelTooDeep);
        s.zero_ip_lengths = 3;
        assert_eq!(s.skipped_total(), 3);
        assert_eq!(s.skipped_for(SkipReason::NonIp), 2);
        let listed: Vec<_> = s.iter_skipped().collect();
        assert_eq!(listed, vec![("non_ip", 2), ("tunnel_too_deep", 1)]);
        let damaged: Vec<_> = s.iter_damaged().collect();
        assert_eq!(damaged, vec![("zero_ip_lengths", 3)]);
    }
}
