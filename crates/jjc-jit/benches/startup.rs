//! How long each start-up phase of a JJ-CORE run takes in one process: parse and check the
//! embedded library, select, lower to the kernel IR, JIT-compile.
//!
//! Run with `cargo bench -p jjc-jit --bench startup`. Prints medians over several runs;
//! tests never time anything.

use std::time::{Duration, Instant};

use jjc_jit::JitKernel;
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
    let mut phases: [Vec<Duration>; 4] = Default::default();
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
        for (p, d) in phases.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t3 - t0]) {
            p.push(d);
        }
    }
    for (name, p) in ["load+check", "select+lower", "jit", "total"]
        .iter()
        .zip(phases.iter_mut())
    {
        p.sort();
        println!(
            "{name:>12}: median {:.2} ms, min {:.2} ms",
            ms(p[runs / 2]),
            ms(p[0])
        );
    }
}
