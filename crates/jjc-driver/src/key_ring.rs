//! What the leading thread of a run tells the others about the records it decoded: for each
//! record that was one plain packet (no fragment, nothing else released), that packet's
//! partition. A thread that does not own that partition then passes the record without
//! decoding or keying it, so only one thread pays the whole walk.
//!
//! The ring holds the last [`RING_RECORDS`] records, each slot tagged with the lap of the
//! record it describes. A reader that is ahead of the leader, or so far behind that the slot
//! was reused, finds another record's tag and decodes the record itself: the ring only
//! saves work, it never blocks a thread or changes what a thread computes.

use std::sync::atomic::{AtomicU32, Ordering};

/// Records the ring describes at once (a power of two): about 30 MB of a typical capture,
/// far more than the threads drift apart between two checkpoints.
const RING_RECORDS: usize = 1 << 16;

/// Bits of a slot that hold the partition plus one (0: decode the record yourself).
const VALUE_BITS: u32 = 8;

/// The partitions of the last [`RING_RECORDS`] records of a walk, shared by its threads.
pub(crate) struct KeyRing {
    slots: Box<[AtomicU32]>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl Default for KeyRing {
    fn default() -> Self {
        KeyRing {
            slots: (0..RING_RECORDS).map(|_| AtomicU32::new(EMPTY)).collect(),
        }
    }
}

/// What a slot holds before the leader first writes it: the last lap's tag with no value
/// ("decode the record yourself"), which tells nothing about any record a reader asks for
/// unless it is 2^40 records in, and then the right thing. Not zero, so that making the ring
/// writes its pages: zeroed memory comes from the system unmapped, a reader ahead of the
/// leader maps the shared zero page, and the leader's first write to each page then copies it
/// and flushes the TLB of the other core (an interrupt per page, 0.9 ms of a two-thread run
/// on 50 MB).
const EMPTY: u32 = u32::MAX << VALUE_BITS;

impl KeyRing {
    /// Records what record `index` (counted from 0 over the whole walk) was: one plain
    /// packet of `partition` (below 255), or `None` for anything else.
    #[inline]
    pub(crate) fn publish(&self, index: u64, partition: Option<usize>) {
        let value = partition
            .and_then(|p| u32::try_from(p + 1).ok())
            .filter(|&v| v < 1 << VALUE_BITS)
            .unwrap_or(0);
        if let Some(slot) = self.slots.get(slot_of(index)) {
            // Relaxed: a slot's word is the whole message, and nothing else is read through it.
            slot.store(lap_tag(index) | value, Ordering::Relaxed);
        }
    }

    /// The partition of record `index`'s one plain packet, if the leader has published it
    /// and the slot still describes that record.
    #[inline]
    pub(crate) fn partition(&self, index: u64) -> Option<usize> {
        let word = self.slots.get(slot_of(index))?.load(Ordering::Relaxed);
        if word & !((1 << VALUE_BITS) - 1) != lap_tag(index) {
            return None;
        }
        (word & ((1 << VALUE_BITS) - 1))
            .checked_sub(1)
            .map(|p| p as usize)
    }
}

#[inline]
fn slot_of(index: u64) -> usize {
    index as usize & (RING_RECORDS - 1)
}

/// Which lap of the ring `index` is on, in the slot bits above the value. Laps wrap after
/// 2^24 of them (2^40 records), far beyond any two threads' distance.
#[inline]
fn lap_tag(index: u64) -> u32 {
    ((index >> RING_RECORDS.trailing_zeros()) as u32) << VALUE_BITS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_partition_reads_back_for_its_record_only() {
        let ring = KeyRing::default();
        assert_eq!(
            ring.partition(0),
            None,
            "nothing published: decode it yourself"
        );
        ring.publish(0, Some(0));
        ring.publish(1, Some(63));
        ring.publish(2, None);
        assert_eq!(ring.partition(0), Some(0));
        assert_eq!(ring.partition(1), Some(63));
        assert_eq!(ring.partition(2), None);
        assert_eq!(ring.partition(3), None);
    }

    #[test]
    fn a_new_ring_describes_no_record() {
        let ring = KeyRing::default();
        let last_lap = u64::from(u32::MAX >> VALUE_BITS) << RING_RECORDS.trailing_zeros();
        for index in [
            0,
            1,
            RING_RECORDS as u64 - 1,
            RING_RECORDS as u64,
            last_lap + 3,
        ] {
            assert_eq!(ring.partition(index), None, "record {index}");
        }
        assert!(
            ring.slots.iter().all(|s| s.load(Ordering::Relaxed) != 0),
            "the slots are written when the ring is made"
        );
    }

    #[test]
    fn a_reused_slot_describes_only_the_latest_record() {
        let ring = KeyRing::default();
        let next_lap = RING_RECORDS as u64 + 5;
        ring.publish(5, Some(7));
        // A reader a lap ahead of the leader finds the older record's slot.
        assert_eq!(ring.partition(next_lap), None);
        ring.publish(next_lap, Some(9));
        // A reader a lap behind finds the newer record's slot.
        assert_eq!(ring.partition(5), None);
        assert_eq!(ring.partition(next_lap), Some(9));
        // Lap tags keep apart records far beyond the first laps.
        let far = (1u64 << 39) + 5;
        ring.publish(far, Some(1));
        assert_eq!(ring.partition(far), Some(1));
        assert_eq!(ring.partition(next_lap), None);
    }

    #[test]
    fn partitions_that_do_not_fit_a_slot_are_not_published() {
        let ring = KeyRing::default();
        ring.publish(0, Some(254));
        assert_eq!(ring.partition(0), Some(254));
        ring.publish(0, Some(255));
        assert_eq!(ring.partition(0), None);
    }
}
