//! Finding the captures in a folder.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::format::sniff_format;

/// The captures in `dir` (files whose first bytes are a pcap or pcapng magic number) and the
/// other entries, which are skipped (files of other kinds, and sub-folders: the listing is
/// not recursive); each list sorted by file name.
pub fn list_captures(dir: &Path) -> io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut captures = Vec::new();
    let mut skipped = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() && has_capture_magic(&path)? {
            captures.push(path);
        } else {
            skipped.push(path);
        }
    }
    captures.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    skipped.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok((captures, skipped))
}

/// Whether the file starts with a pcap or pcapng magic number.
fn has_capture_magic(path: &Path) -> io::Result<bool> {
    let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let mut file = File::open(path).map_err(with_path)?;
    let mut magic = Vec::with_capacity(4);
    file.by_ref()
        .take(4)
        .read_to_end(&mut magic)
        .map_err(with_path)?;
    Ok(sniff_format(&magic).is_some())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::list_captures;

    #[test]
    fn lists_captures_by_magic_sorted_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(p.join("b.cap"), [0xd4, 0xc3, 0xb2, 0xa1, 0, 0]).unwrap();
        fs::write(p.join("a.txt"), [0x0a, 0x0d, 0x0d, 0x0a]).unwrap();
        fs::write(p.join("c.pcap"), b"<html>").unwrap();
        fs::write(p.join("d"), [0xa1]).unwrap();
        fs::create_dir(p.join("sub")).unwrap();
        fs::write(p.join("sub").join("x.pcap"), [0xd4, 0xc3, 0xb2, 0xa1]).unwrap();
        let (captures, skipped) = list_captures(p).unwrap();
        assert_eq!(captures, vec![p.join("a.txt"), p.join("b.cap")]);
        assert_eq!(skipped, vec![p.join("c.pcap"), p.join("d"), p.join("sub")]);
        assert!(list_captures(&p.join("missing")).is_err());
    }
}
