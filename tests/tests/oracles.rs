//! Flow assembly against the parity oracles: tshark's flows and JoyfulJay's core-fin flows,
//! compared by the shared `compare_reference.py` script.

use jjc_flow::TcpEnd;
use jjc_tests::{captures, compare_reference, listed, oracle_config, run_to_csv, shared_dir};

const TSHARK_COLUMNS: &str =
    "end_time,vlan_id,total_packets,total_bytes,packets_fwd,packets_bwd,bytes_fwd,bytes_bwd";

/// Runs every capture that has a reference in `folder`, except the listed ones, and compares.
fn check_against(folder: &str, tcp_end: TcpEnd, skip_lists: &[&str], args: &[&str]) {
    let Some(shared) = shared_dir() else { return };
    let skip: Vec<String> = skip_lists.iter().flat_map(|l| listed(&shared, l)).collect();
    let tmp = tempfile::tempdir().expect("temporary folder");
    let (mut compared, mut failures) = (0, Vec::new());
    for cap in captures(&shared) {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let reference = shared
            .join("reference")
            .join(folder)
            .join(format!("{name}.csv"));
        if !reference.exists() || skip.contains(&name) {
            continue;
        }
        let out = tmp.path().join(format!("{name}.csv"));
        if let Err(e) = run_to_csv(&cap, oracle_config(tcp_end), &out) {
            failures.push(format!("{name}: jjc failed: {e}"));
            continue;
        }
        let (ok, report) = compare_reference(&shared, &out, &reference, args);
        compared += 1;
        if !ok {
            failures.push(format!("{name}: {report}"));
        }
    }
    assert!(
        compared >= 30,
        "only {compared} captures compared against {folder}/"
    );
    assert!(
        failures.is_empty(),
        "{} captures differ from {folder}/:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn flows_match_tshark() {
    check_against(
        "tshark",
        TcpEnd::Never,
        &["UNRELIABLE-TSHARK"],
        &["--any-protocol", "--strict-extra", "--cols", TSHARK_COLUMNS],
    );
}

#[test]
fn flows_match_joyfuljay_with_first_fin_rst() {
    check_against(
        "core-fin",
        TcpEnd::FirstFinRst,
        &["UNRELIABLE", "FRAGMENTED"],
        &[],
    );
}
