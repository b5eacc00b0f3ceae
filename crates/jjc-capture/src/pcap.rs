//! Classic pcap: the 24-byte global header and 16-byte record headers.

use std::io;

use crate::byte_order::ByteOrder;
use crate::format::CaptureFormat;
use crate::interface::{Interface, MICROS_PER_SECOND, NANOS_PER_SECOND};
use crate::parser::{PacketAt, Progress, Step};
use crate::source::Source;
use crate::stats::ReadStats;

/// Length of the global header.
pub(crate) const GLOBAL_HEADER_LEN: usize = 24;

/// Length of a record header: seconds, fraction, captured length, original length.
pub(crate) const RECORD_HEADER_LEN: usize = 16;

/// Below this snaplen a record longer than the snaplen is tolerated (writers that put
/// nonsense there); from it on such a record is damage.
const SNAPLEN_TRUSTED_FROM: u32 = 64;

/// What the global header says about every record of a classic pcap file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PcapLayout {
    /// Byte order of every header.
    order: ByteOrder,
    /// Fractions are nanoseconds.
    nanos: bool,
    /// The file's snaplen.
    snaplen: u32,
    /// The file's link type (low 16 bits of the network field).
    link_type: u32,
}

impl PcapLayout {
    /// The layout and the file's one interface, from the global header of a file of
    /// `format`; `None` if `header` is shorter than [`GLOBAL_HEADER_LEN`].
    pub(crate) fn from_header(
        format: CaptureFormat,
        header: &[u8],
    ) -> Option<(PcapLayout, Interface)> {
        let CaptureFormat::Pcap { nanos, .. } = format else {
            return None;
        };
        let order = format.pcap_byte_order();
        let snaplen = order.u32_at(header, 16)?;
        // The upper bits of the network field hold FCS information, not the link type.
        let link_type = order.u32_at(header, 20)? & 0xffff;
        let layout = PcapLayout {
            order,
            nanos,
            snaplen,
            link_type,
        };
        let interface = Interface {
            section: 0,
            index_in_section: 0,
            link_type,
            snaplen,
            units_per_second: if nanos {
                NANOS_PER_SECOND
            } else {
                MICROS_PER_SECOND
            },
            ts_offset: 0,
            name: None,
        };
        Some((layout, interface))
    }

    /// The byte order of every header.
    pub(crate) fn order(&self) -> ByteOrder {
        self.order
    }

    /// The file's link type.
    pub(crate) fn link_type(&self) -> u32 {
        self.link_type
    }

    /// Whether a record of `caplen` captured bytes is damage for exceeding the file's
    /// snaplen (a snaplen below [`SNAPLEN_TRUSTED_FROM`] is not trusted).
    pub(crate) fn caplen_over_snaplen(&self, caplen: u32) -> bool {
        self.snaplen >= SNAPLEN_TRUSTED_FROM && caplen > self.snaplen
    }

    /// A record's time when its fraction is in range (below a second); `None` when the
    /// reader would carry it into the seconds.
    pub(crate) fn time_in_range(&self, sec: u32, frac: u32) -> Option<f64> {
        let (unit, per_second) = fraction_unit(self.nanos);
        (frac < unit).then(|| u64::from(sec) as f64 + f64::from(frac) / per_second)
    }

    /// Parses the record at `progress.pos`.
    pub(crate) fn step(&self, progress: &mut Progress, source: &mut Source) -> io::Result<Step> {
        let offset = progress.pos;
        let have = source.ensure(offset, RECORD_HEADER_LEN)?;
        if have == 0 {
            return Ok(Step::End);
        }
        let header = source.bytes(offset, have);
        let (Some(sec), Some(frac), Some(caplen), Some(orig_len)) = (
            self.order.u32_at(header, 0),
            self.order.u32_at(header, 4),
            self.order.u32_at(header, 8),
            self.order.u32_at(header, 12),
        ) else {
            return Ok(Step::damaged(
                offset,
                format!(
                    "the capture ends inside a record header ({have} of {RECORD_HEADER_LEN} bytes)"
                ),
            ));
        };
        if let Some(damage) = Step::caplen_over_limit(offset, caplen) {
            return Ok(damage);
        }
        if self.caplen_over_snaplen(caplen) {
            return Ok(Step::damaged(
                offset,
                format!(
                    "captured length {caplen} exceeds the snaplen {}",
                    self.snaplen
                ),
            ));
        }
        let data_pos = offset + RECORD_HEADER_LEN as u64;
        // Bounded by MAX_CAPTURED_LEN above.
        let caplen = caplen as usize;
        let have = source.ensure(data_pos, caplen)?;
        if have < caplen {
            return Ok(Step::damaged(
                offset,
                format!("the capture ends inside a record ({have} of {caplen} captured bytes)"),
            ));
        }
        progress.pos = data_pos + caplen as u64;
        source.prefetch(progress.pos);
        source.read_ahead(offset, RECORD_HEADER_LEN + caplen);
        Ok(Step::Packet(PacketAt {
            offset,
            data_pos,
            caplen,
            orig_len,
            ts: self.record_time(sec, frac, &mut progress.stats),
            interface: 0,
            link_type: self.link_type,
        }))
    }
}

