//! The `extern "C"` runtime helpers that kernels call ([`crate::ir::Helper`]), the
//! kernel-owned data they read, and the per-flow buffers they own.
//!
//! Both backends call exactly these functions: the interpreter directly, the JIT through
//! [`helper_symbols`]. Every helper takes and returns only `i64` / `f64`; pointers travel as
//! `i64`. The helpers are `unsafe`: they trust that pointer arguments come from the kernel's
//! own IR (a `DataAddr` of the right kind, a `SlotAddr` of a buffer slot, a bounds-checked
//! `(ptr, len)` of packet bytes).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;
use regex_automata::meta::{Cache, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternSet};

use crate::ir::Helper;

/// At most this many patterns share one regex set (one bit each of the result).
pub const MAX_SET_PATTERNS: usize = 64;

/// A compiled multi-pattern byte regex set (kernel-owned data).
#[derive(Debug)]
pub struct RegexSetData {
    /// Unique among the sets of this process: names the set's search cache in each thread
    /// ([`SearchScratch`]).
    id: u64,
    regex: Regex,
    patterns: Vec<String>,
    /// Every pattern starts with `^`: searches need only try the start of the haystack.
    anchored: bool,
    /// The patterns that match the empty haystack.
    empty_mask: u64,
}

impl RegexSetData {
    /// Compiles patterns (at most [`MAX_SET_PATTERNS`]) in bytes mode with ASCII classes, as
    /// Python's bytes patterns: `\d`, `\s`, `\w` and `.` are ASCII, `^` is the start of input.
    pub fn new(patterns: &[String]) -> Result<RegexSetData, String> {
        if patterns.len() > MAX_SET_PATTERNS {
            return Err(format!(
                "{} patterns in one set (at most {MAX_SET_PATTERNS})",
                patterns.len()
            ));
        }
        let regex = Regex::builder()
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .configure(Regex::config().match_kind(MatchKind::All).utf8_empty(false))
            .build_many(patterns)
            .map_err(|e| e.to_string())?;
        let config = syntax::Config::new().unicode(false).utf8(false);
        let anchored = patterns.iter().all(|p| {
            syntax::parse_with(p, &config).is_ok_and(|hir| {
                hir.properties()
                    .look_set_prefix()
                    .contains(regex_syntax::hir::Look::Start)
            })
        });
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let mut data = RegexSetData {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            regex,
            patterns: patterns.to_vec(),
            anchored,
            empty_mask: 0,
        };
        data.empty_mask = data.search(b"");
        Ok(data)
    }

    /// The patterns, bit `i` of a match result being pattern `i`.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The bitmask of the patterns matching somewhere in `hay`.
    #[inline]
    pub fn matches(&self, hay: &[u8]) -> u64 {
        if hay.is_empty() {
            return self.empty_mask;
        }
        self.search(hay)
    }

    fn search(&self, hay: &[u8]) -> u64 {
        thread_local! {
            static SCRATCH: RefCell<SearchScratch> = RefCell::new(SearchScratch::default());
        }
        SCRATCH.with(|scratch| {
            let Ok(mut scratch) = scratch.try_borrow_mut() else {
                return 0;
            };
            let SearchScratch { set, caches } = &mut *scratch;
            let cache = match caches.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    if caches.len() >= SEARCH_CACHES {
                        caches.remove(0);
                    }
                    caches.push((self.id, self.regex.create_cache()));
                    caches.len() - 1
                }
            };
            let Some((_, cache)) = caches.get_mut(cache) else {
                return 0;
            };
            set.clear();
            let anchored = if self.anchored {
                Anchored::Yes
            } else {
                Anchored::No
            };
            self.regex.which_overlapping_matches_with(
                cache,
                &Input::new(hay).anchored(anchored),
                set,
            );
            if set.is_empty() {
                return 0;
            }
            set.iter()
                .map(|p| p.as_usize())
                .filter(|&i| i < MAX_SET_PATTERNS)
                .fold(0u64, |m, i| m | (1u64 << i))
        })
    }
}

/// Regex sets whose search caches one thread keeps (the oldest is dropped beyond it): a
/// kernel has a few sets, and a thread runs one kernel at a time.
const SEARCH_CACHES: usize = 16;

/// What a thread searches regex sets with: a match set, and a search cache per set.
///
/// The caches are the thread's own. The regex's built-in cache pool hands its fast path to
/// the first thread that searches and makes every other thread take a lock per search,
/// which all but one worker of a parallel run would contend for.
struct SearchScratch {
    set: PatternSet,
    caches: Vec<(u64, Cache)>,
}

impl Default for SearchScratch {
    fn default() -> Self {
        SearchScratch {
            set: PatternSet::new(MAX_SET_PATTERNS),
            caches: Vec::new(),
        }
    }
}

/// A table of key ranges (kernel-owned data): entries `[lo0, lo1, hi0, hi1]`, sorted and
/// non-overlapping, compared lexicographically as signed pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    entries: Vec<[i64; 4]>,
}

impl TableData {
    /// A table over entries sorted by their low key (call [`TableData::sort_order`] first).
    pub fn new(entries: Vec<[i64; 4]>) -> TableData {
        TableData { entries }
    }

    /// The entries, as [`TableData::new`] took them.
    pub(crate) fn entries(&self) -> &[[i64; 4]] {
        &self.entries
    }

