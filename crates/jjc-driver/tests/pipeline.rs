//! The pipeline as a library, on the committed sample capture and generated ones.

use std::path::{Path, PathBuf};

use jjc_abi::Value;
use jjc_driver::{Input, OpenCaptures, Pipeline, RunConfig, RunSummary, SortOrder, Table};
use jjc_flow::{FlowConfig, TcpEnd};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sample.pcap")
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

fn float(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        other => panic!("not a float: {other:?}"),
    }
}

fn ints(t: &Table, col: &str) -> Vec<i64> {
    t.column(col).unwrap().map(int).collect()
}

#[test]
fn process_pcap_returns_one_consistent_row_per_flow() {
    let t = Pipeline::new(RunConfig::default())
        .unwrap()
        .process_pcap(sample())
        .unwrap();
    let names = t.column_names();
    assert_eq!(
        names[..8],
        [
            "src_ip",
            "dst_ip",
            "src_port",
            "dst_port",
            "protocol",
            "vlan_id",
            "start_time",
            "end_time"
        ]
    );
    assert_eq!(names.len(), 8 + 144, "the default run is JJ-CORE");
    assert!(t.rows.len() > 100, "{} flows", t.rows.len());
    let total: i64 = ints(&t, "total_packets").iter().sum();
    assert_eq!(
        total, 2000,
        "every packet of the sample is in exactly one flow"
    );
    for r in &t.rows {
        let get = |c: &str| int(&r[t.column_index(c).unwrap()]);
        assert_eq!(
            get("total_packets"),
            get("packets_fwd") + get("packets_bwd")
        );
        assert_eq!(get("total_bytes"), get("bytes_fwd") + get("bytes_bwd"));
        assert!(
            get("packets_fwd") >= 1,
            "the initiator sent the first packet"
        );
        let at = |c: &str| t.column_index(c).unwrap();
        let (s, e, d) = (float(&r[6]), float(&r[7]), float(&r[at("duration")]));
        assert_eq!(d, e - s);
    }
    assert!(
        ints(&t, "vlan_id").iter().any(|&v| v != 0),
        "the sample has VLAN-tagged flows"
    );
}

#[test]
fn idle_timeout_splits_the_sample_flows_with_long_gaps() {
    let run = |idle: f64| {
        let cfg = RunConfig {
            flow: FlowConfig {
                idle_timeout: idle,
                ..FlowConfig::default()
            },
            ..RunConfig::default()
        };
        Pipeline::new(cfg)
            .unwrap()
            .process_pcap(sample())
            .unwrap()
            .rows
            .len()
    };
    assert!(
        run(60.0) > run(1e9),
        "the sample has a gap over 60 s inside a flow"
    );
    assert!(run(0.5) > run(60.0));
}

#[test]
fn sort_start_orders_by_start_time_with_the_same_rows() {
    let by_end = Pipeline::new(RunConfig::default())
        .unwrap()
        .process_pcap(sample())
        .unwrap();
    let cfg = RunConfig {
        sort: SortOrder::Start,
        ..RunConfig::default()
    };
    let by_start = Pipeline::new(cfg).unwrap().process_pcap(sample()).unwrap();
    let starts: Vec<f64> = by_start.column("start_time").unwrap().map(float).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    let mut a = by_end.rows.clone();
    let mut b = by_start.rows.clone();
    let key = |r: &Vec<Value>| format!("{r:?}");
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a, b);
}

#[test]
fn rows_come_in_flow_end_order() {
    // Idle flows end at last packet + timeout; flows open at the end of input come last.
    let idle = 0.5;
    let flow = FlowConfig {
        idle_timeout: idle,
        tcp_end: TcpEnd::Never,
        ..FlowConfig::default()
    };
    let p = Pipeline::new(RunConfig {
        flow,
        ..RunConfig::default()
    })
    .unwrap();
    let t = p.process_pcap(sample()).unwrap();
    assert_eq!(
        t,
        p.process_pcap(sample()).unwrap(),
        "the same capture gives the same table"
    );
    let ends: Vec<f64> = t.column("end_time").unwrap().map(float).collect();
    let clock = ends.iter().copied().fold(f64::MIN, f64::max);
    let idle_ended = ends.iter().take_while(|&&e| clock - e > idle).count();
    assert!(idle_ended > 100, "most sample flows go idle before the end");
    assert!(
        ends[..idle_ended].windows(2).all(|w| w[0] <= w[1]),
        "in the order they went idle"
    );
    assert!(
        ends[idle_ended..].iter().all(|&e| clock - e <= idle),
        "then the flows still open"
    );
}

