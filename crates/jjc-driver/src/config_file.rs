//! `--config FILE.yaml`: run options under their long flags' names in snake_case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jjc_kernel::PercentileMode;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::error::PipelineError;

/// The options a config file may set; each is the long flag of `jjc run` in snake_case.
/// Flags on the command line override them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `--output`: the output file.
    pub output: Option<PathBuf>,
    /// `--format`: csv, jsonl or parquet.
    pub format: Option<String>,
    /// `--idle-timeout`: seconds.
    pub idle_timeout: Option<f64>,
    /// `--active-timeout`: seconds.
    pub active_timeout: Option<f64>,
    /// `--tcp-end`: graceful, first-fin-rst or never.
    pub tcp_end: Option<String>,
    /// `--max-flows`: a count.
    pub max_flows: Option<usize>,
    /// `--continuous`: several inputs are one capture.
    pub continuous: Option<bool>,
    /// `--strict`: a damaged capture is an error.
    pub strict: Option<bool>,
    /// `--sort`: start or end.
    pub sort: Option<String>,
    /// `--quiet`: no summary on stderr.
    pub quiet: Option<bool>,
    /// `-f/--file` (repeatable): `.jjf` feature files.
    pub files: Option<Vec<PathBuf>>,
    /// `-g/--features`: feature groups, a list or a comma-separated string (JoyfulJay's key too).
    pub features: Option<Names>,
    /// `--profile`: a profile whose groups are added.
    pub profile: Option<String>,
    /// `--features-dir` (repeatable): folders searched for groups.
    pub features_dir: Option<Vec<PathBuf>>,
    /// `--backend`: jit or interp.
    pub backend: Option<String>,
    /// `--threads`: threads per capture (0: one per core).
    pub threads: Option<usize>,
    /// `--percentiles`: `exact`, `sketch` or `sketch=ALPHA`.
    #[serde(default, deserialize_with = "percentile_mode")]
    pub percentiles: Option<PercentileMode>,
    /// `--kernel-cache`: a directory for compiled kernels, or `off`.
    pub kernel_cache: Option<String>,
}

/// Reads `percentiles: exact | sketch | sketch=ALPHA` (the flag's text).
fn percentile_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PercentileMode>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A list of names, written as a YAML list or as one comma-separated string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Names {
    /// `[a, b]`.
    List(Vec<String>),
    /// `"a,b"`.
    Text(String),
}