    /// The order that sorts `entries` by low key: `order[i]` is the original index of the
    /// `i`-th sorted entry.
    pub fn sort_order(entries: &[[i64; 4]]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&i| entries.get(i).map(|e| (e[0], e[1])));
        order
    }

    /// The index of the entry containing `key`, or -1.
    pub fn find(&self, key: (i64, i64)) -> i64 {
        let n = self.entries.partition_point(|e| (e[0], e[1]) <= key);
        match n
            .checked_sub(1)
            .and_then(|i| self.entries.get(i).map(|e| (i, e)))
        {
            Some((i, e)) if key <= (e[2], e[3]) => i as i64,
            _ => -1,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An `i64` array (kernel-owned data), read by [`Helper::ArrayGet`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrayData {
    /// The elements.
    pub values: Vec<i64>,
}

/// Histogram bin edges (kernel-owned data), strictly increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgesData {
    /// The edges.
    pub edges: Vec<f64>,
}

impl EdgesData {
    /// numpy's bin of `x`: `[e_i, e_{i+1})`, the last bin closed; -1 outside or NaN.
    pub fn bin(&self, x: f64) -> i64 {
        let (Some(first), Some(last)) = (self.edges.first(), self.edges.last()) else {
            return -1;
        };
        if x.is_nan() || x < *first || x > *last || self.edges.len() < 2 {
            return -1;
        }
        if x == *last {
            return self.edges.len() as i64 - 2;
        }
        self.edges.partition_point(|e| *e <= x) as i64 - 1
    }
}

/// The kinds of per-flow heap buffer a state slot may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BufferKind {
    /// Values for exact median / percentiles ([`Helper::ValuesPush`]).
    Values,
    /// Values for memory-bounded median / percentiles ([`Helper::SketchPush`],
    /// [`crate::sketch`]).
    Sketch,
    /// Value counts for `mode` ([`Helper::ModePush`]).
    Mode,
    /// A byte histogram for `entropy` ([`Helper::BytesPush`]).
    Bytes,
    /// The flow's run-time strings ([`crate::flow_strings`]).
    Strings,
    /// The TLS messages of one byte string's last parse ([`Helper::TlsParse`]).
    Tls,
}

/// The value list behind [`Helper::ValuesPush`]: one heap block, this header followed by
/// `cap` values, of which the first `len` are set. A slot holds the block's address.
///
/// One block rather than a box holding a vector: a flow's lists are made as it starts and
/// pushed to with every packet, and a second allocation and a second pointer to follow per
/// list cost more than the list's own work.
#[repr(C)]
struct Values {
    len: usize,
    cap: usize,
    sorted: bool,
    has_nan: bool,
    /// Whether `sum`, `m2` and the mode are those of the values as they are.
    moments: bool,
    /// What is taken from the values in push order before they are first sorted
    /// ([`values_keep`]), set when the list is made.
    keep: u8,
    /// The values' sum, by numpy's pairwise summation in push order.
    sum: f64,
    /// The sum of the squared deviations from `sum / len`, likewise.
    m2: f64,
    /// The most frequent value, the first seen among equals, when `keep` asks for it; valid
    /// with `sum` and `m2` (the `moments` flag).
    mode: f64,
    /// How many times `mode` was pushed.
    mode_count: u64,
}

/// What a value list keeps from its values in push order before they are first sorted: the
/// last argument of [`jjc_values_push`], read when the list is made.
pub mod values_keep {
    /// The sum and the squared deviations ([`crate::ir::Helper::ValuesMoment`]).
    pub const MOMENTS: i64 = 1;
    /// The most frequent value and its count ([`crate::ir::Helper::ValuesMode`]).
    pub const MODE: i64 = 2;
}

/// Where a value list's fields are, from the block's address, for the JIT's inline push
/// (`jjc-jit`): the count, the capacity, the `sorted` and `moments` flags (one byte each),
/// and the first value. A push with room, of a value that is not NaN, stores the value at
/// `DATA + 8 * len`, increments the count and clears both flags; any other push calls
/// [`jjc_values_push`].
pub mod values_layout {
    use super::Values;
    /// The count (`usize`).
    pub const LEN: i32 = std::mem::offset_of!(Values, len) as i32;
    /// The capacity (`usize`).
    pub const CAP: i32 = std::mem::offset_of!(Values, cap) as i32;
    /// Whether the values are sorted (a byte, 0 or 1).
    pub const SORTED: i32 = std::mem::offset_of!(Values, sorted) as i32;
    /// Whether the header's sum, squared deviations and mode are current (a byte, 0 or 1).
    pub const MOMENTS: i32 = std::mem::offset_of!(Values, moments) as i32;
    /// The first value (`f64`s follow the header).
    pub const DATA: i32 = size_of::<Values>() as i32;
}

/// Room a value list starts with: most flows have a few dozen packets, and growing from
/// the vector's own start (4) costs a reallocation at 4, 8 and 16 values.
const VALUES_FIRST_ROOM: usize = 8;

impl Values {
    /// The layout of a block with room for `cap` values (`None` past the address space).
    fn layout(cap: usize) -> Option<std::alloc::Layout> {
        let values = std::alloc::Layout::array::<f64>(cap).ok()?;
        let (layout, _) = std::alloc::Layout::new::<Values>().extend(values).ok()?;
        Some(layout.pad_to_align())
    }

    /// A new, empty list with room for [`VALUES_FIRST_ROOM`] values, keeping what `keep`
    /// ([`values_keep`]) asks; null if the allocator has no memory (it aborts the process
    /// first, by default).
    fn first(keep: i64) -> *mut Values {
        let Some(layout) = Values::layout(VALUES_FIRST_ROOM) else {
            return std::ptr::null_mut();
        };
        // SAFETY: the layout is not zero-sized (it has the header).
        let block = unsafe { std::alloc::alloc(layout) }.cast::<Values>();
        if !block.is_null() {
            // SAFETY: the block is fresh, aligned for `Values` and large enough.
            unsafe {
                block.write(Values {
                    len: 0,
                    cap: VALUES_FIRST_ROOM,
                    sorted: false,
                    has_nan: false,
                    moments: false,
                    keep: (keep & (values_keep::MOMENTS | values_keep::MODE)) as u8,
                    sum: 0.0,
                    m2: 0.0,
                    mode: 0.0,
                    mode_count: 0,
                });
            }
        }
        block
    }

    /// The values of the list at `block`.
    ///
    /// # Safety
    /// `block` is a live block made by [`Values::first`] or [`Values::push`], not otherwise
    /// borrowed while the slice lives.
    unsafe fn values<'a>(block: *mut Values) -> &'a mut [f64] {
        // SAFETY: per the contract; the values follow the header at its size (a multiple of
        // `f64`'s alignment), and the first `len` are set.
        unsafe {
            let data = block.add(1).cast::<f64>();
            std::slice::from_raw_parts_mut(data, (*block).len)
        }
    }

    /// Keeps in the list's header what its `keep` asks (the sum and squared deviations, the
    /// mode), computed from the values in push order: called before the list is first
    /// sorted, so that they are those numpy computes from the same values in the same order,
    /// and the mode is the first seen among equals, whatever the finish asks first.
    ///
    /// # Safety
    /// As [`Values::values`].
    unsafe fn keep_push_order(block: *mut Values) {
        /// Values a mode's copy of the push order keeps on the stack.
        const ON_STACK: usize = 64;
        // SAFETY: per the contract.
        unsafe {
            if (*block).moments {
                return;
            }
            let keep = i64::from((*block).keep);
            let values = Values::values(block);
            let (sum, m2) = if keep & values_keep::MOMENTS != 0 {
                numpy_sum_and_m2(values)
            } else {
                (0.0, 0.0)
            };
            let (mode, mode_count) = if keep & values_keep::MODE != 0 {
                // The list is sorted now rather than by its first percentile (a list keeps
                // a mode only when a percentile sorts it): the mode is read from the sorted
                // values, the push order consulted only between equally frequent ones.
                let mut stack = [0.0; ON_STACK];
                let mut heap = Vec::new();
                let push_order: &[f64] = match stack.get_mut(..values.len()) {
                    Some(copy) => {
                        copy.copy_from_slice(values);
                        copy
                    }
                    None => {
                        heap.extend_from_slice(values);
                        &heap
                    }
                };
                if !(*block).sorted {
                    sort_floats(values);
                    (*block).sorted = true;
                }
                mode_of_sorted(values, push_order)
            } else {
                (0.0, 0)
            };
            let header = &mut *block;
            header.sum = sum;
            header.m2 = m2;
            header.mode = mode;
            header.mode_count = mode_count;
            header.moments = true;
        }
    }

    /// Appends `value` to the list at `block`, growing the block (by doubling) when full;
    /// returns the block's address, which growing may change (null if memory ran out: the
    /// old block is then freed, and the value lost).
    ///
    /// # Safety
    /// `block` is a live block made by [`Values::first`] or an earlier `push`; after the call
    /// only the returned address is.
    unsafe fn push(mut block: *mut Values, value: f64) -> *mut Values {
        // SAFETY: per the contract.
        unsafe {
            let Values { len, cap, .. } = *block;
            if len == cap {
                let (Some(old), Some(new)) = (Values::layout(cap), Values::layout(cap * 2)) else {
                    Values::free(block);
                    return std::ptr::null_mut();
                };
                let grown =
                    std::alloc::realloc(block.cast::<u8>(), old, new.size()).cast::<Values>();
                if grown.is_null() {
                    Values::free(block);
                    return std::ptr::null_mut();
                }
                block = grown;
                (*block).cap = cap * 2;
            }
            block.add(1).cast::<f64>().add(len).write(value);
            let header = &mut *block;
            header.len = len + 1;
            header.sorted = false;
            header.moments = false;
            header.has_nan |= value.is_nan();
        }
        block
    }

    /// Frees the list at `block`.
    ///
    /// # Safety
    /// `block` is a live block made by [`Values::first`] or [`Values::push`]; it is not used
    /// again.
    unsafe fn free(block: *mut Values) {
        // SAFETY: per the contract, the block was allocated with the layout of its capacity.
        unsafe {
            if let Some(layout) = Values::layout((*block).cap) {
                std::alloc::dealloc(block.cast::<u8>(), layout);
            }
        }
    }
}

/// The counts behind [`Helper::ModePush`], in first-seen order.
#[derive(Debug, Default)]
struct Mode {
    /// Where each value's entry is, built once there are more than [`MODE_SCAN`] values
    /// (below that a scan of `entries` is faster than hashing).
    index: Option<HashMap<(i64, i64), usize, foldhash::fast::RandomState>>,
    entries: Vec<((i64, i64), u64)>,
}

/// Distinct values a mode keeps without an index.
const MODE_SCAN: usize = 16;

impl Mode {
    /// Counts one more `key`.
    fn push(&mut self, key: (i64, i64)) {
        let found = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.entries.iter().position(|e| e.0 == key),
        };
        if let Some(e) = found.and_then(|i| self.entries.get_mut(i)) {
            e.1 += 1;
            return;
        }
        let i = self.entries.len();
        self.entries.push((key, 1));
        match &mut self.index {
            Some(index) => {
                index.insert(key, i);
            }
            None if self.entries.len() > MODE_SCAN => {
                self.index = Some(
                    self.entries
                        .iter()
                        .enumerate()
                        .map(|(i, e)| (e.0, i))
                        .collect(),
                );
            }
            None => {}
        }
    }
}

