//! Keeping the cores a parallel run will use awake while the run starts.
//!
//! On a virtual machine a vCPU with nothing to run halts, and a thread started on it runs only
//! once the host schedules the vCPU again. On this project's 2-core machines that took 1–3 ms
//! for the second worker of most runs: it began its walk that much after the first and ended
//! that much later, which the whole run waited for. Start-up (checking and compiling the
//! features, opening the captures) leaves the other cores idle for just that long.
//!
//! A [`Warmup`] keeps them busy meanwhile: one thread per core (up to [`MAX_CORES`]) that
//! yields in a loop until the workers start ([`Warmup::end`]) or [`LIMIT`] passes. Yielding
//! lets any other thread of the process (start-up's own helper threads, the workers) take the
//! core at once. On a machine whose idle cores wake in microseconds it changes nothing but the
//! few milliseconds of CPU it burns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest a warm-up runs, however long start-up takes.
pub(crate) const LIMIT: Duration = Duration::from_millis(50);

/// The most cores a warm-up keeps awake: on a big machine a few milliseconds of every core
/// add up, while the walk every thread pays (`docs/performance.md`, "Threads") already limits
/// what more threads bring.
pub(crate) const MAX_CORES: usize = 15;

/// Threads keeping cores awake until [`Warmup::end`] (or drop) of this handle or a clone.
#[derive(Debug, Clone)]
pub(crate) struct Warmup {
    over: Arc<AtomicBool>,
}

impl Warmup {
    /// Starts a thread per core to keep awake, for at most [`MAX_CORES`] cores. The caller
    /// starts one, which starts the others, so start-up itself pays for one thread. A thread
    /// that cannot be started is no loss: its core just may start a worker later. The first
    /// thread runs `head_start` first, if given: work of the run that needs no features,
    /// done while the calling thread loads them.
    pub(crate) fn start(cores: usize, head_start: Option<Box<dyn FnOnce() + Send>>) -> Warmup {
        let over = Arc::new(AtomicBool::new(false));
        let threads = cores.min(MAX_CORES);
        if threads > 0 {
            let first = Arc::clone(&over);
            spawn(move || {
                for _ in 1..threads {
                    let over = Arc::clone(&first);
                    spawn(move || keep_busy(&over, LIMIT));
                }
                if let Some(work) = head_start {
                    work();
                }
                keep_busy(&first, LIMIT);
            });
        }
        Warmup { over }
    }

    /// Stops the threads: the workers have started (or the run needs no more cores).
    pub(crate) fn end(&self) {
        self.over.store(true, Ordering::Relaxed);
    }
}

impl Drop for Warmup {
    fn drop(&mut self) {
        self.end();
    }
}

/// Starts a warm-up thread running `f` (small stack: it only loops); a failure is ignored.
fn spawn(f: impl FnOnce() + Send + 'static) {
    let _ = std::thread::Builder::new()
        .name("jjc-warmup".into())
        .stack_size(64 << 10)
        .spawn(f);
}

/// Yields until `over` is set or `limit` has passed.
fn keep_busy(over: &AtomicBool, limit: Duration) {
    let started = Instant::now();
    while !over.load(Ordering::Relaxed) && started.elapsed() < limit {
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warmup_stops_when_ended_or_at_its_limit() {
        let over = AtomicBool::new(false);
        let started = Instant::now();
        keep_busy(&over, Duration::from_millis(5));
        assert!(started.elapsed() >= Duration::from_millis(5));
        over.store(true, Ordering::Relaxed);
        // Ended: returns at once however long the limit.
        keep_busy(&over, Duration::from_secs(3600));
        let warmup = Warmup::start(2, None);
        warmup.end();
        assert!(warmup.over.load(Ordering::Relaxed));
    }
}
