//! Strings made while a flow runs (an SNI, a JA3 hash, a `+` of run-time strings), beside
//! the kernel's constant string pool.
//!
//! A `str` value is an id. Ids below the pool's length name the kernel's constant strings;
//! ids from [`RUNTIME_STRING_BASE`] on name strings in the flow's own store, a per-flow
//! buffer ([`crate::runtime::BufferKind::Strings`]) created on the first such string and
//! freed by `Kernel::drop_state`. Ids are canonical within a flow: a text the pool holds
//! always gets its pool id, and the store keeps each other text once, so two ids of one
//! flow are equal exactly when their texts are (`==`, tables and `mode` compare ids).
//!
//! The store is bounded ([`MAX_FLOW_STRINGS`], [`MAX_FLOW_STRING_BYTES`]): a string that
//! does not fit reads as the empty string.

use hashbrown::HashMap;

/// The first id of a flow's run-time strings.
pub const RUNTIME_STRING_BASE: i64 = 1 << 32;
/// The most run-time strings one flow keeps.
pub const MAX_FLOW_STRINGS: usize = 4096;
/// The most bytes of run-time strings one flow keeps.
pub const MAX_FLOW_STRING_BYTES: usize = 1 << 20;

type Map = HashMap<Box<str>, u32, foldhash::fast::RandomState>;

/// The kernel's constant strings, for helpers that make strings (kernel-owned data).
#[derive(Debug, Default)]
pub struct StringPool {
    strings: Vec<Box<str>>,
    ids: Map,
    /// The id of `""`, looked up once (most run-time strings of most packets are empty).
    empty: Option<i64>,
}

impl StringPool {
    /// The pool of a kernel's strings (`strings[i]` has id `i`; texts are distinct).
    pub fn new(strings: &[String]) -> StringPool {
        let mut ids = Map::default();
        for (i, s) in strings.iter().enumerate() {
            if let Ok(i) = u32::try_from(i) {
                ids.entry(s.as_str().into()).or_insert(i);
            }
        }
        let empty = ids.get("").map(|&i| i64::from(i));
        StringPool {
            strings: strings.iter().map(|s| s.as_str().into()).collect(),
            ids,
            empty,
        }
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// The id of a text, if the pool has it.
    fn id(&self, text: &str) -> Option<i64> {
        if text.is_empty() {
            return self.empty;
        }
        self.ids.get(text).map(|&i| i64::from(i))
    }

    /// The text of a pool id.
    fn text(&self, id: i64) -> Option<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.strings.get(i))
            .map(|s| &**s)
    }
}

/// One flow's run-time strings, each kept once.
#[derive(Debug, Default)]
pub(crate) struct FlowStrings {
    strings: Vec<Box<str>>,
    ids: Map,
    bytes: usize,
}

impl FlowStrings {
    /// The id of `text`, added when new; `None` when the store is full.
    fn intern(&mut self, text: &str) -> Option<i64> {
        if let Some(&i) = self.ids.get(text) {
            return Some(RUNTIME_STRING_BASE + i64::from(i));
        }
        let bytes = self.bytes.checked_add(text.len())?;
        if self.strings.len() >= MAX_FLOW_STRINGS || bytes > MAX_FLOW_STRING_BYTES {
            return None;
        }
        let i = u32::try_from(self.strings.len()).ok()?;
        self.strings.push(text.into());
        self.ids.insert(text.into(), i);
        self.bytes = bytes;
        Some(RUNTIME_STRING_BASE + i64::from(i))
    }

    /// The text of a run-time id.
    pub(crate) fn text(&self, id: i64) -> Option<&str> {
        let i = usize::try_from(id.checked_sub(RUNTIME_STRING_BASE)?).ok()?;
        self.strings.get(i).map(|s| &**s)
    }
}

/// The text of a string id, or `""` for an id that names nothing.
///
/// # Safety
/// `pool` is 0 or points to a live [`StringPool`]; `slot` is 0 or the address of the
/// flow's strings slot.
unsafe fn text<'a>(pool: i64, slot: i64, id: i64) -> &'a str {
    // SAFETY: per the contract.
    let found = unsafe {
        if id < RUNTIME_STRING_BASE {
            (pool as *const StringPool)
                .as_ref()
                .and_then(|p| p.text(id))
        } else {
            crate::runtime::buffer_ref::<FlowStrings>(slot).and_then(|s| s.text(id))
        }
    };
    found.unwrap_or("")
}

/// The canonical id of `text` in a flow: its pool id when the kernel has it, else an id in
/// the flow's store (made on first use); when the store is full, the pool id of `""`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn intern(pool: i64, slot: i64, text: &str) -> i64 {
    // SAFETY: per the contract.
    let pool = unsafe { (pool as *const StringPool).as_ref() };
    if let Some(id) = pool.and_then(|p| p.id(text)) {
        return id;
    }
    // SAFETY: per the contract.
    let stored = unsafe { crate::runtime::buffer_mut::<FlowStrings>(slot, FlowStrings::default) }
        .and_then(|s| s.intern(text));
    stored.or_else(|| pool.and_then(|p| p.id(""))).unwrap_or(-1)
}

