//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// jjc turns packet captures (pcap, pcapng) into per-flow feature tables.
#[derive(Debug, Parser)]
#[command(name = "jjc", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum Command {
    /// Assemble flows from captures and write one row per flow.
    Run(RunArgs),
    /// Read and decode captures and describe them (no flows: the read+decode floor).
    Info(InfoArgs),
    /// Check .jjf feature files: every diagnostic, then a one-line summary.
    Check(CheckArgs),
    /// Print the output columns of the selected groups: name, type, group, doc (or Markdown).
    Schema(SchemaArgs),
    /// Show a feature's definition, doc, type and source location.
    Explain(ExplainArgs),
    /// List every feature group that can be selected, with where it comes from.
    List(ListArgs),
    /// Run the `test` blocks of .jjf files under both backends.
    Test(TestArgs),
    /// Print a stage of the compiler for a program: its syntax tree, kernel IR or Cranelift IR.
    Dump(DumpArgs),
}

/// `jjc test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// .jjf files or folders of them [default: the standard library].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where other groups come from.
    #[command(flatten)]
    pub sources: FeatureSources,
}

/// Which stage `jjc dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// The syntax tree of each file, with byte spans.
    Ast,
    /// The kernel IR: state layout, `update` and `finish`.
    Ir,
    /// The Cranelift IR the JIT compiles.
    Clif,
}

/// `jjc dump`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("stage").required(true).args(["ast", "ir", "clif"])))]
pub struct DumpArgs {
    /// Print the syntax tree.
    #[arg(long)]
    pub ast: bool,
    /// Print the kernel IR.
    #[arg(long)]
    pub ir: bool,
    /// Print the Cranelift IR.
    #[arg(long)]
    pub clif: bool,
    /// Which feature groups.
    #[command(flatten)]
    pub selection: GroupSelection,
    /// Where groups come from.
    #[command(flatten)]
    pub sources: FeatureSources,
}

impl DumpArgs {
    /// The stage asked for.
    pub fn stage(&self) -> Stage {
        if self.ast {
            Stage::Ast
        } else if self.ir {
            Stage::Ir
        } else {
            Stage::Clif
        }
    }
}

/// Where feature groups come from (besides the embedded standard library,
/// `JJ_FEATURES_PATH` and `$XDG_CONFIG_HOME/jjc/features`).
#[derive(Debug, Args)]
pub struct FeatureSources {
    /// A .jjf feature file whose groups are loaded (one per flag; repeat the flag for more).
    #[arg(short = 'f', long = "file", value_name = "FILE.jjf")]
    pub files: Vec<PathBuf>,
    /// A folder whose .jjf files are searched for groups (repeatable).
    #[arg(long, value_name = "DIR")]
    pub features_dir: Vec<PathBuf>,
}

/// Which feature groups run: `-g` and `--profile`.
#[derive(Debug, Args)]
pub struct GroupSelection {
    /// Feature groups (comma-separated or repeated) [default: JJ-CORE and the -f files' groups].
    #[arg(
        short = 'g',
        long = "features",
        value_name = "GROUPS",
        value_delimiter = ','
    )]
    pub groups: Vec<String>,
    /// Add a profile's groups (JJ-CORE).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
}

/// How `jjc check` prints diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// rustc-style text on stderr (colour only on a terminal).
    Human,
    /// One JSON object per diagnostic on stdout.
    Json,
}

/// `jjc check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// .jjf files or folders of them.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Diagnostic output format.
    #[arg(long, value_enum, default_value = "human")]
    pub message_format: MessageFormat,
    /// Where other groups come from.
    #[command(flatten)]
    pub sources: FeatureSources,
}

/// `jjc schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which feature groups.
    #[command(flatten)]
    pub selection: GroupSelection,
    /// Output format: an aligned table, or the Markdown reference of docs/features.md.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SchemaFormat,
    /// Where groups come from.
    #[command(flatten)]
    pub sources: FeatureSources,
}

/// How `jjc schema` prints the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaFormat {
    /// Aligned text: name, type, group, doc.
    Table,
    /// Markdown: a section per group with a table of its columns (docs/features.md).
    Markdown,
}

/// `jjc explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The feature (`name` or `group.name`).
    pub feature: String,
    /// Where groups come from.
    #[command(flatten)]
    pub sources: FeatureSources,
}

/// `jjc list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where groups come from.
    #[command(flatten)]
    pub sources: FeatureSources,
}

/// `jjc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Capture files or folders of captures; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,
    /// Write the table here (written to a temporary file and renamed when complete); stdout without it or with `-`.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Output format: csv, jsonl or parquet [default: from the output's extension, else csv].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Read run options from a YAML file (keys: the long flags in snake_case); flags override it.
    #[arg(long, value_name = "FILE.yaml")]
    pub config: Option<PathBuf>,
    /// A flow idle for more than this many seconds ends [default: 60].
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<f64>,
    /// A flow older than this many seconds ends [default: off].
    #[arg(long, value_name = "SECONDS")]
    pub active_timeout: Option<f64>,
    /// How TCP flags end a flow: graceful, first-fin-rst (JoyfulJay's rule) or never [default: graceful].
    #[arg(long, value_name = "RULE")]
    pub tcp_end: Option<String>,
    /// At most this many flows at once; the least recently used is ended to make room.
    #[arg(long, value_name = "N")]
    pub max_flows: Option<usize>,
    /// Treat several inputs as one capture, in the order given (rotated files).
    #[arg(long)]
    pub continuous: bool,
    /// A damaged capture is an error (exit 1), not a warning.
    #[arg(long)]
    pub strict: bool,
    /// Row order: end (the order flows end, streaming) or start [default: end].
    #[arg(long, value_name = "ORDER")]
    pub sort: Option<String>,
    /// No summary on stderr (warnings and errors still show).
    #[arg(short, long)]
    pub quiet: bool,
    /// Which feature groups.
    #[command(flatten)]
    pub selection: GroupSelection,
    /// Where groups come from besides the standard library.
    #[command(flatten)]
    pub sources: FeatureSources,
    /// What runs the compiled features: jit (native code) or interp (the reference interpreter) [default: jit].
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,
    /// Threads per capture; the output is the same for any number [default: one per core; one for a capture under 1 MiB].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Medians and percentiles: exact (every value kept) or sketch[=ALPHA] (exact up to 128 values, then within relative error ALPHA from 0.001 to 0.1, default 0.01, in bounded memory: at most 33 KB per value stream at 0.01) [default: exact].
    #[arg(long, value_name = "MODE")]
    pub percentiles: Option<String>,
    /// Where compiled kernels are kept, so that later runs of the same features link their native code instead of compiling it: a directory, or `off` [default: $JJC_KERNEL_CACHE, else $XDG_CACHE_HOME/jjc/kernels or ~/.cache/jjc/kernels; `docs/config.md`].
    #[arg(long, value_name = "DIR|off")]
    pub kernel_cache: Option<String>,
}

/// `jjc info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Capture files or folders of captures; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,
}
