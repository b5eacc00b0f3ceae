//! A memory-mapped classic pcap read at any record offset, for threads that split one capture
//! between them: each finds the first record at or after a byte offset
//! ([`MappedPcap::find_record`]) and reads records there ([`MappedPcap::record_at`]) by the
//! rules [`crate::CaptureReader`] reads them by. Anything those rules report or repair (damage,
//! a fraction of a second out of range) is left to a reader resumed at that record
//! ([`crate::CaptureReader::resume_at`]), so the counts and messages stay the reader's.

use std::sync::Arc;

use memmap2::Mmap;

use crate::limits::MAX_CAPTURED_LEN;
use crate::mapped::{RecordAt, first_chain};
use crate::pcap::{GLOBAL_HEADER_LEN, PcapLayout, RECORD_HEADER_LEN};

/// A mapped classic pcap and the layout of its record headers. Cloning shares the mapping.
#[derive(Clone)]
pub(crate) struct MappedPcap {
    map: Arc<Mmap>,
    layout: PcapLayout,
}

/// How far from the first record's time a record's seconds may be for
/// [`MappedPcap::find_record`] to believe it: a year.
const PLAUSIBLE_SECONDS: u32 = 366 * 86_400;

impl MappedPcap {
    /// Offset of a classic pcap's first record.
    pub(crate) const FIRST_RECORD: u64 = GLOBAL_HEADER_LEN as u64;

    /// The capture mapped as `map`, whose global header gave `layout`.
    pub(crate) fn new(map: Arc<Mmap>, layout: PcapLayout) -> MappedPcap {
        MappedPcap { map, layout }
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// The record at `offset`, which must be a record's start; see [`RecordAt`].
    pub(crate) fn record_at(&self, offset: u64) -> RecordAt<'_> {
        let Ok(at) = usize::try_from(offset) else {
            return RecordAt::Irregular;
        };
        if at >= self.map.len() {
            return RecordAt::End;
        }
        let Some((sec, frac, caplen, orig_len)) = self.header(at) else {
            return RecordAt::Irregular;
        };
        if caplen > MAX_CAPTURED_LEN || self.layout.caplen_over_snaplen(caplen) {
            return RecordAt::Irregular;
        }
        let Some(ts) = self.layout.time_in_range(sec, frac) else {
            return RecordAt::Irregular;
        };
        let data_at = at + RECORD_HEADER_LEN;
        let Some(data) = self.map.get(data_at..data_at + caplen as usize) else {
            return RecordAt::Irregular;
        };
        RecordAt::Record {
            ts,
            data,
            orig_len,
            link_type: self.layout.link_type(),
            next: (data_at + data.len()) as u64,
        }
    }

    /// The first offset in `from..to` where a chain of eight records starts (or records
    /// up to the end of the file), each a sound record header: a fraction in range, a
    /// captured length within the limits and no longer than the wire length, seconds within
    /// a year of the first record's. A guess: the caller checks it against where the record
    /// before it ends. `None` also when 65,536 header checks found nothing (a hostile file of
    /// near-chains would otherwise cost eight checks at every byte).
    pub(crate) fn find_record(&self, from: u64, to: u64) -> Option<u64> {
        let (first, ..) = self.header(GLOBAL_HEADER_LEN)?;
        let plausible = |at: usize| -> Option<usize> {
            let (sec, frac, caplen, orig_len) = self.header(at)?;
            let sound = caplen > 0
                && caplen <= MAX_CAPTURED_LEN
                && caplen <= orig_len
                && !self.layout.caplen_over_snaplen(caplen)
                && self.layout.time_in_range(sec, frac).is_some()
                && sec.abs_diff(first) <= PLAUSIBLE_SECONDS;
            let next = at + RECORD_HEADER_LEN + caplen as usize;
            (sound && next <= self.map.len()).then_some(next)
        };
        let (from, to) = (usize::try_from(from).ok()?, usize::try_from(to).ok()?);
        let len = self.map.len();
        first_chain(from.max(GLOBAL_HEADER_LEN)..to.min(len), len, plausible)
    }

    /// Hints the CPU to load the bytes that follow the record at `offset` of `len` bytes, a
    /// fixed distance ahead, as the reader does for each record it reads.
    pub(crate) fn read_ahead(&self, offset: u64, len: usize) {
        crate::source::prefetch_ahead(&self.map, offset, len);
    }

    /// The four words of the record header at `at`.
    fn header(&self, at: usize) -> Option<(u32, u32, u32, u32)> {
        let h = self.map.get(at..at + RECORD_HEADER_LEN)?;
        let order = self.layout.order();
        Some((
            order.u32_at(h, 0)?,
            order.u32_at(h, 4)?,
            order.u32_at(h, 8)?,
            order.u32_at(h, 12)?,
        ))
    }
}