/// The text of a run-time id in the store a strings slot holds (`bits`), for output.
///
/// # Safety
/// `bits` is 0 or the value of a strings slot of a live state.
pub(crate) unsafe fn stored_text<'a>(bits: u64, id: i64) -> Option<&'a str> {
    // SAFETY: per the contract.
    unsafe { (bits as *const FlowStrings).as_ref() }.and_then(|s| s.text(id))
}

/// [`crate::ir::Helper::StrLen`].
///
/// # Safety
/// `pool` points to the kernel's [`StringPool`]; `slot` is the flow's strings slot.
pub unsafe extern "C" fn jjc_str_len(pool: i64, slot: i64, id: i64) -> i64 {
    // SAFETY: per the contract.
    let t = unsafe { text(pool, slot, id) };
    i64::try_from(t.len()).unwrap_or(i64::MAX)
}

/// [`crate::ir::Helper::StrCmp`].
///
/// # Safety
/// As [`jjc_str_len`].
pub unsafe extern "C" fn jjc_str_cmp(pool: i64, slot: i64, a: i64, b: i64) -> i64 {
    // SAFETY: per the contract.
    let (x, y) = unsafe { (text(pool, slot, a), text(pool, slot, b)) };
    match x.cmp(y) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}

/// [`crate::ir::Helper::StrConcat`].
///
/// # Safety
/// As [`jjc_str_len`].
pub unsafe extern "C" fn jjc_str_concat(pool: i64, slot: i64, a: i64, b: i64) -> i64 {
    // SAFETY: per the contract.
    let (x, y) = unsafe { (text(pool, slot, a), text(pool, slot, b)) };
    if x.len().saturating_add(y.len()) > MAX_FLOW_STRING_BYTES {
        // SAFETY: per the contract.
        return unsafe { intern(pool, slot, "") };
    }
    let joined = [x, y].concat();
    // SAFETY: per the contract.
    unsafe { intern(pool, slot, &joined) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{BufferKind, free_buffer};

    fn pool() -> StringPool {
        StringPool::new(&["".to_string(), "ab".to_string(), "x".to_string()])
    }

    #[test]
    fn pool_texts_keep_their_ids_and_new_texts_are_stored_once() {
        let pool = pool();
        let p = &pool as *const StringPool as i64;
        let mut slot = 0u64;
        let s = &mut slot as *mut u64 as i64;
        // SAFETY: a live pool and a strings slot on the stack, freed below.
        unsafe {
            assert_eq!(intern(p, s, "ab"), 1);
            assert_eq!(slot, 0, "no store for pool texts");
            let a = intern(p, s, "example.com");
            assert_eq!(a, RUNTIME_STRING_BASE);
            assert_eq!(intern(p, s, "example.com"), a);
            let b = intern(p, s, "other");
            assert_eq!(b, RUNTIME_STRING_BASE + 1);
            assert_eq!(text(p, s, a), "example.com");
            assert_eq!(text(p, s, 2), "x");
            assert_eq!(text(p, s, RUNTIME_STRING_BASE + 9), "");
            assert_eq!(text(p, s, -3), "");
            assert_eq!(stored_text(slot, b), Some("other"));
            assert_eq!(jjc_str_len(p, s, a), 11);
            assert_eq!(jjc_str_len(p, s, 1), 2);
            assert_eq!(jjc_str_cmp(p, s, 1, a), -1);
            assert_eq!(jjc_str_cmp(p, s, a, a), 0);
            assert_eq!(jjc_str_cmp(p, s, b, a), 1);
            // Joining gives a pool id when the result is a pool text.
            let c = jjc_str_concat(p, s, a, 1);
            assert_eq!(text(p, s, c), "example.comab");
            assert_eq!(jjc_str_concat(p, s, 0, 1), 1);
            free_buffer(BufferKind::Strings, slot);
        }
    }

    #[test]
    fn a_full_store_gives_the_empty_string() {
        let pool = pool();
        let p = &pool as *const StringPool as i64;
        let mut slot = 0u64;
        let s = &mut slot as *mut u64 as i64;
        // SAFETY: as above.
        unsafe {
            for i in 0..MAX_FLOW_STRINGS {
                assert!(intern(p, s, &format!("s{i}")) >= RUNTIME_STRING_BASE);
            }
            assert_eq!(intern(p, s, "one too many"), 0);
            assert_eq!(intern(p, s, "s7"), RUNTIME_STRING_BASE + 7);
            free_buffer(BufferKind::Strings, slot);
        }
        let mut store = FlowStrings::default();
        let big = "y".repeat(MAX_FLOW_STRING_BYTES);
        assert!(store.intern(&big).is_some());
        assert!(store.intern("z").is_none());
    }
}
