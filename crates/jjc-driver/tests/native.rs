//! Native extractors mixed with `.jjf` groups.

use std::path::{Path, PathBuf};

use jjc_abi::{Column, ColumnType, FlowView, PacketView, Value};
use jjc_driver::{
    Backend, FeatureConfig, FeatureExtractor, FlowFeatures, Input, Pipeline, RunConfig,
    register_extractor,
};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sample.pcap")
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../features/examples/{name}.jjf"))
}

/// Packets per direction and the flow's packet count as the engine saw it.
struct Directions;
struct DirectionsFlow {
    fwd: i64,
    bwd: i64,
}

impl FeatureExtractor for Directions {
    fn columns(&self) -> Vec<Column> {
        vec![
            Column::new("native_fwd", ColumnType::Int),
            Column::new("native_bwd", ColumnType::Int),
            Column::new("native_total_agrees", ColumnType::Bool),
        ]
    }
    fn start(&self) -> Box<dyn FlowFeatures> {
        Box::new(DirectionsFlow { fwd: 0, bwd: 0 })
    }
}

impl FlowFeatures for DirectionsFlow {
    fn update(&mut self, pkt: &PacketView<'_>) {
        match pkt.dir {
            jjc_abi::Direction::Fwd => self.fwd += 1,
            jjc_abi::Direction::Bwd => self.bwd += 1,
        }
    }
    fn finish(&mut self, flow: &FlowView, out: &mut Vec<Value>) {
        out.extend([
            Value::Int(self.fwd),
            Value::Int(self.bwd),
            Value::Bool(self.fwd + self.bwd == flow.packet_count),
        ]);
    }
}

/// A native group whose column clashes with the seed's `my_packet_count`.
struct Clash;
impl FeatureExtractor for Clash {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("my_packet_count", ColumnType::Int)]
    }
    fn start(&self) -> Box<dyn FlowFeatures> {
        Box::new(DirectionsFlow { fwd: 0, bwd: 0 })
    }
}

fn config(groups: &[&str], backend: Backend) -> RunConfig {
    RunConfig {
        features: FeatureConfig {
            files: vec![example("my_features"), example("adv_timing")],
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..FeatureConfig::default()
        },
        backend,
        ..RunConfig::default()
    }
}

/// A generated capture of `packets` packets from `start_time` on, written in `dir`.
fn synth_capture(dir: &Path, name: &str, seed: u64, start_time: f64, packets: u64) -> Input {
    let path = dir.join(name);
    let synth = jjc_synth::SynthConfig {
        seed,
        start_time,
        target_packets: Some(packets),
        ..jjc_synth::SynthConfig::default()
    };
    let file = std::fs::File::create(&path).expect("a temporary file");
    jjc_synth::write_capture(&synth, file).expect("a synthetic capture");
    Input::File(path)
}

#[test]
fn native_groups_take_their_place_in_the_selection_order_under_both_backends() {
    register_extractor("directions", Directions);
    for backend in [Backend::Jit, Backend::Interp] {
        let t = Pipeline::new(config(
            &["my_features", "directions", "adv_timing"],
            backend,
        ))
        .unwrap()
        .process_pcap(sample())
        .unwrap();
        let names = t.column_names();
        let at = |n: &str| names.iter().position(|c| *c == n).unwrap();
        assert!(
            at("my_duration") < at("native_fwd") && at("native_total_agrees") < at("adv_iat_mean"),
            "{names:?}"
        );
        for r in &t.rows {
            assert_eq!(r[at("native_total_agrees")], Value::Bool(true));
            assert_eq!(
                r[at("my_packet_count")],
                match (&r[at("native_fwd")], &r[at("native_bwd")]) {
                    (Value::Int(a), Value::Int(b)) => Value::Int(a + b),
                    _ => panic!("ints expected"),
                }
            );
        }
    }
}

#[test]
fn a_native_group_alone() {
    register_extractor("directions", Directions);
    let t = Pipeline::new(config(&["directions"], Backend::Jit))
        .unwrap()
        .process_pcap(sample())
        .unwrap();
    assert_eq!(
        &t.column_names()[8..],
        ["native_fwd", "native_bwd", "native_total_agrees"]
    );
}

#[test]
fn a_native_column_clashing_with_a_jjf_feature_is_an_error() {
    register_extractor("clash", Clash);
    let e = Pipeline::new(config(&["my_features", "clash"], Backend::Interp))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("feature `my_packet_count`") && e.contains("defined twice"),
        "{e}"
    );
}

#[test]
fn native_groups_write_the_text_of_their_values() {
    // Text output goes from cells straight to the encoder; with a native group between
    // .jjf groups, the written CSV must be the text of the rows the library returns.
    register_extractor("directions", Directions);
    let dir = tempfile::tempdir().unwrap();
    for threads in [1, 2] {
        let p = Pipeline::new(RunConfig {
            threads,
            ..config(&["my_features", "directions", "adv_timing"], Backend::Jit)
        })
        .unwrap();
        let path = dir.path().join(format!("t{threads}.csv"));
        let caps = p.open(&[jjc_driver::Input::File(sample())]).unwrap();
        let mut w = jjc_output::TableWriter::create(
            jjc_output::Destination::File(path.clone()),
            jjc_output::Format::Csv,
            p.columns(false),
        )
        .unwrap();
        p.run(caps, &mut w, None).unwrap();
        w.finish().unwrap();
        let rows = p.process_pcap(sample()).unwrap().rows;
        let values_path = dir.path().join(format!("v{threads}.csv"));
        let mut v = jjc_output::TableWriter::create(
            jjc_output::Destination::File(values_path.clone()),
            jjc_output::Format::Csv,
            p.columns(false),
        )
        .unwrap();
        for r in &rows {
            v.write_row(r).unwrap();
        }
        v.finish().unwrap();
        assert!(rows.len() > 100);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(&values_path).unwrap(),
            "{threads} threads"
        );
    }
}

