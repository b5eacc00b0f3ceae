//! The jjc pipeline, end to end: capture inputs → decoder → flow table → rows → table.
//!
//! This is where the capture side and (later) the language side meet. The CLI is a thin
//! layer over it, and library users get the same pipeline:
//!
//! ```no_run
//! use jjc_driver::{Pipeline, RunConfig};
//!
//! let table = Pipeline::new(RunConfig::default())?.process_pcap("capture.pcap")?;
//! println!("{} flows; columns: {:?}", table.rows.len(), table.column_names());
//! # Ok::<(), jjc_driver::PipelineError>(())
//! ```

#![warn(missing_docs)]

mod at_once;
mod columns;
mod config;
mod config_file;
mod error;
mod features;
mod info;
mod inputs;
mod key_ring;
mod lowered;
mod native;
mod parallel;
mod pipeline;
mod read_front;
mod scan;
mod segments;
mod summary;
mod table;
mod warmup;

pub use columns::identity_columns;
pub use config::{RunConfig, SortOrder};
pub use config_file::{ConfigFile, Names, load_config_file};
pub use error::PipelineError;
pub use features::{Backend, CompiledFeatures, FeatureConfig};
pub use info::{CaptureInfo, InterfaceInfo, capture_info};
pub use inputs::{Input, check_output_is_not_an_input, expand_inputs};
pub use native::{FeatureExtractor, FlowFeatures, register_extractor, registered_extractors};
pub use pipeline::{OpenCaptures, Pipeline, Progress, RowSink};
pub use summary::RunSummary;
pub use table::Table;
