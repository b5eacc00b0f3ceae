//! Where a table goes, and the byte sink that writes it there atomically.

use std::fs::Permissions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::OutputError;

/// Where a table is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output, written as rows come.
    Stdout,
    /// A file, which appears (or is replaced) only once the table is finished; a path that
    /// names something other than a file or a folder (`/dev/null`, a named pipe) is written
    /// as rows come instead.
    File(PathBuf),
}

impl Destination {
    /// How error messages name this destination.
    pub(crate) fn describe(&self) -> String {
        match self {
            Destination::Stdout => "standard output".to_owned(),
            Destination::File(path) => path.display().to_string(),
        }
    }
}

/// The bytes of a table on their way to its destination.
///
/// A file sink is a temporary file in the destination's directory (so the final rename
/// stays on one file system and is atomic); dropping the sink deletes it.
#[derive(Debug)]
pub(crate) enum Sink {
    /// Standard output.
    Stdout(io::Stdout),
    /// A device, a named pipe or a socket, written directly: renaming a finished file onto
    /// it would replace it (`-o /dev/null` replaced the system's `/dev/null` with the table).
    Special(std::fs::File),
    /// A temporary file to be renamed onto `path`.
    File {
        /// The temporary file, deleted on drop unless persisted.
        temp: NamedTempFile,
        /// The destination.
        path: PathBuf,
    },
}

impl Sink {
    /// Opens the sink for `dest`: for a file, creates the temporary file next to it, with
    /// the permissions of the file it will replace (or `rw-r--r--` for a new file).
    pub(crate) fn open(dest: &Destination) -> Result<Sink, OutputError> {
        let path = match dest {
            Destination::Stdout => return Ok(Sink::Stdout(io::stdout())),
            Destination::File(path) => path,
        };
        let create_err = |source| OutputError::CreateTemp {
            path: path.clone(),
            source,
        };
        let existing = std::fs::metadata(path).ok();
        if let Some(meta) = &existing {
            if meta.is_dir() {
                return Err(OutputError::Create {
                    path: path.clone(),
                    source: io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!(
                            "it is a folder; name a file, such as {}",
                            path.join("flows.csv").display()
                        ),
                    ),
                });
            }
            if !meta.is_file() {
                return std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map(Sink::Special)
                    .map_err(|source| OutputError::Create {
                        path: path.clone(),
                        source,
                    });
            }
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(path.file_name().unwrap_or_default());
        prefix.push(".");
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(create_err)?;
        let permissions = match existing {
            Some(meta) => Some(meta.permissions()),
            None => new_file_permissions(),
        };
        if let Some(permissions) = permissions {
            temp.as_file()
                .set_permissions(permissions)
                .map_err(create_err)?;
        }
        Ok(Sink::File {
            temp,
            path: path.clone(),
        })
    }

    /// Makes the written bytes final: flushes standard output or a special file, or renames
    /// the temporary file onto the destination, so the table appears complete or not at all.
    ///
    /// The file is not synced to disk first (as `cp` does not): a sync waited for the whole
    /// table to reach the disk, about a tenth of a run's time; the kernel writes it back
    /// as usual.
    pub(crate) fn commit(self) -> Result<(), OutputError> {
        match self {
            Sink::Stdout(mut out) => out.flush().map_err(|source| OutputError::Write {
                target: Destination::Stdout.describe(),
                source,
            }),
            Sink::Special(_) => Ok(()),
            Sink::File { temp, path } => {
                temp.persist(&path)
                    .map(drop)
                    .map_err(|e| OutputError::Persist {
                        path,
                        source: e.error,
                    })
            }
        }
    }
}

/// Permissions for a file that did not exist before: `rw-r--r--` on Unix; elsewhere the
/// temporary file's own are kept.
#[cfg(unix)]
fn new_file_permissions() -> Option<Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(Permissions::from_mode(0o644))
}

/// Permissions for a file that did not exist before: the temporary file's own.
#[cfg(not(unix))]
fn new_file_permissions() -> Option<Permissions> {
    None
}

impl Write for Sink {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::Special(file) => file.write(buf),
            Sink::File { temp, .. } => temp.write(buf),
        }
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(buf),
            Sink::Special(file) => file.write_all(buf),
            Sink::File { temp, .. } => temp.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::Special(file) => file.flush(),
            Sink::File { temp, .. } => temp.flush(),
        }
    }
}