impl Names {
    /// The names, split at commas and trimmed.
    pub fn to_vec(&self) -> Vec<String> {
        let items: Vec<&str> = match self {
            Names::List(v) => v.iter().map(String::as_str).collect(),
            Names::Text(t) => vec![t.as_str()],
        };
        items
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The keys a config file accepts.
pub const CONFIG_KEYS: &[&str] = &[
    "output",
    "format",
    "idle_timeout",
    "active_timeout",
    "tcp_end",
    "max_flows",
    "continuous",
    "strict",
    "sort",
    "quiet",
    "files",
    "features",
    "profile",
    "features_dir",
    "backend",
    "threads",
    "percentiles",
    "kernel_cache",
];

/// JoyfulJay's config keys, with what to write in jjc instead.
const JOYFULJAY_KEYS: &[(&str, &str)] = &[
    ("flow_timeout", "in jjc it is `idle_timeout` (seconds)"),
    (
        "terminate_on_fin_rst",
        "in jjc it is `tcp_end`: `first-fin-rst` (JoyfulJay's true), `never` (false), or jjc's default `graceful`",
    ),
    ("max_concurrent_flows", "in jjc it is `max_flows`"),
    (
        "flow_eviction_strategy",
        "jjc always evicts the least recently used flow (JoyfulJay's \"lru\"); remove the key",
    ),
    (
        "sampling_rate",
        "jjc never samples: every packet counts; remove the key",
    ),
    (
        "bpf_filter",
        "jjc reads captures only; filter them first (tcpdump -r IN -w OUT FILTER)",
    ),
    (
        "include_ip_addresses",
        "jjc always writes the identity columns; drop columns afterwards",
    ),
    (
        "include_ports",
        "jjc always writes the identity columns; drop columns afterwards",
    ),
    (
        "num_workers",
        "in jjc it is `threads` (threads per capture; 0: one per core)",
    ),
    (
        "specific_features",
        "jjc selects whole groups (`features`); define a group with just the features you want",
    ),
    (
        "burst_threshold_ms",
        "thresholds are part of a feature's definition: change the constant in its .jjf file",
    ),
    (
        "entropy_sample_bytes",
        "sampling limits are part of a feature's definition in its .jjf file",
    ),
];

/// Reads and checks a config file. Unknown keys are errors with a did-you-mean; JoyfulJay's
/// key names are answered with their jjc equivalents; every message names the file and line.
pub fn load_config_file(path: &Path) -> Result<ConfigFile, PipelineError> {
    let fail = |message: String| PipelineError::ConfigFile {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    parse_config(&text).map_err(fail)
}

/// Parses config text (see [`load_config_file`]); errors are messages without the file name.
fn parse_config(text: &str) -> Result<ConfigFile, String> {
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    let keys: BTreeMap<String, IgnoredAny> = serde_saphyr::from_str(text)
        .map_err(|e| format!("not a YAML mapping of option names to values: {e}"))?;
    let mut problems = Vec::new();
    for key in keys.keys() {
        if CONFIG_KEYS.contains(&key.as_str()) {
            continue;
        }
        let place = line_of_key(text, key).map_or_else(String::new, |l| format!("line {l}: "));
        let advice = match JOYFULJAY_KEYS.iter().find(|(k, _)| k == key) {
            Some((_, a)) => format!("`{key}` is JoyfulJay's name: {a}"),
            None => match closest(key, CONFIG_KEYS) {
                Some(k) => format!("unknown key `{key}`: did you mean `{k}`?"),
                None => format!(
                    "unknown key `{key}`: the keys are {}",
                    CONFIG_KEYS.join(", ")
                ),
            },
        };
        problems.push(format!("{place}{advice}"));
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// The 1-based line where `key:` is written, if it can be found.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches(['"', '\'']);
            l.strip_prefix(key).is_some_and(|rest| {
                rest.trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with(':')
            })
        })
        .map(|i| i + 1)
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_keys() {
        let c = parse_config("idle_timeout: 120\ntcp_end: never\nmax_flows: 1000\nstrict: true\n")
            .unwrap();
        assert_eq!(c.idle_timeout, Some(120.0));
        assert_eq!(c.tcp_end.as_deref(), Some("never"));
        assert_eq!(c.max_flows, Some(1000));
        assert_eq!(c.strict, Some(true));
        assert_eq!(parse_config("").unwrap(), ConfigFile::default());
    }

    #[test]
    fn unknown_keys_get_did_you_mean_with_line() {
        let e = parse_config("strict: true\nidle_timout: 5\n").unwrap_err();
        assert_eq!(
            e,
            "line 2: unknown key `idle_timout`: did you mean `idle_timeout`?"
        );
    }

    #[test]
    fn joyfuljay_keys_are_answered() {
        let e = parse_config("flow_timeout: 120\nterminate_on_fin_rst: false\n").unwrap_err();
        assert!(
            e.contains("line 1: `flow_timeout` is JoyfulJay's name: in jjc it is `idle_timeout`"),
            "{e}"
        );
        assert!(
            e.contains("line 2: `terminate_on_fin_rst` is JoyfulJay's name"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_and_shapes_are_errors() {
        let e = parse_config("idle_timeout: soon\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(parse_config("- a\n- b\n").unwrap_err().contains("mapping"));
    }

    #[test]
    fn feature_groups_as_a_list_or_a_comma_string() {
        let c = parse_config("features: [flow_meta, timing]\n").unwrap();
        assert_eq!(c.features.unwrap().to_vec(), ["flow_meta", "timing"]);
        let c =
            parse_config("features: \"flow_meta, my_features\"\nfiles: [a.jjf]\nbackend: interp\n")
                .unwrap();
        assert_eq!(c.features.unwrap().to_vec(), ["flow_meta", "my_features"]);
        assert_eq!(c.files.unwrap(), [PathBuf::from("a.jjf")]);
        assert_eq!(c.backend.as_deref(), Some("interp"));
        let c = parse_config("kernel_cache: off\n").unwrap();
        assert_eq!(c.kernel_cache.as_deref(), Some("off"));
    }

    #[test]
    fn percentile_modes_are_read_and_checked_with_their_line() {
        let mode = |t: &str| parse_config(t).map(|c| c.percentiles);
        assert_eq!(mode("quiet: true\n"), Ok(None));
        assert_eq!(
            mode("percentiles: exact\n"),
            Ok(Some(PercentileMode::Exact))
        );
        assert_eq!(
            mode("percentiles: sketch\n"),
            Ok(Some(PercentileMode::Sketch(
                jjc_kernel::RelativeError::DEFAULT
            )))
        );
        let alpha = jjc_kernel::RelativeError::new(0.005).ok();
        assert_eq!(
            mode("percentiles: \"sketch=0.005\"\n"),
            Ok(alpha.map(PercentileMode::Sketch))
        );
        assert_eq!(
            mode("percentiles: sketch=0.005\n"),
            Ok(alpha.map(PercentileMode::Sketch))
        );
        let first_line = |t: &str| match parse_config(t) {
            Ok(c) => panic!("{t:?} read as {c:?}"),
            Err(e) => e.lines().next().unwrap_or_default().to_string(),
        };
        assert_eq!(
            first_line("percentiles: approx\n"),
            "error: line 1 column 14: unknown percentile mode `approx`: expected exact, sketch or sketch=ALPHA (ALPHA from 0.001 to 0.1, e.g. sketch=0.005)"
        );
        assert_eq!(
            first_line("idle_timeout: 3\npercentiles: sketch=0.5\n"),
            "error: line 2 column 14: the sketch's relative error 0.5 is out of range: ALPHA must be from 0.001 to 0.1 (0.01 is 1%)"
        );
        assert_eq!(
            first_line("percentiles: sketch=tiny\n"),
            "error: line 1 column 14: the sketch's relative error `tiny` is not a number: write sketch=ALPHA with ALPHA from 0.001 to 0.1 (e.g. sketch=0.005)"
        );
        assert!(
            first_line("percentiles: 0.01\n")
                .contains("line 1 column 14: unknown percentile mode `0.01`")
        );
        assert!(first_line("percentiles: [sketch]\n").contains("line 1"));
        assert_eq!(
            first_line("percentile: sketch\n"),
            "line 1: unknown key `percentile`: did you mean `percentiles`?"
        );
    }

    #[test]
    fn far_off_keys_list_the_choices() {
        let e = parse_config("zzz: 1\n").unwrap_err();
        assert!(e.contains("the keys are output, format"), "{e}");
    }
}
