//! Diagnostics as data: what went wrong and where, independent of how it is shown.

use crate::codes::Code;
use crate::span::Span;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The program is rejected.
    Error,
    /// The program is accepted, but something looks wrong.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A span with the short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// What is pointed at.
    pub span: Span,
    /// What to say about it (may be empty).
    pub text: String,
}

/// One problem found in the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning (follows from the code).
    pub severity: Severity,
    /// The headline.
    pub message: String,
    /// Where the problem is; `None` only for problems with no source text (I/O).
    pub primary: Option<Label>,
    /// Other places that explain it (the first definition, the other operand…).
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    /// Extra facts.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of `code` at `span`, with a label under the span.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            primary: Some(Label {
                span,
                text: label.into(),
            }),
            ..Diagnostic::unlocated(code, message)
        }
    }

    /// A diagnostic with no place in any source (unreadable file, bad selection).
    pub fn unlocated(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: if code.is_warning() {
                Severity::Warning
            } else {
                Severity::Error
            },
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds a secondary span with its label.
    pub fn with_secondary(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// The primary span, if any.
    pub fn span(&self) -> Option<Span> {
        self.primary.as_ref().map(|l| l.span)
    }
}

/// A list of diagnostics, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// An empty list.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Adds all of another list.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// Whether any error is present.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Sorts by file and position, unlocated ones first; equal places keep their order.
    pub fn sort(&mut self) {
        self.0
            .sort_by_key(|d| d.span().map(|s| (s.file, s.start, s.end)));
    }

    /// The diagnostics.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use crate::span::FileId;

    #[test]
    fn severity_follows_code_and_sort_orders_by_place() {
        let f = FileId(0);
        let mut ds = Diagnostics::new();
        ds.push(Diagnostic::new(
            codes::UNUSED_LET,
            "b",
            Span::new(f, 9, 10),
            "",
        ));
        ds.push(Diagnostic::new(codes::SYNTAX, "a", Span::new(f, 2, 3), "here").with_help("h"));
        ds.push(Diagnostic::unlocated(codes::IO, "io"));
        assert_eq!(ds.error_count(), 2);
        assert_eq!(ds.warning_count(), 1);
        ds.sort();
        let order: Vec<&str> = ds.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(order, ["io", "a", "b"]);
        assert_eq!(ds.0[1].help.as_deref(), Some("h"));
    }
}
