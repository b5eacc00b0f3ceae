//! Memory-bounded medians and percentiles (`--percentiles sketch`): a per-flow buffer that is
//! exact while it is small and a DDSketch-style log-bucketed histogram after that.
//!
//! [`PercentileMode::Exact`] (the default) keeps every value ([`crate::ir::Helper::ValuesPush`]).
//! [`PercentileMode::Sketch`] lowers `median`/`percentile` to [`crate::ir::Helper::SketchPush`]
//! and [`crate::ir::Helper::SketchPercentile`] instead:
//!
//! - While a buffer holds at most [`EXACT_LIMIT`] values it is the plain sorted list, so the
//!   result is bit-identical to exact mode.
//! - The next value turns it into a sketch with relative accuracy α
//!   ([`RelativeError`], γ = (1+α)/(1−α)): a value `x ≠ 0` goes to bucket
//!   `ceil(log_γ |x|)` of the store for its sign (a bucket `i` holds (γ^(i−1), γ^i] and stands
//!   for γ^i·(1−α), which is within α·|x| of every `x` in it); zeros, `+inf` and `-inf` are
//!   counted apart, and the exact minimum and maximum are kept.
//! - A percentile estimates the two order statistics numpy's linear method interpolates
//!   between (ranks `floor` and `ceil` of (n−1)·p/100) as the value of the bucket each falls
//!   in (rank 0 and rank n−1: the exact minimum and maximum; every estimate clamped to them),
//!   then interpolates them exactly as exact mode does. Each estimate is within α of its order
//!   statistic, so for data of one sign the result is within α·|exact| of the exact result
//!   (up to rounding, ~1e-13 relative). With both signs among the two order statistics, the
//!   bound is α·((1−t)·|a| + t·|b|), which can be large next to an exact result near 0.
//! - Each store keeps at most [`RelativeError::max_buckets`] consecutive buckets: enough to
//!   cover [`COVERED_DECADES`] decades (a factor 1e18) below the store's largest magnitude,
//!   whatever α (2,074 buckets at α = 0.01, 20,725 at 0.001, 208 at 0.1). When a store's values
//!   span more, its lowest buckets (the smallest magnitudes of that sign) are folded into the
//!   lowest bucket kept, as DDSketch's collapsing-lowest store does. For non-negative data
//!   (lengths, times) those are the lowest quantiles; with negative values, the negatives
//!   nearest zero. An order statistic in the folded bucket is reported as that bucket's value,
//!   off by less than 1.3e-18 × the largest magnitude of its sign (absolute, not relative);
//!   every other order statistic keeps the α guarantee.
//! - NaN makes every result NaN, as in exact mode.
//!
//! Memory per buffer is at most [`RelativeError::max_buffer_bytes`] whatever the flow's length:
//! the buffer's fixed part plus two stores of at most [`RelativeError::max_buckets`] `u64`
//! counts (33,352 bytes in all at α = 0.01, 331,768 at 0.001, 3,496 at 0.1), or the exact list
//! of at most [`EXACT_LIMIT`] `f64`s before the switch. Stores grow with the range the values
//! span, not with their number: a million IATs from 1 µs to 10 s take 8,360 bytes at α = 0.01.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use crate::runtime::{buffer_mut, buffer_ref, percentile_by, percentile_sorted};

/// A sketch-mode buffer stays an exact list while it holds at most this many values.
pub const EXACT_LIMIT: usize = 128;
/// Each store (positive or negative values) covers this many decades below its largest
/// magnitude; smaller magnitudes are folded ([`RelativeError::max_buckets`]).
pub const COVERED_DECADES: u32 = 18;
/// The smallest relative error a sketch may be asked for.
pub const MIN_ALPHA: f64 = 0.001;
/// The largest relative error a sketch may be asked for.
pub const MAX_ALPHA: f64 = 0.1;
/// The relative error of `sketch` without a number.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// A sketch's relative accuracy α, from [`MIN_ALPHA`] to [`MAX_ALPHA`] (never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeError(f64);

// A `RelativeError` is never NaN, so `==` is an equivalence.
impl Eq for RelativeError {}

impl RelativeError {
    /// [`DEFAULT_ALPHA`].
    pub const DEFAULT: RelativeError = RelativeError(DEFAULT_ALPHA);

