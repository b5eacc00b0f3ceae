//! Random well-typed programs over random packet sequences: both backends agree.

use jjc_jit::JitKernel;
use jjc_kernel::Interpreter;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};

use crate::harness::{check, kernel_of_files, run_both};
use crate::packets::flow;
use crate::program_gen::program;

fn choices() -> impl Strategy<Value = Vec<u32>> {
    vec(any::<u32>(), 0..300)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_global_rejects: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_programs_agree_on_random_flows(
        stream in choices(),
        flows in vec(flow(16), 1..4),
    ) {
        let text = program(&stream);
        // Programs the checker rejects are skipped (the test below keeps them rare).
        let lib = match check(&text) {
            Ok(lib) => lib,
            Err(_) => return Err(TestCaseError::reject("program has errors")),
        };
        let kernel = kernel_of_files(&lib)
            .map_err(|e| TestCaseError::fail(format!("kernel: {e}\n{text}")))?;
        let mut jit = JitKernel::compile(&kernel)
            .map_err(|e| TestCaseError::fail(format!("JIT: {e}\n{text}")))?;
        let mut interp = Interpreter::new(&kernel);
        for f in &flows {
            run_both(&kernel, &mut interp, &mut jit, &f.flow())
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        }
    }
}

/// Draws `n` programs from a fixed seed.
fn sample_programs(n: usize) -> Vec<String> {
    let mut runner = TestRunner::deterministic();
    let strategy = choices();
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok())
        .map(|t| program(&t.current()))
        .collect()
}

#[test]
fn the_generator_makes_checked_programs_that_use_the_whole_language() {
    let programs = sample_programs(200);
    assert_eq!(programs.len(), 200);
    let rejected: Vec<String> = programs
        .iter()
        .filter_map(|p| check(p).err().map(|e| format!("{e}\n{p}")))
        .collect();
    assert!(
        rejected.len() <= 4,
        "{} of 200 generated programs have errors, e.g.:\n{}",
        rejected.len(),
        rejected.first().cloned().unwrap_or_default()
    );
    let all = programs.concat();
    for needle in [
        "count(",
        "sum(",
        "mean(",
        "var(",
        "std(",
        "min(",
        "max(",
        "skew(",
        "kurtosis(",
        "first(",
        "last(",
        "nth(",
        "any(",
        "all(",
        "runs(",
        "longest_run(",
        "mode(",
        "bit_or(",
        "seq(",
        "hist(",
        "entropy(",
        "median(",
        "percentile(",
        " where ",
        "prev(",
        "//",
        "%",
        "<<",
        ">>",
        "??",
        "if ",
        "~",
        "matches(",
        "[:",
        "t_port[",
        "t_name[",
        "t_weight[",
        "flow.",
        "sqrt(",
        "ln(",
        "round(",
        "pkt.payload[",
    ] {
        assert!(all.contains(needle), "no generated program uses `{needle}`");
    }
    // Kernels with the lowerings that only some shapes reach: a mode taken from a kept list,
    // and `finish` helpers called only in the arm that needs them.
    let kernels: Vec<jjc_kernel::Kernel> = programs
        .iter()
        .filter_map(|p| check(p).ok())
        .filter_map(|lib| kernel_of_files(&lib).ok())
        .collect();
    let with = |found: &dyn Fn(&jjc_kernel::ir::Inst) -> bool| {
        kernels
            .iter()
            .filter(|k| k.finish_program().insts.iter().any(found))
            .count()
    };
    use jjc_kernel::ir::{Helper, Inst};
    let list_modes = with(&|i| {
        matches!(
            i,
            Inst::Call {
                helper: Helper::ValuesMode,
                ..
            }
        )
    });
    let guarded = with(&|i| matches!(i, Inst::Call { guard: Some(_), .. }));
    assert!(
        list_modes >= 5,
        "{list_modes} kernels take a mode from a list"
    );
    assert!(guarded >= 5, "{guarded} kernels guard finish calls");
}

#[test]
fn the_generator_is_deterministic_and_shrinks_to_a_small_program() {
    assert_eq!(program(&[1, 2, 3, 4]), program(&[1, 2, 3, 4]));
    let smallest = program(&[]);
    assert!(smallest.contains("features g"));
    assert!(check(&smallest).is_ok(), "{smallest}");
}
