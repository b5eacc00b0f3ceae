//! A mapped capture (a classic pcap, or a pcapng's enhanced packet blocks) decoded once, in
//! segments, by the threads that share it.
//!
//! The file is cut into segments of [`SEGMENT_BYTES`]: segment `k` holds the records that
//! start in its byte range. Whichever thread gets to a segment first finds its first record
//! ([`MappedCapture::find_record`], a guess each thread checks against where the segment before
//! ends), reads and decodes its records, and keeps for each its time, offset and, for a
//! plain packet (one usable packet, not a fragment, as a decoder that has seen no other frame
//! finds it), the packet's view, key and partition. Every thread then walks every segment's
//! records in order (see `scan::scan_segments`): it passes the packets of other threads'
//! partitions and takes its own from the view, so no record is read or decoded twice, and
//! decodes only what needs the decoder's history (fragments, frames whose time releases a
//! held fragment) itself.
//!
//! The segments end at the first record the reader must see itself (damage, a time to
//! repair, a pcapng block other than an enhanced packet block): from there each thread reads
//! on with its own reader, and the threads share those records through a key ring
//! ([`Segments::ring`]), as on a capture read without segments.
//!
//! A segment's buffers go back to a pool once every thread has walked it, and a thread makes
//! segments at most [`WINDOW`] ahead of the one it walks, so memory stays a few segments per
//! thread whatever the capture's size.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use jjc_abi::PacketView;
use jjc_capture::{MappedCapture, RecordAt};
use jjc_decode::{DecodeConfig, Decoder};
use jjc_flow::{FlowKey, partition_hash, partition_of};

use crate::key_ring::KeyRing;

/// Bytes of the file per segment: about 2,000 records of a typical capture, enough that
/// finding a segment's first record costs nothing beside reading it, few enough that a
/// segment's views are still in the cache when its walkers take them.
pub(crate) const SEGMENT_BYTES: u64 = 1 << 20;

/// How many segments past the one it walks a thread may make.
const WINDOW: usize = 2;

/// The record size a segment's first buffers are sized for, before any segment is made: a
/// little under the benchmark capture's 505 bytes a record, so that its first segments do
/// not outgrow them (room reserved and not written costs no memory).
const RECORD_BYTES_GUESS: u64 = 256;

/// The partition byte of a record that is not a plain packet.
const NOT_PLAIN: u64 = 0xff;

/// One record of a segment: its time, and its offset and partition in one word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// The record's time.
    pub(crate) ts: f64,
    word: u64,
}

impl Entry {
    /// The record's offset in the file.
    pub(crate) fn offset(self) -> u64 {
        self.word >> 8
    }

    /// The partition of the record's packet, if it is a plain packet.
    pub(crate) fn partition(self) -> Option<usize> {
        let p = self.word & NOT_PLAIN;
        (p != NOT_PLAIN).then_some(p as usize)
    }
}

/// A plain packet as the segment's maker decoded and keyed it.
#[derive(Clone, Copy)]
pub(crate) struct Plain {
    /// The packet, pointing into the mapping (see [`Segment`]).
    view: PacketView<'static>,
    /// Its flow key.
    pub(crate) key: FlowKey,
    /// Its partition hash.
    pub(crate) hash: u64,
}

/// The records of one segment.
pub(crate) struct Segment {
    /// Offset of the first record (a guess until checked against the segment before).
    pub(crate) start: u64,
    /// Offset after the last record: the next segment's first record, or where the reader
    /// must go on ([`Segment::irregular`]), or the file's end.
    pub(crate) end: u64,
    /// The record at `end` is one the reader reports or repairs (damage, a time to carry):
    /// walkers read on from there with their readers.
    pub(crate) irregular: bool,
    entries: Vec<Entry>,
    plains: Vec<Plain>,
    /// Keeps the mapping the views point into alive as long as the segment.
    _pcap: MappedCapture,
}

impl Segment {
    /// The records, in file order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The `i`-th plain packet (counting the entries with a partition).
    pub(crate) fn plain(&self, i: usize) -> Option<(PacketView<'_>, &Plain)> {
        self.plains.get(i).map(|p| (p.view, p))
    }

