//! The `jjc` binary end to end: exit statuses, messages, atomic output, config files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `jjc` with the kernel cache off, so that tests neither read nor fill the user's.
fn jjc_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jjc"));
    command.env("JJC_KERNEL_CACHE", "off");
    command
}

fn jjc(args: &[&str]) -> Output {
    jjc_command().args(args).output().expect("jjc runs")
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sample.pcap")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The entries of a kernel cache directory with extension `ext` (none if it does not exist).
fn cache_entries(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or_else(
        |_| Vec::new(),
        |entries| {
            entries
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        },
    )
}

#[test]
fn run_writes_csv_to_stdout_with_identity_columns_first() {
    let o = jjc(&["run", "-q", sample().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[..11],
        [
            "src_ip",
            "dst_ip",
            "src_port",
            "dst_port",
            "protocol",
            "vlan_id",
            "start_time",
            "end_time",
            "dst_port_class",
            "dst_port_class_num",
            "duration"
        ],
        "identity columns, then JJ-CORE in JoyfulJay's order"
    );
    assert_eq!(header.len(), 8 + 144, "JJ-CORE is the default run");
    assert_eq!(header.last(), Some(&"tls_key_exchange_length"));
    assert!(lines.count() > 50, "the sample capture has many flows");
    assert!(
        stderr(&o).is_empty(),
        "--quiet hides the summary: {}",
        stderr(&o)
    );
}

#[test]
fn summary_goes_to_stderr() {
    let o = jjc(&["run", sample().to_str().unwrap()]);
    assert!(o.status.success());
    let e = stderr(&o);
    assert!(e.starts_with("jjc: 1 capture, "), "{e}");
    assert!(e.contains(" flows → stdout"), "{e}");
}

#[test]
fn a_file_that_is_not_a_capture_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "hello, this is text").unwrap();
    let out = dir.path().join("out.csv");
    let o = jjc(&[
        "run",
        sample().to_str().unwrap(),
        bogus.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("notes.txt") && e.contains("not a pcap or pcapng file"),
        "{e}"
    );
    assert!(!out.exists(), "no output file is left behind");
    assert!(o.stdout.is_empty());
}

#[test]
fn output_is_written_atomically_and_in_the_format_of_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.jsonl");
    let o = jjc(&[
        "run",
        "-q",
        sample().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().next().unwrap().starts_with("{\"src_ip\":"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the output file remains");
}

#[test]
fn parquet_output_is_a_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flows.parquet");
    let o = jjc(&[
        "run",
        "-q",
        sample().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
}

#[test]
fn config_file_sets_options_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("jjc.yaml");
    std::fs::write(
        &cfg,
        "tcp_end: never\nidle_timeout: 1000000000\nsort: start\n",
    )
    .unwrap();
    let never = jjc(&[
        "run",
        "-q",
        "--config",
        cfg.to_str().unwrap(),
        sample().to_str().unwrap(),
    ]);
    assert!(never.status.success(), "{}", stderr(&never));
    let fin = jjc(&[
        "run",
        "-q",
        "--config",
        cfg.to_str().unwrap(),
        "--tcp-end",
        "first-fin-rst",
        sample().to_str().unwrap(),
    ]);
    assert!(fin.status.success());
    let rows = |o: &Output| String::from_utf8_lossy(&o.stdout).lines().count();
    assert!(
        rows(&fin) > rows(&never),
        "first-fin-rst splits TCP flows the config left whole"
    );
}

#[test]
fn config_file_errors_name_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("jj.yaml");
    std::fs::write(&cfg, "flow_timeout: 120\nidle_timout: 3\n").unwrap();
    let o = jjc(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        sample().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("jj.yaml"), "{e}");
    assert!(
        e.contains("line 1: `flow_timeout` is JoyfulJay's name: in jjc it is `idle_timeout`"),
        "{e}"
    );
    assert!(
        e.contains("line 2: unknown key `idle_timout`: did you mean `idle_timeout`?"),
        "{e}"
    );
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let o = jjc(&["run", "--tcp-end", "sometimes", sample().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected graceful, first-fin-rst or never"));
    let o = jjc(&["run", "--idle-timeout=-1", sample().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("idle timeout must be a positive number"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn percentiles_flag_parses_overrides_the_config_file_and_rejects_bad_values() {
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "-q", "-g", "size"];
        args.extend_from_slice(extra);
        let sample = sample();
        args.push(sample.to_str().unwrap());
        jjc(&args)
    };
    let exact = run(&[]);
    assert!(exact.status.success(), "{}", stderr(&exact));
    let o = run(&["--percentiles", "exact"]);
    assert_eq!(o.stdout, exact.stdout);
    for mode in ["sketch", "sketch=0.005", "sketch=0.1"] {
        let o = run(&["--percentiles", mode]);
        assert!(o.status.success(), "{mode}: {}", stderr(&o));
        // No flow of the sample reaches the exact limit: the same table, but for the last
        // bits of the standard deviations of streams with a percentile, which exact runs sum
        // from the kept values as numpy does, and sketched runs update packet by packet.
        same_table_but_moments(&exact.stdout, &o.stdout, mode);
    }
    let o = run(&["--percentiles", "approx"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: unknown percentile mode `approx`: expected exact, sketch or sketch=ALPHA (ALPHA from 0.001 to 0.1, e.g. sketch=0.005)\n"
    );
    let o = run(&["--percentiles=sketch=0.5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("relative error 0.5 is out of range: ALPHA must be from 0.001 to 0.1"),
        "{}",
        stderr(&o)
    );
    // A bad config value names the file and line; the flag overrides a good one.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "quiet: true\npercentiles: sketch=2\n").unwrap();
    let o = run(&["--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.yaml") && e.contains("line 2"), "{e}");
    assert!(e.contains("relative error 2 is out of range"), "{e}");
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "percentiles: sketch\n").unwrap();
    let o = run(&["--config", good.to_str().unwrap(), "--percentiles", "exact"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, exact.stdout);
}

/// Asserts that two CSV tables are the same, cell for cell, but for the standard deviations
/// and variances of the packet lengths, which may differ in their last bits only.
fn same_table_but_moments(a: &[u8], b: &[u8], what: &str) {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let header: Vec<&str> = a.lines().next().unwrap_or("").split(',').collect();
    assert_eq!(a.lines().count(), b.lines().count(), "{what}");
    for (la, lb) in a.lines().zip(b.lines()) {
        for ((x, y), col) in la.split(',').zip(lb.split(',')).zip(&header) {
            if x == y {
                continue;
            }
            assert!(
                col.starts_with("pkt_len") && (col.ends_with("_std") || col.ends_with("variance")),
                "{what}: {col}: {x} against {y}"
            );
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                "{what}: {col}: {x} against {y}"
            );
        }
    }
}

/// A generated capture of about 20,000 packets: several checkpoints' worth.
fn generated_capture(dir: &Path) -> PathBuf {
    let path = dir.join("generated.pcap");
    let config = jjc_synth::SynthConfig {
        seed: 7,
        target_packets: Some(20_000),
        ..jjc_synth::SynthConfig::default()
    };
    let file = std::fs::File::create(&path).unwrap();
    jjc_synth::write_capture(&config, std::io::BufWriter::new(file)).unwrap();
    path
}

#[test]
fn thread_count_does_not_change_the_written_table() {
    // Workers format text rows themselves and order and write them in turn: every format,
    // both row orders, flows ended by timeouts and by a full table, the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let capture = generated_capture(dir.path());
    let capture = capture.to_str().unwrap();
    for (format, extra) in [
        ("csv", &[][..]),
        ("jsonl", &["--sort", "start"][..]),
        ("csv", &["--idle-timeout", "2", "--max-flows", "64"][..]),
    ] {
        let mut outputs = Vec::new();
        for threads in ["1", "2", "3"] {
            let out = dir.path().join(format!("t{threads}.{format}"));
            let mut args = vec!["run", "-q", capture, "--threads", threads];
            args.extend(["-o", out.to_str().unwrap()]);
            args.extend(extra);
            let o = jjc(&args);
            assert!(o.status.success(), "{}", stderr(&o));
            outputs.push(std::fs::read(&out).unwrap());
        }
        assert!(outputs[0].len() > 100_000, "a real table");
        assert!(
            outputs.iter().all(|o| *o == outputs[0]),
            "{format} {extra:?}: the tables differ between thread counts"
        );
    }
}

#[test]
fn dash_output_is_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let o = jjc_command()
        .current_dir(dir.path())
        .args(["run", "-q", "-o", "-", sample().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("src_ip,dst_ip,"));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no file named `-`"
    );
}

#[test]
fn stdin_is_a_capture_too() {
    let data = std::fs::read(sample()).unwrap();
    let mut child = jjc_command()
        .args(["run", "-q", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let from_file = jjc(&["run", "-q", sample().to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(o.stdout, from_file.stdout);
}

#[test]
fn several_inputs_get_a_capture_column_unless_continuous() {
    let s = sample();
    let s = s.to_str().unwrap();
    let two = jjc(&["run", "-q", s, s]);
    let header = String::from_utf8_lossy(&two.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(header.starts_with(
        "src_ip,dst_ip,src_port,dst_port,protocol,vlan_id,start_time,end_time,capture,dst_port_class"
    ));
    let cont = jjc(&["run", "-q", "--continuous", s, s]);
    let header = String::from_utf8_lossy(&cont.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(!header.contains("capture"));
}

#[test]
fn info_reports_packets() {
    let o = jjc(&["info", sample().to_str().unwrap()]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("format: pcap"), "{text}");
    assert!(text.contains("link type 1 Ethernet"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("packets: ")),
        "{text}"
    );
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../features/examples")
}

#[test]
fn check_passes_the_seed_examples_and_fails_a_mistake_with_a_located_diagnostic() {
    let o = jjc(&["check", examples().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("checked 4 files: 4 groups"),
        "{}",
        stderr(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jjf");
    std::fs::write(&bad, "features g \"d\" {\n  a = pkt.len\n}\n").unwrap();
    let o = jjc(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("error[E0301]") && e.contains("bad.jjf:2:7"),
        "{e}"
    );
    assert!(
        e.contains("wrap `pkt.len` in an aggregate such as mean(...)"),
        "{e}"
    );

    let o = jjc(&["check", "--message-format", "json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let line = String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        line.starts_with('{') && line.contains("\"code\":\"E0301\"") && line.contains("\"line\":2"),
        "{line}"
    );
}

#[test]
fn schema_explain_and_list_read_the_f_files() {
    let game = examples().join("game_traffic.jjf");
    let g = game.to_str().unwrap();
    let o = jjc(&["schema", "-f", g, "-g", "game_traffic"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("game_pps                float  game_traffic")
    );
    let o = jjc(&["explain", "game_pps", "-f", g]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("game_traffic.jjf:16:5"));
    let o = jjc(&["explain", "game_ppz", "-f", g]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("did you mean `game_pps`?"));
    let o = jjc(&["list", "-f", g]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("game_traffic"));
}

#[test]
fn schema_format_markdown_prints_docs_features_md() {
    let o = jjc_command()
        .args(["schema", "--format", "markdown"])
        .env_remove("JJ_FEATURES_PATH")
        .env("XDG_CONFIG_HOME", tempfile::tempdir().unwrap().path())
        .output()
        .expect("jjc runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/features.md"),
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout) == committed,
        "docs/features.md is stale: cargo run -q -p jjc-cli -- schema --format markdown > docs/features.md"
    );
    let game = examples().join("game_traffic.jjf");
    let o = jjc(&[
        "schema",
        "--format",
        "markdown",
        "-f",
        game.to_str().unwrap(),
        "-g",
        "game_traffic",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("\n## game_traffic\n"), "{md}");
    assert!(
        md.contains("| `game_type` | str | the game service, empty if none |"),
        "{md}"
    );
    let o = jjc(&["schema", "--format", "html"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_kernel_cache_is_filled_then_used_and_can_be_moved_or_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let flag_dir = dir.path().join("by-flag");
    let env_dir = dir.path().join("by-env");
    let kernels = |d: &Path| cache_entries(d, "kernel").len();
    let sample = sample();
    let run = |extra: &[&str], env: &Path| {
        let o = jjc_command()
            .env("JJC_KERNEL_CACHE", env)
            .args(["run", "-q", sample.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        o.stdout
    };
    // The flag wins over the variable.
    let first = run(&["--kernel-cache", flag_dir.to_str().unwrap()], &env_dir);
    assert_eq!((kernels(&flag_dir), kernels(&env_dir)), (1, 0));
    let second = run(&["--kernel-cache", flag_dir.to_str().unwrap()], &env_dir);
    assert_eq!(first, second, "the linked code writes the same table");
    assert_eq!(kernels(&flag_dir), 1);
    let interpreted = run(&["--kernel-cache", "off", "--backend", "interp"], &env_dir);
    assert_eq!(first, interpreted);
    run(&["--kernel-cache", "off"], &env_dir);
    let config = dir.path().join("jjc.yaml");
    std::fs::write(&config, "kernel_cache: off\n").unwrap();
    run(&["--config", config.to_str().unwrap()], &env_dir);
    assert!(!env_dir.exists(), "off writes nothing");
    run(&[], &env_dir);
    assert_eq!(kernels(&env_dir), 1);
}

/// Unix only: the test tells a kept entry from a rewritten one by its inode.
#[cfg(unix)]
#[test]
fn a_lowered_kernel_is_kept_and_used_and_never_outlives_a_change_to_its_sources() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("kernels");
    let features = dir.path().join("mine.jjf");
    let entries = |ext: &str| cache_entries(&cache, ext).len();
    let sample = sample();
    let run = |extra: &[&str]| {
        let o = jjc_command()
            .args(["run", "-q", sample.to_str().unwrap()])
            .args(["--kernel-cache", cache.to_str().unwrap()])
            .args(["-f", features.to_str().unwrap(), "-g", "mine"])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let group = |feature: &str| {
        format!("features mine \"a test group\" {{\n    n: int = {feature}  \"a count\"\n}}\n")
    };
    // The inode of the one lowered entry: a run that uses the entry leaves the file, one
    // that lowers again writes a new file in its place.
    let lowered = || cache_entries(&cache, "lowered").remove(0);
    let inode = || -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(lowered()).unwrap().ino()
    };
    std::fs::write(&features, group("flow.packet_count")).unwrap();
    let packets = run(&[]);
    assert_eq!((entries("lowered"), entries("kernel")), (1, 1));
    let kept = inode();
    assert_eq!(run(&[]), packets, "the kept kernel writes the same table");
    assert_eq!(inode(), kept, "the second run used the entry");

    // Another text of the same file, of the same length: a new kernel, never the kept one.
    std::fs::write(&features, group("flow.byte_count  ")).unwrap();
    let bytes = run(&[]);
    assert_ne!(bytes, packets, "the edited feature is computed");
    assert_eq!(entries("lowered"), 2);
    let uncached = jjc_command()
        .args([
            "run",
            "-q",
            sample.to_str().unwrap(),
            "--kernel-cache",
            "off",
        ])
        .args(["-f", features.to_str().unwrap(), "-g", "mine"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(uncached.stdout).unwrap(), bytes);

    // Other percentiles are another kernel too.
    run(&["--percentiles", "sketch"]);
    assert_eq!(entries("lowered"), 3);

    // A damaged entry is not used: the run lowers the kernel again, with the same table,
    // and writes the entry anew.
    std::fs::remove_dir_all(&cache).unwrap();
    run(&[]);
    let path = lowered();
    let mut damaged = std::fs::read(&path).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    std::fs::write(&path, damaged).unwrap();
    let before = inode();
    assert_eq!(run(&[]), bytes);
    assert_ne!(inode(), before, "the damaged entry was replaced");
}

/// An output that names an input capture (itself, or through a folder) is refused before
/// anything is read: the finished table would have replaced the capture.
#[test]
fn an_output_that_is_an_input_capture_is_refused_and_the_capture_kept() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.pcap");
    std::fs::copy(sample(), &capture).unwrap();
    let before = std::fs::read(&capture).unwrap();
    let capture_arg = capture.to_str().unwrap();
    let folder_arg = dir.path().to_str().unwrap();
    for inputs in [capture_arg, folder_arg] {
        let o = jjc(&["run", inputs, "-o", capture_arg]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let message = stderr(&o);
        assert!(
            message.contains("the table would replace; name another output file"),
            "{message}"
        );
        assert_eq!(
            std::fs::read(&capture).unwrap(),
            before,
            "the capture is kept"
        );
    }
}
