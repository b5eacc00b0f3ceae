//! The `.jjf` surface: the pest grammar (`grammar/jjf.pest`), the AST with byte spans,
//! and diagnostics as data together with their two presentations.
//!
//! ```text
//! source text ──► nesting::scan ──► pest (JjfParser) ──► Builder ──► ast::File
//!                      │                  │                 │
//!                      └──────────── Diagnostics ◄──────────┘ ──► render_human / render_json
//! ```
//!
//! **Architecture invariant:** parsing never panics and never recurses without bound:
//! bracket nesting is checked before pest runs, and the depth of the rule tree and of
//! every expression is checked while the AST is built ([`MAX_NESTING`]).
//!
//! ```
//! use jjc_syntax::{parse, FileId};
//! let parsed = parse(FileId(0), "features g { n = count() }");
//! assert!(parsed.diagnostics.is_empty());
//! assert_eq!(parsed.file.unwrap().items.len(), 1);
//! ```

#![warn(missing_docs)]

// pest_derive without `std` (which would turn on pest's stack probe at every rule: the
// parser runs on its own thread with a stack sized for the nesting limits) names `alloc`.
extern crate alloc;

pub mod ast;
pub mod ast_codec;
pub mod binary;
pub mod codes;
mod diagnostic;
pub mod literal;
mod nesting;
mod parser;
mod render;
mod source;
mod span;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Diagnostics, Label, Severity};
pub use nesting::MAX_NESTING;
pub use parser::{Parsed, parse, parse_all};
pub use render::{render_human, render_json};
pub use source::{SourceFile, SourceMap};
pub use span::{FileId, Span, Spanned};
