//! The seed examples (`features/examples/*.jjf`) and the standard library under both
//! backends: their `test` blocks, random flows, and the CLIF snapshots.

use std::path::PathBuf;

use jjc_jit::{JitKernel, dump_clif};
use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, Kernel};
use jjc_sema::hir::GroupId;
use jjc_sema::{FileOrigin, Library, Sources};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::harness::run_both;
use crate::packets::{OwnedFlow, flow};

const EXAMPLES: &[&str] = &[
    "adv_timing",
    "game_traffic",
    "my_features",
    "payload_patterns",
];

fn example_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../features/examples")
        .join(format!("{name}.jjf"))
}

/// The given example files as `-f` files, without the standard library.
fn load(names: &[&str]) -> Library {
    let texts: Vec<(String, String)> = names
        .iter()
        .map(|n| {
            let path = example_path(n);
            match std::fs::read_to_string(&path) {
                Ok(text) => (path.display().to_string(), text),
                Err(e) => panic!("{}: {e}", path.display()),
            }
        })
        .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (lib, diags) = Library::from_texts(&refs);
    assert!(!diags.has_errors(), "{diags:?}");
    lib
}

/// The standard library alone (the `.jjf` files at the top of `features/`, embedded).
fn load_standard_library() -> Library {
    let (lib, diags) = Library::load(&Sources::default());
    assert!(!diags.has_errors(), "{diags:?}");
    lib
}

fn compile(lib: &Library, groups: &[GroupId]) -> Kernel {
    match jjc_kernel::compile(&lib.program, groups) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    }
}

fn jit(kernel: &Kernel) -> JitKernel<'_> {
    match JitKernel::compile(kernel) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    }
}

/// The kernel of one example file's groups.
fn example_kernel(name: &str) -> (Library, Kernel) {
    let lib = load(&[name]);
    let kernel = compile(&lib, &lib.groups_from(&FileOrigin::File));
    (lib, kernel)
}

#[test]
fn seed_example_tests_pass_under_both_backends() {
    for name in EXAMPLES {
        let lib = load(&[name]);
        let Some(file) = lib.files.iter().find(|f| f.origin == FileOrigin::File) else {
            panic!("{name} not loaded");
        };
        let kernel = compile(&lib, &groups_of_file(&lib.program, file.id));
        let mut interp = Interpreter::new(&kernel);
        let mut native = jit(&kernel);
        let tests: Vec<_> = lib
            .program
            .tests
            .iter()
            .filter(|t| t.file == file.id)
            .collect();
        assert!(!tests.is_empty(), "{name} has no tests");
        for test in tests {
            let by_interp = run_test(&lib.program, &kernel, &mut interp, test);
            let by_jit = run_test(&lib.program, &kernel, &mut native, test);
            assert!(by_interp.passed(), "{name}: {by_interp:?}");
            assert!(by_jit.passed(), "{name}: {by_jit:?}");
            assert_eq!(by_interp, by_jit);
        }
    }
}

/// Runs random flows through a kernel under both backends.
fn agree(kernel: &Kernel, flows: &[OwnedFlow]) -> Result<(), TestCaseError> {
    let mut interp = Interpreter::new(kernel);
    let mut native = JitKernel::compile(kernel).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for f in flows {
        run_both(kernel, &mut interp, &mut native, &f.flow()).map_err(TestCaseError::fail)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn seed_examples_agree_on_random_flows(flows in vec(flow(24), 1..6)) {
        // Each example alone, then all four fused into one kernel.
        for name in EXAMPLES {
            let (_lib, kernel) = example_kernel(name);
            agree(&kernel, &flows)?;
        }
        let lib = load(EXAMPLES);
        let kernel = compile(&lib, &lib.groups_from(&FileOrigin::File));
        agree(&kernel, &flows)?;
    }

    #[test]
    fn standard_library_agrees_on_random_flows(flows in vec(flow(24), 1..6)) {
        let lib = load_standard_library();
        let groups: Vec<GroupId> = (0..lib.program.groups.len() as u32).map(GroupId).collect();
        let kernel = compile(&lib, &groups);
        agree(&kernel, &flows)?;
    }
}

#[test]
fn clif_of_the_seed_examples() {
    for name in EXAMPLES {
        let (_lib, kernel) = example_kernel(name);
        let text = match dump_clif(&kernel) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        insta::assert_snapshot!(format!("clif_{name}"), text);
    }
}