    /// α, checked to be within [`MIN_ALPHA`]..=[`MAX_ALPHA`].
    pub fn new(alpha: f64) -> Result<RelativeError, PercentileModeError> {
        if (MIN_ALPHA..=MAX_ALPHA).contains(&alpha) {
            Ok(RelativeError(alpha))
        } else {
            Err(PercentileModeError::OutOfRange(alpha))
        }
    }

    /// α.
    pub fn get(self) -> f64 {
        self.0
    }

    /// ln γ, γ = (1 + α) / (1 − α).
    fn ln_gamma(self) -> f64 {
        self.0.ln_1p() - (-self.0).ln_1p()
    }

    /// The most buckets one store keeps at this α: enough for [`COVERED_DECADES`] decades
    /// (`ceil(18·ln 10 / ln γ) + 1`).
    pub fn max_buckets(self) -> usize {
        (f64::from(COVERED_DECADES) * std::f64::consts::LN_10 / self.ln_gamma()).ceil() as usize + 1
    }

    /// The most heap bytes one sketch-mode buffer takes at this α, whatever the flow's length.
    pub fn max_buffer_bytes(self) -> usize {
        let exact = EXACT_LIMIT * size_of::<f64>();
        let stores = 2 * self.max_buckets() * size_of::<u64>();
        size_of::<SketchBuffer>() + exact.max(stores)
    }
}

impl Default for RelativeError {
    fn default() -> Self {
        RelativeError::DEFAULT
    }
}

/// How `median` and `percentile` are computed, chosen per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PercentileMode {
    /// Every value is kept and sorted (numpy's exact result; memory grows with the flow).
    #[default]
    Exact,
    /// Exact up to [`EXACT_LIMIT`] values, then a sketch with this relative error and at
    /// most [`RelativeError::max_buffer_bytes`] per buffer (see the module documentation).
    Sketch(RelativeError),
}

/// A percentile mode that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PercentileModeError {
    /// Neither `exact` nor `sketch[=ALPHA]`.
    #[error(
        "unknown percentile mode `{0}`: expected exact, sketch or sketch=ALPHA (ALPHA from 0.001 to 0.1, e.g. sketch=0.005)"
    )]
    Unknown(String),
    /// `sketch=` followed by something that is not a number.
    #[error(
        "the sketch's relative error `{0}` is not a number: write sketch=ALPHA with ALPHA from 0.001 to 0.1 (e.g. sketch=0.005)"
    )]
    NotANumber(String),
    /// α outside [`MIN_ALPHA`]..=[`MAX_ALPHA`].
    #[error(
        "the sketch's relative error {0} is out of range: ALPHA must be from 0.001 to 0.1 (0.01 is 1%)"
    )]
    OutOfRange(f64),
}

impl FromStr for PercentileMode {
    type Err = PercentileModeError;

    /// `exact`, `sketch` (α = [`DEFAULT_ALPHA`]) or `sketch=ALPHA`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "exact" => return Ok(PercentileMode::Exact),
            "sketch" => return Ok(PercentileMode::Sketch(RelativeError::DEFAULT)),
            _ => {}
        }
        let Some(alpha) = s.strip_prefix("sketch=") else {
            return Err(PercentileModeError::Unknown(s.to_string()));
        };
        let alpha = alpha.trim();
        let value: f64 = alpha
            .parse()
            .map_err(|_| PercentileModeError::NotANumber(alpha.to_string()))?;
        RelativeError::new(value).map(PercentileMode::Sketch)
    }
}

impl fmt::Display for PercentileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PercentileMode::Exact => f.write_str("exact"),
            PercentileMode::Sketch(a) => write!(f, "sketch={}", a.get()),
        }
    }
}

/// Consecutive bucket counts from key `offset`, at most `max` of them (a
/// [`RelativeError::max_buckets`]; the lowest keys are folded when a higher key needs room).
#[derive(Debug, Default)]
struct Store {
    counts: VecDeque<u64>,
    offset: i64,
}

impl Store {
    /// The highest key held, `None` when empty.
    fn high(&self) -> Option<i64> {
        (!self.counts.is_empty()).then(|| self.offset + self.counts.len() as i64 - 1)
    }

