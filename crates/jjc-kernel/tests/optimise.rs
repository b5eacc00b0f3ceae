//! Cross-group optimisation: shared sub-expressions, shared accumulators, dead features,
//! constant folding; and the `dump_ir` snapshots of the seed examples.

mod common;

use std::path::PathBuf;

use common::*;
use jjc_kernel::ir::{Helper, IBinOp, Inst};
use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, Kernel, compile};

const TWO_GROUPS: &str = r#"
features timing "timing" {
    let iat = pkt.ts - prev(pkt.ts)
    iat_mean = mean(iat)
    iat_std = std(iat)
    iat_skew = skew(iat)
}
features rate "rate" {
    let gap = pkt.ts - prev(pkt.ts)
    pps = if mean(gap) > 0 then 1 / mean(gap) else 0
    gaps: int = count(gap)
    heavy = percentile(pkt.len, 90)
}
"#;

fn slot_names(k: &Kernel) -> Vec<&str> {
    k.slots().iter().map(|s| s.name.as_str()).collect()
}

fn prefixes<'a>(k: &'a Kernel, p: &str) -> Vec<&'a str> {
    let mut v: Vec<&str> = slot_names(k)
        .into_iter()
        .filter(|n| n.starts_with(p))
        .map(|n| n.split('.').next().unwrap_or(n))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn two_groups_computing_the_same_gap_share_one_prev_and_one_accumulator() {
    let lib = library(TWO_GROUPS);
    let k = kernel(&lib, &["timing", "rate"]);
    // One prev (value + defined flag), one moment accumulator, one count of the gaps.
    assert_eq!(prefixes(&k, "prev(").len(), 1);
    assert_eq!(
        slot_names(&k)
            .iter()
            .filter(|n| n.starts_with("prev("))
            .count(),
        2
    );
    assert_eq!(prefixes(&k, "moments(").len(), 1);
    assert_eq!(prefixes(&k, "count(if").len(), 1);
    // skew needs M3 but nobody needs M4.
    assert!(slot_names(&k).iter().any(|n| n.ends_with(".m3")));
    assert!(!slot_names(&k).iter().any(|n| n.ends_with(".m4")));
    // The packet's gap is computed once.
    let subs = k
        .update_program()
        .insts
        .iter()
        .filter(|i| {
            matches!(
                i,
                Inst::FBin {
                    op: jjc_kernel::ir::FBinOp::Sub,
                    ..
                }
            )
        })
        .count();
    let alone = kernel(&lib, &["timing"]);
    let subs_alone = alone
        .update_program()
        .insts
        .iter()
        .filter(|i| {
            matches!(
                i,
                Inst::FBin {
                    op: jjc_kernel::ir::FBinOp::Sub,
                    ..
                }
            )
        })
        .count();
    assert_eq!(subs, subs_alone);
    let row = run_kernel(
        &k,
        &udp_flow(),
        &[pkt(0.0, F), pkt(0.5, B), pkt(1.0, F), pkt(2.0, F)],
    );
    assert_eq!(float(&row, "pps"), 1.5);
    assert_eq!(int(&row, "gaps"), 3);
    assert_close(float(&row, "iat_mean"), 2.0 / 3.0);
}

#[test]
fn unselected_features_and_everything_only_they_use_are_removed() {
    let lib = library(TWO_GROUPS);
    let k = kernel(&lib, &["timing"]);
    assert_eq!(k.columns().len(), 3);
    assert!(k.slots().iter().all(|s| !s.name.starts_with("values(")));
    assert!(!k.update_program().insts.iter().any(|i| matches!(
        i,
        Inst::Call {
            helper: Helper::ValuesPush,
            ..
        }
    )));
    let both = kernel(&lib, &["timing", "rate"]);
    assert!(both.state_slots() > k.state_slots());
    assert!(both.slots().iter().any(|s| s.name.starts_with("values(")));
}

#[test]
fn mean_alone_keeps_only_a_sum_and_kurtosis_adds_m4() {
    let lib = library(
        r#"
features a "a" { m = mean(pkt.len) }
features b "b" { k = kurtosis(pkt.len) v = var(pkt.len) }
"#,
    );
    let a = kernel(&lib, &["a"]);
    let names = slot_names(&a);
    assert!(names.iter().any(|n| n.ends_with(".sum")));
    assert!(!names.iter().any(|n| n.ends_with(".m2")));
    let b = kernel(&lib, &["a", "b"]);
    assert_eq!(prefixes(&b, "moments(").len(), 1);
    for c in [".sum", ".m2", ".m3", ".m4", ".mean", ".shift"] {
        assert!(slot_names(&b).iter().any(|n| n.ends_with(c)), "{c}");
    }
}

