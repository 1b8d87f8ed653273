//! The crate's error type. Every variant names the path (host path, in-root path or tar entry name) it is about,
//! so a caller can print it as a one-line message.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A system call on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Reading the archive stream failed (truncated, corrupt compression, bad header) while at `entry`.
    #[error("invalid archive at {entry:?}: {source}")]
    Stream {
        entry: String,
        #[source]
        source: io::Error,
    },
    /// A tar entry that would escape its destination, write through a symlink, link outside, etc.
    #[error("refusing tar entry {entry:?}: {reason}")]
    UnsafeEntry { entry: String, reason: String },
    /// A path (inside a root) that does not exist.
    #[error("Could not find the file {} in container", path.display())]
    NotFound { path: PathBuf },
    /// A path that had to be a directory is not one.
    #[error("{}: not a directory", path.display())]
    NotADirectory { path: PathBuf },
    /// Docker's `NoOverwriteDirNonDir` refusals and the docker CLI's cp rule violations, with Docker's wording.
    #[error("{0}")]
    Refused(String),
}

impl ArchiveError {
    pub(crate) fn io(path: impl AsRef<Path>, source: impl Into<io::Error>) -> Self {
        ArchiveError::Io {
            path: path.as_ref().to_path_buf(),
            source: source.into(),
        }
    }

    pub(crate) fn unsafe_entry(entry: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        ArchiveError::UnsafeEntry {
            entry: entry.as_ref().display().to_string(),
            reason: reason.into(),
        }
    }

    /// True for "does not exist" failures, whichever variant carries them.
    pub fn is_not_found(&self) -> bool {
        match self {
            ArchiveError::NotFound { .. } => true,
            ArchiveError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

impl berth_error::HasKind for ArchiveError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            _ if self.is_not_found() => ErrorKind::NotFound,
            ArchiveError::Refused(_)
            | ArchiveError::UnsafeEntry { .. }
            | ArchiveError::NotADirectory { .. }
            | ArchiveError::Stream { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

/// Attach a path to a failing syscall result.
pub(crate) trait At<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ArchiveError>;
}

impl<T> At<T> for Result<T, rustix::io::Errno> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ArchiveError> {
        self.map_err(|e| ArchiveError::io(path, e))
    }
}

impl<T> At<T> for Result<T, io::Error> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ArchiveError> {
        self.map_err(|e| ArchiveError::io(path, e))
    }
}
