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
pub enum Command {
    /// Assemble flows from captures and write one row per flow.
    Run(RunArgs),
    /// Read and decode captures and describe them (no flows: the read+decode floor).
    Info(InfoArgs),
}

/// `jjc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Capture files or folders of captures; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,
    /// Write the table here (written to a temporary file and renamed when complete); stdout without it.
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
}

/// `jjc info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Capture files or folders of captures; `-` reads standard input.
    #[arg(required = true, value_name = "CAPTURE")]
    pub inputs: Vec<PathBuf>,
}