impl std::fmt::Debug for MappedPcap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedPcap")
            .field("len", &self.map.len())
            .field("layout", &self.layout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::CaptureReader;
    use crate::RecordAt;
    use crate::fixtures::{Bytes, PcapBuilder, mapped, read_rest, walk_by_offset};

    /// What the reader reads: every record, and whether it stopped on damage or a carry.
    fn read(reader: &mut CaptureReader) -> (Vec<Bytes>, bool) {
        let records = read_rest(reader);
        let irregular = reader.damage().is_some() || reader.stats().fractions_carried > 0;
        (records, irregular)
    }

    #[test]
    fn records_read_by_offset_are_the_reader_s_in_every_layout() {
        for (nanos, big) in [(false, false), (true, false), (false, true), (true, true)] {
            let bytes = PcapBuilder::new(nanos, big, 65535, 1)
                .record(1_600_000_000, 123_456, &[1, 2, 3], 60)
                .record(1_600_000_001, 999_999, &[4; 10], 10)
                .record(1_600_000_002, 7, &[5; 100], 100)
                .bytes();
            let (_file, mut reader, pcap) = mapped(&bytes);
            let pcap = pcap.expect("a mapped classic pcap");
            let (by_offset, _, last) = walk_by_offset(&pcap);
            assert_eq!(last, RecordAt::End);
            assert_eq!(
                (by_offset, false),
                read(&mut reader),
                "nanos {nanos} big {big}"
            );
        }
    }

    #[test]
    fn what_the_reader_reports_or_repairs_is_left_to_it() {
        let base =
            || PcapBuilder::new(false, false, 1000, 1).record(1_600_000_000, 1, &[1; 20], 20);
        let cases = [
            (
                "a fraction carried",
                base().record(1_600_000_001, 1_500_000, &[2; 20], 20),
            ),
            (
                "caplen over the snaplen",
                base().record(1_600_000_001, 2, &[2; 1001], 1001),
            ),
            (
                "a truncated record",
                base().header(1_600_000_001, 2, 50, 50).raw(&[3; 10]),
            ),
            ("a truncated header", base().raw(&[0; 7])),
        ];
        for (what, builder) in cases {
            let (_file, mut reader, pcap) = mapped(&builder.bytes());
            let pcap = pcap.expect("a mapped classic pcap");
            let (by_offset, _, last) = walk_by_offset(&pcap);
            assert_eq!(last, RecordAt::Irregular, "{what}");
            let (read, irregular) = read(&mut reader);
            assert!(irregular, "{what}: the reader reports it too");
            assert_eq!(by_offset, read[..by_offset.len()], "{what}");
        }
    }

    #[test]
    fn a_reader_resumed_at_a_record_reads_the_rest() {
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .record(1_600_000_000, 1, &[1; 30], 30)
            .record(1_600_000_001, 2, &[2; 40], 40)
            .record(1_600_000_002, 3, &[3; 50], 50)
            .bytes();
        let (_file, mut reader, pcap) = mapped(&bytes);
        let pcap = pcap.expect("a mapped classic pcap");
        let RecordAt::Record { next, .. } = pcap.record_at(pcap.first_record()) else {
            panic!("a record");
        };
        reader.resume_at(next, 0.0);
        let (rest, _) = read(&mut reader);
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].1, vec![2; 40]);
    }

    #[test]
    fn record_starts_are_found_and_payloads_that_look_like_headers_are_not_mistaken() {
        // A payload holding what looks like one record header (a zero-length record would
        // chain on to the true next record): the search must not start there.
        let mut fake = 1_600_000_000u32.to_le_bytes().to_vec();
        fake.extend(5u32.to_le_bytes());
        fake.extend(0u32.to_le_bytes());
        fake.extend(0u32.to_le_bytes());
        let mut builder = PcapBuilder::new(false, false, 65535, 1);
        for i in 0..40u32 {
            let mut payload = vec![i as u8; 20 + (i as usize * 7) % 50];
            payload.extend(&fake);
            builder = builder.record(1_600_000_000 + i, i, &payload, payload.len() as u32);
        }
        let bytes = builder.bytes();
        let (_file, _reader, pcap) = mapped(&bytes);
        let pcap = pcap.expect("a mapped classic pcap");
        let (_, mut starts, _) = walk_by_offset(&pcap);
        starts.pop();
        for from in (pcap.first_record()..pcap.len()).step_by(13) {
            let expected = starts.iter().copied().find(|&s| s >= from);
            assert_eq!(pcap.find_record(from, pcap.len()), expected, "from {from}");
        }
    }
}
