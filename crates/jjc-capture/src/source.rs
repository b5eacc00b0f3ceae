//! Where a capture's bytes come from: a memory-mapped file (zero-copy) or a stream read
//! through one bounded, reused buffer.

use std::io::{self, Read};

use std::sync::Arc;

use memmap2::Mmap;

use crate::limits::MAX_BUFFERED_BLOCK;

/// Initial size of a stream's buffer; it grows (rarely) up to [`MAX_STREAM_BUFFER`].
const INITIAL_STREAM_BUFFER: usize = 64 * 1024;

/// The largest window a stream's buffer ever holds.
const MAX_STREAM_BUFFER: usize = MAX_BUFFERED_BLOCK as usize;

/// The bytes of a capture, read strictly forwards.
///
/// [`Source::ensure`] makes a window available; [`Source::bytes`] then borrows it until the
/// next `ensure`.
pub(crate) enum Source {
    /// A memory-mapped file: every byte is always available.
    Mapped(Arc<Mmap>),
    /// A stream read through a buffer.
    Stream(StreamBuffer),
}

impl Source {
    /// A source reading `stream` through a bounded buffer.
    pub(crate) fn stream(stream: Box<dyn Read + Send>) -> Source {
        Source::Stream(StreamBuffer {
            stream,
            buf: vec![0; INITIAL_STREAM_BUFFER],
            base: 0,
            filled: 0,
            eof: false,
        })
    }

    /// Makes the `need` bytes at file offset `pos` available and returns how many are: `need`,
    /// or fewer where the input ends. Bytes before `pos` may be dropped; `need` is at most
    /// [`MAX_BUFFERED_BLOCK`] (larger requests are clamped).
    pub(crate) fn ensure(&mut self, pos: u64, need: usize) -> io::Result<usize> {
        match self {
            Source::Mapped(map) => {
                let left = u64::try_from(map.len())
                    .unwrap_or(u64::MAX)
                    .saturating_sub(pos);
                Ok(usize::try_from(left).map_or(need, |left| left.min(need)))
            }
            Source::Stream(stream) => stream.ensure(pos, need),
        }
    }

    /// Hints the CPU to load the two cache lines at `pos` (the next record's header and its
    /// packet's headers) into its cache while this record is processed. Does nothing for a
    /// stream or where `pos` is past the end.
    #[inline]
    pub(crate) fn prefetch(&self, pos: u64) {
        if let Source::Mapped(map) = self
            && let Ok(at) = usize::try_from(pos)
        {
            let line = at - at % CACHE_LINE;
            prefetch_lines(map, line, 2 * CACHE_LINE);
        }
    }

    /// Hints the CPU to load the bytes [`READ_AHEAD`] bytes past the record at `pos` of `len`
    /// bytes: called once per record, this asks for every byte of the file once, a fixed
    /// distance ahead of the reader. Headers are a chain (each gives the next one's place),
    /// so the reader cannot ask for a record's header sooner than one record ahead; a reader
    /// that does little with each record (counting, or walking another thread's packets)
    /// would otherwise wait for memory at every record. Does nothing for a stream.
    #[inline]
    pub(crate) fn read_ahead(&self, pos: u64, len: usize) {
        if let Source::Mapped(map) = self {
            prefetch_ahead(map, pos, len);
        }
    }

    /// The `len` bytes at file offset `pos`, made available by the last [`Source::ensure`];
    /// empty if they are not available.
    pub(crate) fn bytes(&self, pos: u64, len: usize) -> &[u8] {
        let window = match self {
            Source::Mapped(map) => usize::try_from(pos)
                .ok()
                .and_then(|start| map.get(start..start.checked_add(len)?)),
            Source::Stream(stream) => stream.window(pos, len),
        };
        window.unwrap_or(&[])
    }
}

/// [`Source::read_ahead`] for the bytes of a mapping.
#[inline]
pub(crate) fn prefetch_ahead(map: &[u8], pos: u64, len: usize) {
    if let Ok(at) = usize::try_from(pos) {
        prefetch_lines(map, at.saturating_add(READ_AHEAD), len.min(READ_AHEAD_MOST));
    }
}

/// A cache line's size on the machines jjc prefetches for.
const CACHE_LINE: usize = 64;

/// How far ahead of a record [`Source::read_ahead`] asks for the file's bytes: about four
/// records of a typical capture, time enough for them to come from memory (100 MB: `jjc
/// info` 21.9 → 15.2 ms of CPU; 1 KB and 4 KB ahead gained a little less).
const READ_AHEAD: usize = 2048;

/// The most bytes [`Source::read_ahead`] asks for per record: a long record's bytes are read
/// in sequence, which the CPU's own prefetcher follows, and a damaged pcapng block's length
/// (up to 4 GB) must not become millions of hints before the damage is found.
const READ_AHEAD_MOST: usize = 16 * 1024;

/// Hints the CPU to load the cache lines that start in `map[at..at + len]`, those beyond its
/// end excepted. Does nothing on other architectures.
#[inline]
fn prefetch_lines(map: &[u8], at: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let end = at.saturating_add(len).min(map.len());
        let mut line = at.next_multiple_of(CACHE_LINE);
        while line < end {
            if let Some(byte) = map.get(line) {
                // SAFETY: SSE is part of x86_64's baseline, and a prefetch only hints the
                // cache: it reads nothing the program sees and cannot fault.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        std::ptr::from_ref(byte).cast(),
                    );
                }
            }
            line += CACHE_LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (map, at, len);
}

