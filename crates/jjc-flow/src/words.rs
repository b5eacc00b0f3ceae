//! The handlers' inline state words of a partition's slots: `stride` words a slot, in chunks
//! of slots that never move. A table that grows to many live flows writes each slot's words
//! once; in one vector every doubling copied all of them into fresh memory (which the kernel
//! zeroes first) and held the old and the new copy at once.

/// Slots per chunk (a power of two): 36 KB a chunk with JJ-CORE's 1,152 bytes a flow.
const CHUNK_SLOTS: usize = 32;

/// Fixed-stride rows of words, one per slot, in chunks.
pub(crate) struct Words {
    chunks: Vec<Box<[u64]>>,
    stride: usize,
}

impl Words {
    /// No slots yet, `stride` words each.
    pub(crate) fn new(stride: usize) -> Words {
        Words {
            chunks: Vec::new(),
            stride,
        }
    }

    /// Makes room for slots `0..slots`; new slots' words are zero.
    pub(crate) fn ensure(&mut self, slots: usize) {
        if self.stride == 0 {
            return;
        }
        while self.chunks.len() * CHUNK_SLOTS < slots {
            self.chunks
                .push(vec![0; CHUNK_SLOTS * self.stride].into_boxed_slice());
        }
    }

    /// Slot `i`'s words: empty if there is no room for it ([`Words::ensure`]) or no words.
    #[inline]
    pub(crate) fn get_mut(&mut self, i: u32) -> &mut [u64] {
        let i = i as usize;
        let at = i % CHUNK_SLOTS * self.stride;
        self.chunks
            .get_mut(i / CHUNK_SLOTS)
            .and_then(|chunk| chunk.get_mut(at..at + self.stride))
            .unwrap_or_default()
    }

    /// Gives back every slot's memory.
    pub(crate) fn clear(&mut self) {
        self.chunks = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK_SLOTS, Words};

    #[test]
    fn every_slot_has_its_own_words_across_chunks() {
        let mut words = Words::new(3);
        assert!(words.get_mut(0).is_empty(), "no room yet");
        let slots = 3 * CHUNK_SLOTS + 5;
        words.ensure(slots);
        for i in 0..slots as u32 {
            assert_eq!(words.get_mut(i), [0, 0, 0], "new words are zero");
            words
                .get_mut(i)
                .copy_from_slice(&[i.into(), 7, u64::from(i) * 2]);
        }
        assert!(words.get_mut(4 * CHUNK_SLOTS as u32).is_empty());
        words.ensure(slots + 100);
        for i in 0..slots as u32 {
            assert_eq!(
                words.get_mut(i),
                [i.into(), 7, u64::from(i) * 2],
                "slot {i}"
            );
        }
        words.clear();
        assert!(words.get_mut(0).is_empty());
        let mut none = Words::new(0);
        none.ensure(10);
        assert!(none.get_mut(3).is_empty());
    }
}
