//! Counts of what the reader met while reading a capture.

/// What the reader counted so far: records delivered and everything it fixed or skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Packet records delivered.
    pub records: u64,
    /// Classic pcap records whose fraction of a second was out of range and carried into the
    /// seconds.
    pub fractions_carried: u64,
    /// pcapng Simple Packet Blocks, which have no time and took the previous record's time.
    pub simple_packets_without_time: u64,
    /// pcapng blocks whose framing was sound but whose contents were not (too short for their
    /// type, captured length beyond the block, unknown interface); skipped.
    pub malformed_blocks: u64,
    /// pcapng blocks of kinds that carry no packet (name resolution, statistics, custom,
    /// decryption secrets, …); skipped.
    pub blocks_skipped: u64,
    /// pcapng packet blocks naming an interface their section does not have (also counted
    /// in `malformed_blocks`); skipped.
    pub unknown_interface: u64,
    /// pcapng sections (Section Header Blocks) read.
    pub sections: u64,
    /// Records delivered whose captured length exceeds their length on the wire.
    pub captured_beyond_wire: u64,
}
