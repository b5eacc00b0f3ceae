//! Writing the capture: classic pcap (microsecond timestamps, little-endian, Ethernet link
//! type) or pcapng (one section and one Ethernet interface with the default microsecond
//! clock, an enhanced packet block per packet, little-endian).

use std::io::{self, Write};

/// Snapshot length written in the file header (pcap) or interface (pcapng).
pub(crate) const SNAPLEN: u32 = 262_144;
/// Size of the classic file header.
pub(crate) const FILE_HEADER_LEN: u64 = 24;
/// Size of each classic record header.
pub(crate) const RECORD_HEADER_LEN: u64 = 16;
/// An enhanced packet block's fields before the packet, and its trailing length.
const EPB_OVERHEAD: usize = 28 + 4;

/// Writes a capture record by record, counting packets and bytes.
#[derive(Debug)]
pub(crate) struct PcapWriter<W: Write> {
    out: W,
    pcapng: bool,
    packets: u64,
    bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header (magic `a1b2c3d4` little-endian, version 2.4, link type 1), or
    /// with `pcapng` a section header block and an Ethernet interface description block.
    pub(crate) fn new(mut out: W, pcapng: bool) -> io::Result<PcapWriter<W>> {
        let header = if pcapng {
            let mut shb = block(0x0a0d_0d0a, 28);
            shb.extend(0x1a2b_3c4du32.to_le_bytes());
            shb.extend(1u16.to_le_bytes());
            shb.extend(0u16.to_le_bytes());
            shb.extend(u64::MAX.to_le_bytes()); // section length: not given
            shb.extend(28u32.to_le_bytes());
            let mut idb = block(1, 20);
            idb.extend(1u16.to_le_bytes());
            idb.extend(0u16.to_le_bytes());
            idb.extend(SNAPLEN.to_le_bytes());
            idb.extend(20u32.to_le_bytes());
            [shb, idb].concat()
        } else {
            let mut header = vec![0u8; FILE_HEADER_LEN as usize];
            header[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
            header[4..6].copy_from_slice(&2u16.to_le_bytes());
            header[6..8].copy_from_slice(&4u16.to_le_bytes());
            header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
            header[20..24].copy_from_slice(&1u32.to_le_bytes());
            header
        };
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            pcapng,
            packets: 0,
            bytes: header.len() as u64,
        })
    }

    /// Writes one record: `frame` captured whole at `ts_us` microseconds since the epoch.
    pub(crate) fn write(&mut self, ts_us: u64, frame: &[u8]) -> io::Result<()> {
        let len = frame.len() as u32;
        if self.pcapng {
            let padding = frame.len().next_multiple_of(4) - frame.len();
            let total = EPB_OVERHEAD + frame.len() + padding;
            let mut head = block(6, total);
            head.extend(0u32.to_le_bytes()); // interface 0
            head.extend(((ts_us >> 32) as u32).to_le_bytes());
            head.extend((ts_us as u32).to_le_bytes());
            head.extend(len.to_le_bytes());
            head.extend(len.to_le_bytes());
            self.out.write_all(&head)?;
            self.out.write_all(frame)?;
            self.out.write_all(&[0; 3][..padding])?;
            self.out.write_all(&(total as u32).to_le_bytes())?;
            self.bytes += total as u64;
        } else {
            let secs = u32::try_from(ts_us / 1_000_000)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timestamp after 2106"))?;
            let micros = (ts_us % 1_000_000) as u32;
            let mut header = [0u8; RECORD_HEADER_LEN as usize];
            header[0..4].copy_from_slice(&secs.to_le_bytes());
            header[4..8].copy_from_slice(&micros.to_le_bytes());
            header[8..12].copy_from_slice(&len.to_le_bytes());
            header[12..16].copy_from_slice(&len.to_le_bytes());
            self.out.write_all(&header)?;
            self.out.write_all(frame)?;
            self.bytes += RECORD_HEADER_LEN + frame.len() as u64;
        }
        self.packets += 1;
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

/// The start of a pcapng block: its type and total length.
fn block(block_type: u32, total: usize) -> Vec<u8> {
    let mut out = block_type.to_le_bytes().to_vec();
    out.extend((total as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new(), false).unwrap();
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
