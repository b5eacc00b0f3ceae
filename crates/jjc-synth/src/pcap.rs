//! Writing classic pcap: microsecond timestamps, little-endian, Ethernet link type.

use std::io::{self, Write};

/// Snapshot length written in the file header.
pub(crate) const SNAPLEN: u32 = 262_144;
/// Size of the file header.
pub(crate) const FILE_HEADER_LEN: u64 = 24;
/// Size of each record header.
pub(crate) const RECORD_HEADER_LEN: u64 = 16;

/// Writes a pcap file record by record, counting packets and bytes.
#[derive(Debug)]
pub(crate) struct PcapWriter<W: Write> {
    out: W,
    packets: u64,
    bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header (magic `a1b2c3d4` little-endian, version 2.4, link type 1).
    pub(crate) fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut header = [0u8; FILE_HEADER_LEN as usize];
        header[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes());
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&1u32.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            packets: 0,
            bytes: FILE_HEADER_LEN,
        })
    }

    /// Writes one record: `frame` captured whole at `ts_us` microseconds since the epoch.
    pub(crate) fn write(&mut self, ts_us: u64, frame: &[u8]) -> io::Result<()> {
        let secs = u32::try_from(ts_us / 1_000_000)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timestamp after 2106"))?;
        let micros = (ts_us % 1_000_000) as u32;
        let len = frame.len() as u32;
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        header[0..4].copy_from_slice(&secs.to_le_bytes());
        header[4..8].copy_from_slice(&micros.to_le_bytes());
        header[8..12].copy_from_slice(&len.to_le_bytes());
        header[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&header)?;
        self.out.write_all(frame)?;
        self.packets += 1;
        self.bytes += RECORD_HEADER_LEN + frame.len() as u64;
        Ok(())
    }

    /// Records written so far.
    pub(crate) fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes written so far, file header included.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Flushes the output.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(1_700_000_000_123_456, &[1, 2, 3]).unwrap();
        assert_eq!((w.packets(), w.bytes()), (1, 24 + 16 + 3));
        let out = w.out;
        assert_eq!(&out[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&out[20..24], &[1, 0, 0, 0]);
        assert_eq!(&out[24..28], &1_700_000_000u32.to_le_bytes());
        assert_eq!(&out[28..32], &123_456u32.to_le_bytes());
        assert_eq!(&out[32..36], &3u32.to_le_bytes());
        assert_eq!(&out[40..], &[1, 2, 3]);
    }
}
