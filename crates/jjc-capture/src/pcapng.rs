//! pcapng: sections, interfaces and packet blocks.
//!
//! Every block is framed by its total length, repeated at its end. Blocks that carry packets
//! or describe sections and interfaces are buffered whole (at most [`MAX_BUFFERED_BLOCK`]
//! bytes); every other block is skipped by consuming its bytes.

use std::io;

use crate::byte_order::ByteOrder;
use crate::damage::Damage;
use crate::format::PCAPNG_MAGIC;
use crate::interface::{Interface, MICROS_PER_SECOND, units_per_second};
use crate::limits::MAX_BUFFERED_BLOCK;
use crate::parser::{PacketAt, Progress, Step};
use crate::source::Source;

/// Block type of an Interface Description Block.
const IDB: u32 = 1;
/// Block type of the obsolete Packet Block.
const PB: u32 = 2;
/// Block type of a Simple Packet Block.
const SPB: u32 = 3;
/// Block type of an Enhanced Packet Block.
pub(crate) const EPB: u32 = 6;
/// Block type of a Section Header Block.
const SHB: u32 = u32::from_le_bytes(PCAPNG_MAGIC);

/// Block type and total length.
const BLOCK_HEADER_LEN: usize = 8;
/// Block type, total length and the byte-order magic of a Section Header Block.
const SHB_PREFIX_LEN: usize = 12;
/// Smallest Section Header Block: header, byte-order magic, version, section length, trailer.
const SHB_MIN_LEN: u32 = 28;
/// Smallest Interface Description Block: header, link type, reserved, snaplen, trailer.
const IDB_MIN_LEN: u32 = 20;
/// Fixed fields of an Enhanced Packet Block or Packet Block, up to the packet data.
pub(crate) const PACKET_HEADER_LEN: u32 = 28;
/// Fixed fields of a Simple Packet Block, up to the packet data.
const SPB_HEADER_LEN: u32 = 12;
/// Length of the trailing copy of the total length.
pub(crate) const TRAILER_LEN: u32 = 4;

/// Option codes of an Interface Description Block.
const OPT_END: u16 = 0;
/// `if_name`.
const OPT_IF_NAME: u16 = 2;
/// `if_tsresol`.
const OPT_IF_TSRESOL: u16 = 9;
/// `if_tsoffset`.
const OPT_IF_TSOFFSET: u16 = 14;

/// The section being read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sections {
    /// Byte order of the current section.
    order: ByteOrder,
    /// Index in the interface list of the current section's interface 0.
    first_interface: usize,
    /// Index of the current section.
    current: u32,
    /// Number of sections started so far.
    started: u32,
}

impl Sections {
    /// Before the first Section Header Block.
    pub(crate) fn new() -> Sections {
        Sections {
            order: ByteOrder::Little,
            first_interface: 0,
            current: 0,
            started: 0,
        }
    }

    /// The byte order a Section Header Block's byte-order magic announces.
    pub(crate) fn byte_order_of(magic: &[u8]) -> Option<ByteOrder> {
        match magic {
            [0x4d, 0x3c, 0x2b, 0x1a] => Some(ByteOrder::Little),
            [0x1a, 0x2b, 0x3c, 0x4d] => Some(ByteOrder::Big),
            _ => None,
        }
    }

    /// Byte order of the current section.
    pub(crate) fn order(&self) -> ByteOrder {
        self.order
    }

    /// Index in the interface list of the current section's interface 0.
    pub(crate) fn first_interface(&self) -> usize {
        self.first_interface
    }

    /// Whether the block at `pos` is a packet block (enhanced, simple or obsolete) of the
    /// current section; `false` at the end, or where its type cannot be read.
    pub(crate) fn packet_block_at(&self, source: &mut Source, pos: u64) -> bool {
        let have = source.ensure(pos, 4).unwrap_or(0);
        matches!(
            self.order.u32_at(source.bytes(pos, have), 0),
            Some(EPB | SPB | PB)
        )
    }

    /// Reads the blocks from `progress.pos` up to the first packet block or `until`: the
    /// section headers, interface descriptions and other blocks before a capture's packets.
    /// `false` if one of them is not such a block (damage, the end), which is left unread.
    pub(crate) fn read_to_packets(
        &mut self,
        progress: &mut Progress,
        source: &mut Source,
        until: u64,
    ) -> bool {
        while progress.pos < until && !self.packet_block_at(source, progress.pos) {
            match self.step(progress, source) {
                Ok(Step::Continue) => {}
                _ => return false,
            }
        }
        true
    }

