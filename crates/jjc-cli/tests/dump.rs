//! `jjc dump`: each compiler stage of the seed guide's basic extractor, snapshot-tested.

use std::path::Path;
use std::process::Command;

fn dump(stage: &str) -> String {
    run_dump(&[
        stage,
        "-f",
        "features/examples/my_features.jjf",
        "-g",
        "my_features",
    ])
}

fn run_dump(args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let o = Command::new(env!("CARGO_BIN_EXE_jjc"))
        .current_dir(&root)
        .env("JJ_FEATURES_PATH", "")
        .env("XDG_CONFIG_HOME", root.join("target/no-such-config"))
        .arg("dump")
        .args(args)
        .output()
        .expect("jjc runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn dump_ast() {
    insta::assert_snapshot!(dump("--ast"));
}

#[test]
fn dump_ir() {
    insta::assert_snapshot!(dump("--ir"));
}

#[test]
fn dump_clif() {
    insta::assert_snapshot!(dump("--clif"));
}

/// The standard `size` group: `update` runs each direction's statistics only for that
/// direction's packets (a branch on `pkt.dir` after the common code).
#[test]
fn dump_clif_split_by_direction() {
    let text = run_dump(&["--clif", "-g", "size"]);
    assert!(
        text.contains("load.i8 notrap aligned readonly can_move v1+119"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}
