//! Presenting diagnostics: rustc-style text (annotate-snippets) and one JSON object each.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::{Value, json};

use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::SourceMap;
use crate::span::Span;

/// Text longer than this is cut in output (a 1 MB name must not print a 1 MB message).
const MAX_TEXT: usize = 300;

/// `text`, cut to [`MAX_TEXT`] characters with an ellipsis.
fn cut(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_TEXT) {
        None => std::borrow::Cow::Borrowed(text),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..i])),
    }
}

/// Clamps a span to its file's text and to character boundaries.
fn clamp(sources: &SourceMap, span: Span) -> std::ops::Range<usize> {
    let Some(f) = sources.get(span.file) else {
        return 0..0;
    };
    let len = f.text.len();
    let mut start = (span.start as usize).min(len);
    let mut end = (span.end as usize).clamp(start, len);
    while !f.text.is_char_boundary(start) {
        start -= 1;
    }
    while !f.text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// Renders one diagnostic the way rustc does; ANSI colours only if `color`.
pub fn render_human(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level.primary_title(cut(&d.message)).id(d.code.id);
    let mut labels: Vec<(&Label, bool)> = Vec::new();
    if let Some(p) = &d.primary {
        labels.push((p, true));
    }
    labels.extend(d.secondary.iter().map(|l| (l, false)));
    // One snippet per file, in order of first mention.
    let mut files = Vec::new();
    for (l, _) in &labels {
        if !files.contains(&l.span.file) {
            files.push(l.span.file);
        }
    }
    let mut group = Group::with_title(title);
    for file in files {
        let Some(source) = sources.get(file) else {
            continue;
        };
        let mut snippet = Snippet::source(source.text.as_str()).path(source.name.as_str());
        for (l, primary) in labels.iter().filter(|(l, _)| l.span.file == file) {
            let kind = if *primary {
                AnnotationKind::Primary
            } else {
                AnnotationKind::Context
            };
            snippet = snippet.annotation(kind.span(clamp(sources, l.span)).label(cut(&l.text)));
        }
        group = group.element(snippet);
    }
    for n in &d.notes {
        group = group.element(Level::NOTE.message(cut(n)));
    }
    if let Some(h) = &d.help {
        group = group.element(Level::HELP.message(cut(h)));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&[group])
}

fn place(sources: &SourceMap, span: Span) -> Value {
    let Some(f) = sources.get(span.file) else {
        return Value::Null;
    };
    let (line, column) = f.line_col(span.start as usize);
    let (end_line, end_column) = f.line_col(span.end as usize);
    json!({
        "file": f.name,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "span": { "start": span.start, "end": span.end },
    })
}

/// One JSON object (on one line) describing a diagnostic: file, 1-based line and
/// character column, byte span, code, severity, message, label, help, notes, secondary.
pub fn render_json(d: &Diagnostic, sources: &SourceMap) -> String {
    let mut obj = match d.primary.as_ref().map(|p| place(sources, p.span)) {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    for key in ["file", "line", "column", "end_line", "end_column", "span"] {
        obj.entry(key).or_insert(Value::Null);
    }
    obj.insert("code".into(), json!(d.code.id));
    obj.insert("severity".into(), json!(d.severity.as_str()));
    obj.insert("message".into(), json!(cut(&d.message)));
    obj.insert(
        "label".into(),
        json!(d.primary.as_ref().map(|p| cut(&p.text))),
    );
    obj.insert("help".into(), json!(d.help.as_deref().map(cut)));
    let notes: Vec<_> = d.notes.iter().map(|n| cut(n)).collect();
    obj.insert("notes".into(), json!(notes));
    let secondary: Vec<Value> = d
        .secondary
        .iter()
        .map(|l| {
            let mut v = place(sources, l.span);
            if let Value::Object(m) = &mut v {
                m.insert("label".into(), json!(cut(&l.text)));
            }
            v
        })
        .collect();
    obj.insert("secondary".into(), Value::Array(secondary));
    Value::Object(obj).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    fn sample() -> (SourceMap, Diagnostic) {
        let mut sm = SourceMap::new();
        let f = sm.add("x.jjf", "features g {\n  é = pkt.lenn\n}\n");
        // `pkt.lenn`: after "  é = " (6 characters, 7 bytes) on line 2.
        let start = 13 + 7;
        let d = Diagnostic::new(
            codes::UNKNOWN_PKT_FIELD,
            "unknown packet field `lenn`",
            Span::new(f, start, start + 8),
            "not a field of `pkt`",
        )
        .with_secondary(Span::new(f, 9, 10), "in this group")
        .with_help("did you mean `len`?");
        (sm, d)
    }

    #[test]
    fn human_form_has_code_place_label_and_help() {
        let (sm, d) = sample();
        let text = render_human(&d, &sm, false);
        assert!(
            text.starts_with("error[E0102]: unknown packet field `lenn`"),
            "{text}"
        );
        assert!(text.contains("x.jjf:2:7"), "{text}");
        assert!(text.contains("not a field of `pkt`"), "{text}");
        assert!(text.contains("help: did you mean `len`?"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour when not asked");
        assert!(render_human(&d, &sm, true).contains('\u{1b}'));
    }

    #[test]
    fn json_form_counts_columns_in_characters() {
        let (sm, d) = sample();
        let v: Value = serde_json::from_str(&render_json(&d, &sm)).unwrap();
        assert_eq!(v["file"], "x.jjf");
        assert_eq!(v["line"], 2);
        assert_eq!(v["column"], 7);
        assert_eq!(v["span"]["start"], 20);
        assert_eq!(v["code"], "E0102");
        assert_eq!(v["severity"], "error");
        assert_eq!(v["help"], "did you mean `len`?");
        assert_eq!(v["secondary"][0]["line"], 1);
    }

    #[test]
    fn unlocated_diagnostics_render_too() {
        let sm = SourceMap::new();
        let d = Diagnostic::unlocated(codes::IO, "cannot read `x`");
        assert!(render_human(&d, &sm, false).contains("error[E0901]: cannot read `x`"));
        let v: Value = serde_json::from_str(&render_json(&d, &sm)).unwrap();
        assert_eq!(v["file"], Value::Null);
    }
}
