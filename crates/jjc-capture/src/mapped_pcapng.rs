//! A memory-mapped pcapng read at any enhanced packet block, for threads that split one
//! capture between them, as [`crate::mapped_pcap`] reads a classic pcap.
//!
//! Blocks are framed by their total length at both ends, so a block's start is easy to find
//! and check; what a packet block means depends on the section and interfaces before it. The
//! blocks before the first packet block (section header, interface descriptions and the like)
//! are read once, by the reader's own rules, and fix the byte order and the interfaces'
//! link types and clocks. Enhanced packet blocks are then read by offset with those. Any other
//! block (a new section or interface, a simple or obsolete packet block, statistics) and
//! anything the reader would report (damage, a malformed block) is left to a reader resumed
//! there ([`crate::CaptureReader::resume_at`]), which has the same state: every block between
//! the first packet block and it was an enhanced packet block.

use std::sync::Arc;

use memmap2::Mmap;

use crate::byte_order::ByteOrder;
use crate::interface::Interface;
use crate::limits::{MAX_BUFFERED_BLOCK, MAX_CAPTURED_LEN};
use crate::mapped::{RecordAt, first_chain};
use crate::parser::{PacketAt, Progress, Step};
use crate::pcapng::{EPB, PACKET_HEADER_LEN, Sections, TRAILER_LEN};
use crate::source::Source;
use crate::stats::ReadStats;

/// The block types other than the enhanced packet block that the pcapng specification
/// defines: section header, interface description, obsolete and simple packet, name
/// resolution, interface statistics, systemd journal export, decryption secrets and the two
/// custom blocks.
const OTHER_BLOCKS: [u32; 10] = [0x0a0d_0d0a, 1, 2, 3, 4, 5, 9, 10, 0x0000_0bad, 0x4000_0bad];

/// What an enhanced packet block needs of its interface.
#[derive(Debug, Clone, Copy)]
struct Clock {
    link_type: u32,
    units_per_second: f64,
    ts_offset: i64,
}

/// A mapped pcapng, its section's byte order and its interfaces as they are at its first
/// packet block (or, for a reader, where it reads). Cloning shares the mapping.
#[derive(Clone)]
pub(crate) struct MappedPcapNg {
    map: Arc<Mmap>,
    order: ByteOrder,
    /// The section's interfaces, by their number in the section.
    interfaces: Arc<[Clock]>,
    /// Index in the reader's interface list of the section's interface 0.
    first_interface: u32,
    /// Offset of the first packet block.
    first_record: u64,
}

impl MappedPcapNg {
    /// The pcapng mapped as `map`, with the blocks before its first packet block read; `None`
    /// when there is none, when those blocks hold anything the reader would report, or when
    /// the first packet block is not an enhanced packet block this reads.
    pub(crate) fn new(map: Arc<Mmap>) -> Option<MappedPcapNg> {
        let mut source = Source::Mapped(Arc::clone(&map));
        let mut sections = Sections::new();
        let mut progress = Progress {
            pos: 0,
            interfaces: Vec::new(),
            stats: ReadStats::default(),
            last_ts: 0.0,
        };
        if !sections.read_to_packets(&mut progress, &mut source, u64::MAX) {
            return None;
        }
        let mapped = MappedPcapNg::at(map, &sections, &progress.interfaces, progress.pos)?;
        matches!(
            mapped.record_at(mapped.first_record),
            RecordAt::Record { .. }
        )
        .then_some(mapped)
    }

    /// The pcapng mapped as `map` as a reader in `sections` with `interfaces` sees it, its
    /// first packet block at `first_record`.
    pub(crate) fn at(
        map: Arc<Mmap>,
        sections: &Sections,
        interfaces: &[Interface],
        first_record: u64,
    ) -> Option<MappedPcapNg> {
        let first = sections.first_interface();
        let interfaces = interfaces
            .get(first..)?
            .iter()
            .map(|i| Clock {
                link_type: i.link_type,
                units_per_second: i.units_per_second,
                ts_offset: i.ts_offset,
            })
            .collect();
        Some(MappedPcapNg {
            map,
            order: sections.order(),
            interfaces,
            first_interface: u32::try_from(first).ok()?,
            first_record,
        })
    }

