//! `jjc-bench`: times the stages of a run on one capture, in one process, so the figures are
//! ratios against baselines measured alongside them.
//!
//! ```text
//! jjc-bench [--capture PATH | --size 300M] [--seed N] [--repeat N]
//! jjc-bench floor CAPTURE        # the external floor alone, as a process (for whole-process timing)
//! jjc-bench split CAPTURE N DIR  # the capture cut into N captures by records (DIR/part-00.pcap, …)
//! jjc-bench time RESULT CMD ARG… # runs CMD; writes "SECONDS PEAK_RSS_KIB" to RESULT
//! jjc-bench roundtrip            # a cache line's round trip between two cores, in ns
//! ```
//! Rows: the read+decode floor, the flow table alone, the seed guide's features written by
//! hand in Rust, and the same features compiled from `features/examples/*.jjf` and run by the
//! interpreter and by the JIT, then the standard library (JIT).

mod external_floor;
mod hand_seed;
mod roundtrip;
mod split;
mod timed;

use std::path::{Path, PathBuf};
use std::time::Instant;

use jjc_abi::Value;
use jjc_capture::CaptureReader;
use jjc_decode::{DecodeConfig, Decoder};
use jjc_driver::{Backend, FeatureConfig, Input, Pipeline, PipelineError, RowSink, RunConfig};
use jjc_flow::{FlowConfig, FlowHandler, FlowRecord, FlowTable, NoFeatures};

use hand_seed::HandSeed;

/// The allocator the `jjc` binary uses, so in-process stages cost what they cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Counts rows and drops them.
#[derive(Default)]
struct NullSink {
    rows: u64,
}

impl RowSink for NullSink {
    fn write_row(&mut self, row: &[Value]) -> Result<(), PipelineError> {
        self.rows += row.len().min(1) as u64;
        Ok(())
    }
}

struct Args {
    capture: Option<PathBuf>,
    size: u64,
    seed: u64,
    repeat: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        capture: None,
        size: 300 << 20,
        seed: 1,
        repeat: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--capture" => a.capture = Some(PathBuf::from(value()?)),
            "--size" => a.size = parse_size(&value()?)?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--repeat" => a.repeat = value()?.parse().map_err(|e| format!("--repeat: {e}"))?,
            other => {
                return Err(format!(
                    "unknown argument {other}; see the doc comment of jjc-bench"
                ));
            }
        }
    }
    Ok(a)
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mul) = match s.as_bytes().last() {
        Some(b'K') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mul)
        .map_err(|e| format!("--size {s}: {e}"))
}

/// The bench capture: given, or generated once under `bench-out/`.
fn capture(a: &Args) -> Result<PathBuf, String> {
    if let Some(p) = &a.capture {
        return Ok(p.clone());
    }
    let dir = Path::new("bench-out");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("bench-{}-{}.pcap", a.size, a.seed));
    if !path.exists() {
        let cfg = jjc_synth::SynthConfig {
            seed: a.seed,
            target_bytes: Some(a.size),
            ..jjc_synth::SynthConfig::default()
        };
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        jjc_synth::write_capture(&cfg, std::io::BufWriter::new(file)).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &path).map_err(|e| e.to_string())?;
    }
    Ok(path)
}

