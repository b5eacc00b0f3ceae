//! The library behind `jjc check|schema|explain|list`.

use std::path::PathBuf;

use jjc_sema::{
    MessageFormat, SchemaFormat, Sources, cmd_check, cmd_explain, cmd_list, cmd_schema,
};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features/examples")
}

fn run(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> i32) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = f(&mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn example_sources() -> Sources {
    Sources {
        files: vec![
            examples().join("game_traffic.jjf"),
            examples().join("adv_timing.jjf"),
        ],
        features_dirs: vec![],
        use_env: false,
    }
}

#[test]
fn check_clean_folder_summarises() {
    let (code, out, err) = run(|o, e| {
        cmd_check(
            &[examples()],
            &Sources::default(),
            MessageFormat::Human { color: false },
            o,
            e,
        )
    });
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert_eq!(
        err,
        "checked 4 files: 4 groups, 19 features, 0 errors, 0 warnings\n"
    );
}

#[test]
fn check_reports_errors_human_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jjf");
    std::fs::write(
        &bad,
        "features g {\n    size = pkt.len\n    let unused = 1\n}\n",
    )
    .unwrap();
    let (code, _, err) = run(|o, e| {
        cmd_check(
            std::slice::from_ref(&bad),
            &Sources::default(),
            MessageFormat::Human { color: false },
            o,
            e,
        )
    });
    assert_eq!(code, 1);
    assert!(err.contains("error[E0301]"), "{err}");
    assert!(
        err.contains("wrap `pkt.len` in an aggregate such as mean(...)"),
        "{err}"
    );
    assert!(err.contains("warning[W0001]"), "{err}");
    assert!(
        err.ends_with("checked 1 file: 1 group, 1 feature, 1 error, 1 warning\n"),
        "{err}"
    );

    let (code, out, _) = run(|o, e| {
        cmd_check(
            std::slice::from_ref(&bad),
            &Sources::default(),
            MessageFormat::Json,
            o,
            e,
        )
    });
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["code"], "E0301");
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[0]["column"], 12);
    assert_eq!(lines[0]["span"]["start"], 24);
}

#[test]
fn check_missing_path_is_an_io_problem() {
    let (code, _, err) = run(|o, e| {
        cmd_check(
            &[PathBuf::from("/nonexistent/x.jjf")],
            &Sources::default(),
            MessageFormat::Human { color: false },
            o,
            e,
        )
    });
    assert_eq!(code, 2);
    assert!(err.contains("error[E0901]"), "{err}");
}

#[test]
fn schema_lists_identity_then_features_in_order() {
    let (code, out, err) =
        run(|o, e| cmd_schema(&example_sources(), &[], None, SchemaFormat::Table, o, e));
    assert_eq!(code, 0, "{err}");
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names[..8],
        [
            "src_ip",
            "dst_ip",
            "src_port",
            "dst_port",
            "protocol",
            "vlan_id",
            "start_time",
            "end_time"
        ]
    );
    // The default run: JJ-CORE's 144 columns (JoyfulJay's order), then the -f files' groups.
    assert_eq!(names[8], "dst_port_class");
    assert_eq!(names[8 + 144], "is_game_traffic");
    assert_eq!(names.len(), 8 + 144 + 5 + 6);
    assert!(
        out.lines().any(|l| l
            .split_whitespace()
            .take(3)
            .eq(["game_pps", "float", "game_traffic"])),
        "{out}"
    );

    let (code, out, _) = run(|o, e| {
        cmd_schema(
            &example_sources(),
            &["adv_timing".into()],
            None,
            SchemaFormat::Table,
            o,
            e,
        )
    });
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1 + 8 + 6);

    let (code, _, err) = run(|o, e| {
        cmd_schema(
            &example_sources(),
            &["adv_timin".into()],
            None,
            SchemaFormat::Table,
            o,
            e,
        )
    });
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `adv_timing`?"), "{err}");
}

#[test]
fn explain_shows_definition_or_suggests() {
    let (code, out, err) = run(|o, e| cmd_explain(&example_sources(), "game_pps", o, e));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("game_pps (group game_traffic"), "{out}");
    assert!(out.contains("type:    float"), "{out}");
    assert!(out.contains("game_traffic.jjf:16:5"), "{out}");
    assert!(
        out.contains("source:  game_pps: float        = if is_game_traffic"),
        "{out}"
    );

    let (code, _, err) = run(|o, e| cmd_explain(&example_sources(), "game_ppps", o, e));
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `game_pps`?"), "{err}");
}

#[test]
fn list_shows_groups_and_profiles() {
    let (code, out, err) = run(|o, e| cmd_list(&example_sources(), o, e));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(|l| l.starts_with("game_traffic")
            && l.contains("game_traffic.jjf")
            && l.contains(" 5 ")),
        "{out}"
    );
    assert!(out.contains("JJ-CORE"), "{out}");
    assert!(
        out.contains("JJ-CORE  flow_meta, timing, size, tcp, tls"),
        "{out}"
    );
    assert!(!out.contains("not available"), "{out}");
}
