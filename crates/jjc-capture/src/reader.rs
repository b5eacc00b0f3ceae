//! The capture reader: opens a file or stream, recognises its format and hands out records.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

use crate::damage::Damage;
use crate::error::CaptureError;
use crate::format::{CaptureFormat, sniff_format};
use crate::interface::Interface;
use crate::mapped::MappedCapture;
use crate::mapped_pcap::MappedPcap;
use crate::mapped_pcapng::MappedPcapNg;
use crate::parser::{Progress, Step};
use crate::pcap::{GLOBAL_HEADER_LEN, PcapLayout};
use crate::pcapng::{Sections, hex};
use crate::record::Record;
use crate::source::Source;
use crate::stats::ReadStats;

/// Bytes read before deciding what a file is: a pcap global header or the smallest pcapng
/// Section Header Block.
const PROBE_LEN: usize = 28;

/// How the records of the capture are laid out.
#[derive(Debug)]
enum Layout {
    /// Classic pcap.
    Pcap(PcapLayout),
    /// pcapng, with the section being read.
    PcapNg(Sections),
}

/// Reads the records of one capture, in file order.
///
/// A lending iterator: each [`Record`] borrows the reader until the next call to
/// [`CaptureReader::next_record`]. Memory-mapped files are read without copying; streams
/// through one bounded buffer that is reused.
pub struct CaptureReader {
    /// The file's path or the stream's name, for messages.
    name: String,
    /// The capture's format.
    format: CaptureFormat,
    /// Size of the input, when known.
    total_bytes: Option<u64>,
    /// Where the bytes come from.
    source: Source,
    /// Position, interfaces and counts.
    progress: Progress,
    /// Format-specific parsing state.
    layout: Layout,
    /// Where and why reading stopped early.
    damage: Option<Damage>,
    /// The end, damage or an I/O error was reached.
    finished: bool,
    /// A mapped pcapng's enhanced packet blocks read by offset with the section and
    /// interfaces the reader has seen, a shortcut past the general block parser (which reads
    /// every other block, and any packet block this does not read).
    blocks: Option<MappedPcapNg>,
    /// Bytes at the start of a mapped capture whose pages were given back
    /// ([`CaptureReader::release_behind`]), shared by every reader of the mapping, so that
    /// each range is given back once, by whichever reader gets to it first.
    released: Arc<AtomicU64>,
}

impl CaptureReader {
    /// A second reader of the same memory-mapped capture, from its first record, sharing the
    /// mapping (so pages one reader faulted in are there for the other); `None` for a stream.
    /// Several threads can each walk the whole capture this way.
    pub fn reopen(&self) -> Option<Result<CaptureReader, CaptureError>> {
        match &self.source {
            Source::Mapped(map) => Some(
                CaptureReader::start(
                    self.name.clone(),
                    Source::Mapped(map.clone()),
                    self.total_bytes,
                )
                .map(|again| CaptureReader {
                    released: Arc::clone(&self.released),
                    ..again
                }),
            ),
            Source::Stream(_) => None,
        }
    }

