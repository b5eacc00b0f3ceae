//! How long parsing the standard library (`features/*.jjf`) takes, one file after another on
//! one thread.
//!
//! Run with `cargo bench -p jjc-syntax`. Prints the median of several runs; tests never
//! time anything.

use std::path::PathBuf;
use std::time::Instant;

use jjc_syntax::{FileId, parse_all};

const RUNS: usize = 51;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../features");
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("features/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jjf"))
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).expect("a readable .jjf file");
        texts.push((p.display().to_string(), text));
    }
    let repeat = std::env::var("PARSE_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1usize);
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        for _ in 0..repeat {
            for (i, (_, text)) in texts.iter().enumerate() {
                let parsed = parse_all(&[(FileId(i as u32), text.as_str())]);
                assert!(parsed.iter().all(|p| p.file.is_some()), "features/ parses");
            }
        }
        times.push(start.elapsed() / repeat as u32);
    }
    times.sort();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    println!(
        "parse features/ ({} files, {bytes} bytes), one at a time: median {:.3} ms, min {:.3} ms over {RUNS} runs",
        texts.len(),
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
    );
}
