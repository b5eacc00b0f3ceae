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

impl RunConfig {
    /// The threads a run uses: `threads`, or one per core when it is 0.
    pub fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}