    /// Opens a capture file: memory-mapped, or streamed if it cannot be mapped (a pipe, say).
    ///
    /// A file that is not a capture (unknown magic number, or shorter than a header) is
    /// [`CaptureError::NotACapture`], naming the file and what was found.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| CaptureError::io(&name, e))?;
        let size = file
            .metadata()
            .ok()
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len());
        let source = match size {
            Some(_) => match map(&file) {
                Some(map) => Source::Mapped(Arc::new(map)),
                None => Source::stream(Box::new(file)),
            },
            None => Source::stream(Box::new(file)),
        };
        CaptureReader::start(name, source, size)
    }

    /// Reads a capture from any stream (standard input, say), through a bounded buffer that
    /// is reused: the stream is never read into memory whole. `name` is used in messages.
    pub fn from_stream(
        name: &str,
        stream: Box<dyn Read + Send>,
    ) -> Result<CaptureReader, CaptureError> {
        CaptureReader::start(name.to_string(), Source::stream(stream), None)
    }

    /// Recognises the format from the first bytes and prepares to read the first record.
    fn start(
        name: String,
        mut source: Source,
        total_bytes: Option<u64>,
    ) -> Result<CaptureReader, CaptureError> {
        let have = source
            .ensure(0, PROBE_LEN)
            .map_err(|e| CaptureError::io(&name, e))?;
        let head = source.bytes(0, have);
        let not_a_capture = |found: String| CaptureError::NotACapture {
            path: PathBuf::from(&name),
            found,
        };
        let Some(format) = sniff_format(head) else {
            return Err(not_a_capture(if head.is_empty() {
                "the file is empty".to_string()
            } else {
                format!("first bytes {}", hex(head.get(..4).unwrap_or(head)))
            }));
        };
        let mut progress = Progress {
            pos: 0,
            interfaces: Vec::new(),
            stats: ReadStats::default(),
            last_ts: 0.0,
        };
        let layout = match format {
            CaptureFormat::Pcap { .. } => {
                let Some((layout, interface)) = PcapLayout::from_header(format, head) else {
                    return Err(not_a_capture(format!(
                        "only {have} bytes, shorter than a pcap header ({GLOBAL_HEADER_LEN} bytes)"
                    )));
                };
                progress.interfaces.push(interface);
                progress.pos = GLOBAL_HEADER_LEN as u64;
                Layout::Pcap(layout)
            }
            CaptureFormat::PcapNg => {
                if have < PROBE_LEN {
                    return Err(not_a_capture(format!(
                        "only {have} bytes, shorter than a pcapng section header \
                         ({PROBE_LEN} bytes)"
                    )));
                }
                let magic = head.get(8..12).unwrap_or(&[]);
                if Sections::byte_order_of(magic).is_none() {
                    return Err(not_a_capture(format!(
                        "pcapng section header with unknown byte-order magic {}",
                        hex(magic)
                    )));
                }
                Layout::PcapNg(Sections::new())
            }
        };
        Ok(CaptureReader {
            name,
            format,
            total_bytes,
            source,
            progress,
            layout,
            damage: None,
            finished: false,
            released: Arc::default(),
            blocks: None,
        })
    }

    /// The file's path or the stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The capture's format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// The next packet record, or `None` at the end of the capture or where it is damaged
    /// (see [`CaptureReader::damage`]). The record is valid until the next call.
    ///
    /// Errors only for I/O errors; after an error, or once `None` was returned, the reader
    /// returns `None`.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, CaptureError> {
        if self.finished {
            return Ok(None);
        }
        let packet = loop {
            let step = match &mut self.layout {
                Layout::Pcap(layout) => layout.step(&mut self.progress, &mut self.source),
                Layout::PcapNg(sections) => MappedPcapNg::step(
                    &mut self.blocks,
                    sections,
                    &mut self.progress,
                    &mut self.source,
                ),
            };
            match step {
                Ok(Step::Packet(packet)) => break packet,
                Ok(Step::Continue) => {}
                Ok(Step::End) => {
                    self.finished = true;
                    return Ok(None);
                }
                Ok(Step::Damaged(damage)) => {
                    self.damage = Some(damage);
                    self.finished = true;
                    return Ok(None);
                }
                Err(e) => {
                    self.finished = true;
                    return Err(CaptureError::io(&self.name, e));
                }
            }
        };
        let stats = &mut self.progress.stats;
        stats.records += 1;
        if packet.caplen as u64 > u64::from(packet.orig_len) {
            stats.captured_beyond_wire += 1;
        }
        self.progress.last_ts = packet.ts;
        Ok(Some(Record {
            ts: packet.ts,
            link_type: packet.link_type,
            interface: packet.interface,
            data: self.source.bytes(packet.data_pos, packet.caplen),
            orig_len: packet.orig_len,
            offset: packet.offset,
        }))
    }

    /// Where and why reading stopped early, if the capture is damaged.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }

    /// Counts of records and of what was fixed or skipped so far.
    pub fn stats(&self) -> &ReadStats {
        &self.progress.stats
    }

    /// Every interface seen so far ([`Record::interface`] indexes this); classic pcap has one.
    pub fn interfaces(&self) -> &[Interface] {
        &self.progress.interfaces
    }

    /// Bytes of the input consumed so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.progress.pos
    }

    /// Size of the input, when it is a file.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }

    /// Bytes at the start of a mapped capture whose pages were given back, by this reader or
    /// another reader of the same mapping; 0 for a stream.
    pub fn released(&self) -> u64 {
        self.released.load(Ordering::Relaxed)
    }

    /// Gives back the memory of a mapped capture's pages well behind byte `pos`, where the
    /// hindmost reader of the mapping is (this reader's [`CaptureReader::bytes_read`] when it
    /// is the only one): they would otherwise stay in the process's resident memory until the
    /// end, a whole 10 GB capture's worth, and be given back then, while nothing else runs.
    /// A reader that reads them again faults them back in from the file. Does nothing for a
    /// stream.
    pub fn release_behind(&self, pos: u64) {
        let upto = pos.saturating_sub(RELEASE_LAG) & !(RELEASE_ALIGN - 1);
        if upto
            >= self
                .released
                .load(Ordering::Relaxed)
                .saturating_add(RELEASE_STEP)
        {
            self.release_upto(upto);
        }
    }

    /// The capture's records by offset, when it is memory-mapped, for threads that split it
    /// between them ([`MappedCapture`]): a classic pcap, or a pcapng whose first packet block
    /// is an enhanced packet block.
    pub fn mapped_capture(&self) -> Option<MappedCapture> {
        match (&self.source, &self.layout) {
            (Source::Mapped(map), Layout::Pcap(layout)) => Some(MappedCapture::pcap(
                MappedPcap::new(Arc::clone(map), *layout),
            )),
            (Source::Mapped(map), Layout::PcapNg(_)) => {
                MappedPcapNg::new(Arc::clone(map)).map(MappedCapture::pcapng)
            }
            _ => None,
        }
    }

    /// Goes on reading at `offset`, which must be a record's start (as
    /// [`MappedCapture::record_at`] found it), as if the records before it had been read, the
    /// last of them at `last_ts`: what the records from there on hold is counted and reported
    /// as usual. A pcapng's blocks before its first packet block are read first, for the
    /// section and interfaces they describe (the records up to `offset` can change neither:
    /// they were enhanced packet blocks).
    pub fn resume_at(&mut self, offset: u64, last_ts: f64) {
        if self.finished {
            return;
        }
        if let Layout::PcapNg(sections) = &mut self.layout
            && !sections.read_to_packets(&mut self.progress, &mut self.source, offset)
        {
            // Left where it is: the next read meets it again and reports it.
            return;
        }
        self.progress.pos = offset;
        self.progress.last_ts = last_ts;
        self.blocks = None;
    }

    /// Gives back the memory of every page of a mapped capture once it is read: a run over a
    /// folder keeps its captures open to the end, and each would otherwise stay resident
    /// (a folder of 10 MB captures grew by 10 MB a capture). Reading it again faults the pages
    /// back in from the file. Does nothing for a stream.
    pub fn release_all(&self) {
        self.release_upto(u64::MAX);
    }

    /// Gives back the pages of a mapped capture from where the last release ended up to
    /// `upto` (or its end). Readers of one mapping may call it at once: each range is claimed
    /// by one of them.
    fn release_upto(&self, upto: u64) {
        let Source::Mapped(map) = &self.source else {
            return;
        };
        let upto = upto.min(u64::try_from(map.len()).unwrap_or(u64::MAX));
        if self.released.load(Ordering::Relaxed) >= upto {
            // Given back already (a finished capture of a run, asked again): no atomic write.
            return;
        }
        let from = self.released.fetch_max(upto, Ordering::Relaxed);
        let (Ok(start), Ok(len)) = (
            usize::try_from(from),
            usize::try_from(upto.saturating_sub(from)),
        ) else {
            return;
        };
        if len == 0 {
            return;
        }
        #[cfg(unix)]
        // SAFETY: the mapping is a read-only map of the capture file; dropping its pages
        // changes no byte anyone reads: a later read faults the same file bytes back in.
        let _ =
            unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, len) };
        #[cfg(not(unix))]
        let _ = (map, start, len);
    }
}