/// Drops `path` from the page cache and reads it back in sequence, so that every run starts
/// from the same cache state as `scripts/bench.sh` does (see `docs/performance.md`, "The
/// page cache": how a cached file was last brought in moves the floor by up to 40%).
fn normalize_cache(path: &Path) {
    let dropped = std::process::Command::new("dd")
        .arg(format!("if={}", path.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()
        .is_ok_and(|s| s.success());
    if !dropped {
        eprintln!(
            "jjc-bench: warning: could not drop {} from the page cache",
            path.display()
        );
    }
    let read_back =
        std::fs::File::open(path).and_then(|mut f| std::io::copy(&mut f, &mut std::io::sink()));
    if let Err(e) = read_back {
        eprintln!("jjc-bench: warning: reading {} back: {e}", path.display());
    }
}

/// Reads and decodes every packet: the floor.
fn floor(path: &Path) -> u64 {
    let mut reader = CaptureReader::open(path).expect("the bench capture opens");
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut packets = 0u64;
    while let Ok(Some(rec)) = reader.next_record() {
        decoder.decode(rec.link_type, rec.ts, rec.data, rec.orig_len, &mut |p| {
            packets += u64::from(p.len > 0);
        });
    }
    packets
}

/// Reads, decodes and assembles flows with handler `H`, finishing each flow with `finish`.
fn flows<H: FlowHandler>(
    path: &Path,
    handler: H,
    mut finish: impl FnMut(&H, &H::State, &FlowRecord, &mut Vec<Value>),
) -> u64 {
    let mut reader = CaptureReader::open(path).expect("the bench capture opens");
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut table = FlowTable::new(FlowConfig::default(), handler).expect("default flow config");
    let mut ended = Vec::new();
    let mut row = Vec::new();
    let mut rows = 0u64;
    let mut drain = |table: &mut FlowTable<H>, ended: &mut Vec<_>, rows: &mut u64| {
        table.drain_ended(ended);
        for f in ended.drain(..) {
            let f: jjc_flow::EndedFlow<H::State> = f;
            row.clear();
            finish(table.handler(), &f.state, &f.record, &mut row);
            *rows += 1;
        }
    };
    let mut n = 0u64;
    while let Ok(Some(rec)) = reader.next_record() {
        decoder.decode(
            rec.link_type,
            rec.ts,
            rec.data,
            rec.orig_len,
            &mut |mut p| table.process(&mut p),
        );
        n += 1;
        if n.is_multiple_of(4096) {
            table.sweep();
            drain(&mut table, &mut ended, &mut rows);
        }
    }
    table.end_all();
    drain(&mut table, &mut ended, &mut rows);
    rows
}

fn seed_features(backend: Backend) -> RunConfig {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../features/examples");
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
        ..RunConfig::default()
    }
}

/// Runs a compiled pipeline (compiling it is timed separately).
fn pipeline(path: &Path, p: &Pipeline) -> u64 {
    let caps = p
        .open(&[Input::File(path.to_path_buf())])
        .expect("the bench capture opens");
    let mut sink = NullSink::default();
    p.run(caps, &mut sink, None).expect("the run completes");
    sink.rows
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let command = argv.next();
    if command.as_deref() == Some("split") {
        let (Some(capture), Some(parts), Some(dir)) = (argv.next(), argv.next(), argv.next())
        else {
            eprintln!("jjc-bench split: name a capture, a number of parts and a folder");
            std::process::exit(2);
        };
        let Ok(parts) = parts.parse() else {
            eprintln!("jjc-bench split: {parts} is not a number of parts");
            std::process::exit(2);
        };
        match split::split(Path::new(&capture), parts, Path::new(&dir)) {
            Ok(written) => {
                for (path, records) in written {
                    println!("{}: {records} records", path.display());
                }
            }
            Err(e) => {
                eprintln!("jjc-bench split: {capture}: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if command.as_deref() == Some("time") {
        let (Some(result), Some(program)) = (argv.next(), argv.next()) else {
            eprintln!("jjc-bench time: name a result file and a command");
            std::process::exit(2);
        };
        let args: Vec<String> = argv.collect();
        let timed = match timed::run(&program, &args) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("jjc-bench time: {program}: {e}");
                std::process::exit(1);
            }
        };
        let line = format!("{:.6} {}\n", timed.seconds, timed.max_rss_kib);
        if let Err(e) = std::fs::write(&result, line) {
            eprintln!("jjc-bench time: {result}: {e}");
            std::process::exit(1);
        }
        std::process::exit(if timed.success { 0 } else { 1 });
    }
    if command.as_deref() == Some("roundtrip") {
        // With one core the two threads take turns, and there is no trip between cores.
        if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            println!("{:.0}", roundtrip::round_trip_ns(20_000, 5));
        } else {
            println!("-");
        }
        return;
    }
    if command.as_deref() == Some("floor") {
        let Some(path) = argv.next() else {
            eprintln!("jjc-bench floor: name a capture");
            std::process::exit(2);
        };
        match external_floor::read_and_decode(Path::new(&path)) {
            Ok((packets, sum)) => println!("packets: {packets} (checksum {sum})"),
            Err(e) => {
                eprintln!("jjc-bench floor: {path}: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("jjc-bench: {e}");
            std::process::exit(2);
        }
    };
    let path = match capture(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("jjc-bench: cannot make the capture: {e}");
            std::process::exit(1);
        }
    };
    normalize_cache(&path);
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let packets = floor(&path);
    println!(
        "capture: {} ({} bytes, {} packets); best of {} runs",
        path.display(),
        bytes,
        packets,
        args.repeat
    );
    let compile = |config: RunConfig| {
        let t = Instant::now();
        let p = Pipeline::new(config).expect("the features compile");
        (p, t.elapsed().as_secs_f64())
    };
    let (seed_interp, _) = compile(seed_features(Backend::Interp));
    let (seed_jit, seed_compile) = compile(seed_features(Backend::Jit));
    let (core_jit, core_compile) = compile(RunConfig::default());
    println!(
        "compile (load, check, lower, JIT): seed features {:.1} ms, standard library {:.1} ms",
        seed_compile * 1e3,
        core_compile * 1e3
    );
    println!(
        "kernel state per flow: seed features {} bytes, standard library {} bytes (plus growable buffers)",
        seed_jit.features().kernel().state_slots() * 8,
        core_jit.features().kernel().state_slots() * 8
    );
    type Job<'a> = (&'a str, Box<dyn Fn() -> u64 + 'a>);
    let jobs: Vec<Job> = vec![
        (
            "external floor (mmap + etherparse)",
            Box::new(|| external_floor::read_and_decode(&path).map_or(0, |(n, _)| n)),
        ),
        (
            "jjc read+decode (jjc info's loop)",
            Box::new(|| floor(&path)),
        ),
        (
            "flow table, no features",
            Box::new(|| flows(&path, NoFeatures, |_, _, _, _| {})),
        ),
        (
            "seed features, hand-written Rust",
            Box::new(|| {
                flows(&path, HandSeed::default(), |h: &HandSeed, s, r, row| {
                    h.finish(s, r, row)
                })
            }),
        ),
        (
            "seed features, jjc interpreter",
            Box::new(|| pipeline(&path, &seed_interp)),
        ),
        (
            "seed features, jjc JIT",
            Box::new(|| pipeline(&path, &seed_jit)),
        ),
        (
            "standard library, jjc JIT",
            Box::new(|| pipeline(&path, &core_jit)),
        ),
    ];
    let mut results = Vec::new();
    for (name, job) in &jobs {
        let mut best = f64::INFINITY;
        let mut out = 0;
        for _ in 0..args.repeat.max(1) {
            let t = Instant::now();
            out = job();
            best = best.min(t.elapsed().as_secs_f64());
        }
        results.push((*name, best, out));
    }
    let hand_time = results[3].1;
    let floor_time = results[0].1;
    println!(
        "{:<36} {:>9} {:>10} {:>9} {:>9} {:>11}",
        "stage", "seconds", "Mpackets/s", "MB/s", "x floor", "x hand seed"
    );
    for (name, secs, _) in &results {
        println!(
            "{:<36} {:>9.3} {:>10.2} {:>9.0} {:>9.2} {:>11.2}",
            name,
            secs,
            packets as f64 / secs / 1e6,
            bytes as f64 / secs / 1e6,
            secs / floor_time,
            secs / hand_time
        );
    }
}