/// The byte histogram behind [`Helper::BytesPush`].
#[derive(Debug)]
struct ByteHist {
    counts: [u64; 256],
    total: u64,
}

/// Hints the CPU to load the cache line at `addr` (any address: a prefetch reads nothing the
/// program sees and cannot fault). Does nothing on other architectures.
#[inline]
pub(crate) fn prefetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86_64's baseline; a prefetch of any address is defined.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// Frees the buffer whose pointer a slot holds (`bits`), if any.
///
/// # Safety
/// `bits` must be 0 or a pointer made by the push helper of `kind` and not freed yet.
pub unsafe fn free_buffer(kind: BufferKind, bits: u64) {
    if bits == 0 {
        return;
    }
    // SAFETY: per the contract, `bits` came from `Box::into_raw` of this kind.
    unsafe {
        match kind {
            BufferKind::Values => Values::free(bits as *mut Values),
            BufferKind::Sketch => drop(Box::from_raw(bits as *mut crate::sketch::SketchBuffer)),
            BufferKind::Mode => drop(Box::from_raw(bits as *mut Mode)),
            BufferKind::Bytes => drop(Box::from_raw(bits as *mut ByteHist)),
            BufferKind::Strings => {
                drop(Box::from_raw(bits as *mut crate::flow_strings::FlowStrings))
            }
            BufferKind::Tls => drop(Box::from_raw(bits as *mut crate::tls::TlsMessages)),
        }
    }
}

/// The buffer a slot owns, created on first use.
///
/// # Safety
/// `slot` is the address of a state slot holding 0 or a `*mut T` made here.
pub(crate) unsafe fn buffer_mut<'a, T>(slot: i64, make: impl FnOnce() -> T) -> Option<&'a mut T> {
    let p = slot as *mut u64;
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe {
        if *p == 0 {
            *p = Box::into_raw(Box::new(make())) as u64;
        }
        (*p as *mut T).as_mut()
    }
}

/// The buffer a slot owns, if it was created.
///
/// # Safety
/// As [`buffer_mut`].
pub(crate) unsafe fn buffer_ref<'a, T>(slot: i64) -> Option<&'a mut T> {
    let p = slot as *mut u64;
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { (*p as *mut T).as_mut() }
}

/// The bytes `ptr[0..len]`, empty for a null pointer or `len <= 0`.
///
/// # Safety
/// `ptr[0..len]` must be readable for the call.
pub(crate) unsafe fn bytes<'a>(ptr: i64, len: i64) -> &'a [u8] {
    if ptr == 0 || len <= 0 {
        return &[];
    }
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) }
}

/// [`Helper::RegexSet`].
///
/// # Safety
/// `set` points to a live [`RegexSetData`]; `ptr[0..len]` is readable.
pub unsafe extern "C" fn jjc_regex_set(set: i64, ptr: i64, len: i64) -> i64 {
    // SAFETY: per the contract.
    let (set, hay) = unsafe { ((set as *const RegexSetData).as_ref(), bytes(ptr, len)) };
    set.map_or(0, |s| s.matches(hay) as i64)
}

/// [`Helper::ValuesPush`].
///
/// # Safety
/// `slot` is the address of a values slot.
pub unsafe extern "C" fn jjc_values_push(slot: i64, value: f64, pred: i64, keep: i64) {
    if pred == 0 {
        return;
    }
    let p = slot as *mut u64;
    if p.is_null() {
        return;
    }
    // SAFETY: per the contract, the slot holds 0 or a block made here.
    unsafe {
        let mut block = *p as *mut Values;
        if block.is_null() {
            block = Values::first(keep);
            if block.is_null() {
                return;
            }
        }
        *p = Values::push(block, value) as u64;
    }
}

/// numpy's linear interpolation between `a` and `b` at `t` (`numpy.lib._function_base_impl._lerp`).
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// The `p`-th percentile of sorted values, numpy's "linear" method; NaN when empty.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    percentile_by(sorted.len(), p, |i| sorted.get(i).copied())
}

/// The `p`-th percentile, numpy's "linear" method, of `n` values whose `i`-th smallest is
/// `at(i)`; NaN when `n == 0` or `at` has no value.
pub(crate) fn percentile_by(n: usize, p: f64, at: impl Fn(usize) -> Option<f64>) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let idx = (n - 1) as f64 * (p / 100.0);
    let lo = idx.floor().clamp(0.0, (n - 1) as f64);
    let i = lo as usize;
    let j = (i + 1).min(n - 1);
    let (Some(a), Some(b)) = (at(i), at(j)) else {
        return f64::NAN;
    };
    lerp(a, b, idx - lo)
}

