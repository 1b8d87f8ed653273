//! The crate's error type. Messages are Docker's where Docker has one (so a front
//! end prints them as-is after `Error: ` / `Error response from daemon: `), and
//! every I/O error names the path it concerns.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No image matches a name or ID (`reference` is already in Docker's familiar form).
    #[error("No such image: {reference}")]
    NotFound { reference: String },
    /// A short ID that is a prefix of more than one image ID.
    #[error("multiple images found with provided prefix: {prefix}")]
    Ambiguous { prefix: String },
    /// A malformed reference, with distribution/reference's wording.
    #[error("{0}")]
    InvalidReference(String),
    /// A request that is well-formed but not allowed (bad `--change`, bad filter, tag with digest...).
    #[error("{0}")]
    InvalidArgument(String),
    /// `rmi` of an image in use, with Docker's wording.
    #[error("{0}")]
    Conflict(String),
    /// An archive that is not a usable image archive (missing members, bad JSON, ...).
    #[error("invalid image archive: {0}")]
    InvalidArchive(String),
    /// Content whose digest is not the one it was announced with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Archive(#[from] berth_archive::ArchiveError),
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    #[error(transparent)]
    Lock(#[from] berth_store::LockError),
    #[error("metadata database: {0}")]
    Db(#[from] berth_store::rusqlite::Error),
}

impl ImageError {
    pub(crate) fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        ImageError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        ImageError::Json {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn archive(message: impl Into<String>) -> Self {
        ImageError::InvalidArchive(message.into())
    }

    /// The image (or a file named on the command line) does not exist: HTTP 404.
    pub fn is_not_found(&self) -> bool {
        match self {
            ImageError::NotFound { .. } => true,
            ImageError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// The image is in use or otherwise cannot be removed: HTTP 409.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ImageError::Conflict(_))
    }

    /// The caller's input is wrong (reference, change, filter, ambiguous prefix,
    /// unusable archive): HTTP 400.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            ImageError::InvalidReference(_)
                | ImageError::InvalidArgument(_)
                | ImageError::Ambiguous { .. }
                | ImageError::InvalidArchive(_)
                | ImageError::DigestMismatch { .. }
                | ImageError::Archive(_)
        )
    }
}

impl berth_error::HasKind for ImageError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            _ if self.is_not_found() => ErrorKind::NotFound,
            _ if self.is_conflict() => ErrorKind::Conflict,
            _ if self.is_invalid_argument() => ErrorKind::InvalidArgument,
            ImageError::Store(e) => e.kind(),
            ImageError::Lock(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }
}

/// Attaches a path to an I/O result.
pub(crate) trait At<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ImageError>;
}

impl<T> At<T> for Result<T, io::Error> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, ImageError> {
        self.map_err(|e| ImageError::io(path, e))
    }
}
