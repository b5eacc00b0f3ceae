//! The feature reference as Markdown (`jjc schema --format markdown`, `docs/features.md`):
//! every output column of the selected groups with its type and doc string, generated from
//! the `.jjf` sources so it cannot drift from them.

use std::fmt::Write;

use jjc_syntax::FileId;

use crate::builtins::{IDENTITY_COLUMNS, PROFILES, Profile};
use crate::hir::GroupId;
use crate::library::{FileOrigin, Library};

/// The command that regenerates `docs/features.md` from the repository root.
pub const REGENERATE_FEATURES_MD: &str =
    "cargo run -q -p jjc-cli -- schema --format markdown > docs/features.md";

/// Renders the output columns of `groups` (a selection, in output order) as a Markdown page:
/// a header saying the page is generated, the identity columns the engine writes first,
/// then per group its name, doc, source file and a table of its columns in output order
/// (column, type, doc). The same library and groups always give the same text.
pub fn features_markdown(lib: &Library, groups: &[GroupId]) -> String {
    let p = &lib.program;
    let names: Vec<&str> = groups
        .iter()
        .filter_map(|g| p.group(*g))
        .map(|g| g.name.as_str())
        .collect();
    let feature_columns = p.columns(groups).len();
    let mut md = String::new();
    md.push_str("# Feature reference\n\n");
    md.push_str(
        "<!-- Generated from the doc strings of the `.jjf` sources by \
         `jjc schema --format markdown`: do not edit by hand. -->\n\n",
    );
    let profile = standard_profile(lib, groups, &names);
    let _ = writeln!(
        md,
        "The columns of the group{} {}{}, in the order `jjc run` writes them: {} identity \
         columns, then {feature_columns} feature columns, {} in all.",
        if names.len() == 1 { "" } else { "s" },
        quoted_list(&names),
        profile.map_or_else(String::new, |p| format!(
            " (the profile {}: {}, run by default)",
            p.name, p.doc
        )),
        IDENTITY_COLUMNS.len(),
        IDENTITY_COLUMNS.len() + feature_columns,
    );
    md.push('\n');
    if profile.is_some() {
        let _ = writeln!(
            md,
            "This page is `docs/features.md`. A test (`cargo test -p jjc-sema`) fails when it \
             is stale: after changing a feature of the standard library (`features/*.jjf`), \
             regenerate it from the repository root with\n\n```sh\n{REGENERATE_FEATURES_MD}\n```"
        );
        md.push('\n');
    }
    md.push_str("Types are column types: an optional value that is `none` at the end of a flow is written as its type's default (`0`, `0.0`, `false`, `\"\"`). `jjc explain FEATURE` shows a feature's definition.\n\n");

    md.push_str("## Identity columns\n\n");
    md.push_str(
        "Written by the engine before every group's columns; `.jjf` code reads them as \
         `flow.*` fields.\n\n",
    );
    md.push_str(TABLE_HEAD);
    for c in IDENTITY_COLUMNS {
        row(&mut md, c.name, &c.ty.to_string(), c.doc);
    }

    for gid in groups {
        let Some(g) = p.group(*gid) else { continue };
        let columns = p.columns(std::slice::from_ref(gid));
        let _ = writeln!(md, "\n## {}\n", g.name);
        let doc = one_line(&g.doc);
        if !doc.is_empty() {
            let stop = if doc.ends_with(['.', '!', '?']) {
                ""
            } else {
                "."
            };
            let _ = writeln!(md, "{}{stop}\n", escape(&doc));
        }
        let _ = writeln!(
            md,
            "Source: `{}`, {} column{}.\n",
            source_label(lib, g.file),
            columns.len(),
            if columns.len() == 1 { "" } else { "s" },
        );
        md.push_str(TABLE_HEAD);
        for (col, fid) in &columns {
            let doc = p.feature(*fid).map_or("", |f| f.doc.as_str());
            row(&mut md, &col.name, &col.ty.to_string(), doc);
        }
    }
    md
}

const TABLE_HEAD: &str = "| column | type | doc |\n|---|---|---|\n";

/// One table row; the doc is kept on one line with `|` escaped.
fn row(md: &mut String, name: &str, ty: &str, doc: &str) {
    let doc = escape(&one_line(doc)).replace('|', "\\|");
    let _ = writeln!(md, "| `{name}` | {ty} | {doc} |");
}