#[test]
fn a_generated_capture_with_many_flows_runs_under_max_flows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("churn.pcap");
    let synth = jjc_synth::SynthConfig {
        concurrent_flows: Some(5000),
        ..jjc_synth::SynthConfig::default()
    };
    let summary = jjc_synth::write_capture(&synth, std::fs::File::create(&path).unwrap()).unwrap();
    let unbounded = Pipeline::new(RunConfig::default())
        .unwrap()
        .process_pcap(&path)
        .unwrap();
    let cfg = RunConfig {
        flow: FlowConfig {
            max_flows: Some(1000),
            ..FlowConfig::default()
        },
        ..RunConfig::default()
    };
    let bounded = Pipeline::new(cfg).unwrap().process_pcap(&path).unwrap();
    let sum = |t: &Table| ints(t, "total_packets").iter().sum::<i64>();
    assert_eq!(sum(&unbounded) as u64, summary.packets);
    assert_eq!(
        sum(&bounded),
        sum(&unbounded),
        "evicted flows are written, not dropped"
    );
    assert!(
        bounded.rows.len() > unbounded.rows.len(),
        "evictions split flows whose answer came late"
    );
}

#[test]
fn several_inputs_are_separate_captures_unless_continuous() {
    let p = Pipeline::new(RunConfig::default()).unwrap();
    let inputs = [Input::File(sample()), Input::File(sample())];
    let mut two = Table::new(Vec::new());
    let caps = p.open(&inputs).unwrap();
    assert!(caps.has_capture_column());
    let s = p.run(caps, &mut two, None).unwrap();
    assert_eq!(s.captures, 2);
    let one = p.process_pcap(sample()).unwrap();
    assert_eq!(two.rows.len(), 2 * one.rows.len());
    assert!(
        two.rows
            .iter()
            .all(|r| r[8] == Value::Str("sample.pcap".into()))
    );

    // As one capture, with no timeout or TCP end, the second copy's packets join the first's flows.
    let flow = FlowConfig {
        idle_timeout: 1e9,
        tcp_end: TcpEnd::Never,
        ..FlowConfig::default()
    };
    let cont = Pipeline::new(RunConfig {
        continuous: true,
        flow,
        ..RunConfig::default()
    })
    .unwrap();
    let caps = cont.open(&inputs).unwrap();
    assert!(!caps.has_capture_column());
    let mut joined = Table::new(cont.columns(false));
    cont.run(caps, &mut joined, None).unwrap();
    let whole = Pipeline::new(RunConfig {
        flow: cont.config().flow.clone(),
        ..RunConfig::default()
    })
    .unwrap()
    .process_pcap(sample())
    .unwrap();
    assert_eq!(joined.rows.len(), whole.rows.len());
    assert_eq!(ints(&joined, "total_packets").iter().sum::<i64>(), 4000);
}

/// The table a run writes as text, on `threads` threads.
fn written(p: &Pipeline, inputs: &[Input], format: jjc_output::Format, path: &Path) -> Vec<u8> {
    let caps = p.open(inputs).unwrap();
    let columns = p.columns(caps.has_capture_column());
    let mut w = jjc_output::TableWriter::create(
        jjc_output::Destination::File(path.to_path_buf()),
        format,
        columns,
    )
    .unwrap();
    p.run(caps, &mut w, None).unwrap();
    w.finish().unwrap();
    std::fs::read(path).unwrap()
}

#[test]
fn text_written_from_cells_is_the_text_of_the_values() {
    // Text rows are formatted straight from the kernel's cells; the same rows as values,
    // written one by one, must give the same bytes, on one thread and on several, with the
    // capture column too.
    let dir = tempfile::tempdir().unwrap();
    let inputs = [Input::File(sample()), Input::File(sample())];
    for threads in [1, 2] {
        let p = Pipeline::new(RunConfig {
            threads,
            ..RunConfig::default()
        })
        .unwrap();
        for format in [jjc_output::Format::Csv, jjc_output::Format::JsonLines] {
            let from_cells = written(&p, &inputs, format, &dir.path().join("cells"));
            let mut values = Table::new(Vec::new());
            p.run(p.open(&inputs).unwrap(), &mut values, None).unwrap();
            let path = dir.path().join("values");
            let mut w = jjc_output::TableWriter::create(
                jjc_output::Destination::File(path.clone()),
                format,
                p.columns(true),
            )
            .unwrap();
            for row in &values.rows {
                w.write_row(row).unwrap();
            }
            w.finish().unwrap();
            assert!(values.rows.len() > 100);
            assert_eq!(
                from_cells,
                std::fs::read(&path).unwrap(),
                "{format} on {threads} threads"
            );
        }
    }
}

/// What a progress display was told.
#[derive(Debug, Default, PartialEq)]
struct Told {
    /// Each capture started, its size, and the bytes read as told after it started.
    captures: Vec<(String, Option<u64>, Vec<u64>)>,
}