    /// Parses the block at `progress.pos`.
    pub(crate) fn step(
        &mut self,
        progress: &mut Progress,
        source: &mut Source,
    ) -> io::Result<Step> {
        let offset = progress.pos;
        let have = source.ensure(offset, SHB_PREFIX_LEN)?;
        if have == 0 {
            return Ok(Step::End);
        }
        let head = source.bytes(offset, have);
        if have < BLOCK_HEADER_LEN {
            return Ok(truncated(offset, have, "block header", BLOCK_HEADER_LEN));
        }
        let is_shb = head.get(..4) == Some(&PCAPNG_MAGIC[..]);
        let order = if is_shb {
            let Some(magic) = head.get(BLOCK_HEADER_LEN..SHB_PREFIX_LEN) else {
                return Ok(truncated(offset, have, "section header", SHB_PREFIX_LEN));
            };
            let Some(order) = Self::byte_order_of(magic) else {
                return Ok(Step::damaged(
                    offset,
                    format!(
                        "section header block with unknown byte-order magic {}",
                        hex(magic)
                    ),
                ));
            };
            order
        } else {
            self.order
        };
        let (Some(block_type), Some(total_len)) = (order.u32_at(head, 0), order.u32_at(head, 4))
        else {
            return Ok(truncated(offset, have, "block header", BLOCK_HEADER_LEN));
        };
        if total_len < 12 || total_len % 4 != 0 {
            return Ok(Step::damaged(
                offset,
                format!("block total length {total_len} is not a multiple of 4 of at least 12"),
            ));
        }
        let block = Block {
            offset,
            total_len,
            order,
        };
        source.read_ahead(offset, total_len as usize);
        match block_type {
            SHB => self.section_header(block, progress, source),
            IDB => self.interface_description(block, progress, source),
            EPB | PB => self.packet(block, block_type == EPB, progress, source),
            SPB => self.simple_packet(block, progress, source),
            _ => {
                progress.stats.blocks_skipped += 1;
                skip(block, progress, source)
            }
        }
    }

    /// A Section Header Block: a new section with its own byte order and interfaces.
    fn section_header(
        &mut self,
        block: Block,
        progress: &mut Progress,
        source: &mut Source,
    ) -> io::Result<Step> {
        if block.total_len < SHB_MIN_LEN {
            return Ok(Step::damaged(
                block.offset,
                format!(
                    "section header block of {} bytes is shorter than {SHB_MIN_LEN}",
                    block.total_len
                ),
            ));
        }
        if let Some(damage) = block.load(source)? {
            return Ok(Step::Damaged(damage));
        }
        *self = Sections {
            order: block.order,
            first_interface: progress.interfaces.len(),
            current: self.started,
            started: self.started.saturating_add(1),
        };
        progress.stats.sections += 1;
        progress.pos = block.end();
        Ok(Step::Continue)
    }

    /// An Interface Description Block: the next interface of the current section.
    fn interface_description(
        &mut self,
        block: Block,
        progress: &mut Progress,
        source: &mut Source,
    ) -> io::Result<Step> {
        if block.total_len < IDB_MIN_LEN {
            progress.stats.malformed_blocks += 1;
            return skip(block, progress, source);
        }
        if let Some(damage) = block.load(source)? {
            return Ok(Step::Damaged(damage));
        }
        let bytes = source.bytes(block.offset, block.total_len as usize);
        let order = block.order;
        let (Some(link_type), Some(snaplen)) = (order.u16_at(bytes, 8), order.u32_at(bytes, 12))
        else {
            progress.stats.malformed_blocks += 1;
            progress.pos = block.end();
            return Ok(Step::Continue);
        };
        let mut interface = Interface {
            section: self.current,
            index_in_section: u32::try_from(
                progress
                    .interfaces
                    .len()
                    .saturating_sub(self.first_interface),
            )
            .unwrap_or(u32::MAX),
            link_type: u32::from(link_type),
            snaplen,
            units_per_second: MICROS_PER_SECOND,
            ts_offset: 0,
            name: None,
        };
        let options = bytes
            .get(
                (IDB_MIN_LEN - TRAILER_LEN) as usize
                    ..bytes.len().saturating_sub(TRAILER_LEN as usize),
            )
            .unwrap_or(&[]);
        for_each_option(options, order, |code, value| match code {
            OPT_IF_NAME => {
                let name = String::from_utf8_lossy(value);
                interface.name = Some(name.trim_end_matches('\0').to_string());
            }
            OPT_IF_TSRESOL => {
                if let Some(&resolution) = value.first() {
                    interface.units_per_second = units_per_second(resolution);
                }
            }
            OPT_IF_TSOFFSET => {
                if let Some(seconds) = order.i64_at(value, 0) {
                    interface.ts_offset = seconds;
                }
            }
            _ => {}
        });
        progress.interfaces.push(interface);
        progress.pos = block.end();
        Ok(Step::Continue)
    }

