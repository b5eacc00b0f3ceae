//! What the user named on the command line, expanded into captures.

use std::path::{Path, PathBuf};

use crate::error::PipelineError;

/// One capture to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A capture file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// The name the `capture` column and messages use: the file name, or `-` for stdin.
    pub fn display_name(&self) -> String {
        match self {
            Input::File(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Input::Stdin => "-".to_string(),
        }
    }
}

/// Expands the paths given: `-` is stdin, a folder means the captures directly in it (by
/// magic number, sorted by name; other files are skipped with a note), a file is itself.
/// Returns the inputs and the notes about skipped files.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<(Vec<Input>, Vec<String>), PipelineError> {
    let mut inputs = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if p.is_dir() {
            let (captures, skipped) =
                jjc_capture::list_captures(p).map_err(|e| input_error(p, e))?;
            if captures.is_empty() {
                notes.push(format!("{}: no capture files in this folder", p.display()));
            }
            for s in skipped {
                notes.push(format!("{}: not a capture, skipped", s.display()));
            }
            inputs.extend(captures.into_iter().map(Input::File));
        } else if p.exists() {
            inputs.push(Input::File(p.clone()));
        } else {
            return Err(PipelineError::Input {
                path: p.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    Ok((inputs, notes))
}

fn input_error(p: &Path, e: std::io::Error) -> PipelineError {
    PipelineError::Input {
        path: p.to_path_buf(),
        reason: e.to_string(),
    }
}