/// A stream and the buffer holding the part of it the reader is looking at.
pub(crate) struct StreamBuffer {
    /// The input.
    stream: Box<dyn Read + Send>,
    /// The buffer; its first `filled` bytes are the stream's bytes from offset `base` on.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Number of valid bytes in `buf`.
    filled: usize,
    /// The stream has reported its end.
    eof: bool,
}

impl StreamBuffer {
    /// See [`Source::ensure`].
    fn ensure(&mut self, pos: u64, need: usize) -> io::Result<usize> {
        let need = need.min(MAX_STREAM_BUFFER);
        let buffered_end = self.base.saturating_add(self.filled as u64);
        if pos < self.base {
            // The reader only moves forwards; bytes before the window are gone.
            return Ok(0);
        }
        if pos >= buffered_end {
            self.discard_until(pos)?;
            if self.base != pos {
                return Ok(0);
            }
        }
        let Ok(mut start) = usize::try_from(pos - self.base) else {
            return Ok(0);
        };
        if start.saturating_add(need) > self.buf.len() {
            self.buf.copy_within(start..self.filled, 0);
            self.filled -= start;
            self.base = pos;
            start = 0;
            if need > self.buf.len() {
                let grown = need.next_power_of_two().clamp(need, MAX_STREAM_BUFFER);
                self.buf.resize(grown, 0);
            }
        }
        while self.filled < start + need && !self.eof {
            let Some(spare) = self.buf.get_mut(self.filled..) else {
                break;
            };
            match self.stream.read(spare) {
                Ok(0) => self.eof = true,
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok((self.filled - start).min(need))
    }

    /// Drops the buffer and reads (and drops) the stream up to offset `pos`, or to its end.
    /// Afterwards `base` is `pos`, or where the stream ended.
    fn discard_until(&mut self, pos: u64) -> io::Result<()> {
        self.base = self.base.saturating_add(self.filled as u64);
        self.filled = 0;
        while self.base < pos && !self.eof {
            let left = usize::try_from(pos - self.base).unwrap_or(usize::MAX);
            let chunk = left.min(self.buf.len());
            let Some(scratch) = self.buf.get_mut(..chunk) else {
                break;
            };
            match self.stream.read(scratch) {
                Ok(0) => self.eof = true,
                Ok(n) => self.base += n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The `len` buffered bytes at stream offset `pos`, if they are in the buffer.
    fn window(&self, pos: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(pos.checked_sub(self.base)?).ok()?;
        let end = start.checked_add(len)?;
        if end > self.filled {
            return None;
        }
        self.buf.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::{INITIAL_STREAM_BUFFER, MAX_STREAM_BUFFER, Source};
    use crate::fixtures::OneByteAtATime;

    fn counting(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn stream_windows_move_forwards_and_skip() {
        let data = counting(3 * INITIAL_STREAM_BUFFER);
        let mut src = Source::stream(Box::new(OneByteAtATime::new(data.clone())));
        assert_eq!(src.ensure(0, 16).unwrap(), 16);
        assert_eq!(src.bytes(0, 16), &data[..16]);
        // A window crossing the buffer's end is compacted to the front.
        let pos = INITIAL_STREAM_BUFFER as u64 - 8;
        assert_eq!(src.ensure(pos, 100).unwrap(), 100);
        assert_eq!(src.bytes(pos, 100), &data[pos as usize..pos as usize + 100]);
        // Skipping far ahead discards bytes without buffering them.
        let far = 2 * INITIAL_STREAM_BUFFER as u64 + 3;
        assert_eq!(src.ensure(far, 10).unwrap(), 10);
        assert_eq!(src.bytes(far, 10), &data[far as usize..far as usize + 10]);
        // Bytes before the window are gone.
        assert_eq!(src.bytes(0, 16), &[] as &[u8]);
        // The end of the stream gives fewer bytes, then none.
        let near_end = data.len() as u64 - 5;
        assert_eq!(src.ensure(near_end, 16).unwrap(), 5);
        assert_eq!(src.bytes(near_end, 5), &data[data.len() - 5..]);
        assert_eq!(src.ensure(data.len() as u64 + 100, 4).unwrap(), 0);
    }

    #[test]
    fn stream_buffer_grows_to_a_bounded_size() {
        let data = counting(MAX_STREAM_BUFFER * 2);
        let mut src = Source::stream(Box::new(std::io::Cursor::new(data.clone())));
        assert_eq!(src.ensure(7, 200_000).unwrap(), 200_000);
        assert_eq!(src.bytes(7, 200_000), &data[7..200_007]);
        assert_eq!(
            src.ensure(300_000, usize::MAX).unwrap(),
            MAX_STREAM_BUFFER,
            "requests are clamped"
        );
        let Source::Stream(stream) = &src else {
            panic!("not a stream")
        };
        assert_eq!(stream.buf.len(), MAX_STREAM_BUFFER);
    }

    #[test]
    fn mapped_source_reports_what_is_left() {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &counting(100)).unwrap();
        // SAFETY: the temporary file is private to this test and not modified while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        let mut src = Source::Mapped(std::sync::Arc::new(map));
        assert_eq!(src.ensure(90, 16).unwrap(), 10);
        assert_eq!(src.bytes(90, 10), &counting(100)[90..]);
        assert_eq!(src.ensure(200, 16).unwrap(), 0);
        assert_eq!(src.bytes(95, 10), &[] as &[u8]);
    }
}
