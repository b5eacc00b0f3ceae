//! A classic pcap cut into parts by records, each a complete capture: the halves that two
//! independent one-thread processes run to show what two cores can give a run at best (no
//! work done twice, nothing handed between threads), and the folder of parts that shows a
//! run over many captures.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Length of the global header of a classic pcap.
const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a record header.
const RECORD_HEADER_LEN: usize = 16;

/// Writes `capture`'s records into `parts` captures in `dir` (`part-00.pcap`, …), each
/// after a copy of the global header, as evenly as records go; returns their paths and
/// records. Only little-endian classic pcap (what `jjc-synth` writes) is read; anything else
/// is an error.
pub fn split(capture: &Path, parts: usize, dir: &Path) -> io::Result<Vec<(PathBuf, usize)>> {
    let bytes = std::fs::read(capture)?;
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    if parts == 0 {
        return Err(invalid("cannot cut a capture into no parts"));
    }
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
    starts.push(bytes.len());
    let records = starts.len() - 1;
    std::fs::create_dir_all(dir)?;
    (0..parts)
        .map(|k| {
            let (first, end) = (k * records / parts, (k + 1) * records / parts);
            let path = dir.join(format!("part-{k:02}.pcap"));
            let mut file = io::BufWriter::new(std::fs::File::create(&path)?);
            file.write_all(header)?;
            file.write_all(&bytes[starts[first]..starts[end]])?;
            file.flush()?;
            Ok((path, end - first))
        })
        .collect()
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
    fn the_parts_hold_every_record_once_in_order() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let whole = dir.path().join("w.pcap");
        for (n, parts) in [(0, 2), (1, 2), (2, 2), (9, 2), (9, 4), (30, 10), (3, 5)] {
            let bytes = capture(n);
            std::fs::write(&whole, &bytes).expect("written");
            let out = dir.path().join(format!("{n}-{parts}"));
            let written = split(&whole, parts, &out).expect("split");
            assert_eq!(written.len(), parts);
            let counts: Vec<usize> = written.iter().map(|w| w.1).collect();
            assert_eq!(counts.iter().sum::<usize>(), usize::from(n));
            let (least, most) = (counts.iter().min(), counts.iter().max());
            assert!(
                most.zip(least).is_some_and(|(m, l)| m - l <= 1),
                "{counts:?}"
            );
            let mut rejoined = bytes[..24].to_vec();
            for (path, _) in &written {
                let part = std::fs::read(path).expect("read");
                assert_eq!(part[..24], bytes[..24]);
                rejoined.extend(&part[24..]);
            }
            assert_eq!(rejoined, bytes, "{n} records in {parts} parts");
        }
    }

    #[test]
    fn a_truncated_capture_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let whole = dir.path().join("w.pcap");
        let mut bytes = capture(3);
        bytes.pop();
        std::fs::write(&whole, &bytes).expect("written");
        assert!(split(&whole, 2, dir.path()).is_err());
        std::fs::write(&whole, b"not a capture at all, not at all").expect("written");
        assert!(split(&whole, 2, dir.path()).is_err());
        std::fs::write(&whole, capture(3)).expect("written");
        assert!(split(&whole, 0, dir.path()).is_err());
    }
}
