//! Errors of a run.

use std::path::PathBuf;

/// Why a run could not complete. Each message names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A capture could not be opened or read.
    #[error(transparent)]
    Capture(#[from] jjc_capture::CaptureError),
    /// An input path that does not exist or cannot be listed.
    #[error("{path}: {reason}")]
    Input {
        /// The path given.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The feature groups could not be loaded, selected or compiled (rendered diagnostics).
    #[error("{0}")]
    Features(String),
    /// A setting out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// A config file that could not be read or understood.
    #[error("{path}: {message}")]
    ConfigFile {
        /// The config file.
        path: PathBuf,
        /// What is wrong, where, and the fix.
        message: String,
    },
    /// The output could not be written.
    #[error(transparent)]
    Output(#[from] jjc_output::OutputError),
    /// `--strict` and a capture was damaged.
    #[error("{0} (--strict treats a damaged capture as an error)")]
    Strict(String),
}

impl From<jjc_flow::ConfigError> for PipelineError {
    fn from(e: jjc_flow::ConfigError) -> Self {
        PipelineError::Config(e.0)
    }
}
