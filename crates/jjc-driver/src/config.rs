//! Settings of a run.

use std::fmt;
use std::str::FromStr;

use jjc_flow::FlowConfig;

use crate::features::{Backend, FeatureConfig};

/// The order rows are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// The order flows end in (time of the ending event, then key): streams with bounded memory.
    #[default]
    FlowEnd,
    /// By start time (then flow-end order): holds every row until the end of the run.
    Start,
}

impl FromStr for SortOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "end" | "flow-end" => Ok(SortOrder::FlowEnd),
            "start" => Ok(SortOrder::Start),
            other => Err(format!(
                "unknown sort order `{other}`: expected start or end"
            )),
        }
    }
}

impl fmt::Display for SortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SortOrder::FlowEnd => "end",
            SortOrder::Start => "start",
        })
    }
}

/// Everything a run needs to know besides its inputs and output.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// Flow assembly rules.
    pub flow: FlowConfig,
    /// Treat several inputs as one capture, in the order given (rotated files).
    pub continuous: bool,
    /// A damaged capture is an error (exit 1) instead of a warning.
    pub strict: bool,
    /// Row order.
    pub sort: SortOrder,
    /// Which feature groups run, and where they come from.
    pub features: FeatureConfig,
    /// Which backend runs the compiled features.
    pub backend: Backend,
    /// Threads for one capture; 0 means one per core. The output is the same for any count.
    pub threads: usize,
}

/// Below this many bytes a capture runs on one thread when the thread count is left to jjc:
/// starting the threads and their tables costs about 0.1 ms, more than a capture this small
/// gains (the 55 shared captures as one folder: 29.6 ms on two threads, 24.4 ms on one).
pub(crate) const PARALLEL_FROM_BYTES: u64 = 1 << 20;

/// The cores this process may use, asked once: the standard library reads the cgroup's CPU
/// quota files every time (three files opened and read), and a run asked four times.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl RunConfig {
    /// The threads a run uses: `threads`, or one per core when it is 0.
    pub fn thread_count(&self) -> usize {
        match self.threads {
            0 => cores(),
            n => n,
        }
    }

    /// The threads for a capture of `bytes` (`None`: unknown): as [`RunConfig::thread_count`],
    /// except that a capture smaller than [`PARALLEL_FROM_BYTES`] runs on one thread when the
    /// count is left to jjc (0). An explicit count is always used.
    pub(crate) fn threads_for(&self, bytes: Option<u64>) -> usize {
        if self.threads == 0 && bytes.is_some_and(|b| b < PARALLEL_FROM_BYTES) {
            return 1;
        }
        self.thread_count()
    }
}

#[cfg(test)]
mod tests {
    use super::{PARALLEL_FROM_BYTES, RunConfig};

    #[test]
    fn small_captures_run_on_one_thread_unless_threads_are_asked_for() {
        let auto = RunConfig::default();
        assert_eq!(auto.threads_for(Some(PARALLEL_FROM_BYTES - 1)), 1);
        assert_eq!(
            auto.threads_for(Some(PARALLEL_FROM_BYTES)),
            auto.thread_count()
        );
        assert_eq!(
            auto.threads_for(None),
            auto.thread_count(),
            "a stream's size is unknown"
        );
        let three = RunConfig {
            threads: 3,
            ..RunConfig::default()
        };
        assert_eq!(three.threads_for(Some(10)), 3, "an explicit count is kept");
    }
}
