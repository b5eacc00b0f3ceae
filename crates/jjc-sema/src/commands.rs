//! The library side of `jjc check`, `schema`, `explain` and `list`.
//!
//! Each returns the process exit status: 0 clean (warnings allowed), 1 errors in the
//! sources or the selection, 2 usage or I/O problems.

use std::io::Write;
use std::path::PathBuf;

use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, Diagnostics, render_human, render_json};

use crate::builtins::{IDENTITY_COLUMNS, PROFILES};
use crate::hir::{FeatureId, GroupId};
use crate::library::{FileOrigin, Library, Sources};
use crate::reference::features_markdown;
use crate::select::{Selection, select_groups};
use crate::suggest;

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFormat {
    /// rustc-style text to the error stream, ANSI colours if `color`.
    Human {
        /// Whether to use colours (the CLI sets this only on a terminal).
        color: bool,
    },
    /// One JSON object per line, to the output stream.
    Json,
}

/// Writes diagnostics; returns 2 if any is an I/O problem, 1 if any is an error, else 0.
fn emit(
    lib: &Library,
    diags: &Diagnostics,
    fmt: MessageFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    for d in diags.iter() {
        let _ = match fmt {
            MessageFormat::Human { color } => {
                writeln!(err, "{}", render_human(d, &lib.sources, color))
            }
            MessageFormat::Json => writeln!(out, "{}", render_json(d, &lib.sources)),
        };
    }
    status(diags)
}

fn status(diags: &Diagnostics) -> i32 {
    if diags.iter().any(|d| d.code == codes::IO) {
        2
    } else if diags.has_errors() {
        1
    } else {
        0
    }
}

/// `jjc check PATH…`: checks the files (folders: every `.jjf` inside, recursively)
/// together with the library, prints every diagnostic, then a one-line summary to `err`.
pub fn cmd_check(
    paths: &[PathBuf],
    sources: &Sources,
    fmt: MessageFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let (lib, mut diags) = Library::load_with(sources, paths);
    let checked: Vec<_> = lib
        .files
        .iter()
        .filter(|f| matches!(f.origin, FileOrigin::Checked | FileOrigin::File))
        .map(|f| f.id)
        .collect();
    let groups: Vec<GroupId> = lib
        .program
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| checked.contains(&g.file))
        .map(|(i, _)| GroupId(i as u32))
        .collect();
    // The checked groups would run together with the default profile.
    diags.extend(lib.default_conflicts());
    diags.sort();
    let features: usize = groups
        .iter()
        .filter_map(|g| lib.program.group(*g))
        .map(|g| g.features.len())
        .sum();
    let code = emit(&lib, &diags, fmt, out, err);
    let _ = writeln!(
        err,
        "checked {} file{}: {} group{}, {} feature{}, {} error{}, {} warning{}",
        checked.len(),
        plural(checked.len()),
        groups.len(),
        plural(groups.len()),
        features,
        plural(features),
        diags.error_count(),
        plural(diags.error_count()),
        diags.warning_count(),
        plural(diags.warning_count()),
    );
    code
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Loads the library; on errors prints them and returns the exit status.
fn load_clean(sources: &Sources, err: &mut dyn Write) -> Result<Library, i32> {
    let (lib, diags) = Library::load(sources);
    if diags.has_errors() {
        let mut sink = std::io::sink();
        return Err(emit(
            &lib,
            &diags,
            MessageFormat::Human { color: false },
            &mut sink,
            err,
        ));
    }
    Ok(lib)
}

/// Prints rows as aligned columns (the last column is not padded).
fn table(out: &mut dyn Write, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// How `jjc schema` prints the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaFormat {
    /// Aligned text: name, type, group, doc.
    #[default]
    Table,
    /// The Markdown feature reference of [`features_markdown`] (`docs/features.md`).
    Markdown,
}

