//! `jjc`: packet captures in, one row of features per flow out.

mod args;
mod lang;
mod lang_run;
mod progress;
mod run;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Flows allocate and free small per-flow buffers at a high rate; mimalloc's thread-local
/// size classes do that in a fraction of glibc malloc's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Info(a) => run::info(a),
        Command::Check(a) => lang::check(a),
        Command::Schema(a) => lang::schema(a),
        Command::Explain(a) => lang::explain(a),
        Command::List(a) => lang::list(a),
        Command::Test(a) => lang_run::test(a),
        Command::Dump(a) => lang_run::dump(a),
    };
    ExitCode::from(code)
}
