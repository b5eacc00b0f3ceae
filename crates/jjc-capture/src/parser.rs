//! The state shared by the pcap and pcapng parsers, and what one parsing step yields.

use crate::damage::Damage;
use crate::interface::Interface;
use crate::limits::MAX_CAPTURED_LEN;
use crate::stats::ReadStats;

/// What the reader knows about the capture so far, whatever its format.
#[derive(Debug)]
pub(crate) struct Progress {
    /// File offset of the next record or block.
    pub(crate) pos: u64,
    /// Every interface seen so far.
    pub(crate) interfaces: Vec<Interface>,
    /// Counts of records and of what was fixed or skipped.
    pub(crate) stats: ReadStats,
    /// Time of the last record delivered (0 before the first).
    pub(crate) last_ts: f64,
}

/// A packet found by a parsing step: where its bytes are and what the record says about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PacketAt {
    /// File offset of the record or block.
    pub(crate) offset: u64,
    /// File offset of the captured bytes.
    pub(crate) data_pos: u64,
    /// Number of captured bytes.
    pub(crate) caplen: usize,
    /// Length on the wire.
    pub(crate) orig_len: u32,
    /// Capture time.
    pub(crate) ts: f64,
    /// Index into [`Progress::interfaces`].
    pub(crate) interface: u32,
    /// Link type of that interface.
    pub(crate) link_type: u32,
}

/// The outcome of parsing one record or block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// A packet; its bytes are available in the source.
    Packet(PacketAt),
    /// A block without a packet was consumed (header, skipped or malformed block).
    Continue,
    /// The capture ended cleanly, between records.
    End,
    /// The capture is damaged here; reading stops.
    Damaged(Damage),
}

impl Step {
    /// Damage at `offset` for `reason`.
    pub(crate) fn damaged(offset: u64, reason: String) -> Step {
        Step::Damaged(Damage::new(offset, reason))
    }

    /// Damage at `offset` when a record claims more than [`MAX_CAPTURED_LEN`] captured bytes.
    pub(crate) fn caplen_over_limit(offset: u64, caplen: u32) -> Option<Step> {
        (caplen > MAX_CAPTURED_LEN).then(|| {
            Step::damaged(
                offset,
                format!("captured length {caplen} exceeds {MAX_CAPTURED_LEN} bytes"),
            )
        })
    }
}
