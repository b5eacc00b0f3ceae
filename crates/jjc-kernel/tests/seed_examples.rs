//! The seed's four example files: compiled, and their `test` blocks run by the interpreter.

use std::path::PathBuf;

use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, compile};
use jjc_sema::Library;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features/examples")
}

fn library() -> Library {
    let texts: Vec<(String, String)> = [
        "my_features",
        "payload_patterns",
        "adv_timing",
        "game_traffic",
    ]
    .iter()
    .map(|n| {
        let path = examples().join(format!("{n}.jjf"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        (format!("{n}.jjf"), text)
    })
    .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (lib, diags) = Library::from_texts(&refs);
    assert!(diags.is_empty(), "{} diagnostics", diags.len());
    lib
}

#[test]
fn every_test_block_of_the_seed_examples_passes_under_the_interpreter() {
    let lib = library();
    let program = &lib.program;
    assert!(program.tests.len() >= 4);
    let mut failed = Vec::new();
    for test in &program.tests {
        let groups = groups_of_file(program, test.file);
        let kernel = match compile(program, &groups) {
            Ok(k) => k,
            Err(e) => panic!("{}: {e}", test.name),
        };
        let mut interp = Interpreter::new(&kernel);
        let outcome = run_test(program, &kernel, &mut interp, test);
        if !outcome.passed() {
            failed.push(format!("{}: {:?}", test.name, outcome.failures));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