    /// An Enhanced Packet Block (`enhanced`) or an obsolete Packet Block.
    fn packet(
        &mut self,
        block: Block,
        enhanced: bool,
        progress: &mut Progress,
        source: &mut Source,
    ) -> io::Result<Step> {
        if block.total_len < PACKET_HEADER_LEN + TRAILER_LEN {
            progress.stats.malformed_blocks += 1;
            return skip(block, progress, source);
        }
        let fixed = PACKET_HEADER_LEN as usize;
        let have = source.ensure(block.offset, fixed)?;
        let head = source.bytes(block.offset, have);
        let order = block.order;
        let interface_id = if enhanced {
            order.u32_at(head, 8)
        } else {
            order.u16_at(head, 8).map(u32::from)
        };
        let (Some(interface_id), Some(ts_high), Some(ts_low), Some(caplen), Some(orig_len)) = (
            interface_id,
            order.u32_at(head, 12),
            order.u32_at(head, 16),
            order.u32_at(head, 20),
            order.u32_at(head, 24),
        ) else {
            return Ok(truncated(
                block.offset,
                have,
                "block",
                block.total_len as usize,
            ));
        };
        if let Some(damage) = Step::caplen_over_limit(block.offset, caplen) {
            return Ok(damage);
        }
        if let Some(damage) = block.load(source)? {
            return Ok(Step::Damaged(damage));
        }
        progress.pos = block.end();
        if PACKET_HEADER_LEN + caplen + TRAILER_LEN > block.total_len {
            progress.stats.malformed_blocks += 1;
            return Ok(Step::Continue);
        }
        let Some((index, interface)) = self.interface(interface_id, progress) else {
            progress.stats.unknown_interface += 1;
            progress.stats.malformed_blocks += 1;
            return Ok(Step::Continue);
        };
        let ts64 = (u64::from(ts_high) << 32) | u64::from(ts_low);
        Ok(Step::Packet(PacketAt {
            offset: block.offset,
            data_pos: block.offset + u64::from(PACKET_HEADER_LEN),
            caplen: caplen as usize,
            orig_len,
            ts: interface.ts_offset as f64 + ts64 as f64 / interface.units_per_second,
            interface: index,
            link_type: interface.link_type,
        }))
    }

    /// A Simple Packet Block: interface 0 of the section, no time (takes the previous
    /// record's), captured length from the block, the original length and the snaplen.
    fn simple_packet(
        &mut self,
        block: Block,
        progress: &mut Progress,
        source: &mut Source,
    ) -> io::Result<Step> {
        if block.total_len < SPB_HEADER_LEN + TRAILER_LEN {
            progress.stats.malformed_blocks += 1;
            return skip(block, progress, source);
        }
        let fixed = SPB_HEADER_LEN as usize;
        let have = source.ensure(block.offset, fixed)?;
        let Some(orig_len) = block.order.u32_at(source.bytes(block.offset, have), 8) else {
            return Ok(truncated(
                block.offset,
                have,
                "block",
                block.total_len as usize,
            ));
        };
        let Some((index, interface)) = self.interface(0, progress) else {
            progress.stats.unknown_interface += 1;
            progress.stats.malformed_blocks += 1;
            return skip(block, progress, source);
        };
        let (link_type, snaplen) = (interface.link_type, interface.snaplen);
        let mut caplen = orig_len.min(block.total_len - SPB_HEADER_LEN - TRAILER_LEN);
        if snaplen != 0 {
            caplen = caplen.min(snaplen);
        }
        if let Some(damage) = Step::caplen_over_limit(block.offset, caplen) {
            return Ok(damage);
        }
        if let Some(damage) = block.load(source)? {
            return Ok(Step::Damaged(damage));
        }
        progress.pos = block.end();
        progress.stats.simple_packets_without_time += 1;
        Ok(Step::Packet(PacketAt {
            offset: block.offset,
            data_pos: block.offset + u64::from(SPB_HEADER_LEN),
            caplen: caplen as usize,
            orig_len,
            ts: progress.last_ts,
            interface: index,
            link_type,
        }))
    }