    /// One step of a reader over a pcapng: an enhanced packet block read by offset with
    /// `blocks` (the section and interfaces the reader has seen), else the general parser,
    /// after which `blocks` is made again from what the reader then knows when the block may
    /// have changed it (or none was made yet; a stream has none).
    pub(crate) fn step(
        blocks: &mut Option<MappedPcapNg>,
        sections: &mut Sections,
        progress: &mut Progress,
        source: &mut Source,
    ) -> std::io::Result<Step> {
        let pos = progress.pos;
        if let Some((packet, next)) = blocks.as_ref().and_then(|b| b.packet(pos)) {
            source.read_ahead(pos, (next - pos) as usize);
            progress.pos = next;
            return Ok(Step::Packet(packet));
        }
        let step = sections.step(progress, source);
        if blocks.is_none() || matches!(step, Ok(Step::Continue)) {
            *blocks = match source {
                Source::Mapped(map) => MappedPcapNg::at(
                    Arc::clone(map),
                    sections,
                    &progress.interfaces,
                    progress.pos,
                ),
                Source::Stream(_) => None,
            };
        }
        step
    }

    /// The file's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Offset of the first packet block.
    pub(crate) fn first_record(&self) -> u64 {
        self.first_record
    }

    /// The enhanced packet block at `offset`, which must be a block's start; see
    /// [`RecordAt`].
    pub(crate) fn record_at(&self, offset: u64) -> RecordAt<'_> {
        let Ok(at) = usize::try_from(offset) else {
            return RecordAt::Irregular;
        };
        if at >= self.map.len() {
            return RecordAt::End;
        }
        self.packet_at(at).unwrap_or(RecordAt::Irregular)
    }

    /// The enhanced packet block at `at` as the reader's records hold it.
    fn packet_at(&self, at: usize) -> Option<RecordAt<'_>> {
        let (packet, next) = self.packet(u64::try_from(at).ok()?)?;
        let data_at = usize::try_from(packet.data_pos).ok()?;
        Some(RecordAt::Record {
            ts: packet.ts,
            data: self.map.get(data_at..data_at + packet.caplen)?,
            orig_len: packet.orig_len,
            link_type: packet.link_type,
            next,
        })
    }

    /// The enhanced packet block at `offset` as the reader's parser finds it, and the offset
    /// of the next block: a block of this section's byte order whose lengths fit and whose
    /// trailer matches, naming a known interface. `None` for anything else.
    pub(crate) fn packet(&self, offset: u64) -> Option<(PacketAt, u64)> {
        let order = self.order;
        let at = usize::try_from(offset).ok()?;
        let head = self
            .map
            .get(at..at.checked_add(PACKET_HEADER_LEN as usize)?)?;
        let total_len = order.u32_at(head, 4)?;
        let caplen = order.u32_at(head, 20)?;
        let sound = order.u32_at(head, 0)? == EPB
            && total_len.is_multiple_of(4)
            && (PACKET_HEADER_LEN + TRAILER_LEN..=MAX_BUFFERED_BLOCK).contains(&total_len)
            && caplen <= MAX_CAPTURED_LEN
            && PACKET_HEADER_LEN + caplen + TRAILER_LEN <= total_len;
        if !sound {
            return None;
        }
        let end = at.checked_add(total_len as usize)?;
        let trailer = self.map.get(end.checked_sub(TRAILER_LEN as usize)?..end)?;
        if order.u32_at(trailer, 0)? != total_len {
            return None;
        }
        let id = order.u32_at(head, 8)?;
        let clock = self.interfaces.get(usize::try_from(id).ok()?)?;
        let ts64 = u64::from(order.u32_at(head, 12)?) << 32 | u64::from(order.u32_at(head, 16)?);
        let packet = PacketAt {
            offset,
            data_pos: offset + u64::from(PACKET_HEADER_LEN),
            caplen: caplen as usize,
            orig_len: order.u32_at(head, 24)?,
            // The reader's expression, so the time is the reader's to the bit.
            ts: clock.ts_offset as f64 + ts64 as f64 / clock.units_per_second,
            interface: self.first_interface.checked_add(id)?,
            link_type: clock.link_type,
        };
        Some((packet, end as u64))
    }

    /// The first offset in `from..to` (on the 4-byte grid blocks lie on) where a chain of
    /// eight soundly framed blocks starts (or blocks up to the end of the file): enhanced
    /// packet blocks that [`MappedPcapNg::record_at`] reads, or other blocks whose total
    /// length is repeated at their end. A guess, which the caller checks against where the
    /// block before it ends; `None` also when 65,536 checks found nothing.
    pub(crate) fn find_record(&self, from: u64, to: u64) -> Option<u64> {
        let len = self.map.len();
        let first = usize::try_from(self.first_record).ok()?;
        let (from, to) = (usize::try_from(from).ok()?, usize::try_from(to).ok()?);
        // Every block starts a multiple of 4 bytes after the first packet block.
        let start = first + from.saturating_sub(first).next_multiple_of(4);
        first_chain((start..to.min(len)).step_by(4), len, |at| self.framed(at))
    }

    /// The end of a soundly framed block at `at` (see [`MappedPcapNg::find_record`]): an
    /// enhanced packet block [`MappedPcapNg::record_at`] reads, or a block of another type
    /// the pcapng specification defines, no longer than a packet block may be (a payload's
    /// bytes taken for a length would otherwise send the check anywhere in the file).
    fn framed(&self, at: usize) -> Option<usize> {
        if let Some(RecordAt::Record { next, .. }) = self.packet_at(at) {
            return usize::try_from(next).ok();
        }
        let head = self.map.get(at..at.checked_add(8)?)?;
        let total_len = self.order.u32_at(head, 4)?;
        if !OTHER_BLOCKS.contains(&self.order.u32_at(head, 0)?)
            || !(12..=MAX_BUFFERED_BLOCK).contains(&total_len)
            || !total_len.is_multiple_of(4)
        {
            return None;
        }
        let end = at.checked_add(total_len as usize)?;
        let trailer = self.map.get(end.checked_sub(4)?..end)?;
        (self.order.u32_at(trailer, 0)? == total_len).then_some(end)
    }

    /// Hints the CPU to load the bytes that follow the block at `offset` of `len` bytes, as
    /// the reader does for each block it reads.
    pub(crate) fn read_ahead(&self, offset: u64, len: usize) {
        crate::source::prefetch_ahead(&self.map, offset, len);
    }
}

