//! Checking `.jjf` programs.
//!
//! ```text
//! Sources ──► load (embedded std, -f, dirs, env) ──► jjc_syntax::parse ──► check ──► Program (HIR)
//!                                                                    │
//!                                                              Diagnostics ──► cmd_check / schema / explain / list
//! ```
//!
//! [`Library::load`] finds and parses every source of groups and checks them together
//! into one typed [`Program`] (the embedded standard library is parsed when jjc is built:
//! `build.rs` stores its trees with `jjc_syntax::ast_codec`, and a run decodes them); [`select_groups`] decides which groups run;
//! [`commands`] holds the library side of `jjc check|schema|explain|list`;
//! [`features_markdown`] renders the feature reference (`docs/features.md`).

#![warn(missing_docs)]

pub mod builtins;
mod check;
pub mod commands;
pub mod hir;
mod library;
mod pretty;
mod reference;
mod select;
mod suggest;
pub mod types;

pub use commands::{MessageFormat, SchemaFormat, cmd_check, cmd_explain, cmd_list, cmd_schema};
pub use hir::Program;
pub use library::{FileOrigin, Gathered, Library, LoadedFile, Sources};
pub use pretty::pretty_program;
pub use reference::{REGENERATE_FEATURES_MD, features_markdown};
pub use select::{Selection, select_groups};
