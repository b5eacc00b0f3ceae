//! The language commands: `jjc check`, `schema`, `explain`, `list`.

use std::io::{IsTerminal, Write};

use jjc_sema::Sources;

use crate::args::{
    CheckArgs, ExplainArgs, FeatureSources, ListArgs, MessageFormat, SchemaArgs, SchemaFormat,
};

impl FeatureSources {
    /// The sources of groups, with the environment's (`JJ_FEATURES_PATH`, XDG) included.
    pub(crate) fn to_sources(&self) -> Sources {
        Sources {
            files: self.files.clone(),
            features_dirs: self.features_dir.clone(),
            use_env: true,
        }
    }
}

/// Runs a command that writes to stdout and stderr, and turns its status into an exit code.
fn with_streams(f: impl FnOnce(&mut dyn Write, &mut dyn Write) -> i32) -> u8 {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let status = f(&mut out, &mut err);
    let _ = out.flush();
    u8::try_from(status).unwrap_or(2)
}

/// `jjc check`.
pub fn check(a: CheckArgs) -> u8 {
    let fmt = match a.message_format {
        MessageFormat::Human => jjc_sema::MessageFormat::Human {
            color: std::io::stderr().is_terminal(),
        },
        MessageFormat::Json => jjc_sema::MessageFormat::Json,
    };
    let sources = a.sources.to_sources();
    with_streams(|out, err| jjc_sema::cmd_check(&a.paths, &sources, fmt, out, err))
}

/// `jjc schema`.
pub fn schema(a: SchemaArgs) -> u8 {
    let sources = a.sources.to_sources();
    let format = match a.format {
        SchemaFormat::Table => jjc_sema::SchemaFormat::Table,
        SchemaFormat::Markdown => jjc_sema::SchemaFormat::Markdown,
    };
    with_streams(|out, err| {
        jjc_sema::cmd_schema(
            &sources,
            &a.selection.groups,
            a.selection.profile.as_deref(),
            format,
            out,
            err,
        )
    })
}

/// `jjc explain`.
pub fn explain(a: ExplainArgs) -> u8 {
    let sources = a.sources.to_sources();
    with_streams(|out, err| jjc_sema::cmd_explain(&sources, &a.feature, out, err))
}

/// `jjc list`.
pub fn list(a: ListArgs) -> u8 {
    let sources = a.sources.to_sources();
    with_streams(|out, err| jjc_sema::cmd_list(&sources, out, err))
}