impl jjc_driver::Progress for Told {
    fn start_capture(&mut self, name: &str, total_bytes: Option<u64>) {
        self.captures
            .push((name.to_string(), total_bytes, Vec::new()));
    }

    fn advance(&mut self, bytes: u64) {
        if let Some((_, _, read)) = self.captures.last_mut() {
            read.push(bytes);
        }
    }
}

/// Captures run at once show their progress one capture at a time, in input order, as one
/// thread shows it: each from its start, never backwards, to its end.
#[test]
fn captures_run_at_once_show_their_progress_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for seed in 0..5u64 {
        let path = dir.path().join(format!("c{seed}.pcap"));
        let synth = match seed {
            // Progress reports inside it (one every 65,536 records), and small enough to run
            // beside the others (short packets: 70,000 of them in about 10 MB).
            1 => jjc_synth::SynthConfig {
                concurrent_flows: Some(35_000),
                ..jjc_synth::SynthConfig::default()
            },
            _ => jjc_synth::SynthConfig {
                seed,
                target_packets: Some(500),
                ..jjc_synth::SynthConfig::default()
            },
        };
        jjc_synth::write_capture(&synth, std::fs::File::create(&path).unwrap()).unwrap();
        inputs.push(Input::File(path));
    }
    let told = |threads| {
        let p = Pipeline::new(RunConfig {
            threads,
            ..RunConfig::default()
        })
        .unwrap();
        let mut table = Table::new(p.columns(true));
        let mut told = Told::default();
        p.run(p.open(&inputs).unwrap(), &mut table, Some(&mut told))
            .unwrap();
        told
    };
    let one = told(1);
    assert_eq!(one.captures.len(), inputs.len());
    for threads in [2, 3] {
        let many = told(threads);
        assert_eq!(many.captures.len(), inputs.len(), "{threads} threads");
        for ((name, total, read), (one_name, one_total, one_read)) in
            many.captures.iter().zip(&one.captures)
        {
            assert_eq!((name, total), (one_name, one_total));
            assert!(read.is_sorted(), "{name}: {read:?}");
            assert_eq!(read.last(), one_read.last(), "{name} ends where it ends");
            assert_eq!(read.last().copied(), *total, "{name} is read whole");
        }
        let inside = many.captures[1]
            .2
            .iter()
            .filter(|&&r| r > 0 && Some(r) != one.captures[1].1);
        assert!(inside.count() > 0, "a report inside the capture: {many:?}");
    }
}

/// The rows and summary of a run of the default features over `path` on `threads` threads.
fn rows_and_summary(path: &Path, threads: usize) -> (Vec<Vec<Value>>, RunSummary) {
    let p = Pipeline::new(RunConfig {
        threads,
        ..RunConfig::default()
    })
    .unwrap();
    let mut table = Table::new(p.columns(false));
    let summary = p
        .run(
            p.open(&[Input::File(path.to_path_buf())]).unwrap(),
            &mut table,
            None,
        )
        .unwrap();
    (table.rows, summary)
}

/// Captures opened before the pipeline (`Pipeline::new_for`, which makes the first segments
/// while the features load) give one thread's rows and summary on two and three threads.
#[test]
fn a_pipeline_made_for_opened_captures_runs_them_as_one_thread_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.pcap");
    let synth = jjc_synth::SynthConfig {
        target_packets: Some(20_000),
        ..jjc_synth::SynthConfig::default()
    };
    jjc_synth::write_capture(&synth, std::fs::File::create(&path).unwrap()).unwrap();
    let (rows, summary) = rows_and_summary(&path, 1);
    for threads in [2, 3] {
        let config = RunConfig {
            threads,
            ..RunConfig::default()
        };
        let mut captures = OpenCaptures::open(&config, &[Input::File(path.clone())]).unwrap();
        let p = Pipeline::new_for(config, &mut captures).unwrap();
        let mut table = Table::new(p.columns(captures.has_capture_column()));
        let theirs = p.run(captures, &mut table, None).unwrap();
        assert_eq!(table.rows, rows, "{threads} threads");
        assert_eq!(theirs.packets, summary.packets, "{threads} threads");
        assert_eq!(theirs.flows, summary.flows, "{threads} threads");
    }
}

/// Offsets of the records of a little-endian classic pcap.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        offsets.push(at);
        let caplen = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    offsets
}