#[test]
fn a_kept_kernel_is_not_used_once_a_native_group_takes_its_names_place() {
    // A `.jjf` group, then a native one registered under its name: the second run must not
    // take the kernel the first one kept for the same names.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shadowed.jjf");
    std::fs::write(
        &file,
        "features shadowed \"a group a native one replaces\" {\n    \
         shadowed_packets: int = flow.packet_count  \"packets\"\n}\n",
    )
    .unwrap();
    let columns = || {
        let config = RunConfig {
            features: FeatureConfig {
                files: vec![file.clone()],
                groups: vec!["shadowed".into()],
                kernel_cache: Some(dir.path().join("kernels")),
                ..FeatureConfig::default()
            },
            ..RunConfig::default()
        };
        let t = Pipeline::new(config)
            .unwrap()
            .process_pcap(sample())
            .unwrap();
        t.column_names()[8..]
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(columns(), ["shadowed_packets"]);
    assert_eq!(columns(), ["shadowed_packets"], "the kept kernel");
    register_extractor("shadowed", Directions);
    assert_eq!(
        columns(),
        ["native_fwd", "native_bwd", "native_total_agrees"]
    );
}

/// A native group that gives text where it declared an integer, for the flows that start
/// after 1.75e9 s: a run fails at the first capture that has such flows.
struct LateTypo;
struct LateTypoFlow;

impl FeatureExtractor for LateTypo {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("late_typo", ColumnType::Int)]
    }
    fn start(&self) -> Box<dyn FlowFeatures> {
        Box::new(LateTypoFlow)
    }
}

impl FlowFeatures for LateTypoFlow {
    fn update(&mut self, _: &PacketView<'_>) {}
    fn finish(&mut self, flow: &FlowView, out: &mut Vec<Value>) {
        out.push(if flow.start_time > 1.75e9 {
            Value::Str("not an integer".into())
        } else {
            Value::Int(1)
        });
    }
}

/// Captures that run at once stop where one thread stops: at the failing capture, with its
/// error, after writing the rows of the captures before it and nothing after.
#[test]
fn a_failing_capture_stops_captures_run_at_once_where_one_thread_stops() {
    use jjc_output::{Destination, Format, TableWriter};

    register_extractor("late_typo", LateTypo);
    let dir = tempfile::tempdir().unwrap();
    let early = synth_capture(dir.path(), "early.pcap", 3, 1.7e9, 3000);
    let late = synth_capture(dir.path(), "late.pcap", 4, 1.8e9, 3000);
    let inputs = [early.clone(), early.clone(), late, early];
    let run = |threads| {
        let pipeline = Pipeline::new(RunConfig {
            threads,
            ..config(&["late_typo"], Backend::Jit)
        })
        .unwrap();
        let captures = pipeline.open(&inputs).unwrap();
        let columns = pipeline.columns(captures.has_capture_column());
        let path = dir.path().join("out.csv");
        let mut w = TableWriter::create(Destination::File(path), Format::Csv, columns).unwrap();
        let error = pipeline.run(captures, &mut w, None).unwrap_err();
        (error.to_string(), w.rows_written())
    };
    let (error, rows) = run(1);
    assert!(error.contains("late_typo"), "{error}");
    assert!(rows > 0, "the first two captures' rows are written");
    for threads in [2, 3] {
        assert_eq!(run(threads), (error.clone(), rows), "{threads} threads");
    }
}

/// A native group that panics on the flows of its second capture.
struct LatePanic;
struct LatePanicFlow;

impl FeatureExtractor for LatePanic {
    fn columns(&self) -> Vec<Column> {
        vec![Column::new("late_panic", ColumnType::Int)]
    }
    fn start(&self) -> Box<dyn FlowFeatures> {
        Box::new(LatePanicFlow)
    }
}

impl FlowFeatures for LatePanicFlow {
    fn update(&mut self, _: &PacketView<'_>) {}
    fn finish(&mut self, flow: &FlowView, out: &mut Vec<Value>) {
        assert!(flow.start_time < 1.75e9, "a bug in a native group");
        out.push(Value::Int(1));
    }
}

/// A capture whose thread dies (a native group's bug) ends a run of captures at once with an
/// error instead of a table missing that capture's rows, and no thread is left waiting.
#[test]
fn a_capture_thread_that_panics_fails_the_run() {
    register_extractor("late_panic", LatePanic);
    let dir = tempfile::tempdir().unwrap();
    let early = synth_capture(dir.path(), "early.pcap", 5, 1.7e9, 2000);
    let late = synth_capture(dir.path(), "late.pcap", 6, 1.8e9, 2000);
    // The calling thread runs captures too: the panicking one lands on it or on a started
    // thread, whichever takes it first.
    for at in 0..3 {
        let mut inputs = vec![early.clone(); 10];
        inputs[at] = late.clone();
        let pipeline = Pipeline::new(RunConfig {
            threads: 2,
            ..config(&["late_panic"], Backend::Jit)
        })
        .unwrap();
        let mut table = jjc_driver::Table::new(pipeline.columns(true));
        let error = pipeline
            .run(pipeline.open(&inputs).unwrap(), &mut table, None)
            .unwrap_err();
        assert!(
            error.to_string().contains("stopped unexpectedly"),
            "late capture at {at}: {error}"
        );
    }
}
