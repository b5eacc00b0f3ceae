//! `jjc run` and `jjc info`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use jjc_driver::{
    Backend, ConfigFile, FeatureConfig, OpenCaptures, Pipeline, PipelineError, Progress, RunConfig,
    SortOrder, capture_info, check_output_is_not_an_input, expand_inputs, load_config_file,
};
use jjc_flow::{FlowConfig, TcpEnd};
use jjc_kernel::PercentileMode;
use jjc_output::{Destination, Format, TableWriter};

use crate::args::{InfoArgs, RunArgs};
use crate::progress::Bar;

/// Exit status of a run that failed on its input or output.
const EXIT_FAILURE: u8 = 1;
/// Exit status of a usage or configuration problem.
const EXIT_USAGE: u8 = 2;

/// Everything `jjc run` needs, flags merged over the config file.
struct Settings {
    config: RunConfig,
    output: Option<PathBuf>,
    format: Format,
    quiet: bool,
}

/// Merges flags over the config file over defaults; errors are usage problems.
fn settings(a: &RunArgs) -> Result<Settings, String> {
    let file = match &a.config {
        Some(p) => load_config_file(p).map_err(|e| e.to_string())?,
        None => ConfigFile::default(),
    };
    let tcp_end = match a.tcp_end.as_deref().or(file.tcp_end.as_deref()) {
        Some(s) => s.parse::<TcpEnd>()?,
        None => TcpEnd::default(),
    };
    let sort = match a.sort.as_deref().or(file.sort.as_deref()) {
        Some(s) => s.parse::<SortOrder>()?,
        None => SortOrder::default(),
    };
    // `-o -` is standard output, as `-` is standard input among the captures.
    let output = a
        .output
        .clone()
        .or(file.output)
        .filter(|p| p.as_os_str() != "-");
    let format = match a.format.as_deref().or(file.format.as_deref()) {
        Some(f) => f.parse::<Format>().map_err(|e| e.to_string())?,
        None => output
            .as_deref()
            .and_then(Format::from_extension)
            .unwrap_or(Format::Csv),
    };
    let defaults = FlowConfig::default();
    let flow = FlowConfig {
        idle_timeout: a
            .idle_timeout
            .or(file.idle_timeout)
            .unwrap_or(defaults.idle_timeout),
        active_timeout: a.active_timeout.or(file.active_timeout),
        tcp_end,
        tcp_grace: defaults.tcp_grace,
        max_flows: a.max_flows.or(file.max_flows),
    };
    flow.validate().map_err(|e| e.to_string())?;
    let mut files = file.files.clone().unwrap_or_default();
    files.extend(a.sources.files.iter().cloned());
    let mut features_dirs = file.features_dir.clone().unwrap_or_default();
    features_dirs.extend(a.sources.features_dir.iter().cloned());
    let groups = if a.selection.groups.is_empty() {
        file.features
            .as_ref()
            .map(|n| n.to_vec())
            .unwrap_or_default()
    } else {
        a.selection.groups.clone()
    };
    let backend = match a.backend.as_deref().or(file.backend.as_deref()) {
        Some(b) => b.parse::<Backend>()?,
        None => Backend::default(),
    };
    let percentiles = match a.percentiles.as_deref() {
        Some(p) => p.parse::<PercentileMode>().map_err(|e| e.to_string())?,
        None => file.percentiles.unwrap_or_default(),
    };
    let features = FeatureConfig {
        files,
        features_dirs,
        groups,
        profile: a.selection.profile.clone().or(file.profile.clone()),
        use_env: true,
        percentiles,
        kernel_cache: kernel_cache_dir(
            a.kernel_cache.as_deref().or(file.kernel_cache.as_deref()),
            std::env::var("JJC_KERNEL_CACHE").ok().as_deref(),
        ),
    };
    let config = RunConfig {
        flow,
        continuous: a.continuous || file.continuous.unwrap_or(false),
        strict: a.strict || file.strict.unwrap_or(false),
        sort,
        features,
        backend,
        threads: a.threads.or(file.threads).unwrap_or(0),
    };
    Ok(Settings {
        config,
        output,
        format,
        quiet: a.quiet || file.quiet.unwrap_or(false),
    })
}

/// The kernel cache's directory: `--kernel-cache` (or the config file's `kernel_cache`), else
/// `$JJC_KERNEL_CACHE`, else the user's cache directory; `off` (or an empty value) for none.
fn kernel_cache_dir(flag: Option<&str>, env: Option<&str>) -> Option<PathBuf> {
    match flag.or(env) {
        Some("off" | "") => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => jjc_jit::KernelCache::default_dir(),
    }
}

