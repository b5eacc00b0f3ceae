//! JJ-CORE against JoyfulJay's own output (`reference/core/`): every reference flow found and
//! every column equal, except where `docs/divergences.md` names the column for that capture
//! (jjc is right and JoyfulJay wrong there, with the reason written down). Both backends.

use std::collections::BTreeSet;

use jjc_driver::{Backend, RunConfig};
use jjc_flow::TcpEnd;
use jjc_tests::{
    captures, compare_reference, listed, oracle_config, run_to_csv, shared_dir, workspace_dir,
};

/// One row of the divergences table: a column and the captures it differs on.
struct Divergence {
    column: String,
    /// `None`: all captures.
    captures: Option<Vec<String>>,
}

/// Reads the table in `docs/divergences.md`: `| `column` | captures | reason |`.
fn divergences() -> Vec<Divergence> {
    let text =
        std::fs::read_to_string(workspace_dir().join("docs/divergences.md")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if cells.len() < 3 || !cells[0].starts_with('`') {
            continue;
        }
        let column = cells[0].trim_matches('`').to_string();
        let captures = if cells[1].eq_ignore_ascii_case("all captures") {
            None
        } else {
            Some(
                cells[1]
                    .split([',', ' '])
                    .map(|c| c.trim().trim_matches('`'))
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        };
        out.push(Divergence { column, captures });
    }
    out
}

fn allowed(divs: &[Divergence], capture: &str, column: &str) -> bool {
    divs.iter().any(|d| {
        d.column == column
            && d.captures
                .as_ref()
                .is_none_or(|c| c.iter().any(|x| x == capture))
    })
}

fn core_parity(backend: Backend) {
    let Some(shared) = shared_dir() else { return };
    let skip: Vec<String> = ["UNRELIABLE", "FRAGMENTED"]
        .iter()
        .flat_map(|l| listed(&shared, l))
        .collect();
    let divs = divergences();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let (mut compared, mut failures) = (0, Vec::new());
    for cap in captures(&shared) {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let reference = shared.join("reference/core").join(format!("{name}.csv"));
        if !reference.exists() || skip.contains(&name) {
            continue;
        }
        let out = tmp.path().join(format!("{name}.csv"));
        let config = RunConfig {
            backend,
            ..oracle_config(TcpEnd::Never)
        };
        if let Err(e) = run_to_csv(&cap, config, &out) {
            failures.push(format!("{name}: jjc failed: {e}"));
            continue;
        }
        compared += 1;
        let (ok, report) = compare_reference(&shared, &out, &reference, &["--all", "-v"]);
        if ok {
            continue;
        }
        let mut unexplained = BTreeSet::new();
        for line in report.lines() {
            if line.starts_with("missing flow") {
                unexplained.insert(line.to_string());
            } else if let Some(rest) = line.strip_prefix("columns missing in jjc output: ") {
                for c in rest.split(',').filter(|c| !allowed(&divs, &name, c)) {
                    unexplained.insert(format!("column {c} missing"));
                }
            } else if line.starts_with("differs") {
                // differs ('src', 'dst', 'sport', 'dport', 'proto') COLUMN jjc=… reference=…
                let column = line
                    .split(") ")
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .unwrap_or("");
                if !allowed(&divs, &name, column) {
                    unexplained.insert(line.to_string());
                }
            }
        }
        if !unexplained.is_empty() {
            let sample: Vec<String> = unexplained.iter().take(12).cloned().collect();
            failures.push(format!(
                "{name} ({} unexplained):\n  {}",
                unexplained.len(),
                sample.join("\n  ")
            ));
        }
    }
    assert!(
        compared >= 30,
        "only {compared} captures compared against core/"
    );
    assert!(
        failures.is_empty(),
        "{} captures differ from core/ ({backend}) beyond docs/divergences.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn jj_core_matches_joyfuljay_with_the_jit() {
    core_parity(Backend::Jit);
}

#[test]
fn jj_core_matches_joyfuljay_with_the_interpreter() {
    core_parity(Backend::Interp);
}
