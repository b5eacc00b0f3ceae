//! The two halves of a classic pcap, by records, as two complete captures: what two
//! independent one-thread processes run to show what two cores can give a run at best (no
//! work done twice, nothing handed between threads).

use std::io::{self, Write};
use std::path::Path;

/// Length of the global header of a classic pcap.
const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a record header.
const RECORD_HEADER_LEN: usize = 16;

/// Writes the first half of `capture`'s records to `first` and the rest to `second`, each
/// after a copy of the global header. Returns the records in each half. Only little-endian
/// classic pcap (what `jjc-synth` writes) is read; anything else is an error.
pub fn split(capture: &Path, first: &Path, second: &Path) -> io::Result<(usize, usize)> {
    let bytes = std::fs::read(capture)?;
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let header = bytes
        .get(..GLOBAL_HEADER_LEN)
        .ok_or_else(|| invalid("shorter than a pcap global header"))?;
    if !matches!(
        header.get(..4),
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1])
    ) {
        return Err(invalid("not a little-endian classic pcap"));
    }
    let mut starts = Vec::new();
    let mut pos = GLOBAL_HEADER_LEN;
    while pos < bytes.len() {
        let caplen = bytes
            .get(pos + 8..pos + 12)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| invalid("the capture ends inside a record header"))?;
        starts.push(pos);
        pos += RECORD_HEADER_LEN + caplen as usize;
    }
    if pos != bytes.len() {
        return Err(invalid("the capture ends inside a record"));
    }
    let middle = starts.get(starts.len() / 2).copied().unwrap_or(bytes.len());
    let write = |path: &Path, records: &[u8]| -> io::Result<()> {
        let mut file = io::BufWriter::new(std::fs::File::create(path)?);
        file.write_all(header)?;
        file.write_all(records)?;
        file.flush()
    };
    write(first, &bytes[GLOBAL_HEADER_LEN..middle])?;
    write(second, &bytes[middle..])?;
    let half = starts.len() / 2;
    Ok((half, starts.len() - half))
}

#[cfg(test)]
mod tests {
    use super::split;

    /// A little-endian µs pcap of `n` records, record `i` holding `i % 7 + 1` bytes of `i`.
    fn capture(n: u8) -> Vec<u8> {
        let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        bytes.extend([0; 8]);
        bytes.extend(65535u32.to_le_bytes());
        bytes.extend(1u32.to_le_bytes());
        for i in 0..n {
            let len = u32::from(i % 7 + 1);
            for word in [1_700_000_000, u32::from(i), len, len] {
                bytes.extend(word.to_le_bytes());
            }
            bytes.extend(std::iter::repeat_n(i, len as usize));
        }
        bytes
    }

    #[test]
    fn the_halves_hold_every_record_once_in_order() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (whole, first, second) = (
            dir.path().join("w.pcap"),
            dir.path().join("a.pcap"),
            dir.path().join("b.pcap"),
        );
        for n in [0, 1, 2, 9] {
            let bytes = capture(n);
            std::fs::write(&whole, &bytes).expect("written");
            let counts = split(&whole, &first, &second).expect("split");
            assert_eq!(counts, (usize::from(n / 2), usize::from(n - n / 2)));
            let (a, b) = (
                std::fs::read(&first).expect("read"),
                std::fs::read(&second).expect("read"),
            );
            assert_eq!(a[..24], bytes[..24]);
            assert_eq!(b[..24], bytes[..24]);
            let rejoined: Vec<u8> = a.iter().chain(&b[24..]).copied().collect();
            assert_eq!(rejoined, bytes, "{n} records");
        }
    }

    #[test]
    fn a_truncated_capture_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let whole = dir.path().join("w.pcap");
        let mut bytes = capture(3);
        bytes.pop();
        std::fs::write(&whole, &bytes).expect("written");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        assert!(split(&whole, &a, &b).is_err());
        std::fs::write(&whole, b"not a capture at all, not at all").expect("written");
        assert!(split(&whole, &a, &b).is_err());
    }
}