#[test]
fn threads_read_on_from_what_the_reader_reports_or_repairs_as_one_thread_does() {
    // On two threads a classic pcap is decoded once, in 1 MB segments; a record the reader
    // reports (damage) or repairs (a time fraction to carry) is left to each thread's
    // reader, which reads on from there. Rows and the summary are one thread's.
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.pcap");
    let synth = jjc_synth::SynthConfig {
        seed: 11,
        target_bytes: Some(3 << 20),
        ..jjc_synth::SynthConfig::default()
    };
    jjc_synth::write_capture(&synth, std::fs::File::create(&clean).unwrap()).unwrap();
    let bytes = std::fs::read(&clean).unwrap();
    let offsets = record_offsets(&bytes);
    let past = |at: usize| *offsets.iter().find(|&&o| o > at).unwrap();
    let mut carried = bytes.clone();
    let at = past(3 << 19);
    carried[at + 4..at + 8].copy_from_slice(&1_500_000u32.to_le_bytes());
    let mut over_snaplen = bytes.clone();
    let at = past(5 << 19);
    over_snaplen[at + 8..at + 12].copy_from_slice(&300_000u32.to_le_bytes());
    let truncated = bytes[..bytes.len() - 10].to_vec();
    for (name, capture) in [
        ("carried", carried),
        ("over-snaplen", over_snaplen),
        ("truncated", truncated),
    ] {
        let path = dir.path().join(format!("{name}.pcap"));
        std::fs::write(&path, capture).unwrap();
        let (one, one_summary) = rows_and_summary(&path, 1);
        let (two, two_summary) = rows_and_summary(&path, 2);
        assert!(
            !one_summary.damage.is_empty() || !one_summary.notes.is_empty(),
            "{name}: the reader reports it"
        );
        assert!(one.len() > 100, "{name}: a real table");
        assert_eq!(one_summary, two_summary, "{name}");
        assert!(one == two, "{name}: the rows differ");
    }
}

/// A little-endian pcapng block: type, total length, body padded to 4 bytes, total length.
fn ng_block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len().next_multiple_of(4)) as u32;
    let mut out = block_type.to_le_bytes().to_vec();
    out.extend(total.to_le_bytes());
    out.extend(body);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend(total.to_le_bytes());
    out
}

/// A section header block and an Ethernet interface (microseconds).
fn ng_section() -> Vec<u8> {
    let shb = [
        &0x1a2b_3c4d_u32.to_le_bytes()[..],
        &[1, 0, 0, 0],
        &[0xff; 8],
    ]
    .concat();
    [
        ng_block(0x0a0d_0d0a, &shb),
        ng_block(1, &[1, 0, 0, 0, 0, 0, 4, 0]),
    ]
    .concat()
}

/// Offsets of the blocks of a little-endian pcapng.
fn block_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        offsets.push(at);
        at += u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    offsets
}

#[test]
fn threads_read_on_from_a_pcapng_s_new_section_interface_or_other_block_as_one_thread_does() {
    // On two threads a pcapng's enhanced packet blocks are decoded once, in 1 MB segments;
    // a block that changes what the blocks after it mean (a new section or interface) or
    // that the reader counts (a simple packet, statistics) is left to each thread's reader,
    // which reads on from there, sharing the records by the leader's ring.
    let dir = tempfile::tempdir().unwrap();
    let synth = jjc_synth::SynthConfig {
        seed: 12,
        target_bytes: Some(3 << 20),
        pcapng: true,
        ..jjc_synth::SynthConfig::default()
    };
    let mut bytes = Vec::new();
    jjc_synth::write_capture(&synth, &mut bytes).unwrap();
    let blocks = block_offsets(&bytes);
    // A block in the middle: an enhanced packet block (the first two are the header's).
    let middle = blocks[blocks.len() / 2];
    let with = |at: usize, extra: Vec<u8>| [&bytes[..at], &extra, &bytes[at..]].concat();
    let simple = {
        let caplen = u32::from_le_bytes(bytes[middle + 20..middle + 24].try_into().unwrap());
        let mut body = caplen.to_le_bytes().to_vec();
        body.extend(&bytes[middle + 28..middle + 28 + caplen as usize]);
        ng_block(3, &body)
    };
    for (name, capture) in [
        (
            "a new interface",
            with(middle, ng_block(1, &[1, 0, 0, 0, 0, 0, 1, 0])),
        ),
        ("a new section", with(middle, ng_section())),
        ("a simple packet", with(middle, simple)),
        (
            "statistics at the end",
            with(bytes.len(), ng_block(5, &[0; 12])),
        ),
    ] {
        let path = dir.path().join("capture.pcapng");
        std::fs::write(&path, capture).unwrap();
        let (one, one_summary) = rows_and_summary(&path, 1);
        let (two, two_summary) = rows_and_summary(&path, 2);
        assert!(one.len() > 100, "{name}: a real table");
        assert_eq!(one_summary, two_summary, "{name}");
        assert!(one == two, "{name}: the rows differ");
    }
}