/// Heap bytes of the values buffer a slot holds (`bits`, 0 or made by
/// [`jjc_values_push`]): the list's header and capacity.
#[cfg(test)]
pub(crate) fn values_heap_bytes(bits: u64) -> usize {
    // SAFETY: test code passes 0 or a live values buffer.
    unsafe { (bits as *const Values).as_ref() }.map_or(0, |v| {
        Values::layout(v.cap).map_or(0, |layout| layout.size())
    })
}

/// [`Helper::ValuesPercentile`].
///
/// # Safety
/// `slot` is the address of a values slot.
pub unsafe extern "C" fn jjc_values_percentile(slot: i64, p: f64) -> f64 {
    let at = slot as *const u64;
    if at.is_null() {
        return f64::NAN;
    }
    // SAFETY: per the contract, the slot holds 0 or a live block made by the push; the values
    // and the header are apart, so the slice and the header's flags do not overlap.
    unsafe {
        let block = *at as *mut Values;
        if block.is_null() || (*block).has_nan {
            return f64::NAN;
        }
        if !(*block).sorted {
            Values::keep_push_order(block);
            sort_floats(Values::values(block));
            (*block).sorted = true;
        }
        percentile_sorted(Values::values(block), p)
    }
}

/// [`Helper::ValuesMoment`].
///
/// # Safety
/// `slot` is the address of a values slot.
pub unsafe extern "C" fn jjc_values_moment(slot: i64, which: i64) -> f64 {
    let at = slot as *const u64;
    if at.is_null() {
        return 0.0;
    }
    // SAFETY: per the contract, the slot holds 0 or a live block made by the push. A list
    // is sorted only after its moments are kept, so they are those of the push order.
    unsafe {
        let block = *at as *mut Values;
        if block.is_null() {
            return 0.0;
        }
        Values::keep_push_order(block);
        if which == 0 {
            (*block).sum
        } else {
            (*block).m2
        }
    }
}

/// [`Helper::ValuesMode`].
///
/// # Safety
/// `slot` is the address of a values slot.
pub unsafe extern "C" fn jjc_values_mode(slot: i64, which: i64) -> f64 {
    let at = slot as *const u64;
    if at.is_null() {
        return 0.0;
    }
    // SAFETY: per the contract, the slot holds 0 or a live block made by the push. A list
    // is sorted only after its mode is kept, so it is that of the push order.
    unsafe {
        let block = *at as *mut Values;
        if block.is_null() {
            return 0.0;
        }
        Values::keep_push_order(block);
        if which == 0 {
            (*block).mode
        } else {
            (*block).mode_count as f64
        }
    }
}

/// The most frequent of `values` (bit patterns compared, as `mode` compares words) and how
/// many times it occurs, the first seen among equally frequent ones; `(0.0, 0)` when empty.
#[cfg(test)]
pub(crate) fn mode_of(values: &[f64]) -> (f64, u64) {
    let mut sorted = values.to_vec();
    sort_floats(&mut sorted);
    mode_of_sorted(&sorted, values)
}

/// [`mode_of`] of `push_order`, given the same values sorted by [`sort_floats`] (equal
/// values side by side, in `f64::total_cmp` order).
fn mode_of_sorted(sorted: &[f64], push_order: &[f64]) -> (f64, u64) {
    let run_at = |k: usize| {
        let bits = sorted.get(k).map(|v| v.to_bits());
        sorted.get(k..).map_or(0, |rest| {
            rest.iter()
                .take_while(|v| Some(v.to_bits()) == bits)
                .count()
        })
    };
    let (mut best, mut best_at, mut tied) = (0, 0, false);
    let mut k = 0;
    while k < sorted.len() {
        let run = run_at(k);
        if run > best {
            (best, best_at, tied) = (run, k, false);
        } else if run == best {
            tied = true;
        }
        k += run.max(1);
    }
    let Some(&first) = sorted.get(best_at) else {
        return (0.0, 0);
    };
    if !tied {
        return (first, best as u64);
    }
    // Equally frequent values: the first pushed of them.
    let count = |v: f64| {
        let lo = sorted.partition_point(|w| w.total_cmp(&v).is_lt());
        run_at(lo)
    };
    let winner = push_order
        .iter()
        .copied()
        .find(|&v| count(v) == best)
        .unwrap_or(first);
    (winner, best as u64)
}

/// numpy's `np.sum(a)` of `values` and `np.sum((a - np.sum(a) / n) ** 2)`, bit for bit:
/// its pairwise summation (`pairwise_sum` in numpy's `loops_utils.h.src`) added to the
/// reduction's identity 0.0. JoyfulJay's mean and standard deviation are these divided by n.
pub(crate) fn numpy_sum_and_m2(values: &[f64]) -> (f64, f64) {
    let sum = 0.0 + pairwise_sum(values, |x| x);
    let mean = sum / values.len() as f64;
    let m2 = 0.0 + pairwise_sum(values, |x| (x - mean) * (x - mean));
    (sum, m2)
}