    /// Hints the CPU to load the start of the `i`-th plain packet's payload, which the
    /// features read (a walker asks a few packets ahead of the one it takes).
    #[inline]
    pub(crate) fn prefetch_payload(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = self.plains.get(i) {
            let payload = p.view.payload().as_ptr();
            // SAFETY: SSE is part of x86_64's baseline, and a prefetch only hints the cache:
            // it reads nothing the program sees and cannot fault.
            unsafe {
                use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
                _mm_prefetch::<_MM_HINT_T0>(payload.cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }
}

/// The segments of one capture, made by the threads that walk it.
pub(crate) struct Segments {
    pcap: MappedCapture,
    segment_bytes: u64,
    count: usize,
    partitions: usize,
    threads: usize,
    /// The next segment no thread has claimed.
    next: AtomicUsize,
    /// Each segment, once made, until every thread has walked it.
    made: Vec<Mutex<Option<Arc<Segment>>>>,
    /// How many threads have walked each segment.
    walked: Vec<AtomicUsize>,
    /// Buffers of walked segments, for the next ones.
    pool: Mutex<Vec<(Vec<Entry>, Vec<Plain>)>>,
    /// The most records a segment made so far held: room a new segment's buffers start
    /// with, so that they do not grow by doubling (each step a copy into fresh memory).
    most_records: AtomicUsize,
    /// A thread stopped before the end: nobody waits for segments any more.
    abandoned: AtomicBool,
    /// The ring the threads share the records after the segments' end by, if any: made by
    /// the first thread that reads on from a record the segments leave to the readers.
    ring: OnceLock<KeyRing>,
}

impl Segments {
    /// The segments of `pcap` for `threads` threads, keyed into `partitions` partitions.
    pub(crate) fn new(
        pcap: MappedCapture,
        partitions: usize,
        threads: usize,
        segment_bytes: u64,
    ) -> Segments {
        let body = pcap.len().saturating_sub(pcap.first_record());
        let count = usize::try_from(body.div_ceil(segment_bytes.max(1)))
            .unwrap_or(usize::MAX)
            .max(1);
        Segments {
            pcap,
            segment_bytes: segment_bytes.max(1),
            count,
            partitions,
            threads,
            next: AtomicUsize::new(0),
            made: (0..count).map(|_| Mutex::new(None)).collect(),
            walked: (0..count).map(|_| AtomicUsize::new(0)).collect(),
            pool: Mutex::new(Vec::new()),
            most_records: AtomicUsize::new(
                usize::try_from(segment_bytes / RECORD_BYTES_GUESS).unwrap_or(0),
            ),
            abandoned: AtomicBool::new(false),
            ring: OnceLock::new(),
        }
    }

    /// The capture.
    pub(crate) fn pcap(&self) -> &MappedCapture {
        &self.pcap
    }

    /// The key ring for reading on after the segments, made at the first call.
    pub(crate) fn ring(&self) -> &KeyRing {
        self.ring.get_or_init(KeyRing::default)
    }

    /// How many segments there are.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Segment `k`, making segments (up to [`WINDOW`] past `k`) while it is not there;
    /// `None` once a thread has abandoned the walk.
    pub(crate) fn get(&self, k: usize) -> Option<Arc<Segment>> {
        let mut idle = 0u32;
        loop {
            if self.abandoned.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(segment) = lock(&self.made[k]).as_ref() {
                return Some(Arc::clone(segment));
            }
            let j = self.next.load(Ordering::Relaxed);
            if j < self.count
                && j <= k + WINDOW
                && self
                    .next
                    .compare_exchange(j, j + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                let start = self.first_record_guess(j);
                let segment = self.make(j, start);
                *lock(&self.made[j]) = Some(Arc::new(segment));
                continue;
            }
            // Another thread is making segment `k`: about a millisecond of work.
            idle += 1;
            if idle < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Whether these segments are cut for `threads` threads over `partitions` partitions.
    pub(crate) fn fits(&self, partitions: usize, threads: usize) -> bool {
        self.partitions == partitions && self.threads == threads
    }

    /// Makes the first `n` segments (fewer if the capture has fewer) while no walker has
    /// claimed them: a head start for a core that would otherwise wait for the run to start.
    /// Never waits: it stops at the first segment a walker claimed first. Stops every wait
    /// for a segment if making one panics, so that no walker waits forever for it.
    pub(crate) fn make_ahead(&self, n: usize) {
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for k in 0..n.min(self.count) {
                let claimed =
                    self.next
                        .compare_exchange(k, k + 1, Ordering::Relaxed, Ordering::Relaxed);
                if claimed.is_err() || self.abandoned.load(Ordering::Relaxed) {
                    return;
                }
                let segment = self.make(k, self.first_record_guess(k));
                *lock(&self.made[k]) = Some(Arc::new(segment));
            }
        }));
        if made.is_err() {
            self.abandon();
        }
    }

    /// A thread has walked segment `k`: the last to do so gives its buffers back.
    pub(crate) fn walked(&self, k: usize, segment: Arc<Segment>) {
        if self.walked[k].fetch_add(1, Ordering::AcqRel) + 1 < self.threads {
            return;
        }
        drop(lock(&self.made[k]).take());
        if let Ok(segment) = Arc::try_unwrap(segment) {
            lock(&self.pool).push((segment.entries, segment.plains));
        }
    }

    /// Puts in segment `k` as made from `start`, as a maker that took the wrong offset for
    /// its first record would (tests of the walkers' check).
    #[cfg(test)]
    pub(crate) fn plant(&self, k: usize, start: u64) {
        if k < self.count {
            let segment = self.make(k, start);
            *lock(&self.made[k]) = Some(Arc::new(segment));
        }
    }

    /// Stops every wait for a segment: a thread is leaving the walk early.
    pub(crate) fn abandon(&self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }

    /// Where segment `k`'s first record probably is.
    fn first_record_guess(&self, k: usize) -> u64 {
        let from = self.lower_bound(k);
        if k == 0 {
            return from;
        }
        let to = from.saturating_add(self.segment_bytes);
        self.pcap
            .find_record(from, to)
            .unwrap_or(to.min(self.pcap.len()))
    }

    /// The first byte of segment `k`'s range.
    fn lower_bound(&self, k: usize) -> u64 {
        (self.pcap.first_record()).saturating_add((k as u64).saturating_mul(self.segment_bytes))
    }

    /// Segment `k`, its records read from `start` (a record's start) to the first record
    /// past its range.
    pub(crate) fn make(&self, k: usize, start: u64) -> Segment {
        let (mut entries, mut plains) = lock(&self.pool).pop().unwrap_or_default();
        entries.clear();
        plains.clear();
        // Rounded up, so that a pooled buffer is not grown again (a copy into fresh memory,
        // page faults and all) each time a segment holds a few more records than any before.
        let room = self
            .most_records
            .load(Ordering::Relaxed)
            .next_power_of_two();
        entries.reserve(room);
        plains.reserve(room);
        let end_of_range = self.lower_bound(k + 1);
        // A decoder with no history: a frame it finds plain is plain for any decoder that
        // holds no fragment the frame's time releases (walkers check that).
        let mut decoder = Decoder::new(DecodeConfig::default());
        let mut at = start;
        let mut irregular = false;
        while at < end_of_range {
            let (ts, data, orig_len, link_type, next) = match self.pcap.record_at(at) {
                RecordAt::Record {
                    ts,
                    data,
                    orig_len,
                    link_type,
                    next,
                } => (ts, data, orig_len, link_type, next),
                RecordAt::End => break,
                RecordAt::Irregular => {
                    irregular = true;
                    break;
                }
            };
            self.pcap.read_ahead(at, (next - at) as usize);
            // Each packet goes straight into the list (a plain packet is the frame's only
            // one); a frame that is not plain takes its packets back out.
            let before = plains.len();
            decoder.decode(link_type, ts, data, orig_len, &mut |view| {
                let key = FlowKey::of(&view);
                // SAFETY: the view points into the mapping of `self.pcap`, which the segment
                // keeps alive (`Segment::_pcap`) and hands out views of only for as long as
                // the segment is borrowed (`Segment::plain`).
                let view: PacketView<'static> = unsafe { std::mem::transmute(view) };
                plains.push(Plain {
                    view,
                    key,
                    hash: partition_hash(&key),
                });
            });
            let partition = match plains.get(before) {
                Some(plain) if decoder.last_was_plain() && plains.len() == before + 1 => {
                    partition_of(plain.hash, self.partitions) as u64
                }
                _ => {
                    plains.truncate(before);
                    NOT_PLAIN
                }
            };
            entries.push(Entry {
                ts,
                word: at << 8 | partition,
            });
            at = next;
        }
        self.most_records
            .fetch_max(entries.len(), Ordering::Relaxed);
        Segment {
            start,
            end: at,
            irregular,
            entries,
            plains,
            _pcap: self.pcap.clone(),
        }
    }
}

/// Locks `m`, whatever a panicking thread left in it: every value locked this way is whole
/// between statements, and a thread that panics stops the run (its buffers and parts are
/// then only dropped).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
