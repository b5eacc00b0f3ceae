//! The interpreter and the JIT agree on every shared capture: the same table, cell by cell.

use jjc_abi::Value;
use jjc_driver::{Backend, RunConfig};
use jjc_tests::{captures, run_to_table, seed_config, shared_dir};

/// Floats equal to 1e-12 relative, or both NaN; everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        _ => a == b,
    }
}

fn agree(config: impl Fn(Backend) -> RunConfig) {
    let Some(shared) = shared_dir() else { return };
    let mut failures = Vec::new();
    for cap in captures(&shared) {
        let name = cap.file_name().unwrap().to_string_lossy().into_owned();
        let (interp, jit) = match (
            run_to_table(&cap, config(Backend::Interp)),
            run_to_table(&cap, config(Backend::Jit)),
        ) {
            (Ok(i), Ok(j)) => (i, j),
            (i, j) => {
                failures.push(format!("{name}: interp {:?} / jit {:?}", i.err(), j.err()));
                continue;
            }
        };
        assert_eq!(interp.columns, jit.columns);
        if interp.rows.len() != jit.rows.len() {
            failures.push(format!(
                "{name}: {} rows vs {}",
                interp.rows.len(),
                jit.rows.len()
            ));
            continue;
        }
        for (r, (a, b)) in interp.rows.iter().zip(&jit.rows).enumerate() {
            for (c, (x, y)) in a.iter().zip(b).enumerate() {
                if !same(x, y) {
                    failures.push(format!(
                        "{name} row {r} {}: interp {x:?} jit {y:?}",
                        interp.columns[c].name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the backends disagree:\n{}",
        failures.join("\n")
    );
}

#[test]
fn backends_agree_on_the_seed_examples_over_every_capture() {
    agree(seed_config);
}

#[test]
fn backends_agree_on_the_standard_library_over_every_capture() {
    agree(|backend| RunConfig {
        backend,
        ..RunConfig::default()
    });
}

/// The same table, row for row, whatever the thread count — with and without `--max-flows`
/// evictions and short idle timeouts (so flows end at many checkpoints).
#[test]
fn thread_count_does_not_change_the_output() {
    let Some(shared) = shared_dir() else { return };
    let mut failures = Vec::new();
    let big = jjc_tests::workspace_dir().join("tests/data/sample.pcap");
    let mut inputs = captures(&shared);
    inputs.push(big);
    for cap in inputs {
        for (idle, max_flows) in [(60.0, None), (0.5, Some(7))] {
            let config = |threads| RunConfig {
                threads,
                flow: jjc_flow::FlowConfig {
                    idle_timeout: idle,
                    max_flows,
                    ..jjc_flow::FlowConfig::default()
                },
                ..RunConfig::default()
            };
            let one = run_to_table(&cap, config(1));
            for threads in [2, 3] {
                let many = run_to_table(&cap, config(threads));
                if one != many {
                    failures.push(format!(
                        "{} with {threads} threads (idle {idle}, max flows {max_flows:?})",
                        cap.display()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the output depends on the thread count:\n{}",
        failures.join("\n")
    );
}

/// A run over many captures, each its own (with the capture column), writes the same bytes
/// and the same summary on one thread as on several, where the captures run at once: CSV
/// and Parquet, in flow-end order and sorted by start.
#[test]
fn a_run_over_many_captures_writes_the_same_table_on_any_thread_count() {
    use jjc_driver::{Input, Pipeline, SortOrder};
    use jjc_output::{Destination, Format, TableWriter};

    let Some(shared) = shared_dir() else { return };
    let mut inputs: Vec<Input> = captures(&shared).into_iter().map(Input::File).collect();
    let sample = jjc_tests::workspace_dir().join("tests/data/sample.pcap");
    inputs.insert(inputs.len() / 2, Input::File(sample));
    let dir = tempfile::tempdir().unwrap();
    let run = |threads, sort, format| {
        let pipeline = Pipeline::new(RunConfig {
            threads,
            sort,
            ..RunConfig::default()
        })
        .unwrap();
        let captures = pipeline.open(&inputs).unwrap();
        let columns = pipeline.columns(captures.has_capture_column());
        let path = dir.path().join(format!("{threads}.table"));
        let mut w = TableWriter::create(Destination::File(path.clone()), format, columns).unwrap();
        let summary = pipeline.run(captures, &mut w, None).unwrap();
        w.finish().unwrap();
        (std::fs::read(&path).unwrap(), summary)
    };
    for (sort, format) in [
        (SortOrder::FlowEnd, Format::Csv),
        (SortOrder::FlowEnd, Format::Parquet),
        (SortOrder::Start, Format::Csv),
    ] {
        let (one, summary) = run(1, sort, format);
        assert!(
            summary.flows > 1000 && !summary.damage.is_empty(),
            "{summary}"
        );
        for threads in [2, 3] {
            let (many, many_summary) = run(threads, sort, format);
            assert!(
                one == many,
                "{format} sorted by {sort:?} differs on {threads} threads"
            );
            assert_eq!(summary, many_summary, "{format} on {threads} threads");
        }
    }
}
