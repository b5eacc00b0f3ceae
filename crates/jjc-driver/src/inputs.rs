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

/// An error if `output` is the file of one of `inputs` (by path, link or hard link): the
/// finished table would replace that capture. A run checks this before it reads anything.
pub fn check_output_is_not_an_input(inputs: &[Input], output: &Path) -> Result<(), PipelineError> {
    let Some(out) = file_id(output) else {
        return Ok(()); // a new file cannot be a capture being read
    };
    for input in inputs {
        if let Input::File(path) = input
            && file_id(path).as_ref() == Some(&out)
        {
            return Err(PipelineError::Input {
                path: output.to_path_buf(),
                reason: format!(
                    "the output is the capture {}, which the table would replace; \
                     name another output file",
                    path.display()
                ),
            });
        }
    }
    Ok(())
}

/// What one existing file is, whatever path names it: its device and inode on Unix.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.dev(), meta.ino()))
}

/// What one existing file is, whatever path names it: its canonical path elsewhere.
#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<PathBuf> {
    path.canonicalize().ok()
}

fn input_error(p: &Path, e: std::io::Error) -> PipelineError {
    PipelineError::Input {
        path: p.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Input, check_output_is_not_an_input};

    #[test]
    fn an_output_that_is_an_input_by_any_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let capture = dir.path().join("c.pcap");
        std::fs::write(&capture, b"capture bytes").unwrap();
        let other = dir.path().join("other.csv");
        std::fs::write(&other, b"an old table").unwrap();
        let inputs = [Input::Stdin, Input::File(capture.clone())];
        let refused = check_output_is_not_an_input(&inputs, &capture).unwrap_err();
        assert!(
            refused.to_string().contains("name another output file"),
            "{refused}"
        );
        let dotted = dir.path().join(".").join("c.pcap");
        assert!(check_output_is_not_an_input(&inputs, &dotted).is_err());
        #[cfg(unix)]
        {
            let linked = dir.path().join("linked.pcap");
            std::os::unix::fs::symlink(&capture, &linked).unwrap();
            assert!(check_output_is_not_an_input(&inputs, &linked).is_err());
            let hard = dir.path().join("hard.pcap");
            std::fs::hard_link(&capture, &hard).unwrap();
            assert!(check_output_is_not_an_input(&inputs, &hard).is_err());
        }
        assert!(check_output_is_not_an_input(&inputs, &other).is_ok());
        let new = dir.path().join("new.csv");
        assert!(check_output_is_not_an_input(&inputs, &new).is_ok());
    }
}
