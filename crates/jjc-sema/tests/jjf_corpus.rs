//! The `.jjf` corpus: every invalid program's diagnostics (rendered and JSON) and every
//! valid program's typed form are snapshots under `tests/snapshots/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jjc_sema::{Library, pretty_program};
use jjc_syntax::{Diagnostics, Severity, SourceMap, codes, render_human, render_json};

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/jjf")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jjf"))
        .collect();
    files.sort();
    files
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string()
}

/// Checks one file on its own, as `jjc check FILE` would (without the standard library).
fn check(kind: &str, path: &Path) -> (SourceMap, jjc_sema::Program, Diagnostics) {
    let bytes = std::fs::read(path).expect("readable");
    let name = format!("{kind}/{}.jjf", stem(path));
    let (lib, mut diags) = Library::from_bytes(&name, bytes);
    diags.extend(lib.default_conflicts());
    (lib.sources, lib.program, diags)
}

#[test]
fn invalid_programs() {
    let files = corpus("invalid");
    assert!(files.len() >= 60, "only {} invalid programs", files.len());
    let mut seen = BTreeSet::new();
    for path in &files {
        let name = stem(path);
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("readable")).into_owned();
        assert!(
            text.starts_with('#'),
            "{name}: the first line must say what is wrong"
        );
        let (sources, _, diags) = check("invalid", path);
        assert!(!diags.is_empty(), "{name}: no diagnostic");
        for d in diags.iter() {
            let span = d
                .span()
                .unwrap_or_else(|| panic!("{name}: unlocated {d:?}"));
            assert!(
                span.end as usize <= text.len().max(1),
                "{name}: span past the end"
            );
            seen.insert(d.code.id);
        }
        let human: Vec<String> = diags
            .iter()
            .map(|d| render_human(d, &sources, false))
            .collect();
        insta::assert_snapshot!(format!("{name}"), human.join("\n"));
        let json: Vec<String> = diags.iter().map(|d| render_json(d, &sources)).collect();
        insta::assert_snapshot!(format!("{name}.json"), json.join("\n"));
    }
    // Every code a program can trigger is covered (I/O and selection come from the CLI).
    let missing: Vec<&str> = codes::ALL
        .iter()
        .filter(|c| c.id != codes::IO.id && c.id != codes::UNKNOWN_SELECTION.id)
        .map(|c| c.id)
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without an invalid program: {missing:?}"
    );
}

#[test]
fn valid_programs() {
    let files = corpus("valid");
    assert!(!files.is_empty());
    for path in &files {
        let name = stem(path);
        let (sources, program, diags) = check("valid", path);
        let problems: Vec<String> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error || d.severity == Severity::Warning)
            .map(|d| render_human(d, &sources, false))
            .collect();
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
        insta::assert_snapshot!(format!("valid_{name}"), pretty_program(&program));
    }
}