    /// Room for `extra` more buckets: capacities are powers of two from 8, or `max` (callers
    /// never need more than `max`).
    fn reserve(&mut self, extra: usize, max: usize) {
        let need = self.counts.len() + extra;
        let cap = self.counts.capacity();
        if need > cap {
            let target = need.max(2 * cap).next_power_of_two().clamp(8, max.max(8));
            self.counts
                .reserve_exact(target.saturating_sub(self.counts.len()));
        }
    }

    /// Counts one value of bucket `key`, keeping at most `max` buckets. Keys are within
    /// ±4·10⁵ (see [`Sketch::key`]) and `max` ≤ 20,725, so the arithmetic cannot overflow.
    fn add(&mut self, key: i64, max: usize) {
        let cap = max;
        let max = max as i64;
        let Some(high) = self.high() else {
            self.reserve(1, cap);
            self.counts.push_back(1);
            self.offset = key;
            return;
        };
        let key = if key < self.offset {
            // Below the lowest bucket: extend down, or fold into the lowest bucket allowed.
            let key = key.max(high - max + 1);
            if key < self.offset {
                let extra = (self.offset - key) as usize;
                self.reserve(extra, cap);
                for _ in 0..extra {
                    self.counts.push_front(0);
                }
                self.offset = key;
            }
            key
        } else if key > high {
            // Above: make room by folding the lowest buckets, then extend up.
            let low = key - max + 1;
            if low > self.offset {
                let mut folded = 0u64;
                while self.offset < low
                    && let Some(c) = self.counts.pop_front()
                {
                    folded += c;
                    self.offset += 1;
                }
                self.offset = low;
                match self.counts.front_mut() {
                    Some(first) => *first += folded,
                    None => self.counts.push_back(folded),
                }
            }
            let extra = (key - self.offset + 1) as usize - self.counts.len();
            self.reserve(extra, cap);
            self.counts.extend(std::iter::repeat_n(0, extra));
            key
        } else {
            key
        };
        if let Some(c) = self.counts.get_mut((key - self.offset) as usize) {
            *c += 1;
        }
    }

    /// The non-empty buckets as `(key, count)`, by increasing key.
    fn buckets(&self) -> impl DoubleEndedIterator<Item = (i64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (self.offset + i as i64, *c))
    }
}

/// The log-bucketed histogram of a sketch-mode buffer past [`EXACT_LIMIT`] values.
#[derive(Debug)]
struct Sketch {
    /// ln γ.
    ln_gamma: f64,
    /// The most buckets per store.
    max_buckets: usize,
    /// ln(1 − α): bucket `i` stands for γ^i·(1 − α).
    ln_one_minus_alpha: f64,
    /// Positive values, by `ceil(log_γ x)`.
    positive: Store,
    /// Negative values, by `ceil(log_γ |x|)` (so decreasing keys are increasing values).
    negative: Store,
    zeros: u64,
    neg_inf: u64,
    pos_inf: u64,
    count: u64,
    min: f64,
    max: f64,
}