/// `jjc run`: returns the exit status.
pub fn run(a: RunArgs) -> u8 {
    let s = match settings(&a) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let started = Instant::now();
    match run_pipeline(&a, &s) {
        Ok(summary) => {
            for n in &summary.notes {
                eprintln!("note: {n}");
            }
            for d in &summary.damage {
                eprintln!("warning: {d}");
            }
            if !s.quiet {
                let dest = s
                    .output
                    .as_ref()
                    .map_or("stdout".to_string(), |p| p.display().to_string());
                eprintln!(
                    "jjc: {summary} → {dest} ({:.2} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            if s.config.strict && !summary.damage.is_empty() {
                eprintln!("error: damaged capture (--strict)");
                return EXIT_FAILURE;
            }
            0
        }
        // A reader that stopped reading (`jjc run … | head`) is not an error of the run.
        Err(PipelineError::Output(jjc_output::OutputError::Write { source, .. }))
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            0
        }
        Err(PipelineError::Features(diagnostics)) => {
            eprintln!("{diagnostics}");
            eprintln!("error: the feature groups do not compile; `jjc check` shows every problem");
            EXIT_FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                PipelineError::Config(_) | PipelineError::ConfigFile { .. } => EXIT_USAGE,
                _ => EXIT_FAILURE,
            }
        }
    }
}

fn run_pipeline(a: &RunArgs, s: &Settings) -> Result<jjc_driver::RunSummary, PipelineError> {
    let (inputs, notes) = expand_inputs(&a.inputs)?;
    if inputs.is_empty() {
        return Err(PipelineError::Input {
            path: a.inputs.first().cloned().unwrap_or_default(),
            reason: "no capture to read".into(),
        });
    }
    if let Some(output) = &s.output {
        check_output_is_not_an_input(&inputs, output)?;
    }
    // The captures open first, so that a second core can start on them while the features
    // load (`Pipeline::new_for`).
    let mut captures = OpenCaptures::open(&s.config, &inputs)?;
    let pipeline = Pipeline::new_for(s.config.clone(), &mut captures)?;
    let columns = pipeline.columns(captures.has_capture_column());
    let dest = s
        .output
        .clone()
        .map_or(Destination::Stdout, Destination::File);
    let mut writer = TableWriter::create(dest, s.format, columns)?;
    // Parquet encodes its columns on as many threads as the run may use.
    writer.set_threads(s.config.thread_count());
    let mut bar = Bar::for_terminal(s.quiet);
    let result = pipeline.run(
        captures,
        &mut writer,
        bar.as_mut().map(|b| b as &mut dyn Progress),
    );
    if let Some(b) = &bar {
        b.clear();
    }
    let mut summary = result?;
    writer.finish()?;
    summary.notes.splice(0..0, notes);
    Ok(summary)
}

/// `jjc info`: returns the exit status.
pub fn info(a: InfoArgs) -> u8 {
    let inputs = match expand_inputs(&a.inputs) {
        Ok((inputs, notes)) => {
            for n in notes {
                eprintln!("note: {n}");
            }
            inputs
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let mut status = 0;
    for input in &inputs {
        match capture_info(input) {
            Ok(i) => {
                // A reader that stopped reading (`jjc info … | head`) is not an error.
                let _ = writeln!(std::io::stdout().lock(), "{i}");
            }
            Err(e) => {
                eprintln!("error: {e}");
                status = EXIT_FAILURE;
            }
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use jjc_kernel::RelativeError;

    use super::*;
    use crate::args::{Cli, Command};

    fn percentiles(args: &[&str]) -> Result<PercentileMode, String> {
        let mut all = vec!["jjc", "run"];
        all.extend_from_slice(args);
        all.push("x.pcap");
        match Cli::try_parse_from(all) {
            Ok(Cli {
                command: Command::Run(a),
            }) => settings(&a).map(|s| s.config.features.percentiles),
            Ok(other) => Err(format!("{other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn the_percentiles_flag_overrides_the_config_file() {
        let sketch = |a: f64| RelativeError::new(a).map(PercentileMode::Sketch);
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("p.yaml");
        std::fs::write(&cfg, "percentiles: sketch=0.02\n").unwrap();
        let cfg = cfg.to_str().unwrap();
        assert_eq!(percentiles(&[]), Ok(PercentileMode::Exact));
        assert_eq!(
            percentiles(&["--percentiles", "sketch"]).ok(),
            sketch(0.01).ok()
        );
        assert_eq!(percentiles(&["--config", cfg]).ok(), sketch(0.02).ok());
        assert_eq!(
            percentiles(&["--config", cfg, "--percentiles", "exact"]),
            Ok(PercentileMode::Exact)
        );
        assert_eq!(
            percentiles(&["--config", cfg, "--percentiles=sketch=0.05"]).ok(),
            sketch(0.05).ok()
        );
        assert!(
            percentiles(&["--percentiles", "sketch=x"]).is_err_and(|e| e.contains("not a number"))
        );
    }
}