    /// The interface a packet block of the current section names, with its index in the
    /// interface list.
    fn interface<'p>(&self, id: u32, progress: &'p Progress) -> Option<(u32, &'p Interface)> {
        let index = self
            .first_interface
            .checked_add(usize::try_from(id).ok()?)?;
        let interface = progress.interfaces.get(index)?;
        Some((u32::try_from(index).ok()?, interface))
    }
}

/// Where a block is and how it is framed.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// File offset of the block.
    offset: u64,
    /// Its total length (≥ 12, a multiple of 4).
    total_len: u32,
    /// Byte order of its section.
    order: ByteOrder,
}

impl Block {
    /// File offset just past the block.
    fn end(&self) -> u64 {
        self.offset + u64::from(self.total_len)
    }

    /// Whether the trailing copy of the total length in `trailer` matches; damage if not.
    fn check_trailer(&self, trailer: &[u8]) -> Option<Damage> {
        match self.order.u32_at(trailer, 0) {
            Some(copy) if copy == self.total_len => None,
            Some(copy) => Some(Damage::new(
                self.offset,
                format!(
                    "block total length {} does not match its trailing copy {copy}",
                    self.total_len
                ),
            )),
            None => Some(Damage::new(
                self.offset,
                format!(
                    "the capture ends inside a block of {} bytes",
                    self.total_len
                ),
            )),
        }
    }

    /// Makes the whole block available in the source and checks its trailer: damage if it is
    /// bigger than [`MAX_BUFFERED_BLOCK`], cut off by the end of the capture, or mis-framed.
    fn load(&self, source: &mut Source) -> io::Result<Option<Damage>> {
        if self.total_len > MAX_BUFFERED_BLOCK {
            return Ok(Some(Damage::new(
                self.offset,
                format!(
                    "block of {} bytes exceeds the {MAX_BUFFERED_BLOCK}-byte limit",
                    self.total_len
                ),
            )));
        }
        let len = self.total_len as usize;
        let have = source.ensure(self.offset, len)?;
        if have < len {
            return Ok(Some(Damage::new(
                self.offset,
                format!("the capture ends inside a block ({have} of {len} bytes)"),
            )));
        }
        let trailer_pos = self.end() - u64::from(TRAILER_LEN);
        Ok(self.check_trailer(source.bytes(trailer_pos, TRAILER_LEN as usize)))
    }
}

/// Consumes a block without buffering it, after checking its trailer.
fn skip(block: Block, progress: &mut Progress, source: &mut Source) -> io::Result<Step> {
    let trailer_pos = block.end() - u64::from(TRAILER_LEN);
    let have = source.ensure(trailer_pos, TRAILER_LEN as usize)?;
    if let Some(damage) = block.check_trailer(source.bytes(trailer_pos, have)) {
        return Ok(Step::Damaged(damage));
    }
    progress.pos = block.end();
    Ok(Step::Continue)
}

/// Damage: the capture ends after `have` of the `need` bytes of a `what`.
fn truncated(offset: u64, have: usize, what: &str, need: usize) -> Step {
    Step::damaged(
        offset,
        format!("the capture ends inside a {what} ({have} of {need} bytes)"),
    )
}

/// Calls `f(code, value)` for each option of an options area, up to opt_endofopt or the first
/// option that does not fit.
fn for_each_option(options: &[u8], order: ByteOrder, mut f: impl FnMut(u16, &[u8])) {
    let mut at = 0usize;
    while let (Some(code), Some(len)) = (order.u16_at(options, at), order.u16_at(options, at + 2)) {
        if code == OPT_END {
            break;
        }
        let start = at + 4;
        let len = usize::from(len);
        let Some(value) = options.get(start..start + len) else {
            break;
        };
        f(code, value);
        at = start + len.next_multiple_of(4);
    }
}