/// The text with every `<` that could start an HTML tag (`PROTO<n>`) written `&lt;`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        if tag {
            out.push_str("&lt;");
        } else {
            out.push(c);
        }
    }
    out
}

/// The text with every run of whitespace (newlines included) as one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `` `a`, `b` and `c` ``.
fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => "(none)".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The profile whose groups `groups` are, all from the standard library: then the page is
/// the standard library's reference, `docs/features.md`.
fn standard_profile(lib: &Library, groups: &[GroupId], names: &[&str]) -> Option<&'static Profile> {
    let embedded = groups.iter().all(|g| {
        lib.program
            .group(*g)
            .and_then(|g| lib.file(g.file))
            .is_some_and(|f| f.origin == FileOrigin::Embedded)
    });
    PROFILES
        .iter()
        .find(|p| embedded && !names.is_empty() && p.groups == names)
}

/// Where a group is written: `features/NAME.jjf` for the standard library, else the path
/// the file was named by.
fn source_label(lib: &Library, file: FileId) -> String {
    let name = lib.sources.get(file).map_or("?", |s| s.name.as_str());
    match lib.file(file).map(|f| &f.origin) {
        Some(FileOrigin::Embedded) => {
            let base = name.rsplit('/').next().unwrap_or(name);
            format!("features/{base}")
        }
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(lib: &Library) -> Vec<GroupId> {
        (0..lib.program.groups.len() as u32).map(GroupId).collect()
    }

    #[test]
    fn renders_identity_then_groups_with_escaped_docs() {
        let (lib, diags) = Library::from_texts(&[(
            "x.jjf",
            "features a \"Group a\" {\n    n: int = count()  \"packets | all\"\n    \
             s = seq(pkt.len, 2) \"first\n   lengths\"\n}\n\
             features b { m = sum(pkt.len) }",
        )]);
        assert!(!diags.has_errors(), "{diags:?}");
        let md = features_markdown(&lib, &groups(&lib));
        assert!(
            md.starts_with("# Feature reference\n\n<!-- Generated"),
            "{md}"
        );
        assert!(
            md.contains(
                "The columns of the groups `a` and `b`, in the order `jjc run` writes them: \
                 8 identity columns, then 4 feature columns, 12 in all."
            ),
            "{md}"
        );
        // Not the standard library's page: no word of docs/features.md.
        assert!(!md.contains("features.md"), "{md}");
        let identity = md.find("## Identity columns").unwrap();
        let a = md
            .find("\n## a\n\nGroup a.\n\nSource: `x.jjf`, 3 columns.\n")
            .unwrap();
        let b = md.find("\n## b\n\nSource: `x.jjf`, 1 column.\n").unwrap();
        assert!(identity < a && a < b);
        assert!(md.contains("| `src_ip` | ip | initiator's address |\n"));
        assert!(md.contains("| `n` | int | packets \\| all |\n"), "{md}");
        assert!(md.contains("| `s_0` | int | first lengths |\n| `s_1` | int | first lengths |\n"));
        assert!(md.contains("| `m` | int |  |\n"), "{md}");
        assert_eq!(
            escape("PROTO<n> (< 1024) a<b"),
            "PROTO&lt;n> (< 1024) a&lt;b"
        );
        assert!(md.ends_with(" |\n"));
    }

    #[test]
    fn the_standard_profile_is_the_docs_page() {
        let (lib, diags) = Library::load(&crate::Sources::default());
        assert!(!diags.has_errors());
        let sel = crate::select_groups(&lib, &crate::Selection::default()).unwrap();
        let md = features_markdown(&lib, &sel);
        assert!(
            md.contains(
                "The columns of the groups `flow_meta`, `timing`, `size`, `tcp` and `tls` \
                 (the profile JJ-CORE: JoyfulJay's core groups, run by default)"
            ),
            "{md}"
        );
        assert!(md.contains(REGENERATE_FEATURES_MD));
        assert!(md.contains("Source: `features/flow_meta.jjf`, "), "{md}");
        assert_eq!(md, features_markdown(&lib, &sel));

        // One group of it is not the profile.
        let one = &sel[..1];
        let md = features_markdown(&lib, one);
        assert!(
            md.contains("The columns of the group `flow_meta`, in the order"),
            "{md}"
        );
        assert!(!md.contains(REGENERATE_FEATURES_MD));
        assert_eq!(quoted_list(&[]), "(none)");
    }
}
