//! How long checking the whole `features/` tree takes (budget: well under 50 ms).
//!
//! Run with `cargo bench -p jjc-sema`. Prints the median of several runs and its share of
//! the budget; tests never time anything.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jjc_sema::{Library, Sources};

const BUDGET: Duration = Duration::from_millis(50);
const RUNS: usize = 30;

fn main() {
    let tree = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features");
    let mut times = Vec::with_capacity(RUNS);
    let mut groups = 0;
    let mut features = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let (lib, diags) = Library::load_with(&Sources::default(), std::slice::from_ref(&tree));
        times.push(start.elapsed());
        groups = lib.program.groups.len();
        features = lib.program.features.len();
        assert!(!diags.has_errors(), "the features tree must check clean");
    }
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "check features/ ({groups} groups, {features} features): median {:.2} ms, min {:.2} ms over {RUNS} runs = {:.1}% of the {} ms budget",
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        100.0 * median.as_secs_f64() / BUDGET.as_secs_f64(),
        BUDGET.as_millis()
    );
}