#[test]
fn constants_fold_and_dead_branches_cost_nothing() {
    let lib = library(
        r#"
const K = 3
features c "c" {
    x: int = 2 + K * 4 + flow.packet_count
    y = if K > 5 then mean(pkt.len) else 1.5 + flow.duration
    z: int = count(where pkt.len > 10 * K)
}
"#,
    );
    let k = kernel(&lib, &["c"]);
    let fin = &k.finish_program().insts;
    assert!(
        fin.iter()
            .any(|i| matches!(i, Inst::IConst { value: 14, .. }))
    );
    assert!(!fin.iter().any(|i| matches!(
        i,
        Inst::IBin {
            op: IBinOp::Mul,
            ..
        }
    )));
    assert!(k.slots().iter().all(|s| !s.name.starts_with("moments(")));
    assert!(
        k.update_program()
            .insts
            .iter()
            .any(|i| matches!(i, Inst::IConst { value: 30, .. }))
    );
    let row = run_kernel(&k, &udp_flow(), &[pkt(0.0, F).len(20), pkt(2.0, F).len(40)]);
    assert_eq!(int(&row, "x"), 16);
    assert_eq!(float(&row, "y"), 3.5);
    assert_eq!(int(&row, "z"), 1);
}

#[test]
fn patterns_on_one_slice_run_as_one_set_across_groups() {
    let lib = library(
        r#"
pattern get = b"^GET "
pattern post = b"^POST "
pattern ok = b"200 OK"
features a "a" { g: bool = any(pkt.payload[:10] ~ get) }
features b "b" {
    p: bool = any(pkt.payload[:10] ~ post)
    o: bool = any(pkt.payload ~ ok)
    g2: int = count(pkt.payload[:10] ~ get)
}
"#,
    );
    let k = kernel(&lib, &["a", "b"]);
    let calls = k
        .update_program()
        .insts
        .iter()
        .filter(|i| {
            matches!(
                i,
                Inst::Call {
                    helper: Helper::RegexSet,
                    ..
                }
            )
        })
        .count();
    // One call for the [:10] slice (get, post), one for the whole payload (ok).
    assert_eq!(calls, 2);
    let row = run_kernel(
        &k,
        &udp_flow(),
        &[
            pkt(0.0, F).payload(b"GET / HTTP/1.1"),
            pkt(0.1, B).payload(b"HTTP/1.1 200 OK"),
            pkt(0.2, F).payload(b"GET /2"),
        ],
    );
    assert!(boolean(&row, "g"));
    assert!(!boolean(&row, "p"));
    assert!(boolean(&row, "o"));
    assert_eq!(int(&row, "g2"), 2);
}

#[test]
fn compile_is_fast_and_state_helpers_are_idempotent() {
    let lib = library(TWO_GROUPS);
    let groups = all_groups(&lib);
    let start = std::time::Instant::now();
    for _ in 0..20 {
        let k = compile(&lib.program, &groups);
        assert!(k.is_ok());
    }
    assert!(start.elapsed().as_secs_f64() / 20.0 < 0.05);
    let k = kernel(&lib, &["rate"]);
    let mut state = vec![7u64; k.state_slots()];
    k.init_state(&mut state);
    assert!(state.iter().all(|s| *s == 0));
    k.drop_state(&mut state);
    k.drop_state(&mut state);
}

#[test]
fn test_blocks_report_failures_with_expected_got_and_place() {
    let lib = library(
        r#"
features t "t" { n: int = count() m = mean(pkt.len) }
test "wrong" {
    flow { src 10.0.0.1:1 dst 10.0.0.2:2 udp }
    packet { ts 0 dir fwd len 100 }
    packet { ts 1 dir bwd len 200 }
    expect n == 3
    expect m == 150.0
}
"#,
    );
    let program = &lib.program;
    let test = &program.tests[0];
    let k = match compile(program, &groups_of_file(program, test.file)) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let outcome = run_test(program, &k, &mut Interpreter::new(&k), test);
    assert!(!outcome.passed());
    assert_eq!(outcome.failures.len(), 1);
    let f = &outcome.failures[0];
    assert_eq!(f.column, "n");
    assert_eq!(f.expected, "3");
    assert_eq!(f.got, "2");
    assert_eq!(f.span, test.expects[0].span);
}

fn seed_library() -> jjc_sema::Library {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features/examples");
    let texts: Vec<(String, String)> = [
        "my_features",
        "payload_patterns",
        "adv_timing",
        "game_traffic",
    ]
    .iter()
    .map(|n| {
        let text = std::fs::read_to_string(dir.join(format!("{n}.jjf"))).unwrap_or_default();
        (format!("{n}.jjf"), text)
    })
    .collect();
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (lib, diags) = jjc_sema::Library::from_texts(&refs);
    assert!(diags.is_empty());
    lib
}

#[test]
fn dump_ir_of_the_seed_examples() {
    let lib = seed_library();
    for name in [
        "my_features",
        "payload_patterns",
        "adv_timing",
        "game_traffic",
    ] {
        let k = kernel(&lib, &[name]);
        insta::assert_snapshot!(format!("seed_{name}"), k.dump_ir());
    }
}

#[test]
fn dump_ir_of_all_seed_groups_together_shares_the_gap() {
    let lib = seed_library();
    let k = kernel(
        &lib,
        &[
            "my_features",
            "payload_patterns",
            "adv_timing",
            "game_traffic",
        ],
    );
    assert_eq!(prefixes(&k, "prev(").len(), 1);
    assert_eq!(prefixes(&k, "moments(pkt").len(), 0);
    insta::assert_snapshot!("seed_all_groups", k.dump_ir());
}

#[test]
fn dump_ir_of_a_cross_group_example() {
    let lib = library(TWO_GROUPS);
    let k = kernel(&lib, &["timing", "rate"]);
    insta::assert_snapshot!("cross_group_cse", k.dump_ir());
}
