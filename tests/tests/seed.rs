//! The seed guide's four extractors, written in `.jjf`, against JoyfulJay's own output of
//! them (`reference/seed/`), cell by cell, under both backends.

use jjc_driver::Backend;
use jjc_tests::{captures, compare_reference, listed, run_to_csv, seed_config, shared_dir};

fn seed_parity(backend: Backend) {
    let Some(shared) = shared_dir() else { return };
    let skip: Vec<String> = ["UNRELIABLE", "FRAGMENTED"]
        .iter()
        .flat_map(|l| listed(&shared, l))
        .collect();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let (mut compared, mut failures) = (0, Vec::new());
    for cap in captures(&shared) {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let reference = shared.join("reference/seed").join(format!("{name}.csv"));
        if !reference.exists() || skip.contains(&name) {
            continue;
        }
        let out = tmp.path().join(format!("{name}.csv"));
        if let Err(e) = run_to_csv(&cap, seed_config(backend), &out) {
            failures.push(format!("{name}: jjc failed: {e}"));
            continue;
        }
        let (ok, report) = compare_reference(&shared, &out, &reference, &["--all", "-v"]);
        compared += 1;
        if !ok {
            failures.push(format!("{name}: {report}"));
        }
    }
    assert!(
        compared >= 30,
        "only {compared} captures compared against seed/"
    );
    assert!(
        failures.is_empty(),
        "{} captures differ from seed/ ({backend}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn seed_examples_match_joyfuljay_with_the_interpreter() {
    seed_parity(Backend::Interp);
}

#[test]
fn seed_examples_match_joyfuljay_with_the_jit() {
    seed_parity(Backend::Jit);
}
