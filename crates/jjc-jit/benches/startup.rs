//! How long each start-up phase of a JJ-CORE run takes in one process: parse and check the
//! embedded library, select, lower to the kernel IR, JIT-compile; and the JIT phase again
//! when the kernel cache holds the code (a run's usual case, after the first).
//!
//! Run with `cargo bench -p jjc-jit --bench startup`. Prints medians over several runs;
//! tests never time anything.

use std::time::{Duration, Instant};

use jjc_jit::{CodeOrigin, JitKernel, KernelCache};
use jjc_sema::{Library, Selection, Sources, select_groups};

const RUNS: usize = 41;

fn runs() -> usize {
    std::env::var("STARTUP_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(RUNS)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let runs = runs();
    let dir = tempfile::tempdir().expect("a temporary cache directory");
    let cache = KernelCache::in_dir(dir.path());
    let mut phases: [Vec<Duration>; 5] = Default::default();
    for _ in 0..runs {
        let t0 = Instant::now();
        let (lib, diags) = Library::load(&Sources::default());
        assert!(!diags.has_errors(), "the standard library must check clean");
        let t1 = Instant::now();
        let groups = select_groups(&lib, &Selection::default()).expect("JJ-CORE selects");
        let kernel = jjc_kernel::compile(&lib.program, &groups).expect("JJ-CORE lowers");
        let t2 = Instant::now();
        let jit = JitKernel::compile(&kernel).expect("JJ-CORE compiles");
        let t3 = Instant::now();
        drop(jit);
        // Fills the cache on the first run; every later run links.
        let cached = JitKernel::compile_cached(&kernel, Some(&cache)).expect("JJ-CORE links");
        let t4 = Instant::now();
        let linked = cached.origin() == CodeOrigin::Cached;
        drop(cached);
        if !linked {
            continue;
        }
        for (p, d) in phases
            .iter_mut()
            .zip([t1 - t0, t2 - t1, t3 - t2, t3 - t0, t4 - t3])
        {
            p.push(d);
        }
    }
    for (name, p) in ["load+check", "select+lower", "jit", "total", "jit, cached"]
        .iter()
        .zip(phases.iter_mut())
    {
        if p.is_empty() {
            println!("{name:>12}: no run linked from the cache");
            continue;
        }
        p.sort();
        let runs = p.len();
        println!(
            "{name:>12}: median {:.2} ms, min {:.2} ms",
            ms(p[runs / 2]),
            ms(p[0])
        );
    }
}