/// Bytes as space-separated hex pairs.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use crate::byte_order::ByteOrder;
    use crate::fixtures::{NgBuilder, read_both};
    use crate::format::CaptureFormat;
    use crate::limits::MAX_CAPTURED_LEN;

    /// An if_tsoffset option value in the builder's byte order.
    fn tsoffset(ng: &NgBuilder, seconds: i64) -> Vec<u8> {
        ng.num(seconds as u64, 8)
    }

    #[test]
    fn reads_enhanced_packets_with_default_microseconds() {
        let bytes = NgBuilder::new()
            .shb(false)
            .idb(1, 65535, &[(2, b"eth0\0")])
            .epb(0, 1_600_000_000_123_456, &[1, 2, 3, 4, 5], 60)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(reader.format(), CaptureFormat::PcapNg);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.ts, 1_600_000_000_123_456_f64 / 1e6);
        assert_eq!(r.data, vec![1, 2, 3, 4, 5]);
        assert_eq!(r.orig_len, 60);
        assert_eq!(r.link_type, 1);
        assert_eq!(r.interface, 0);
        assert_eq!(
            r.offset,
            28 + 20 + 16,
            "after the SHB and the IDB with if_name"
        );
        let iface = &reader.interfaces()[0];
        assert_eq!(iface.name.as_deref(), Some("eth0"));
        assert_eq!(iface.snaplen, 65535);
        assert_eq!(iface.units_per_second, 1e6);
        assert_eq!(reader.stats().sections, 1);
        assert_eq!(reader.damage(), None);
        assert_eq!(reader.bytes_read(), bytes.len() as u64);
    }

    #[test]
    fn each_interface_has_its_own_resolution_and_offset() {
        let ng = NgBuilder::new().shb(true);
        let offset = tsoffset(&ng, 1_000);
        let bytes = ng
            .idb(1, 0, &[(9, &[9])])
            .idb(101, 0, &[(9, &[0x80 | 10]), (14, &offset)])
            .idb(113, 0, &[])
            .epb(0, 1_700_000_000_987_654_321, &[0xaa], 1)
            .epb(1, 5 * 1024 + 512, &[0xbb], 1)
            .epb(2, 42, &[0xcc], 1)
            .bytes();
        let (reader, records) = read_both(&bytes);
        let ts: Vec<f64> = records.iter().map(|r| r.ts).collect();
        assert_eq!(
            ts,
            vec![1_700_000_000_987_654_321u64 as f64 / 1e9, 1_005.5, 42e-6]
        );
        let links: Vec<u32> = records.iter().map(|r| r.link_type).collect();
        assert_eq!(links, vec![1, 101, 113]);
        assert_eq!(reader.interfaces()[1].units_per_second, 1024.0);
        assert_eq!(reader.interfaces()[1].ts_offset, 1_000);
        assert_eq!(reader.interfaces()[2].units_per_second, 1e6);
    }

    #[test]
    fn interface_ids_restart_in_each_section() {
        let bytes = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .idb(113, 0, &[])
            .epb(1, 1, &[1], 1)
            .shb(true)
            .idb(101, 0, &[(9, &[3])])
            .epb(0, 2, &[2], 1)
            .epb(1, 3, &[3], 1)
            .epb(0, 4, &[4], 1)
            .bytes();
        let (reader, records) = read_both(&bytes);
        let seen: Vec<(u32, u32, f64)> = records
            .iter()
            .map(|r| (r.interface, r.link_type, r.ts))
            .collect();
        assert_eq!(seen, vec![(1, 113, 1e-6), (2, 101, 2e-3), (2, 101, 4e-3)]);
        let ifaces = reader.interfaces();
        assert_eq!(ifaces.len(), 3);
        assert_eq!((ifaces[2].section, ifaces[2].index_in_section), (1, 0));
        assert_eq!((ifaces[1].section, ifaces[1].index_in_section), (0, 1));
        let stats = reader.stats();
        assert_eq!(stats.sections, 2);
        assert_eq!(stats.unknown_interface, 1);
        assert_eq!(stats.malformed_blocks, 1);
        assert_eq!(reader.damage(), None);
    }

    #[test]
    fn simple_and_obsolete_packet_blocks() {
        let bytes = NgBuilder::new()
            .shb(false)
            .idb(1, 4, &[(9, &[3])])
            .pb(0, 7_250, &[1, 2, 3])
            .spb(10, &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
            .spb(2, &[5, 6])
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].ts, 7.25);
        assert_eq!(records[0].data, vec![1, 2, 3]);
        // The snaplen (4) cuts the first SPB; the second is cut by its original length.
        assert_eq!(records[1].data, vec![9, 8, 7, 6]);
        assert_eq!(records[1].orig_len, 10);
        assert_eq!(records[1].ts, 7.25);
        assert_eq!(records[2].data, vec![5, 6]);
        assert_eq!(records[2].ts, 7.25);
        assert_eq!(reader.stats().simple_packets_without_time, 2);
    }

    #[test]
    fn blocks_without_packets_are_skipped_and_counted() {
        let big_custom = vec![0x5a; 400_000];
        let bytes = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .block(4, &[0; 8])
            .block(0x0000_0bad, &big_custom)
            .block(5, &[0; 20])
            .epb(0, 1, &[1], 1)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(reader.stats().blocks_skipped, 3);
        assert_eq!(reader.damage(), None);
    }

    #[test]
    fn packet_block_naming_a_missing_interface_is_skipped() {
        let bytes = NgBuilder::new()
            .shb(false)
            .epb(0, 1, &[1], 1)
            .spb(1, &[1])
            .idb(1, 0, &[])
            .epb(3, 2, &[2], 1)
            .epb(0, 3, &[3], 1)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].data, vec![3]);
        assert_eq!(reader.stats().unknown_interface, 3);
        assert_eq!(reader.stats().malformed_blocks, 3);
    }

    #[test]
    fn bad_block_total_lengths_are_damage() {
        let good = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .epb(0, 1, &[1], 1);
        let at = good.bytes().len() as u64;
        let cases: [(NgBuilder, &str); 3] = [
            (
                NgBuilder::new()
                    .shb(false)
                    .idb(1, 0, &[])
                    .epb(0, 1, &[1], 1)
                    .framed(6, 34, &[0; 22], 34),
                "block total length 34 is not a multiple of 4 of at least 12",
            ),
            (
                NgBuilder::new()
                    .shb(false)
                    .idb(1, 0, &[])
                    .epb(0, 1, &[1], 1)
                    .framed(4, 8, &[], 8),
                "block total length 8 is not a multiple of 4 of at least 12",
            ),
            (
                NgBuilder::new()
                    .shb(false)
                    .idb(1, 0, &[])
                    .epb(0, 1, &[1], 1)
                    .framed(5, 16, &[0; 4], 20),
                "block total length 16 does not match its trailing copy 20",
            ),
        ];
        for (file, reason) in cases {
            let (reader, records) = read_both(&file.epb(0, 2, &[2], 1).bytes());
            assert_eq!(records.len(), 1, "{reason}");
            let damage = reader.damage().unwrap();
            assert_eq!((damage.offset, damage.reason.as_str()), (at, reason));
        }
    }

    #[test]
    fn mismatched_trailer_of_a_packet_block_is_damage() {
        let ng = NgBuilder::new().shb(false).idb(1, 0, &[]);
        let at = ng.bytes().len() as u64;
        let ng = NgBuilder::new().shb(false).idb(1, 0, &[]);
        let mut body = ng.num(0, 4);
        body.extend(ng.num(0, 4));
        body.extend(ng.num(1, 4));
        body.extend(ng.num(4, 4));
        body.extend(ng.num(4, 4));
        body.extend([1, 2, 3, 4]);
        let bytes = ng.framed(6, 36, &body, 40).bytes();
        let (reader, records) = read_both(&bytes);
        assert!(records.is_empty());
        let damage = reader.damage().unwrap();
        assert_eq!(damage.offset, at);
        assert_eq!(
            damage.reason,
            "block total length 36 does not match its trailing copy 40"
        );
    }

    #[test]
    fn truncated_blocks_are_damage() {
        let whole = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .epb(0, 1, &[1; 8], 8)
            .epb(0, 2, &[2; 8], 8)
            .bytes();
        let second = 28 + 20 + 56;
        assert_eq!(whole.len(), second + 56);
        // Cut in the second block's header, fixed fields, packet data, and trailer.
        for (cut, reason) in [
            (
                second + 5,
                "the capture ends inside a block header (5 of 8 bytes)",
            ),
            (
                second + 20,
                "the capture ends inside a block (20 of 56 bytes)",
            ),
            (
                second + 30,
                "the capture ends inside a block (30 of 56 bytes)",
            ),
            (
                second + 54,
                "the capture ends inside a block (54 of 56 bytes)",
            ),
        ] {
            let (reader, records) = read_both(&whole[..cut]);
            assert_eq!(records.len(), 1, "{reason}");
            let damage = reader.damage().unwrap();
            assert_eq!(
                (damage.offset, damage.reason.as_str()),
                (second as u64, reason)
            );
        }
        // A skipped block cut short.
        let bytes = NgBuilder::new().shb(false).block(4, &[0; 100]).bytes();
        let (reader, _) = read_both(&bytes[..60]);
        assert_eq!(
            reader.damage().unwrap().reason,
            "the capture ends inside a block of 112 bytes"
        );
    }

    #[test]
    fn impossible_packet_lengths() {
        let ng = NgBuilder::new().shb(false).idb(1, 0, &[]);
        let at = ng.bytes().len() as u64;
        let ng = NgBuilder::new().shb(false).idb(1, 0, &[]);
        let mut body = ng.num(0, 4);
        body.extend(ng.num(0, 4));
        body.extend(ng.num(1, 4));
        body.extend(ng.num(u64::from(MAX_CAPTURED_LEN) + 1, 4));
        body.extend(ng.num(60, 4));
        body.extend([0; 8]);
        let bytes = ng.block(6, &body).bytes();
        let (reader, records) = read_both(&bytes);
        assert!(records.is_empty());
        let damage = reader.damage().unwrap();
        assert_eq!(damage.offset, at);
        assert_eq!(damage.reason, "captured length 262145 exceeds 262144 bytes");

        // A captured length beyond its (well-framed) block: malformed, skipped.
        let ng = NgBuilder::new().shb(false).idb(1, 0, &[]);
        let mut body = ng.num(0, 4);
        body.extend(ng.num(0, 4));
        body.extend(ng.num(1, 4));
        body.extend(ng.num(100, 4));
        body.extend(ng.num(100, 4));
        body.extend([0; 8]);
        let bytes = ng.block(6, &body).epb(0, 5, &[5], 1).bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(reader.stats().malformed_blocks, 1);
        assert_eq!(reader.damage(), None);

        // The largest captured length is read.
        let data = vec![3; MAX_CAPTURED_LEN as usize];
        let bytes = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .epb(0, 5, &data, 1)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records[0].data, data);
        assert_eq!(reader.stats().captured_beyond_wire, 1);
    }

    #[test]
    fn unknown_byte_order_magic_in_a_later_section_is_damage() {
        let ng = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .epb(0, 1, &[1], 1);
        let at = ng.bytes().len() as u64;
        let bytes = NgBuilder::new()
            .shb(false)
            .idb(1, 0, &[])
            .epb(0, 1, &[1], 1)
            .raw(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4])
            .raw(&[0; 16])
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        let damage = reader.damage().unwrap();
        assert_eq!(damage.offset, at);
        assert_eq!(
            damage.reason,
            "section header block with unknown byte-order magic 01 02 03 04"
        );
    }

    #[test]
    fn options_stop_at_the_end_marker_or_an_overrun() {
        let mut seen = Vec::new();
        let opts = [
            2, 0, 3, 0, b'a', b'b', b'c', 0, 9, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 14, 0,
        ];
        super::for_each_option(&opts, ByteOrder::Little, |code, value| {
            seen.push((code, value.to_vec()))
        });
        assert_eq!(seen, vec![(2, b"abc".to_vec()), (9, vec![6])]);
        seen.clear();
        super::for_each_option(&[2, 0, 200, 0, 1, 2], ByteOrder::Little, |code, value| {
            seen.push((code, value.to_vec()))
        });
        assert!(seen.is_empty());
    }
}