/// `jjc schema [-g GROUPS] [--profile P] [-f FILE]… [--format F]`: the output columns in
/// order, with type, group and doc.
pub fn cmd_schema(
    sources: &Sources,
    groups: &[String],
    profile: Option<&str>,
    format: SchemaFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let lib = match load_clean(sources, err) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let sel = Selection {
        groups: groups.to_vec(),
        profile: profile.map(str::to_string),
    };
    let selected = match select_groups(&lib, &sel) {
        Ok(s) => s,
        Err(diags) => {
            let mut sink = std::io::sink();
            return emit(
                &lib,
                &diags,
                MessageFormat::Human { color: false },
                &mut sink,
                err,
            );
        }
    };
    if format == SchemaFormat::Markdown {
        let _ = out.write_all(features_markdown(&lib, &selected).as_bytes());
        return 0;
    }
    let mut rows = vec![vec![
        "name".into(),
        "type".into(),
        "group".into(),
        "doc".into(),
    ]];
    for c in IDENTITY_COLUMNS {
        rows.push(vec![
            c.name.into(),
            c.ty.to_string(),
            "(identity)".into(),
            c.doc.into(),
        ]);
    }
    for (col, fid) in lib.program.columns(&selected) {
        let f = lib.program.feature(fid);
        let group = f
            .and_then(|f| lib.program.group(f.group))
            .map_or(String::new(), |g| g.name.clone());
        rows.push(vec![
            col.name,
            col.ty.to_string(),
            group,
            f.map_or(String::new(), |f| f.doc.clone()),
        ]);
    }
    table(out, &rows);
    0
}

/// `jjc explain FEATURE` (or `GROUP.FEATURE`): its definition, doc, type and location.
pub fn cmd_explain(
    sources: &Sources,
    feature: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let lib = match load_clean(sources, err) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let p = &lib.program;
    let (group, name) = match feature.split_once('.') {
        Some((g, f)) => (Some(g), f),
        None => (None, feature),
    };
    let found: Vec<FeatureId> = (0..p.features.len())
        .map(|i| FeatureId(i as u32))
        .filter(|id| {
            p.feature(*id).is_some_and(|f| {
                f.name == name
                    && group.is_none_or(|g| p.group(f.group).is_some_and(|x| x.name == g))
            })
        })
        .collect();
    if found.is_empty() {
        let mut d =
            Diagnostic::unlocated(codes::UNKNOWN_NAME, format!("no feature named `{feature}`"));
        d = match suggest::help(name, p.features.iter().map(|f| f.name.as_str())) {
            Some(h) => d.with_help(h),
            None => d.with_help("`jjc schema` lists the features of the selected groups"),
        };
        let _ = writeln!(err, "{}", render_human(&d, &lib.sources, false));
        return 1;
    }
    for id in found {
        let Some(f) = p.feature(id) else { continue };
        let group = p.group(f.group).map_or("?", |g| g.name.as_str());
        let (file, line, col) = lib
            .sources
            .get(f.name_span.file)
            .map_or(("?".into(), 0, 0), |s| {
                let (l, c) = s.line_col(f.name_span.start as usize);
                (s.name.clone(), l, c)
            });
        let _ = writeln!(
            out,
            "{name} (group {group}, {})",
            lib.describe_origin(f.name_span.file)
        );
        let _ = writeln!(
            out,
            "  type:    {}",
            f.columns().first().map_or("?".into(), |c| c.ty.to_string())
        );
        if f.ty.optional {
            let _ = writeln!(
                out,
                "           (none becomes the type's default: 0, 0.0, false or \"\")"
            );
        }
        let cols = f.columns();
        if cols.len() > 1 {
            let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
            let _ = writeln!(out, "  columns: {}", names.join(", "));
        }
        let _ = writeln!(
            out,
            "  doc:     {}",
            if f.doc.is_empty() { "(none)" } else { &f.doc }
        );
        let _ = writeln!(out, "  at:      {file}:{line}:{col}");
        let _ = writeln!(out, "  source:  {}", lib.sources.slice(f.span).trim());
    }
    0
}

/// `jjc list`: every selectable group (where from, feature count, doc) and the profiles.
pub fn cmd_list(sources: &Sources, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let lib = match load_clean(sources, err) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut rows = vec![vec![
        "group".into(),
        "from".into(),
        "features".into(),
        "doc".into(),
    ]];
    for g in &lib.program.groups {
        rows.push(vec![
            g.name.clone(),
            lib.describe_origin(g.file),
            g.features.len().to_string(),
            g.doc.clone(),
        ]);
    }
    table(out, &rows);
    let _ = writeln!(out);
    let mut rows = vec![vec!["profile".into(), "groups".into(), "doc".into()]];
    for p in PROFILES {
        let groups: Vec<String> = p
            .groups
            .iter()
            .map(|g| {
                if lib.program.group_by_name(g).is_some() {
                    g.to_string()
                } else {
                    format!("{g} (not available)")
                }
            })
            .collect();
        rows.push(vec![p.name.into(), groups.join(", "), p.doc.into()]);
    }
    table(out, &rows);
    0
}
