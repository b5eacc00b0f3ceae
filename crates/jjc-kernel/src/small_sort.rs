//! Sorting the short lists a flow's percentiles read: a few to a few dozen values each.
//!
//! The standard library sorts lists of up to 20 values by insertion, whose every step ends
//! on a branch the CPU cannot predict: on random values that cost 70–160 ns a list of
//! 10–19, most of the time a flow's percentiles took. Lists of up to [`NETWORK_MAX`] values
//! are sorted here by a fixed network of compare-exchanges instead (Batcher's odd-even
//! merge sort), which compiles to minimums and maximums without branches: 25–70 ns.

/// The longest list sorted by a network; longer ones go to `sort_unstable`.
const NETWORK_MAX: usize = 32;

/// Sorts `values` in ascending order.
pub(crate) fn sort_u64(values: &mut [u64]) {
    let n = values.len();
    if n <= 1 {
        return;
    }
    if n > NETWORK_MAX {
        values.sort_unstable();
        return;
    }
    // The list, padded to the network's size with the largest value: the padding sorts to
    // the end, and the first `n` values are then the list's, in order.
    let mut padded = [u64::MAX; NETWORK_MAX];
    padded[..n].copy_from_slice(values);
    match n.next_power_of_two() {
        2 => network::<2>(&mut padded),
        4 => network::<4>(&mut padded),
        8 => network::<8>(&mut padded),
        16 => network::<16>(&mut padded),
        _ => network::<NETWORK_MAX>(&mut padded),
    }
    values.copy_from_slice(&padded[..n]);
}

/// Sorts the first `N` values (a power of two) with Batcher's odd-even merge network. The
/// loops depend only on `N`, so each size compiles to straight-line compare-exchanges.
#[inline(always)]
fn network<const N: usize>(values: &mut [u64; NETWORK_MAX]) {
    let mut p = 1;
    while p < N {
        let mut k = p;
        while k >= 1 {
            let mut j = k % p;
            while j + k < N {
                for i in 0..k.min(N - j - k) {
                    if (i + j) / (2 * p) == (i + j + k) / (2 * p) {
                        compare_exchange(values, i + j, i + j + k);
                    }
                }
                j += 2 * k;
            }
            k /= 2;
        }
        p *= 2;
    }
}

/// Puts the smaller of `values[a]` and `values[b]` at `a` (`a < b`).
#[inline(always)]
fn compare_exchange(values: &mut [u64; NETWORK_MAX], a: usize, b: usize) {
    let (x, y) = (values[a], values[b]);
    values[a] = x.min(y);
    values[b] = x.max(y);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By the 0-1 principle, a network that sorts every list of zeros and ones sorts every
    /// list: this checks the 2-, 4-, 8- and 16-value networks on all of them.
    #[test]
    fn each_network_up_to_sixteen_sorts_every_list_of_zeros_and_ones() {
        for n in [2usize, 3, 4, 5, 8, 9, 16] {
            for bits in 0u32..1 << n {
                let mut values: Vec<u64> = (0..n).map(|i| u64::from(bits >> i & 1)).collect();
                let ones = values.iter().sum::<u64>() as usize;
                sort_u64(&mut values);
                let want: Vec<u64> = (0..n).map(|i| u64::from(i >= n - ones)).collect();
                assert_eq!(values, want, "{n} values, pattern {bits:#b}");
            }
        }
    }

    #[test]
    fn lists_of_every_length_sort_as_the_standard_sort_does() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in 0..=70 {
            for round in 0..400 {
                let values: Vec<u64> = (0..len)
                    .map(|_| match round % 4 {
                        // Few distinct values (packet lengths), any value, the extremes.
                        0 => next() % 4,
                        1 => next(),
                        2 => [0, 1, u64::MAX - 1, u64::MAX][(next() % 4) as usize],
                        _ => (next() % 1500) << 3,
                    })
                    .collect();
                let mut want = values.clone();
                want.sort_unstable();
                let mut got = values;
                sort_u64(&mut got);
                assert_eq!(got, want, "{len} values");
            }
        }
    }
}