impl PcapLayout {
    /// A record's time: `seconds + fraction / 1e6` (`/ 1e9` for ns files), after carrying an
    /// out-of-range fraction into the seconds (counted).
    fn record_time(&self, sec: u32, frac: u32, stats: &mut ReadStats) -> f64 {
        if let Some(ts) = self.time_in_range(sec, frac) {
            return ts;
        }
        let (unit, per_second) = fraction_unit(self.nanos);
        stats.fractions_carried += 1;
        (u64::from(sec) + u64::from(frac / unit)) as f64 + f64::from(frac % unit) / per_second
    }
}

/// Fraction units in a second, as an integer and as a float: microseconds, or nanoseconds.
fn fraction_unit(nanos: bool) -> (u32, f64) {
    if nanos {
        (1_000_000_000, NANOS_PER_SECOND)
    } else {
        (1_000_000, MICROS_PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{PcapBuilder, read_both};
    use crate::format::CaptureFormat;
    use crate::limits::MAX_CAPTURED_LEN;

    #[test]
    fn reads_microsecond_little_endian() {
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .record(1_600_000_000, 123_456, &[1, 2, 3], 60)
            .record(1_600_000_001, 999_999, &[4; 10], 10)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(
            reader.format(),
            CaptureFormat::Pcap {
                nanos: false,
                big_endian: false
            }
        );
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].ts, 1_600_000_000f64 + 123_456f64 / 1e6);
        assert_eq!(records[0].data, vec![1, 2, 3]);
        assert_eq!(records[0].orig_len, 60);
        assert_eq!(records[0].offset, 24);
        assert_eq!(records[0].link_type, 1);
        assert_eq!(records[1].offset, 24 + 16 + 3);
        assert_eq!(records[1].data, vec![4; 10]);
        assert_eq!(reader.damage(), None);
        assert_eq!(reader.stats().records, 2);
        assert_eq!(reader.interfaces().len(), 1);
        assert_eq!(reader.interfaces()[0].snaplen, 65535);
        assert_eq!(reader.interfaces()[0].units_per_second, 1e6);
        assert_eq!(reader.bytes_read(), bytes.len() as u64);
        assert_eq!(reader.total_bytes(), Some(bytes.len() as u64));
    }

    #[test]
    fn reads_nanosecond_big_endian_and_masks_fcs_bits() {
        let bytes = PcapBuilder::new(true, true, 262144, 0x1400_0000 | 113)
            .record(1_700_000_000, 987_654_321, &[9; 5], 5)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(
            reader.format(),
            CaptureFormat::Pcap {
                nanos: true,
                big_endian: true
            }
        );
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].ts, 1_700_000_000f64 + 987_654_321f64 / 1e9);
        assert_eq!(records[0].link_type, 113);
        assert_eq!(reader.interfaces()[0].units_per_second, 1e9);
    }

    #[test]
    fn carries_out_of_range_fractions() {
        let bytes = PcapBuilder::new(true, false, 0, 1)
            .record(100, 2_500_000_000, &[], 0)
            .record(100, 999_999_999, &[], 0)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records[0].ts, 102.0 + 500_000_000f64 / 1e9);
        assert_eq!(records[1].ts, 100.0 + 999_999_999f64 / 1e9);
        assert_eq!(reader.stats().fractions_carried, 1);

        let bytes = PcapBuilder::new(false, true, 0, 1)
            .record(u32::MAX, 3_000_001, &[], 0)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records[0].ts, (u64::from(u32::MAX) + 3) as f64 + 1e-6);
        assert_eq!(reader.stats().fractions_carried, 1);
    }

    #[test]
    fn truncated_record_header_is_damage() {
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .record(1, 0, &[0; 200], 300)
            .raw(&[1, 2, 3, 4, 5, 6, 7])
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        let damage = reader.damage().unwrap();
        assert_eq!(damage.offset, 240);
        assert_eq!(
            damage.reason,
            "the capture ends inside a record header (7 of 16 bytes)"
        );
    }

    #[test]
    fn truncated_record_data_is_damage() {
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .record(1, 0, &[0; 20], 20)
            .header(2, 0, 100, 100)
            .raw(&[0; 30])
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        let damage = reader.damage().unwrap();
        assert_eq!(damage.offset, 60);
        assert_eq!(
            damage.reason,
            "the capture ends inside a record (30 of 100 captured bytes)"
        );
    }

    #[test]
    fn impossible_captured_lengths_are_damage() {
        let bytes = PcapBuilder::new(false, false, 0, 1)
            .record(1, 0, &[0; 4], 4)
            .header(2, 0, 4_194_304, 4_194_304)
            .raw(&[0; 26])
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(
            reader.damage().unwrap().to_string(),
            "damaged record at byte 44: captured length 4194304 exceeds 262144 bytes; \
             stopped reading there"
        );

        let bytes = PcapBuilder::new(false, false, 96, 1)
            .record(1, 0, &[0; 96], 1500)
            .header(2, 0, 97, 1500)
            .raw(&[0; 97])
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(
            reader.damage().unwrap().reason,
            "captured length 97 exceeds the snaplen 96"
        );
    }

    #[test]
    fn tolerated_lengths_are_kept() {
        // A tiny snaplen is not trusted; the largest allowed caplen is kept; a record longer
        // than on the wire is kept and counted.
        let big = vec![7; MAX_CAPTURED_LEN as usize];
        let bytes = PcapBuilder::new(false, false, 16, 1)
            .record(1, 0, &[0; 40], 40)
            .record(2, 0, &big, 10)
            .bytes();
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].data.len(), MAX_CAPTURED_LEN as usize);
        assert_eq!(reader.damage(), None);
        assert_eq!(reader.stats().captured_beyond_wire, 1);
    }
}