impl std::fmt::Debug for MappedPcapNg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedPcapNg")
            .field("len", &self.map.len())
            .field("order", &self.order)
            .field("interfaces", &self.interfaces.len())
            .field("first_record", &self.first_record)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{Bytes, NgBuilder, mapped, read_both, read_rest, walk_by_offset};
    use crate::{CaptureReader, RecordAt};

    /// What the reader reads, and whether it stopped on damage.
    fn read(reader: &mut CaptureReader) -> (Vec<Bytes>, bool) {
        let records = read_rest(reader);
        (records, reader.damage().is_some())
    }

    /// Three interfaces with their own link types and clocks, and a non-packet block before
    /// the first packet.
    fn three_interfaces(big: bool) -> NgBuilder {
        let ng = NgBuilder::new().shb(big);
        let offset = ng.num(1_000, 8);
        ng.idb(1, 0, &[(9, &[9])])
            .idb(101, 0, &[(9, &[0x80 | 10]), (14, &offset)])
            .block(4, &[7; 12])
            .idb(113, 0, &[])
    }

    #[test]
    fn enhanced_packet_blocks_read_by_offset_are_the_reader_s() {
        for big in [false, true] {
            let bytes = three_interfaces(big)
                .epb(0, 1_700_000_000_987_654_321, &[0xaa; 61], 61)
                .epb(1, 5 * 1024 + 512, &[0xbb], 1)
                .epb(2, 42, &[0xcc; 7], 90)
                .epb(0, 1_700_000_001_000_000_000, &[], 0)
                .bytes();
            let (_file, mut reader, ng) = mapped(&bytes);
            let ng = ng.expect("a pcapng read by offset");
            let (by_offset, _, last) = walk_by_offset(&ng);
            assert_eq!(last, RecordAt::End, "big {big}");
            assert_eq!((by_offset, false), read(&mut reader), "big {big}");
        }
    }

    #[test]
    fn what_the_reader_reports_or_learns_is_left_to_it() {
        let base = || three_interfaces(false).epb(0, 1_600_000_000_000_000_000, &[1; 20], 20);
        let cases = [
            ("a simple packet block", base().spb(20, &[2; 20])),
            ("an obsolete packet block", base().pb(0, 5, &[2; 20])),
            ("an interface after packets", base().idb(1, 0, &[])),
            ("a new section", base().shb(false)),
            ("statistics", base().block(5, &[0; 12])),
            ("an unknown interface", base().epb(3, 5, &[2; 20], 20)),
            (
                "a trailer that does not match",
                base().framed(6, 52, &[0; 40], 56),
            ),
            (
                "a truncated block",
                base().raw(&[6, 0, 0, 0, 52, 0, 0, 0, 1]),
            ),
            (
                "more captured bytes than the block holds",
                base().framed(
                    6,
                    32,
                    &{
                        let mut body = vec![0; 20];
                        body[12] = 9;
                        body
                    },
                    32,
                ),
            ),
        ];
        for (what, builder) in cases {
            let (_file, mut reader, ng) = mapped(&builder.bytes());
            let ng = ng.expect("a pcapng read by offset");
            let (by_offset, _, last) = walk_by_offset(&ng);
            assert_eq!(last, RecordAt::Irregular, "{what}");
            assert_eq!(by_offset.len(), 1, "{what}");
            let (read, _) = read(&mut reader);
            assert_eq!(by_offset[..], read[..1], "{what}");
        }
    }

    #[test]
    fn a_reader_resumed_at_a_block_reads_the_rest_with_the_sections_interfaces() {
        let bytes = three_interfaces(true)
            .epb(0, 1_600_000_000_000_000_000, &[1; 30], 30)
            .epb(1, 2048, &[2; 40], 40)
            .spb(50, &[3; 50])
            .epb(2, 7, &[4; 10], 10)
            .bytes();
        let (_file, mut reader, ng) = mapped(&bytes);
        let ng = ng.expect("a pcapng read by offset");
        let (by_offset, starts, last) = walk_by_offset(&ng);
        assert_eq!((by_offset.len(), last), (2, RecordAt::Irregular));
        let (all, _) = read(&mut CaptureReader::open(_file.path()).unwrap());
        // Resumed where the walk stopped, after the second record: the simple packet block
        // takes the record before's time, and the last block its interface's link type.
        reader.resume_at(starts[2], by_offset[1].0);
        let (rest, damaged) = read(&mut reader);
        assert!(!damaged);
        assert_eq!(rest[..], all[2..]);
        assert_eq!(rest[0].0, 1_002.0, "the time of the record before");
        assert_eq!(rest[1].3, 113);
    }

    #[test]
    fn block_starts_are_found_and_payloads_that_look_like_blocks_are_not_mistaken() {
        // Each payload holds what looks like a small block framed by its length at both ends.
        let mut fake = 6u32.to_le_bytes().to_vec();
        fake.extend(12u32.to_le_bytes());
        fake.extend(12u32.to_le_bytes());
        let mut builder = three_interfaces(false);
        for i in 0..40u32 {
            let mut payload = vec![i as u8; 20 + (i as usize * 7) % 50];
            payload.extend(&fake);
            builder = builder.epb(i % 3, u64::from(i), &payload, payload.len() as u32);
        }
        let bytes = builder.bytes();
        let (_file, _reader, ng) = mapped(&bytes);
        let ng = ng.expect("a pcapng read by offset");
        let (_, mut starts, last) = walk_by_offset(&ng);
        assert_eq!(last, RecordAt::End);
        starts.pop();
        for from in (0..ng.len()).step_by(7) {
            let expected = starts.iter().copied().find(|&s| s >= from);
            assert_eq!(ng.find_record(from, ng.len()), expected, "from {from}");
        }
    }

    #[test]
    fn a_mapped_reader_reads_packet_blocks_with_the_section_and_interfaces_it_is_in() {
        // The mapped reader reads enhanced packet blocks by offset and must learn each new
        // section and interface, as the stream reader (which never does) reads them.
        let bytes = three_interfaces(false)
            .epb(1, 5 * 1024, &[1; 9], 9)
            .idb(228, 0, &[(9, &[3])])
            .epb(3, 7, &[2; 9], 9)
            .shb(false)
            .epb(0, 8, &[3; 9], 9) // no interface in this section yet: skipped
            .idb(1, 0, &[(9, &[9])])
            .epb(0, 1_700_000_000_000_000_001, &[4; 9], 9)
            .shb(true)
            .idb(101, 0, &[])
            .epb(0, 42, &[5; 9], 9)
            .bytes();
        let (reader, records) = read_both(&bytes);
        let seen: Vec<(u32, u32, f64)> = records
            .iter()
            .map(|r| (r.interface, r.link_type, r.ts))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, 101, 1_005.0),
                (3, 228, 7e-3),
                (4, 1, 1_700_000_000_000_000_001u64 as f64 / 1e9),
                (5, 101, 42e-6),
            ]
        );
        assert_eq!(reader.stats().unknown_interface, 1);
    }

    #[test]
    fn a_pcapng_is_read_by_offset_only_from_an_enhanced_packet_block() {
        let spb_first = three_interfaces(false).spb(20, &[1; 20]).bytes();
        assert!(mapped(&spb_first).2.is_none());
        let no_packets = three_interfaces(false).bytes();
        assert!(mapped(&no_packets).2.is_none());
        let damaged_prefix = NgBuilder::new().shb(false).raw(&[1, 0, 0, 0, 40]).bytes();
        assert!(mapped(&damaged_prefix).2.is_none());
    }
}
