//! A memory-mapped capture read at any record offset, for threads that split one capture
//! between them: each finds the first record at or after a byte offset
//! ([`MappedCapture::find_record`]) and reads records there ([`MappedCapture::record_at`]) by
//! the rules [`crate::CaptureReader`] reads them by. Anything those rules report, repair or
//! take from the records before (damage, a fraction of a second out of range, a new pcapng
//! section or interface) is left to a reader resumed at that record
//! ([`crate::CaptureReader::resume_at`]), so the counts and messages stay the reader's.

use crate::mapped_pcap::MappedPcap;
use crate::mapped_pcapng::MappedPcapNg;

/// How many records in a row must look like records for a search to take an offset for a
/// record's start (fewer when the capture ends sooner).
const CHAIN: usize = 8;

/// The most records a search checks before it gives up: a hostile file of near-chains would
/// otherwise cost [`CHAIN`] checks at every offset.
const SEARCH_BUDGET: usize = 1 << 16;

/// The first of `candidates` (offsets in order) where a chain of [`CHAIN`] records starts,
/// or records up to `len`, the end of the file; `next_of` gives the offset after a sound
/// record at an offset, or `None`. `None` also once [`SEARCH_BUDGET`] records were checked.
pub(crate) fn first_chain(
    candidates: impl Iterator<Item = usize>,
    len: usize,
    next_of: impl Fn(usize) -> Option<usize>,
) -> Option<u64> {
    let mut budget = SEARCH_BUDGET;
    for start in candidates {
        let mut at = start;
        let mut chained = 0;
        while chained < CHAIN && at < len {
            if budget == 0 {
                return None;
            }
            budget -= 1;
            match next_of(at) {
                Some(next) => at = next,
                None => break,
            }
            chained += 1;
        }
        if chained == CHAIN || at == len {
            return Some(start as u64);
        }
    }
    None
}

/// What [`MappedCapture::record_at`] finds at an offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordAt<'a> {
    /// A record, read as the reader reads it.
    Record {
        /// Capture time, as [`crate::Record::ts`].
        ts: f64,
        /// The captured bytes.
        data: &'a [u8],
        /// Length on the wire.
        orig_len: u32,
        /// Link type of the record's interface.
        link_type: u32,
        /// Offset of the next record.
        next: u64,
    },
    /// The capture ends here, between records.
    End,
    /// The reader would report, repair or learn something here: read on with a reader.
    Irregular,
}

/// A mapped classic pcap, or a pcapng read by offset from its first packet block on.
/// Cloning shares the mapping.
#[derive(Debug, Clone)]
pub struct MappedCapture(Mapped);

#[derive(Debug, Clone)]
enum Mapped {
    Pcap(MappedPcap),
    PcapNg(MappedPcapNg),
}

impl MappedCapture {
    /// A classic pcap's records by offset.
    pub(crate) fn pcap(pcap: MappedPcap) -> MappedCapture {
        MappedCapture(Mapped::Pcap(pcap))
    }

    /// A pcapng's enhanced packet blocks by offset.
    pub(crate) fn pcapng(pcapng: MappedPcapNg) -> MappedCapture {
        MappedCapture(Mapped::PcapNg(pcapng))
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Mapped::Pcap(m) => m.len(),
            Mapped::PcapNg(m) => m.len(),
        }
    }

    /// Whether the file has no bytes (never, for a capture that opened).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offset of the first record: after a classic pcap's global header, or a pcapng's first
    /// packet block.
    pub fn first_record(&self) -> u64 {
        match &self.0 {
            Mapped::Pcap(_) => MappedPcap::FIRST_RECORD,
            Mapped::PcapNg(m) => m.first_record(),
        }
    }

    /// The record at `offset`, which must be a record's start; see [`RecordAt`].
    #[inline]
    pub fn record_at(&self, offset: u64) -> RecordAt<'_> {
        match &self.0 {
            Mapped::Pcap(m) => m.record_at(offset),
            Mapped::PcapNg(m) => m.record_at(offset),
        }
    }

    /// The first offset in `from..to` where a chain of eight records starts (or records up to
    /// the end of the file), each one that looks sound for its format. A guess: the caller
    /// checks it against where the record before it ends. `None` also when 65,536 checks
    /// found nothing.
    pub fn find_record(&self, from: u64, to: u64) -> Option<u64> {
        match &self.0 {
            Mapped::Pcap(m) => m.find_record(from, to),
            Mapped::PcapNg(m) => m.find_record(from, to),
        }
    }

    /// Hints the CPU to load the bytes that follow the record at `offset` of `len` bytes, a
    /// fixed distance ahead, as the reader does for each record it reads.
    #[inline]
    pub fn read_ahead(&self, offset: u64, len: usize) {
        match &self.0 {
            Mapped::Pcap(m) => m.read_ahead(offset, len),
            Mapped::PcapNg(m) => m.read_ahead(offset, len),
        }
    }
}