/// numpy's pairwise summation of `term(v)` over `values`: a plain sum below 8 values; eight
/// running sums combined as a tree up to 128; else the halves (the first a multiple of 8)
/// summed apart.
fn pairwise_sum(values: &[f64], term: impl Fn(f64) -> f64 + Copy) -> f64 {
    const UNROLL: usize = 8;
    const BLOCK: usize = 128;
    let n = values.len();
    if n < UNROLL {
        let mut res = 0.0;
        for &x in values {
            res += term(x);
        }
        res
    } else if n <= BLOCK {
        let mut r = [0.0; UNROLL];
        for (r, &x) in r.iter_mut().zip(values) {
            *r = term(x);
        }
        let whole = n - n % UNROLL;
        for chunk in values[UNROLL..whole].chunks_exact(UNROLL) {
            for (r, &x) in r.iter_mut().zip(chunk) {
                *r += term(x);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &values[whole..] {
            res += term(x);
        }
        res
    } else {
        let half = n / 2;
        let half = half - half % UNROLL;
        pairwise_sum(&values[..half], term) + pairwise_sum(&values[half..], term)
    }
}

/// Sorts floats (none of them NaN) in [`f64::total_cmp`] order. When none is negative (packet
/// lengths, times and IATs, as a rule) their bit patterns sort the same way as integers,
/// which is faster than comparing them as floats, and short lists by a sorting network
/// ([`crate::small_sort`]).
pub(crate) fn sort_floats(values: &mut [f64]) {
    if values.iter().any(|v| v.is_sign_negative()) {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    // SAFETY: `u64` has the size and alignment of `f64`, and every bit pattern is a valid
    // value of both; the slice is borrowed mutably for the cast's whole life.
    let bits =
        unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u64>(), values.len()) };
    crate::small_sort::sort_u64(bits);
}

/// [`Helper::ModePush`].
///
/// # Safety
/// `slot` is the address of a mode slot.
pub unsafe extern "C" fn jjc_mode_push(slot: i64, w0: i64, w1: i64, pred: i64) {
    if pred == 0 {
        return;
    }
    // SAFETY: per the contract.
    if let Some(m) = unsafe { buffer_mut::<Mode>(slot, Mode::default) } {
        m.push((w0, w1));
    }
}

/// [`Helper::ModeGet`].
///
/// # Safety
/// `slot` is the address of a mode slot.
pub unsafe extern "C" fn jjc_mode_get(slot: i64, word: i64) -> i64 {
    // SAFETY: per the contract.
    let Some(m) = (unsafe { buffer_ref::<Mode>(slot) }) else {
        return 0;
    };
    let mut best: Option<&((i64, i64), u64)> = None;
    for e in &m.entries {
        if best.is_none_or(|b| e.1 > b.1) {
            best = Some(e);
        }
    }
    best.map_or(0, |((a, b), _)| if word == 0 { *a } else { *b })
}

/// [`Helper::ModeCount`].
///
/// # Safety
/// `slot` is the address of a mode slot.
pub unsafe extern "C" fn jjc_mode_count(slot: i64) -> i64 {
    // SAFETY: per the contract.
    let Some(m) = (unsafe { buffer_ref::<Mode>(slot) }) else {
        return 0;
    };
    let most = m.entries.iter().map(|e| e.1).max().unwrap_or(0);
    i64::try_from(most).unwrap_or(i64::MAX)
}

/// [`Helper::BytesPush`].
///
/// # Safety
/// `slot` is the address of a bytes slot; `ptr[0..len]` is readable.
pub unsafe extern "C" fn jjc_bytes_push(slot: i64, ptr: i64, len: i64, pred: i64) {
    if pred == 0 {
        return;
    }
    // SAFETY: per the contract.
    let data = unsafe { bytes(ptr, len) };
    if data.is_empty() {
        return;
    }
    // SAFETY: per the contract.
    let make = || ByteHist {
        counts: [0; 256],
        total: 0,
    };
    if let Some(h) = unsafe { buffer_mut::<ByteHist>(slot, make) } {
        for &b in data {
            if let Some(c) = h.counts.get_mut(b as usize) {
                *c += 1;
            }
        }
        h.total += data.len() as u64;
    }
}

/// Shannon entropy (bits) of a byte histogram; NaN when empty.
pub fn entropy_of_counts(counts: &[u64], total: u64) -> f64 {
    if total == 0 {
        return f64::NAN;
    }
    let n = total as f64;
    let mut h = 0.0;
    for &c in counts {
        if c > 0 {
            let p = c as f64 / n;
            h -= p * p.log2();
        }
    }
    h
}

/// [`Helper::BytesEntropy`].
///
/// # Safety
/// `slot` is the address of a bytes slot.
pub unsafe extern "C" fn jjc_bytes_entropy(slot: i64) -> f64 {
    // SAFETY: per the contract.
    match unsafe { buffer_ref::<ByteHist>(slot) } {
        Some(h) => entropy_of_counts(&h.counts, h.total),
        None => f64::NAN,
    }
}

/// [`Helper::Ln`].
pub extern "C" fn jjc_ln(a: f64) -> f64 {
    a.ln()
}

/// [`Helper::Log2`].
pub extern "C" fn jjc_log2(a: f64) -> f64 {
    a.log2()
}

/// [`Helper::Exp`].
pub extern "C" fn jjc_exp(a: f64) -> f64 {
    a.exp()
}

/// [`Helper::Pow`].
pub extern "C" fn jjc_pow(a: f64, b: f64) -> f64 {
    a.powf(b)
}

/// [`Helper::FRem`]: Python's float `%`.
pub extern "C" fn jjc_frem(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }
}

/// [`Helper::TableFind`].
///
/// # Safety
/// `table` points to a live [`TableData`].
pub unsafe extern "C" fn jjc_table_find(table: i64, k0: i64, k1: i64) -> i64 {
    // SAFETY: per the contract.
    unsafe { (table as *const TableData).as_ref() }.map_or(-1, |t| t.find((k0, k1)))
}

/// [`Helper::ArrayGet`].
///
/// # Safety
/// `array` points to a live [`ArrayData`].
pub unsafe extern "C" fn jjc_array_get(array: i64, index: i64) -> i64 {
    // SAFETY: per the contract.
    let a = unsafe { (array as *const ArrayData).as_ref() };
    a.and_then(|a| usize::try_from(index).ok().and_then(|i| a.values.get(i)))
        .copied()
        .unwrap_or(0)
}

/// [`Helper::HistBin`].
///
/// # Safety
/// `edges` points to a live [`EdgesData`].
pub unsafe extern "C" fn jjc_hist_bin(edges: i64, x: f64) -> i64 {
    // SAFETY: per the contract.
    unsafe { (edges as *const EdgesData).as_ref() }.map_or(-1, |e| e.bin(x))
}

/// [`Helper::BytesEq`].
///
/// # Safety
/// Both byte ranges are readable.
pub unsafe extern "C" fn jjc_bytes_eq(p1: i64, l1: i64, p2: i64, l2: i64) -> i64 {
    // SAFETY: per the contract.
    unsafe { i64::from(bytes(p1, l1) == bytes(p2, l2)) }
}

/// The address of a helper's function.
pub fn helper_address(h: Helper) -> *const u8 {
    type I3 = unsafe extern "C" fn(i64, i64, i64) -> i64;
    type I4 = unsafe extern "C" fn(i64, i64, i64, i64) -> i64;
    match h {
        Helper::RegexSet => jjc_regex_set as I3 as *const u8,
        Helper::ValuesPush => {
            jjc_values_push as unsafe extern "C" fn(i64, f64, i64, i64) as *const u8
        }
        Helper::ValuesPercentile => {
            jjc_values_percentile as unsafe extern "C" fn(i64, f64) -> f64 as *const u8
        }
        Helper::ValuesMoment => {
            jjc_values_moment as unsafe extern "C" fn(i64, i64) -> f64 as *const u8
        }
        Helper::ValuesMode => jjc_values_mode as unsafe extern "C" fn(i64, i64) -> f64 as *const u8,
        Helper::SketchPush => {
            crate::sketch::jjc_sketch_push as unsafe extern "C" fn(i64, f64, f64, i64) as *const u8
        }
        Helper::SketchPercentile => {
            crate::sketch::jjc_sketch_percentile as unsafe extern "C" fn(i64, f64) -> f64
                as *const u8
        }
        Helper::ModePush => jjc_mode_push as unsafe extern "C" fn(i64, i64, i64, i64) as *const u8,
        Helper::ModeGet => jjc_mode_get as unsafe extern "C" fn(i64, i64) -> i64 as *const u8,
        Helper::ModeCount => jjc_mode_count as unsafe extern "C" fn(i64) -> i64 as *const u8,
        Helper::BytesPush => {
            jjc_bytes_push as unsafe extern "C" fn(i64, i64, i64, i64) as *const u8
        }
        Helper::BytesEntropy => jjc_bytes_entropy as unsafe extern "C" fn(i64) -> f64 as *const u8,
        Helper::Ln => jjc_ln as extern "C" fn(f64) -> f64 as *const u8,
        Helper::Log2 => jjc_log2 as extern "C" fn(f64) -> f64 as *const u8,
        Helper::Exp => jjc_exp as extern "C" fn(f64) -> f64 as *const u8,
        Helper::Pow => jjc_pow as extern "C" fn(f64, f64) -> f64 as *const u8,
        Helper::FRem => jjc_frem as extern "C" fn(f64, f64) -> f64 as *const u8,
        Helper::TableFind => jjc_table_find as I3 as *const u8,
        Helper::ArrayGet => jjc_array_get as unsafe extern "C" fn(i64, i64) -> i64 as *const u8,
        Helper::HistBin => jjc_hist_bin as unsafe extern "C" fn(i64, f64) -> i64 as *const u8,
        Helper::BytesEq => {
            jjc_bytes_eq as unsafe extern "C" fn(i64, i64, i64, i64) -> i64 as *const u8
        }
        Helper::TlsParse => crate::tls::jjc_tls_parse as I3 as *const u8,
        Helper::TlsInt => {
            crate::tls::jjc_tls_int as unsafe extern "C" fn(i64, i64) -> i64 as *const u8
        }
        Helper::TlsStr => crate::tls::jjc_tls_str as I4 as *const u8,
        Helper::StrLen => crate::flow_strings::jjc_str_len as I3 as *const u8,
        Helper::StrCmp => crate::flow_strings::jjc_str_cmp as I4 as *const u8,
        Helper::StrConcat => crate::flow_strings::jjc_str_concat as I4 as *const u8,
        Helper::StrInt => crate::int_text::jjc_str_int as I3 as *const u8,
    }
}

