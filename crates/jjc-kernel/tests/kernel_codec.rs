//! The binary form of kernels (`kernel_codec`): a decoded kernel is the kernel encoded, runs
//! every `test` block of the standard library and the seed examples as lowering's does, and
//! damaged bytes decode to nothing.

use std::path::PathBuf;

use jjc_kernel::kernel_codec::{decode, encode};
use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, Kernel, KernelOptions, PercentileMode, compile, compile_with};
use jjc_sema::{Library, Sources};

/// The standard library, and the seed examples as `-f` files.
fn libraries() -> Vec<Library> {
    let (std_lib, diags) = Library::load(&Sources::default());
    assert!(!diags.has_errors(), "{diags:?}");
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features/examples");
    let files = [
        "my_features",
        "payload_patterns",
        "adv_timing",
        "game_traffic",
    ]
    .iter()
    .map(|n| examples.join(format!("{n}.jjf")))
    .collect();
    let (seed, diags) = Library::load(&Sources {
        files,
        ..Sources::default()
    });
    assert!(!diags.has_errors(), "{diags:?}");
    vec![std_lib, seed]
}

/// `kernel` through its binary form.
fn round_trip(kernel: &Kernel) -> Kernel {
    let bytes = encode(kernel);
    decode(&bytes).expect("a kernel's own bytes decode")
}

#[test]
fn decoded_kernels_pass_every_test_block_as_lowered_ones_do() {
    let mut ran = 0;
    for lib in libraries() {
        let program = &lib.program;
        for test in &program.tests {
            let kernel = compile(program, &groups_of_file(program, test.file)).expect("compiles");
            let decoded = round_trip(&kernel);
            let mut interp = Interpreter::new(&decoded);
            let outcome = run_test(program, &decoded, &mut interp, test);
            assert!(outcome.passed(), "{}: {:?}", test.name, outcome.failures);
            ran += 1;
        }
    }
    assert!(ran >= 20, "{ran} test blocks");
}

#[test]
fn a_decoded_kernel_is_the_kernel_encoded() {
    let sketch: PercentileMode = "sketch=0.01".parse().expect("a sketch mode");
    for lib in libraries() {
        let program = &lib.program;
        // Every group at once: every helper, data block and slot kind the library uses.
        let all: Vec<_> = (0..program.groups.len())
            .filter_map(|i| program.group_by_name(&program.groups[i].name))
            .collect();
        for percentiles in [PercentileMode::Exact, sketch] {
            let options = KernelOptions { percentiles };
            let kernel = compile_with(program, &all, &options).expect("compiles");
            let decoded = round_trip(&kernel);
            assert_eq!(decoded.dump_ir(), kernel.dump_ir());
            assert_eq!(decoded.columns(), kernel.columns());
            assert_eq!(decoded.slots(), kernel.slots());
            assert_eq!(decoded.out_cells(), kernel.out_cells());
            // Encoding the decoded kernel gives the same bytes: nothing was lost or added.
            assert_eq!(encode(&decoded), encode(&kernel));
        }
    }
}

#[test]
fn damaged_bytes_decode_to_nothing_and_never_panic() {
    let lib = &libraries()[1];
    let program = &lib.program;
    let groups: Vec<_> = lib
        .program
        .groups
        .iter()
        .filter_map(|g| program.group_by_name(&g.name))
        .collect();
    let bytes = encode(&compile(program, &groups).expect("compiles"));
    for cut in 0..bytes.len() {
        assert!(
            decode(&bytes[..cut]).is_none(),
            "{cut} of {} bytes",
            bytes.len()
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&longer).is_none(), "a byte too many");
    // Changed bytes decode to nothing or to some other kernel (the cache's digest, not the
    // form, tells a damaged entry); they never panic.
    for at in (0..bytes.len()).step_by(7) {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            let _ = decode(&damaged);
        }
    }
}
