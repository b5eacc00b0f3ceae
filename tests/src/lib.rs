//! Helpers for the integration tests in `tests/tests/`: finding the shared captures and
//! reference tables, running jjc over a capture, and calling the reference comparison script.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jjc_driver::{Backend, FeatureConfig, Input, Pipeline, RunConfig, Table};
use jjc_flow::{FlowConfig, TcpEnd};
use jjc_output::{Destination, Format, TableWriter};

/// The shared folder (`$JJ_SHARED`, else `../shared` beside the workspace). `None` with a
/// printed notice when it is missing and `CI` is unset; a panic when `CI` is set, because CI
/// must never pass by skipping.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("JJ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    if dir.join("captures").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the shared folder is missing at {} (set JJ_SHARED); CI must not skip these tests",
        dir.display()
    );
    eprintln!(
        "notice: shared folder not found at {}; skipping (set JJ_SHARED)",
        dir.display()
    );
    None
}

/// Capture file names listed in a reference list file (first tab-separated field per line).
pub fn listed(shared: &Path, list: &str) -> Vec<String> {
    std::fs::read_to_string(shared.join("reference").join(list))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(['\t', ' ']).next())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The capture files of the shared folder, sorted by name.
pub fn captures(shared: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared.join("captures"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file() && p.extension().is_some_and(|e| e != "md"));
    v.sort();
    v
}

/// A flow configuration with no idle timeout to speak of and the given TCP end rule, as the
/// reference tables were made.
pub fn oracle_config(tcp_end: TcpEnd) -> RunConfig {
    RunConfig {
        flow: FlowConfig {
            idle_timeout: 1e9,
            tcp_end,
            ..FlowConfig::default()
        },
        ..RunConfig::default()
    }
}

/// The workspace's top folder.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The seed guide's four example groups, from `features/examples/`, on `backend`.
pub fn seed_config(backend: Backend) -> RunConfig {
    let dir = workspace_dir().join("features/examples");
    let names = [
        "my_features",
        "payload_patterns",
        "adv_timing",
        "game_traffic",
    ];
    RunConfig {
        features: FeatureConfig {
            files: names.iter().map(|n| dir.join(format!("{n}.jjf"))).collect(),
            groups: names.iter().map(|n| n.to_string()).collect(),
            ..FeatureConfig::default()
        },
        backend,
        ..oracle_config(TcpEnd::Never)
    }
}

/// Runs jjc's pipeline over one capture into an in-memory table.
pub fn run_to_table(capture: &Path, config: RunConfig) -> Result<Table, String> {
    Pipeline::new(config)
        .map_err(|e| e.to_string())?
        .process_pcap(capture)
        .map_err(|e| e.to_string())
}

/// Runs jjc's pipeline over one capture and writes the CSV table to `out`.
pub fn run_to_csv(capture: &Path, config: RunConfig, out: &Path) -> Result<(), String> {
    let pipeline = Pipeline::new(config).map_err(|e| e.to_string())?;
    let captures = pipeline
        .open(&[Input::File(capture.to_path_buf())])
        .map_err(|e| e.to_string())?;
    let columns = pipeline.columns(captures.has_capture_column());
    let mut w = TableWriter::create(Destination::File(out.to_path_buf()), Format::Csv, columns)
        .map_err(|e| e.to_string())?;
    pipeline
        .run(captures, &mut w, None)
        .map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())
}

/// Runs `compare_reference.py JJC REFERENCE ARGS…`; returns whether it passed and its output.
pub fn compare_reference(
    shared: &Path,
    jjc_csv: &Path,
    reference: &Path,
    args: &[&str],
) -> (bool, String) {
    let out = Command::new("python3")
        .arg(shared.join("tools/compare_reference.py"))
        .arg(jjc_csv)
        .arg(reference)
        .args(args)
        .output();
    match out {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, format!("cannot run python3: {e}")),
    }
}
