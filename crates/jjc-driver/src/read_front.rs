//! How far each thread walking one capture has read, so that the pages of its mapping are
//! given back as soon as every thread is past them, by whichever thread sees it first.
//!
//! Each thread walks the whole capture through its own readers over one shared mapping, and
//! the threads drift apart by up to a few checkpoints either way, so no thread knows alone
//! which pages nobody will read again. Each publishes its place here; pages behind the
//! hindmost place are given back during the walk, and the last thread to finish gives back
//! the rest: what is left for the end of the run, when nothing else runs, is only the short
//! distance the hindmost reader keeps behind it.

use std::sync::atomic::{AtomicU64, Ordering};

use jjc_capture::CaptureReader;

/// Bits of a packed place that hold the byte offset (captures under 256 TB); the reader's
/// number is above them.
const OFFSET_BITS: u32 = 48;

/// The largest reader number a place holds: a thread past it is counted there, which only
/// delays releases (a run of more than 65,534 captures in a row).
const LAST_READER: u64 = (1 << (64 - OFFSET_BITS)) - 2;

/// A finished thread's place: after every other.
const DONE: u64 = u64::MAX;

/// The place of each thread of a walk, packed as (reader number, byte offset) so that places
/// compare as numbers. Places only move forwards, so a stale one is behind the truth and only
/// delays a release.
#[derive(Debug)]
pub(crate) struct ReadFront {
    places: Box<[AtomicU64]>,
}

impl ReadFront {
    /// The places of `threads` threads, each at the start of the first reader.
    pub(crate) fn new(threads: usize) -> ReadFront {
        ReadFront {
            places: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Thread `thread` is at `readers[reader]`'s position (at the start of `reader` when it
    /// has just finished the one before, or past the last), and gives back the pages every
    /// thread is past in the mappings it shares with them.
    pub(crate) fn advance(&self, thread: usize, readers: &[CaptureReader], reader: usize) {
        let offset = readers.get(reader).map_or(0, CaptureReader::bytes_read);
        self.advance_to(thread, readers, reader, offset);
    }

    /// Thread `thread` is at byte `offset` of `readers[reader]` (a thread that reads a
    /// capture by offset rather than through its reader), and gives back the pages every
    /// thread is past, as [`ReadFront::advance`].
    pub(crate) fn advance_to(
        &self,
        thread: usize,
        readers: &[CaptureReader],
        reader: usize,
        offset: u64,
    ) {
        let offset = offset.min((1 << OFFSET_BITS) - 1);
        let reader_number = u64::try_from(reader).map_or(LAST_READER, |r| r.min(LAST_READER));
        let place = reader_number << OFFSET_BITS | offset;
        self.set(thread, place);
        self.release(readers);
    }

    /// Thread `thread` has read every reader: once every thread has, the last gives back
    /// what is left of every mapping.
    pub(crate) fn finish(&self, thread: usize, readers: &[CaptureReader]) {
        self.set(thread, DONE);
        self.release(readers);
    }

    fn set(&self, thread: usize, place: u64) {
        if let Some(p) = self.places.get(thread) {
            // Relaxed: a place is a hint for releasing pages, and nothing is read through it.
            p.store(place, Ordering::Relaxed);
        }
    }

    /// The hindmost thread's place.
    fn hindmost(&self) -> u64 {
        self.places
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .min()
            .unwrap_or(DONE)
    }

    /// Gives back the pages of `readers` behind the hindmost thread: all of the readers it
    /// has finished, and what is well behind it in the one it reads.
    fn release(&self, readers: &[CaptureReader]) {
        let hindmost = self.hindmost();
        if hindmost == DONE {
            readers.iter().for_each(CaptureReader::release_all);
            return;
        }
        let reader = usize::try_from(hindmost >> OFFSET_BITS).unwrap_or(usize::MAX);
        let offset = hindmost & ((1 << OFFSET_BITS) - 1);
        let (finished, rest) = readers.split_at(reader.min(readers.len()));
        finished.iter().for_each(CaptureReader::release_all);
        if let Some(r) = rest.first() {
            r.release_behind(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jjc_capture::CaptureReader;

    use super::ReadFront;

    /// A generated capture of about `mb` megabytes at `path`, opened.
    fn capture(path: &Path, mb: u64) -> CaptureReader {
        let synth = jjc_synth::SynthConfig {
            seed: 3,
            target_bytes: Some(mb << 20),
            ..jjc_synth::SynthConfig::default()
        };
        let file = std::fs::File::create(path).expect("a temporary file");
        jjc_synth::write_capture(&synth, file).expect("a synthetic capture");
        CaptureReader::open(path).expect("the capture opens")
    }

    /// Reads `reader` until `bytes` bytes are read.
    fn read_to(reader: &mut CaptureReader, bytes: u64) {
        while reader.bytes_read() < bytes && reader.next_record().unwrap().is_some() {}
    }

    #[test]
    fn pages_are_given_back_behind_the_hindmost_thread_and_all_once_every_thread_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let mut ahead = vec![capture(&dir.path().join("a.pcap"), 12)];
        let mut behind = vec![ahead[0].reopen().unwrap().unwrap()];
        let front = ReadFront::new(2);

        read_to(&mut ahead[0], 10 << 20);
        front.advance(0, &ahead, 0);
        assert_eq!(
            ahead[0].released(),
            0,
            "the other thread has not said where it is"
        );

        read_to(&mut behind[0], 5 << 20);
        front.advance(1, &behind, 0);
        let released = ahead[0].released();
        assert!(
            released > 2 << 20,
            "pages behind the hindmost are given back: {released}"
        );
        assert!(
            released < behind[0].bytes_read(),
            "none it may still read: {released}"
        );

        front.finish(0, &ahead);
        assert_eq!(ahead[0].released(), released, "one thread is still reading");
        front.finish(1, &behind);
        assert_eq!(
            ahead[0].released(),
            std::fs::metadata(dir.path().join("a.pcap")).unwrap().len(),
            "the last thread to finish gives back the rest"
        );
    }

    #[test]
    fn captures_every_thread_has_finished_are_given_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let first = capture(&dir.path().join("a.pcap"), 4);
        let second = capture(&dir.path().join("b.pcap"), 4);
        let one = vec![first, second];
        let mut other: Vec<CaptureReader> =
            one.iter().map(|r| r.reopen().unwrap().unwrap()).collect();
        let front = ReadFront::new(2);
        front.advance(0, &one, 1);
        read_to(&mut other[0], 1 << 20);
        front.advance(1, &other, 0);
        assert!(
            one[0].released() < 1 << 20,
            "the other thread reads the first capture"
        );
        front.advance(1, &other, 1);
        let len = std::fs::metadata(dir.path().join("a.pcap")).unwrap().len();
        assert_eq!(
            one[0].released(),
            len,
            "both threads are past the first capture"
        );
        assert_eq!(one[1].released(), 0);
    }
}