impl Sketch {
    fn new(alpha: RelativeError) -> Sketch {
        Sketch {
            ln_gamma: alpha.ln_gamma(),
            max_buckets: alpha.max_buckets(),
            ln_one_minus_alpha: (-alpha.get()).ln_1p(),
            positive: Store::default(),
            negative: Store::default(),
            zeros: 0,
            neg_inf: 0,
            pos_inf: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// `ceil(log_γ m)` of a finite magnitude `m > 0`: |ln m| ≤ 745 and ln γ ≥ 2e-3, so the key
    /// is within ±4·10⁵.
    fn key(&self, magnitude: f64) -> i64 {
        (magnitude.ln() / self.ln_gamma).ceil() as i64
    }

    /// The value bucket `index` stands for (a magnitude).
    fn value_of(&self, index: i64) -> f64 {
        (index as f64 * self.ln_gamma + self.ln_one_minus_alpha).exp()
    }

    /// Adds a value that is not NaN.
    fn add(&mut self, x: f64) {
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x == 0.0 {
            self.zeros += 1;
        } else if x == f64::INFINITY {
            self.pos_inf += 1;
        } else if x == f64::NEG_INFINITY {
            self.neg_inf += 1;
        } else if x > 0.0 {
            let k = self.key(x);
            self.positive.add(k, self.max_buckets);
        } else {
            let k = self.key(-x);
            self.negative.add(k, self.max_buckets);
        }
    }

    /// The estimated value of rank `rank` (0-based, in increasing order).
    fn order_statistic(&self, rank: u64) -> f64 {
        if rank == 0 {
            return self.min;
        }
        if rank.saturating_add(1) >= self.count {
            return self.max;
        }
        let clamp = |v: f64| v.clamp(self.min, self.max);
        let mut seen = self.neg_inf;
        if rank < seen {
            return f64::NEG_INFINITY;
        }
        for (key, c) in self.negative.buckets().rev() {
            seen += c;
            if rank < seen {
                return clamp(-self.value_of(key));
            }
        }
        seen += self.zeros;
        if rank < seen {
            return 0.0;
        }
        for (key, c) in self.positive.buckets() {
            seen += c;
            if rank < seen {
                return clamp(self.value_of(key));
            }
        }
        self.max
    }

    fn percentile(&self, p: f64) -> f64 {
        let n = usize::try_from(self.count).unwrap_or(usize::MAX);
        percentile_by(n, p, |i| Some(self.order_statistic(i as u64)))
    }
}

/// The two phases of a sketch-mode buffer.
#[derive(Debug)]
enum Phase {
    /// At most [`EXACT_LIMIT`] values, sorted when `sorted`.
    Exact { values: Vec<f64>, sorted: bool },
    /// Past [`EXACT_LIMIT`] values.
    Sketch(Sketch),
}

/// The buffer behind [`crate::ir::Helper::SketchPush`] ([`crate::runtime::BufferKind::Sketch`]).
#[derive(Debug)]
pub(crate) struct SketchBuffer {
    alpha: RelativeError,
    has_nan: bool,
    phase: Phase,
}

impl SketchBuffer {
    /// An empty buffer; an α out of range (never made by the lowering) is [`DEFAULT_ALPHA`].
    fn new(alpha: f64) -> SketchBuffer {
        SketchBuffer {
            alpha: RelativeError::new(alpha).unwrap_or_default(),
            has_nan: false,
            phase: Phase::Exact {
                values: Vec::new(),
                sorted: true,
            },
        }
    }

    fn push(&mut self, x: f64) {
        if x.is_nan() {
            self.has_nan = true;
            return;
        }
        match &mut self.phase {
            Phase::Exact { values, sorted } if values.len() < EXACT_LIMIT => {
                values.push(x);
                *sorted = false;
            }
            Phase::Exact { values, .. } => {
                let mut s = Sketch::new(self.alpha);
                for v in values.iter() {
                    s.add(*v);
                }
                s.add(x);
                self.phase = Phase::Sketch(s);
            }
            Phase::Sketch(s) => s.add(x),
        }
    }

    fn percentile(&mut self, p: f64) -> f64 {
        if self.has_nan {
            return f64::NAN;
        }
        match &mut self.phase {
            Phase::Exact { values, sorted } => {
                if !*sorted {
                    crate::runtime::sort_floats(values);
                    *sorted = true;
                }
                percentile_sorted(values, p)
            }
            Phase::Sketch(s) => s.percentile(p),
        }
    }

    /// Heap bytes this buffer takes (itself, its list or its stores).
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        size_of::<SketchBuffer>()
            + match &self.phase {
                Phase::Exact { values, .. } => values.capacity() * size_of::<f64>(),
                Phase::Sketch(s) => {
                    (s.positive.counts.capacity() + s.negative.counts.capacity()) * size_of::<u64>()
                }
            }
    }
}

/// [`crate::ir::Helper::SketchPush`].
///
/// # Safety
/// `slot` is the address of a sketch slot.
pub unsafe extern "C" fn jjc_sketch_push(slot: i64, value: f64, alpha: f64, pred: i64) {
    if pred == 0 {
        return;
    }
    // SAFETY: per the contract.
    if let Some(b) = unsafe { buffer_mut::<SketchBuffer>(slot, || SketchBuffer::new(alpha)) } {
        b.push(value);
    }
}

/// [`crate::ir::Helper::SketchPercentile`].
///
/// # Safety
/// `slot` is the address of a sketch slot.
pub unsafe extern "C" fn jjc_sketch_percentile(slot: i64, p: f64) -> f64 {
    // SAFETY: per the contract.
    match unsafe { buffer_ref::<SketchBuffer>(slot) } {
        Some(b) => b.percentile(p),
        None => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::runtime::{BufferKind, free_buffer, jjc_values_percentile, jjc_values_push};

    /// A slot for one buffer kind, freed on drop.
    struct Slot {
        bits: u64,
        kind: BufferKind,
    }

    impl Slot {
        fn new(kind: BufferKind) -> Slot {
            Slot { bits: 0, kind }
        }
        fn addr(&mut self) -> i64 {
            &mut self.bits as *mut u64 as i64
        }
        fn sketch(&self) -> &SketchBuffer {
            // SAFETY: a sketch slot holds 0 or a live `SketchBuffer`.
            match unsafe { (self.bits as *const SketchBuffer).as_ref() } {
                Some(b) => b,
                None => panic!("no buffer yet"),
            }
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            // SAFETY: the slot holds 0 or a buffer of its kind.
            unsafe { free_buffer(self.kind, self.bits) }
        }
    }

    /// The sketch-mode buffer of `values` (α = `alpha`), pushed through the helper.
    fn sketch_of(values: &[f64], alpha: f64) -> Slot {
        let mut s = Slot::new(BufferKind::Sketch);
        let addr = s.addr();
        for v in values {
            // SAFETY: a sketch slot.
            unsafe { jjc_sketch_push(addr, *v, alpha, 1) };
        }
        s
    }

    fn sketch_percentile(s: &mut Slot, p: f64) -> f64 {
        let addr = s.addr();
        // SAFETY: a sketch slot.
        unsafe { jjc_sketch_percentile(addr, p) }
    }

    /// Exact mode's result, through the exact helpers.
    fn exact(values: &[f64], p: f64) -> f64 {
        let mut s = Slot::new(BufferKind::Values);
        let addr = s.addr();
        // SAFETY: a values slot.
        unsafe {
            for v in values {
                jjc_values_push(addr, *v, 1, 0);
            }
            jjc_values_percentile(addr, p)
        }
    }

    const PS: [f64; 9] = [0.0, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 100.0];

    #[test]
    fn modes_parse_and_print() {
        let sketch = |a: f64| PercentileMode::Sketch(RelativeError(a));
        assert_eq!("exact".parse(), Ok(PercentileMode::Exact));
        assert_eq!("sketch".parse(), Ok(sketch(0.01)));
        assert_eq!(" sketch=0.005 ".parse(), Ok(sketch(0.005)));
        assert_eq!("sketch=0.001".parse(), Ok(sketch(0.001)));
        assert_eq!("sketch=0.1".parse(), Ok(sketch(0.1)));
        assert_eq!(sketch(0.005).to_string(), "sketch=0.005");
        assert_eq!(PercentileMode::Exact.to_string(), "exact");
        assert_eq!(PercentileMode::default(), PercentileMode::Exact);
        let err = |s: &str| match s.parse::<PercentileMode>() {
            Ok(m) => panic!("{s} parsed as {m}"),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            err("approx"),
            "unknown percentile mode `approx`: expected exact, sketch or sketch=ALPHA (ALPHA from 0.001 to 0.1, e.g. sketch=0.005)"
        );
        assert_eq!(
            err("sketch=1%"),
            "the sketch's relative error `1%` is not a number: write sketch=ALPHA with ALPHA from 0.001 to 0.1 (e.g. sketch=0.005)"
        );
        assert_eq!(
            err("sketch=0.5"),
            "the sketch's relative error 0.5 is out of range: ALPHA must be from 0.001 to 0.1 (0.01 is 1%)"
        );
        assert!(err("sketch=0").contains("out of range"));
        assert!(err("sketch=NaN").contains("out of range"));
        assert!(err("sketch=-0.01").contains("out of range"));
        assert!(err("sketch=0.0009").contains("out of range"));
    }

    #[test]
    fn up_to_the_limit_results_are_bit_identical_to_exact_mode() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut values = Vec::new();
        for _ in 0..EXACT_LIMIT {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x % 10_000) as f64 / 7.0 - 300.0);
        }
        values[5] = 0.0;
        values[6] = -0.0;
        for n in [1, 2, 3, 10, 127, EXACT_LIMIT] {
            let mut s = sketch_of(&values[..n], 0.1);
            assert!(matches!(s.sketch().phase, Phase::Exact { .. }));
            for p in PS.into_iter().chain([33.3, 66.7, 12.5]) {
                let (a, b) = (sketch_percentile(&mut s, p), exact(&values[..n], p));
                assert_eq!(a.to_bits(), b.to_bits(), "n={n} p={p}: {a} vs {b}");
            }
        }
        // One more value switches to the sketch, whose answer then differs from the exact one.
        let mut more = values.clone();
        more.push(1.0e6);
        let mut s = sketch_of(&more, 0.1);
        assert!(matches!(s.sketch().phase, Phase::Sketch(_)));
        let (a, b) = (sketch_percentile(&mut s, 50.0), exact(&more, 50.0));
        assert!(a != b && (a - b).abs() <= 0.1 * b.abs(), "{a} vs {b}");
    }

    #[test]
    fn empty_and_predicated_off_buffers() {
        let mut s = Slot::new(BufferKind::Sketch);
        let addr = s.addr();
        // SAFETY: a sketch slot.
        unsafe {
            assert!(jjc_sketch_percentile(addr, 50.0).is_nan());
            jjc_sketch_push(addr, 5.0, 0.01, 0);
            assert!(jjc_sketch_percentile(addr, 50.0).is_nan());
            jjc_sketch_push(addr, 5.0, 0.01, 1);
            assert_eq!(jjc_sketch_percentile(addr, 50.0), 5.0);
        }
    }

    #[test]
    fn nan_makes_every_result_nan_in_both_phases() {
        let mut small = sketch_of(&[1.0, f64::NAN, 3.0], 0.01);
        assert!(sketch_percentile(&mut small, 50.0).is_nan());
        let mut values: Vec<f64> = (1..=1000).map(f64::from).collect();
        values.insert(500, f64::NAN);
        let mut big = sketch_of(&values, 0.01);
        for p in PS {
            assert!(sketch_percentile(&mut big, p).is_nan());
        }
        assert!(exact(&values, 50.0).is_nan());
    }

    #[test]
    fn negatives_zeros_and_infinities() {
        // 400 negatives, 200 zeros, 400 positives.
        let mut values: Vec<f64> = (1..=400).map(|i| -f64::from(i) * 1.5).collect();
        values.extend(std::iter::repeat_n(0.0, 100));
        values.extend(std::iter::repeat_n(-0.0, 100));
        values.extend((1..=400).map(|i| f64::from(i) * 0.25));
        let alpha = 0.01;
        let mut s = sketch_of(&values, alpha);
        assert!(matches!(s.sketch().phase, Phase::Sketch(_)));
        for p in [0.0, 5.0, 20.0, 39.0, 61.0, 80.0, 95.0, 100.0] {
            let (a, b) = (sketch_percentile(&mut s, p), exact(&values, p));
            assert!(
                (a - b).abs() <= alpha * b.abs() * (1.0 + 1e-9),
                "p={p}: {a} vs {b}"
            );
        }
        // Ranks among the zeros are exactly 0.
        assert_eq!(sketch_percentile(&mut s, 45.0), 0.0);
        assert_eq!(sketch_percentile(&mut s, 55.0), 0.0);
        // The extremes are exact.
        assert_eq!(sketch_percentile(&mut s, 0.0), -600.0);
        assert_eq!(sketch_percentile(&mut s, 100.0), 100.0);
        // Mixed signs between the two order statistics (-0.5 and 0.5 around the median):
        // α of their magnitudes, not of the result (0).
        let mixed: Vec<f64> = (0..1000).map(|i| f64::from(i) - 499.5).collect();
        let mut m = sketch_of(&mixed, alpha);
        for p in [49.0, 50.0, 51.0, 50.01] {
            let (a, b) = (sketch_percentile(&mut m, p), exact(&mixed, p));
            assert!(
                (a - b).abs() <= alpha * (b.abs() + 0.5),
                "p={p}: {a} vs {b}"
            );
        }
        assert_eq!(exact(&mixed, 50.0), 0.0);
        assert!(sketch_percentile(&mut m, 50.0).abs() <= alpha * 0.5);
        // Infinities are counted apart and come back as themselves.
        let mut inf: Vec<f64> = (1..=300).map(f64::from).collect();
        inf.extend([f64::INFINITY; 10]);
        inf.extend([f64::NEG_INFINITY; 10]);
        let mut s = sketch_of(&inf, alpha);
        // Between two infinities numpy's interpolation gives NaN (inf - inf); so does the
        // sketch, which returns the same infinities.
        for p in [0.0, 1.0, 99.0, 100.0, 2.0] {
            let (a, b) = (sketch_percentile(&mut s, p), exact(&inf, p));
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "p={p}: {a} vs {b}"
            );
        }
        let (a, b) = (sketch_percentile(&mut s, 50.0), exact(&inf, 50.0));
        assert!((a - b).abs() <= alpha * b, "{a} vs {b}");
    }

    #[test]
    fn the_bucket_cap_bounds_memory_on_a_huge_range() {
        // 200,000 values from 1e-300 to 1e300 and their negatives: 600 decades, far more than
        // the 18 a store covers.
        let n = 100_000;
        let mut values = Vec::with_capacity(2 * n);
        for i in 0..n {
            let e = -300.0 + 600.0 * (i as f64) / (n as f64);
            values.push(10f64.powf(e));
            values.push(-(10f64.powf(e)));
        }
        // Shuffle deterministically, so the range grows both ways.
        let mut x = 88172645463325252u64;
        for i in (1..values.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let alpha = RelativeError::DEFAULT;
        let max = alpha.max_buckets();
        assert_eq!(max, 2074);
        let mut s = sketch_of(&values, alpha.get());
        let Phase::Sketch(sk) = &s.sketch().phase else {
            panic!("still exact")
        };
        for store in [&sk.positive, &sk.negative] {
            assert_eq!(store.counts.len(), max);
            assert!(store.counts.capacity() <= max);
        }
        assert!(s.sketch().heap_bytes() <= alpha.max_buffer_bytes());
        assert_eq!(sk.count, values.len() as u64);
        // Each store keeps the 18 decades of its largest magnitudes: the most negative values
        // (the lowest 1.5% of ranks here) and the largest positive ones (the top 1.5%).
        // Those keep α.
        let alpha = alpha.get();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for p in [0.1, 0.5, 1.0, 99.0, 99.5, 99.9, 99.99] {
            let (a, b) = (sketch_percentile(&mut s, p), percentile_sorted(&sorted, p));
            assert!(
                (a - b).abs() <= alpha * b.abs() * (1.0 + 1e-9),
                "p={p}: {a} vs {b}"
            );
        }
        // The folded ranks are the smallest magnitudes of each sign: reported as the folded
        // bucket's value, off by more than α relatively but by less than 1.3e-18 × the
        // largest magnitude (1e300) absolutely.
        for p in [2.0, 25.0, 49.0, 51.0, 75.0, 98.0] {
            let (a, b) = (sketch_percentile(&mut s, p), percentile_sorted(&sorted, p));
            assert!((a - b).abs() > alpha * b.abs(), "p={p}: {a} vs {b}");
            assert!((a - b).abs() < 1.3e-18 * 1e300, "p={p}: {a} vs {b}");
        }
        // Extremes stay exact.
        assert_eq!(sketch_percentile(&mut s, 0.0), sorted[0]);
        assert_eq!(sketch_percentile(&mut s, 100.0), sorted[sorted.len() - 1]);
    }

    #[test]
    fn bucket_caps_and_memory_bounds_per_alpha() {
        let at = |a: f64| match RelativeError::new(a) {
            Ok(a) => (a.max_buckets(), a.max_buffer_bytes()),
            Err(e) => panic!("{e}"),
        };
        let header = size_of::<SketchBuffer>();
        assert_eq!(at(0.01), (2074, header + 2 * 2074 * 8));
        assert_eq!(at(0.001), (20725, header + 2 * 20725 * 8));
        assert_eq!(at(0.1), (208, header + 2 * 208 * 8));
        println!(
            "header {header}: {:?} {:?} {:?}",
            at(0.01),
            at(0.001),
            at(0.1)
        );
        // The cap covers 18 decades: γ^(max − 1) ≥ 1e18.
        for a in [0.001, 0.002, 0.005, 0.01, 0.05, 0.1] {
            let r = RelativeError::new(a).unwrap_or_default();
            let covered = (r.max_buckets() - 1) as f64 * r.ln_gamma() / std::f64::consts::LN_10;
            assert!((18.0..18.3).contains(&covered), "α={a}: {covered} decades");
        }
    }

    #[test]
    fn memory_for_a_million_values() {
        // One million inter-arrival times from 1 µs to 10 s (log-uniform), as one flow.
        let n = 1_000_000;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut exact_buf = Slot::new(BufferKind::Values);
        let mut sketch_buf = Slot::new(BufferKind::Sketch);
        let (ea, sa) = (exact_buf.addr(), sketch_buf.addr());
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            let v = 1e-6 * 1e7f64.powf(u);
            // SAFETY: a values slot and a sketch slot.
            unsafe {
                jjc_values_push(ea, v, 1, 0);
                jjc_sketch_push(sa, v, 0.01, 1);
            }
        }
        let exact_bytes = crate::runtime::values_heap_bytes(exact_buf.bits);
        let sketch_bytes = sketch_buf.sketch().heap_bytes();
        // The exact list: 2^20 f64s of capacity (8 MiB) plus its header.
        assert!(exact_bytes >= n * 8, "{exact_bytes}");
        assert!(exact_bytes <= (1 << 20) * 8 + 64, "{exact_bytes}");
        // The sketch: ln(1e7) / ln γ ≈ 806 buckets of positive values (1,024 of capacity).
        let Phase::Sketch(sk) = &sketch_buf.sketch().phase else {
            panic!("still exact")
        };
        assert!(
            (805..=807).contains(&sk.positive.counts.len()),
            "{}",
            sk.positive.counts.len()
        );
        assert!(sk.negative.counts.is_empty());
        assert_eq!(sketch_bytes, 1024 * 8 + size_of::<SketchBuffer>());
        println!(
            "1M values: exact {exact_bytes} bytes, sketch {sketch_bytes} bytes ({} buckets), bound {}",
            sk.positive.counts.len(),
            RelativeError::DEFAULT.max_buffer_bytes()
        );
        assert!(sketch_bytes <= RelativeError::DEFAULT.max_buffer_bytes());
        // And it answers within α.
        for p in [25.0, 50.0, 90.0, 99.0] {
            let (a, b) = (sketch_percentile(&mut sketch_buf, p), {
                // SAFETY: the values slot.
                unsafe { jjc_values_percentile(ea, p) }
            });
            assert!(
                (a - b).abs() <= 0.01 * b * (1.0 + 1e-9),
                "p={p}: {a} vs {b}"
            );
        }
    }

    /// Positive data spanning at most a factor of e^40 (so nothing is folded), any α, any
    /// length past the exact limit, any p.
    fn positive_case() -> impl Strategy<Value = (f64, Vec<f64>, f64)> {
        (
            prop_oneof![Just(0.01), Just(0.001), Just(0.1), 0.001f64..=0.1],
            129usize..20_000,
            0.0f64..=100.0,
            -30.0f64..30.0,
            any::<u64>(),
        )
            .prop_map(|(alpha, n, p, scale, seed)| {
                // e^40 ≈ 2e17: within the 18 decades a store covers.
                let span = 40.0;
                let mut x = seed | 1;
                let values = (0..n)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                        // Some repeated values, as packet lengths have.
                        let u = if i % 3 == 0 {
                            (u * 8.0).floor() / 8.0
                        } else {
                            u
                        };
                        (scale + u * span).exp()
                    })
                    .collect();
                (alpha, values, p)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn same_sign_results_are_within_alpha_of_exact((alpha, values, p) in positive_case()) {
            let b = exact(&values, p);
            let mut s = sketch_of(&values, alpha);
            let a = sketch_percentile(&mut s, p);
            prop_assert!((a - b).abs() <= alpha * b.abs() * (1.0 + 1e-9),
                "alpha={alpha} n={} p={p}: sketch {a}, exact {b}", values.len());
            // The same data negated: the mirror image.
            let neg: Vec<f64> = values.iter().map(|v| -v).collect();
            let b = exact(&neg, 100.0 - p);
            let mut s = sketch_of(&neg, alpha);
            let a = sketch_percentile(&mut s, 100.0 - p);
            prop_assert!((a - b).abs() <= alpha * b.abs() * (1.0 + 1e-9),
                "negated: alpha={alpha} p={p}: sketch {a}, exact {b}");
        }
    }
}
