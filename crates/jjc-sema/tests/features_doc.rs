//! `docs/features.md` is generated from the features' doc strings and must not go stale;
//! every feature of the standard library and of the examples has a doc string.

use std::path::{Path, PathBuf};

use jjc_sema::{
    Library, REGENERATE_FEATURES_MD, SchemaFormat, Sources, cmd_schema, features_markdown,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn docs_features_md_is_up_to_date() {
    // Exactly what `jjc schema --format markdown` prints with no selection: JJ-CORE.
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = cmd_schema(
        &Sources::default(),
        &[],
        None,
        SchemaFormat::Markdown,
        &mut out,
        &mut err,
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let generated = String::from_utf8(out).expect("UTF-8");
    let path = repo().join("docs/features.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "docs/features.md is stale (first difference at line {}): regenerate it from \
             the repository root with\n\n    {REGENERATE_FEATURES_MD}\n",
            line + 1
        );
    }
}

#[test]
fn every_feature_has_a_doc_string() {
    let sources = Sources {
        files: [
            "my_features",
            "payload_patterns",
            "adv_timing",
            "game_traffic",
        ]
        .iter()
        .map(|n| repo().join(format!("features/examples/{n}.jjf")))
        .collect(),
        ..Sources::default()
    };
    let (lib, diags) = Library::load(&sources);
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(lib.program.groups.len(), 9);
    let undocumented: Vec<String> = lib
        .program
        .features
        .iter()
        .filter(|f| f.doc.trim().is_empty())
        .map(|f| f.name.clone())
        .collect();
    assert!(undocumented.is_empty(), "no doc string: {undocumented:?}");
    let groups: Vec<&str> = lib
        .program
        .groups
        .iter()
        .filter(|g| g.doc.trim().is_empty())
        .map(|g| g.name.as_str())
        .collect();
    assert!(groups.is_empty(), "no doc string: {groups:?}");
    // The examples' page renders too (what `jjc schema --format markdown -f …` prints).
    let all: Vec<_> = (0..lib.program.groups.len() as u32)
        .map(jjc_sema::hir::GroupId)
        .collect();
    let md = features_markdown(&lib, &all);
    assert!(
        md.contains("| `game_pps` | float | packets per second: 1 / mean gap"),
        "{md}"
    );
}