/// Every helper as `(symbol name, address)`, for a JIT to declare and link.
pub fn helper_symbols() -> Vec<(&'static str, *const u8)> {
    Helper::ALL
        .iter()
        .map(|h| (h.name(), helper_address(*h)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list's mode and count as the mode buffer counts them (`ModePush`, `ModeGet`,
    /// `ModeCount`): the reference the list's own mode must match.
    fn counted_mode(values: &[f64]) -> (u64, u64) {
        let mut slot = 0u64;
        let s = &mut slot as *mut u64 as i64;
        // SAFETY: a mode slot on the stack, freed below.
        unsafe {
            for v in values {
                jjc_mode_push(s, v.to_bits() as i64, 0, 1);
            }
            let got = (jjc_mode_get(s, 0) as u64, jjc_mode_count(s) as u64);
            free_buffer(BufferKind::Mode, slot);
            got
        }
    }

    #[test]
    fn a_kept_list_gives_the_mode_of_its_push_order_even_after_a_sort() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for len in 0..200usize {
            // Few distinct lengths, so that ties are common; a few signed zeros.
            let values: Vec<f64> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match (x % 11, i % 17) {
                        (_, 16) => -0.0,
                        (0, _) => 0.0,
                        (k, _) => (40 + k * 100) as f64,
                    }
                })
                .collect();
            let want = counted_mode(&values);
            let (mode, n) = mode_of(&values);
            assert_eq!((mode.to_bits(), n), want, "{len} values");
            // The same from a kept list, asked before and after its first percentile.
            for sort_first in [false, true] {
                let mut slot = 0u64;
                let s = &mut slot as *mut u64 as i64;
                // SAFETY: a values slot on the stack, freed below.
                unsafe {
                    for &v in &values {
                        jjc_values_push(s, v, 1, values_keep::MODE);
                    }
                    if sort_first {
                        jjc_values_percentile(s, 50.0);
                    }
                    let got = (
                        jjc_values_mode(s, 0).to_bits(),
                        jjc_values_mode(s, 1) as u64,
                    );
                    assert_eq!(got, want, "{len} values, sorted first: {sort_first}");
                    if len > 0 {
                        let median = jjc_values_percentile(s, 50.0);
                        let mut sorted = values.clone();
                        sorted.sort_by(f64::total_cmp);
                        assert_eq!(median, percentile_sorted(&sorted, 50.0));
                    }
                    free_buffer(BufferKind::Values, slot);
                }
            }
        }
    }

    #[test]
    fn floats_sort_as_total_cmp_sorts_them() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..300 {
            let mut values: Vec<f64> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match i % 5 {
                        0 => (x % 1500) as f64,
                        1 => f64::from_bits(x >> 1),
                        2 => [0.0, 5e-324, f64::INFINITY, 1e-300][(x % 4) as usize],
                        _ => (x >> 11) as f64 / (1u64 << 53) as f64,
                    }
                })
                .collect();
            if len % 3 == 0 && len > 0 {
                values[len / 2] = [-0.0, -1.5, f64::NEG_INFINITY][len % 9 / 3];
            }
            let mut want = values.clone();
            want.sort_by(f64::total_cmp);
            sort_floats(&mut values);
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&values), bits(&want), "{len} values");
        }
    }

    fn set(p: &[&str]) -> RegexSetData {
        let pats: Vec<String> = p.iter().map(|s| s.to_string()).collect();
        match RegexSetData::new(&pats) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn regex_sets_report_every_matching_pattern_with_python_semantics() {
        let s = set(&[
            r"^(GET|POST|PUT|DELETE|HEAD)\s",
            r"^HTTP/\d\.\d\s\d{3}",
            r"Host",
            r"^SSH-\d\.\d",
        ]);
        assert_eq!(s.matches(b"GET / HTTP/1.1\r\nHost: x"), 0b0101);
        assert_eq!(s.matches(b"HTTP/1.1 200 OK"), 0b0010);
        // `^` anchors at the start of the slice only, as re.search does.
        assert_eq!(s.matches(b"xGET / "), 0);
        assert_eq!(s.matches(b""), 0);
        // ASCII classes: a non-ASCII digit (U+0663, Arabic-Indic three) is no `\d`.
        assert_eq!(s.matches("SSH-\u{663}.0".as_bytes()), 0);
        assert_eq!(s.matches(b"SSH-2.0"), 0b1000);
        // `\s` is ASCII whitespace, including vertical tab and form feed, not U+00A0.
        assert_eq!(s.matches(b"GET\x0b/"), 0b0001);
        assert_eq!(s.matches(b"GET\x0c/"), 0b0001);
        assert_eq!(s.matches(b"GET\xa0/"), 0);
        assert_eq!(s.matches("GET\u{a0}/".as_bytes()), 0);
        // Invalid UTF-8 is fine in bytes mode.
        let d = set(&[r"\xff.\x00", r"."]);
        assert_eq!(d.matches(b"\xff\xfe\x00"), 0b11);
        assert_eq!(d.matches(b"\n"), 0);
        assert!(RegexSetData::new(&["(".to_string()]).is_err());
    }

    /// More sets than a thread keeps caches for, searched in turn from several threads: each
    /// search uses its own set's cache, and a set whose cache was dropped gets a new one.
    #[test]
    fn each_thread_searches_each_set_with_its_own_cache() {
        let sets: Vec<RegexSetData> = (0..SEARCH_CACHES + 4)
            .map(|i| set(&[&format!("^k{i}:"), &format!("v{i}$")]))
            .collect();
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    for _ in 0..3 {
                        for (i, s) in sets.iter().enumerate() {
                            let both = format!("k{i}:v{i}");
                            let second = format!("k{}:v{i}", i + 1);
                            assert_eq!(s.matches(both.as_bytes()), 0b11, "set {i}");
                            assert_eq!(s.matches(second.as_bytes()), 0b10, "set {i}");
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn the_regex_helper_reads_only_the_given_bytes() {
        let s = set(&[r"^ab$"]);
        let data = b"abc";
        let addr = &s as *const RegexSetData as i64;
        // SAFETY: live set and readable bytes.
        unsafe {
            assert_eq!(jjc_regex_set(addr, data.as_ptr() as i64, 2), 1);
            assert_eq!(jjc_regex_set(addr, data.as_ptr() as i64, 3), 0);
            assert_eq!(jjc_regex_set(addr, data.as_ptr() as i64, -1), 0);
        }
    }

    /// The values numpy was given for the figures below (the same IEEE operations in Python).
    fn numpy_input(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 7919) % 1000) as f64 / 7.0 + 0.001 * i as f64)
            .collect()
    }

    /// `np.sum(a)` and `np.sum((a - np.sum(a) / n) ** 2)` of [`numpy_input`]`(n)`, as bits,
    /// from numpy 2.4 (JoyfulJay's virtual environment): lengths on both sides of 8 and of 128,
    /// where numpy's pairwise summation changes its order.
    const NUMPY_SUMS: [(usize, u64, u64); 10] = [
        (1, 0x0000000000000000, 0x0000000000000000),
        (5, 0x407c7b96ac9dfd13, 0x40c596cd7affaad4),
        (8, 0x408520395810624d, 0x40c742ba724f0f51),
        (9, 0x4086b292def07e63, 0x40c94adda75ca009),
        (17, 0x40940e421f0337e1, 0x40e0565f1326089c),
        (127, 0x40c19236fc325282, 0x410b0dae90a8bb0a),
        (128, 0x40c1c534f496f784, 0x410b2bc294290167),
        (129, 0x40c1f269e92def08, 0x410b3759524310c8),
        (300, 0x40d4fdb666666667, 0x411f7b922bdc3072),
        (1000, 0x40f18b0a49249249, 0x4139f3904306baa9),
    ];

    #[test]
    fn sums_and_squared_deviations_are_numpys_bit_for_bit() {
        let mut sequential_differs = false;
        for (n, sum, m2) in NUMPY_SUMS {
            let values = numpy_input(n);
            let (s, d) = numpy_sum_and_m2(&values);
            assert_eq!((s.to_bits(), d.to_bits()), (sum, m2), "{n} values");
            sequential_differs |= values.iter().sum::<f64>().to_bits() != sum;
        }
        // The figures tell numpy's order from a plain left-to-right sum.
        assert!(sequential_differs);
    }

    /// The helper's moments are those of the values in push order, whether asked before or
    /// after a percentile sorted the list, and 0 for a list never pushed to.
    #[test]
    fn list_moments_are_those_of_the_push_order_after_a_sort() {
        let values: Vec<f64> = numpy_input(300).into_iter().rev().collect();
        let (sum, m2) = numpy_sum_and_m2(&values);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert_ne!(numpy_sum_and_m2(&sorted), (sum, m2), "the order matters");
        for ask_first in [false, true] {
            let mut slot: u64 = 0;
            let addr = &mut slot as *mut u64 as i64;
            // SAFETY: `slot` is a values slot, live for the calls, freed below.
            unsafe {
                assert_eq!(jjc_values_moment(addr, 0), 0.0);
                for &v in &values {
                    jjc_values_push(addr, v, 1, values_keep::MOMENTS);
                }
                if ask_first {
                    assert_eq!(jjc_values_moment(addr, 1), m2);
                }
                assert_eq!(
                    jjc_values_percentile(addr, 50.0),
                    percentile_sorted(&sorted, 50.0)
                );
                assert_eq!(jjc_values_moment(addr, 0), sum);
                assert_eq!(jjc_values_moment(addr, 1), m2);
                // A push after a sort: the moments are those of the list as it now is.
                jjc_values_push(addr, 1.0, 1, values_keep::MOMENTS);
                let mut now = sorted.clone();
                now.push(1.0);
                assert_eq!(jjc_values_moment(addr, 0), numpy_sum_and_m2(&now).0);
                free_buffer(BufferKind::Values, slot);
            }
        }
    }

    /// A value list grows through several doublings, keeps every value in order, answers
    /// percentiles on them, says NaN once one is NaN, and is freed with its slot.
    #[test]
    fn value_lists_grow_and_keep_every_value() {
        let mut slot = 0u64;
        let addr = &mut slot as *mut u64 as i64;
        let pushed: Vec<f64> = (0..1000).map(|i| f64::from((i * 7919) % 1000)).collect();
        // SAFETY: `addr` is a values slot, freed below.
        unsafe {
            assert!(jjc_values_percentile(addr, 50.0).is_nan(), "no list yet");
            jjc_values_push(addr, 5.0, 0, 0);
            assert_eq!(slot, 0, "a false predicate makes no list");
            for (i, &v) in pushed.iter().enumerate() {
                jjc_values_push(addr, v, 1, 0);
                let block = slot as *mut Values;
                assert_eq!((*block).len, i + 1);
                assert!((*block).cap >= (*block).len);
                assert_eq!(Values::values(block), &pushed[..=i]);
            }
            assert_eq!(values_heap_bytes(slot), size_of::<Values>() + 1024 * 8);
            assert_eq!(jjc_values_percentile(addr, 0.0), 0.0);
            assert_eq!(jjc_values_percentile(addr, 50.0), 499.5);
            assert_eq!(jjc_values_percentile(addr, 100.0), 999.0);
            // Sorted once asked: a later push unsorts it, and the next percentile sorts again.
            jjc_values_push(addr, -1.0, 1, 0);
            assert_eq!(jjc_values_percentile(addr, 0.0), -1.0);
            jjc_values_push(addr, f64::NAN, 1, 0);
            assert!(jjc_values_percentile(addr, 50.0).is_nan());
            free_buffer(BufferKind::Values, slot);
        }
    }

    #[test]
    fn percentiles_match_numpy() {
        // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 75, 90, 100])
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&v, 25.0), 1.75);
        assert_eq!(percentile_sorted(&v, 50.0), 2.5);
        assert_eq!(percentile_sorted(&v, 75.0), 3.25);
        assert!((percentile_sorted(&v, 90.0) - 3.7).abs() < 1e-12);
        assert_eq!(percentile_sorted(&v, 100.0), 4.0);
        assert_eq!(percentile_sorted(&[7.0], 33.0), 7.0);
        assert!(percentile_sorted(&[], 50.0).is_nan());
        // numpy.percentile([10, 20, 30, 40, 50], 99) == 49.6
        let w = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert!((percentile_sorted(&w, 99.0) - 49.6).abs() < 1e-12);
    }

    #[test]
    fn value_buffers_sort_push_and_free() {
        let mut slot = 0u64;
        let addr = &mut slot as *mut u64 as i64;
        // SAFETY: the slot is a values slot on the stack, freed below.
        unsafe {
            assert!(jjc_values_percentile(addr, 50.0).is_nan());
            jjc_values_push(addr, 3.0, 1, 0);
            jjc_values_push(addr, 100.0, 0, 0);
            jjc_values_push(addr, 1.0, 1, 0);
            assert_eq!(jjc_values_percentile(addr, 50.0), 2.0);
            jjc_values_push(addr, 2.0, 1, 0);
            assert_eq!(jjc_values_percentile(addr, 50.0), 2.0);
            assert_eq!(jjc_values_percentile(addr, 100.0), 3.0);
            jjc_values_push(addr, f64::NAN, 1, 0);
            assert!(jjc_values_percentile(addr, 0.0).is_nan());
            free_buffer(BufferKind::Values, slot);
        }
    }

    #[test]
    fn mode_breaks_ties_by_first_appearance() {
        let mut slot = 0u64;
        let addr = &mut slot as *mut u64 as i64;
        // SAFETY: a mode slot on the stack, freed below.
        unsafe {
            assert_eq!(jjc_mode_get(addr, 0), 0);
            for (v, p) in [(5, 1), (7, 1), (9, 0), (9, 0), (7, 1), (5, 1), (3, 1)] {
                jjc_mode_push(addr, v, 0, p);
            }
            assert_eq!(jjc_mode_get(addr, 0), 5);
            jjc_mode_push(addr, 7, 0, 1);
            assert_eq!(jjc_mode_get(addr, 0), 7);
            jjc_mode_push(addr, 1, 2, 1);
            jjc_mode_push(addr, 1, 2, 1);
            jjc_mode_push(addr, 1, 2, 1);
            jjc_mode_push(addr, 1, 2, 1);
            assert_eq!((jjc_mode_get(addr, 0), jjc_mode_get(addr, 1)), (1, 2));
            free_buffer(BufferKind::Mode, slot);
        }
    }

    #[test]
    fn mode_counts_the_same_past_the_scan_limit() {
        // Many distinct values (the index is built past MODE_SCAN), counted in a scrambled
        // order: every count and the first-seen tie-break as with a plain tally.
        let mut slot = 0u64;
        let addr = &mut slot as *mut u64 as i64;
        let mut tally: Vec<((i64, i64), u64)> = Vec::new();
        // SAFETY: a mode slot on the stack, freed below.
        unsafe {
            for i in 0..2000i64 {
                let key = ((i * 7919) % 53, i % 3);
                jjc_mode_push(addr, key.0, key.1, 1);
                match tally.iter_mut().find(|e| e.0 == key) {
                    Some(e) => e.1 += 1,
                    None => tally.push((key, 1)),
                }
                if i % 97 == 0 {
                    let most = tally.iter().map(|e| e.1).max().unwrap();
                    let first = tally.iter().find(|e| e.1 == most).unwrap().0;
                    assert_eq!((jjc_mode_get(addr, 0), jjc_mode_get(addr, 1)), first);
                    assert_eq!(jjc_mode_count(addr), most as i64);
                }
            }
            assert!(tally.len() > MODE_SCAN);
            free_buffer(BufferKind::Mode, slot);
        }
    }

    #[test]
    fn entropy_of_known_byte_strings() {
        let mut slot = 0u64;
        let addr = &mut slot as *mut u64 as i64;
        let all: Vec<u8> = (0..=255u8).collect();
        // SAFETY: a bytes slot on the stack, freed below; readable byte slices.
        unsafe {
            assert!(jjc_bytes_entropy(addr).is_nan());
            jjc_bytes_push(addr, b"aaaa".as_ptr() as i64, 4, 1);
            assert_eq!(jjc_bytes_entropy(addr), 0.0);
            jjc_bytes_push(addr, b"bbbb".as_ptr() as i64, 4, 1);
            assert_eq!(jjc_bytes_entropy(addr), 1.0);
            jjc_bytes_push(addr, b"cccc".as_ptr() as i64, 4, 0);
            assert_eq!(jjc_bytes_entropy(addr), 1.0);
            free_buffer(BufferKind::Bytes, slot);
            slot = 0;
            jjc_bytes_push(addr, all.as_ptr() as i64, 256, 1);
            assert!((jjc_bytes_entropy(addr) - 8.0).abs() < 1e-12);
            free_buffer(BufferKind::Bytes, slot);
        }
        // "abcd" repeated: 2 bits.
        let mut counts = [0u64; 256];
        for b in b"abcdabcd" {
            counts[*b as usize] += 1;
        }
        assert_eq!(entropy_of_counts(&counts, 8), 2.0);
    }

    #[test]
    fn tables_find_exact_keys_and_ranges() {
        let raw = vec![
            [80, 0, 80, 0],
            [1024, 0, 49151, 0],
            [22, 0, 22, 0],
            [-5, 0, -1, 0],
        ];
        let order = TableData::sort_order(&raw);
        let sorted: Vec<[i64; 4]> = order.iter().map(|&i| raw[i]).collect();
        let t = TableData::new(sorted);
        let find = |k: i64| {
            let i = t.find((k, 0));
            usize::try_from(i).ok().map(|i| order[i])
        };
        assert_eq!(find(22), Some(2));
        assert_eq!(find(80), Some(0));
        assert_eq!(find(1024), Some(1));
        assert_eq!(find(49151), Some(1));
        assert_eq!(find(49152), None);
        assert_eq!(find(-3), Some(3));
        assert_eq!(find(0), None);
        assert_eq!(find(i64::MIN), None);
        assert_eq!(TableData::new(vec![]).find((1, 1)), -1);
    }

    #[test]
    fn hist_bins_follow_numpy() {
        let e = EdgesData {
            edges: vec![0.0, 10.0, 100.0],
        };
        assert_eq!(e.bin(-0.1), -1);
        assert_eq!(e.bin(0.0), 0);
        assert_eq!(e.bin(9.99), 0);
        assert_eq!(e.bin(10.0), 1);
        assert_eq!(e.bin(100.0), 1);
        assert_eq!(e.bin(100.1), -1);
        assert_eq!(e.bin(f64::NAN), -1);
    }

    #[test]
    fn float_helpers() {
        assert_eq!(jjc_frem(7.0, 3.0), 1.0);
        assert_eq!(jjc_frem(-7.0, 3.0), 2.0);
        assert_eq!(jjc_frem(7.0, -3.0), -2.0);
        assert!(jjc_frem(1.0, 0.0).is_nan());
        assert_eq!(jjc_log2(8.0), 3.0);
        assert_eq!(jjc_pow(2.0, 10.0), 1024.0);
        assert_eq!(jjc_exp(0.0), 1.0);
        assert_eq!(jjc_ln(1.0), 0.0);
        let syms = helper_symbols();
        assert_eq!(syms.len(), Helper::ALL.len());
        assert!(syms.iter().all(|(_, a)| !a.is_null()));
    }
}