/// How far behind the hindmost reader [`CaptureReader::release_behind`] keeps pages: nothing
/// reads behind it, so only enough that a page is not given back while its record is read.
const RELEASE_LAG: u64 = 1 << 20;
/// Bytes released at a time: each release is a system call and, with several threads, an
/// interrupt to flush the other cores' address translations.
const RELEASE_STEP: u64 = 2 << 20;
/// Alignment of released ranges: a multiple of every page size.
const RELEASE_ALIGN: u64 = 64 << 10;

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("pos", &self.progress.pos)
            .field("damage", &self.damage)
            .finish_non_exhaustive()
    }
}

/// Maps a file for reading, advising the kernel it will be read sequentially; `None` if it
/// cannot be mapped.
fn map(file: &File) -> Option<Mmap> {
    // SAFETY: the map is only read. Like every reader of a mapped file, we rely on no other
    // process truncating or rewriting the capture while it is being read; were that to
    // happen, we would read changed bytes (all parsing is bounds-checked) or get SIGBUS.
    let map = unsafe { Mmap::map(file) }.ok()?;
    #[cfg(unix)]
    {
        // Only a hint: reading works the same if the kernel ignores it.
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use super::{CaptureReader, RELEASE_ALIGN, RELEASE_LAG, RELEASE_STEP};
    use crate::error::CaptureError;
    use crate::fixtures::{
        NgBuilder, OneByteAtATime, PcapBuilder, collect, read_both, stream_reader,
    };

    fn not_a_capture(bytes: &[u8]) -> String {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let err = CaptureReader::open(file.path()).unwrap_err();
        let CaptureError::NotACapture { path, .. } = &err else {
            panic!("not NotACapture: {err}")
        };
        assert_eq!(path, file.path());
        let streamed =
            CaptureReader::from_stream("x", Box::new(OneByteAtATime::new(bytes.to_vec())))
                .unwrap_err();
        assert!(matches!(streamed, CaptureError::NotACapture { .. }));
        err.to_string()
            .strip_prefix(&format!("{}: ", file.path().display()))
            .unwrap()
            .to_string()
    }

    #[test]
    fn reopened_readers_walk_the_same_records_from_the_start() {
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .record(1, 0, b"first", 5)
            .record(2, 0, b"second", 6)
            .bytes();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        let mut reader = CaptureReader::open(file.path()).unwrap();
        assert_eq!(reader.next_record().unwrap().unwrap().data, b"first");
        let mut again = reader.reopen().expect("a file is mapped").unwrap();
        assert_eq!(again.name(), reader.name());
        let data = |r: &mut CaptureReader| r.next_record().unwrap().map(|rec| rec.data.to_vec());
        assert_eq!(data(&mut again).as_deref(), Some(&b"first"[..]));
        assert_eq!(data(&mut reader).as_deref(), Some(&b"second"[..]));
        assert_eq!(data(&mut again).as_deref(), Some(&b"second"[..]));
        assert_eq!((data(&mut reader), data(&mut again)), (None, None));
        let streamed =
            CaptureReader::from_stream("-", Box::new(OneByteAtATime::new(bytes))).unwrap();
        assert!(streamed.reopen().is_none());
    }

    #[test]
    fn released_pages_read_back_the_same() {
        // 40 MB of records: pages behind the reader are given back as it goes, and a second
        // reader of the same mapping that is behind still reads the same bytes.
        let payload: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
        let mut b = PcapBuilder::new(false, false, 65535, 1);
        for i in 0..700u32 {
            b = b.record(i, 0, &payload, 60_000);
        }
        let bytes = b.bytes();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&bytes).unwrap();
        let mut ahead = CaptureReader::open(file.path()).unwrap();
        let mut behind = ahead.reopen().unwrap().unwrap();
        let mut n = 0;
        while let Some(rec) = ahead.next_record().unwrap() {
            assert_eq!(rec.data, &payload[..]);
            ahead.release_behind(ahead.bytes_read());
            n += 1;
        }
        assert_eq!(n, 700);
        assert!(ahead.released() > 35 << 20, "pages were released");
        assert!(ahead.released() <= ahead.bytes_read() - (1 << 20));
        assert_eq!(behind.released(), ahead.released(), "one count per mapping");
        // The reader behind asks for less than is given back already: nothing to do.
        behind.release_behind(5 << 20);
        assert_eq!(behind.released(), ahead.released());
        behind.release_all();
        assert_eq!(
            ahead.released(),
            bytes.len() as u64,
            "the whole capture is given back"
        );
        ahead.release_all();
        assert_eq!(ahead.released(), bytes.len() as u64);
        let mut m = 0;
        while let Some(rec) = behind.next_record().unwrap() {
            assert_eq!(rec.data, &payload[..]);
            m += 1;
        }
        assert_eq!(m, 700);
    }

    #[test]
    fn readers_releasing_at_once_leave_the_furthest_release() {
        let payload = vec![7u8; 60_000];
        let mut b = PcapBuilder::new(false, false, 65535, 1);
        for i in 0..300u32 {
            b = b.record(i, 0, &payload, 60_000);
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&b.bytes()).unwrap();
        let first = CaptureReader::open(file.path()).unwrap();
        let others: Vec<CaptureReader> = (0..3).map(|_| first.reopen().unwrap().unwrap()).collect();
        std::thread::scope(|s| {
            for (i, r) in others.into_iter().enumerate() {
                s.spawn(move || {
                    for step in 0..40u64 {
                        r.release_behind((step + i as u64) << 18);
                    }
                });
            }
        });
        // Whichever order the readers' releases came in, what is given back only grew, to
        // within a step of the furthest any reader asked for.
        let furthest = ((41u64 << 18) - RELEASE_LAG) & !(RELEASE_ALIGN - 1);
        let released = first.released();
        assert!(released <= furthest && released + RELEASE_STEP > furthest);
        assert_eq!(released % RELEASE_ALIGN, 0);
    }

    #[test]
    fn non_captures_are_errors_naming_what_was_found() {
        assert_eq!(
            not_a_capture(b"<!DOCTYPE html>"),
            "not a pcap or pcapng file: first bytes 3c 21 44 4f"
        );
        assert_eq!(
            not_a_capture(b""),
            "not a pcap or pcapng file: the file is empty"
        );
        assert_eq!(
            not_a_capture(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0]),
            "not a pcap or pcapng file: only 10 bytes, shorter than a pcap header (24 bytes)"
        );
        assert_eq!(
            not_a_capture(&[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0]),
            "not a pcap or pcapng file: only 8 bytes, shorter than a pcapng section header \
             (28 bytes)"
        );
        let mut bad_bom = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4];
        bad_bom.resize(28, 0);
        assert_eq!(
            not_a_capture(&bad_bom),
            "not a pcap or pcapng file: pcapng section header with unknown byte-order magic \
             01 02 03 04"
        );
    }

    #[test]
    fn readers_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<CaptureReader>();
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = CaptureReader::open(Path::new("/nonexistent/x.pcap")).unwrap_err();
        assert!(matches!(err, CaptureError::Io { .. }));
        assert!(
            err.to_string().starts_with("/nonexistent/x.pcap: "),
            "{err}"
        );
    }

    #[test]
    fn a_header_alone_is_an_empty_capture() {
        let (reader, records) = read_both(&PcapBuilder::new(false, false, 65535, 1).bytes());
        assert!(records.is_empty());
        assert_eq!(reader.damage(), None);
        let (reader, records) = read_both(&NgBuilder::new().shb(true).bytes());
        assert!(records.is_empty());
        assert_eq!(reader.damage(), None);
        assert!(reader.interfaces().is_empty());
    }

    #[test]
    fn one_byte_stream_reads_what_the_map_reads() {
        let mut ng = NgBuilder::new().shb(false).idb(1, 0, &[(9, &[9])]);
        for i in 0..300u32 {
            let data: Vec<u8> = (0..(i * 37 % 1500)).map(|b| b as u8).collect();
            ng = ng.epb(0, u64::from(i) * 1_000_000_007, &data, 1500);
            if i % 50 == 0 {
                ng = ng.block(5, &vec![0; 70_000]);
            }
        }
        let bytes = ng.bytes();
        // read_both asserts the two readers agree.
        let (reader, records) = read_both(&bytes);
        assert_eq!(records.len(), 300);
        assert_eq!(records[299].data.len(), (299 * 37 % 1500) as usize);
        assert_eq!(reader.stats().blocks_skipped, 6);

        let mut pcap = PcapBuilder::new(false, true, 65535, 1);
        for i in 0..500u32 {
            let data = vec![i as u8; (i * 131 % 9000) as usize];
            pcap = pcap.record(i, i * 7, &data, 9000);
        }
        let (_, records) = read_both(&pcap.bytes());
        assert_eq!(records.len(), 500);
        assert_eq!(records[499].ts, 499.0 + 3493.0 / 1e6);
    }

    #[test]
    fn reading_stops_for_good_after_the_end() {
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .record(1, 0, &[1], 1)
            .bytes();
        let mut reader = stream_reader(&bytes);
        assert_eq!(reader.name(), "fixture");
        assert_eq!(reader.total_bytes(), None);
        assert_eq!(collect(&mut reader).len(), 1);
        assert!(reader.next_record().unwrap().is_none());
        assert_eq!(reader.stats().records, 1);
    }

    #[test]
    fn io_errors_are_reported_with_the_name() {
        struct Failing(Vec<u8>);
        impl std::io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("disk on fire"));
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let bytes = PcapBuilder::new(false, false, 65535, 1)
            .header(1, 0, 100, 100)
            .bytes();
        let mut reader = CaptureReader::from_stream("in", Box::new(Failing(bytes))).unwrap();
        let err = reader.next_record().unwrap_err();
        assert_eq!(err.to_string(), "in: disk on fire");
        assert!(reader.next_record().unwrap().is_none());
    }
}
