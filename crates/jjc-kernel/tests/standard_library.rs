//! The standard library (`features/*.jjf`, embedded): every group compiles, and every `test`
//! block passes under the interpreter.

use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, compile};
use jjc_sema::{FileOrigin, Library, Sources};

#[test]
fn every_test_block_of_the_standard_library_passes_under_the_interpreter() {
    let (lib, diags) = Library::load(&Sources::default());
    assert!(!diags.has_errors(), "{diags:?}");
    let program = &lib.program;
    let embedded: Vec<_> = lib
        .files
        .iter()
        .filter(|f| f.origin == FileOrigin::Embedded)
        .map(|f| f.id)
        .collect();
    let tests: Vec<_> = program
        .tests
        .iter()
        .filter(|t| embedded.contains(&t.file))
        .collect();
    // flow_meta, timing, size and tcp each test their edge cases.
    for group in ["flow_meta", "timing", "size", "tcp"] {
        let g = program.group_by_name(group).expect(group);
        let file = program.group(g).map(|g| g.file);
        let n = tests.iter().filter(|t| Some(t.file) == file).count();
        assert!(n >= 4, "{group} has {n} tests");
    }
    let mut failed = Vec::new();
    for test in tests {
        let kernel = match compile(program, &groups_of_file(program, test.file)) {
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
