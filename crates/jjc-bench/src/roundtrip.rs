//! How long one cache line takes to go from one core to another and back: two threads pass
//! a counter between them, each waiting for the other's increment.
//!
//! On this project's 2-core virtual machines the figure moves between about 80-120 ns and
//! about 400 ns from one minute to the next, as the host places the two virtual CPUs near each
//! other or far apart; two-thread runs are 25-30% slower in the far placement, one-thread runs
//! not at all. `scripts/bench.sh` prints it beside its figures, so that a two-thread figure can
//! be read for what the machine was doing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A counter alone on its cache line.
#[repr(align(128))]
struct Line(AtomicU64);

/// The median round trip, in nanoseconds, of `samples` runs of `trips` round trips each.
pub fn round_trip_ns(trips: u64, samples: usize) -> f64 {
    let mut each: Vec<f64> = (0..samples.max(1)).map(|_| one_run(trips.max(1))).collect();
    each.sort_by(f64::total_cmp);
    each[each.len() / 2]
}

/// Nanoseconds per round trip over `trips` round trips.
fn one_run(trips: u64) -> f64 {
    let line = Line(AtomicU64::new(0));
    let line = &line;
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..trips {
                wait_for(&line.0, 2 * i + 1);
                line.0.store(2 * i + 2, Ordering::Release);
            }
        });
        let start = Instant::now();
        for i in 0..trips {
            line.0.store(2 * i + 1, Ordering::Release);
            wait_for(&line.0, 2 * i + 2);
        }
        start.elapsed().as_nanos() as f64 / trips as f64
    })
}

/// Spins until `counter` is `value`, giving up the core after every 65,536 spins (about a
/// millisecond) in case the other thread is not running: a busy machine, or one core.
fn wait_for(counter: &AtomicU64, value: u64) {
    let mut spins = 0u32;
    while counter.load(Ordering::Acquire) != value {
        spins += 1;
        if spins.is_multiple_of(1 << 16) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::round_trip_ns;

    #[test]
    fn a_round_trip_is_measured() {
        let ns = round_trip_ns(100, 1);
        assert!(ns.is_finite() && ns > 0.0, "{ns}");
    }
}
