//! berth-build: images from Dockerfiles, the way Docker's classic builder
//! (`DOCKER_BUILDKIT=0 docker build`) makes them.
//!
//! # Terms and lifecycle
//! * A **Dockerfile** ([`dockerfile`]) is parsed whole before anything runs; a
//!   syntax error names its line. Arguments are expanded ([`lex`]) step by
//!   step, with the build environment of that moment (ENV over ARG).
//! * The **context** ([`context`]) is the directory (or stdin tar) COPY and
//!   ADD read from, minus what `.dockerignore` ([`ignore`]) hides.
//! * A **stage** starts at `FROM` (an image, an earlier stage, or `scratch`)
//!   and is built step by step. Every step makes an untagged image on top of
//!   the previous one (Docker's intermediate images): metadata steps (ENV,
//!   CMD, ...) only change the config; RUN runs the command in a real container
//!   of the stage so far and its writable layer becomes the new layer; COPY,
//!   ADD (and WORKDIR when it must create the directory) write into a
//!   container's mounted root, whose upper dir becomes the new layer. Step
//!   containers are removed when the step ends, whether it worked or not.
//! * The **cache** ([`cache`]) maps (parent image, step key) to the image the
//!   step made; the key is the step's history line plus digests of the files a
//!   COPY/ADD reads, so a step is reused exactly when Docker's would be.
//! * The target stage's last image is tagged with every `-t` at the very end:
//!   a failed build tags nothing.

pub mod builder;
pub mod cache;
pub mod context;
pub mod dockerfile;
pub mod ignore;
pub mod lex;
pub mod steps;

use std::path::PathBuf;

pub use builder::{build, BuildOptions, BuildOutcome, ContextSource};
pub use steps::{StepContainer, StepContainers};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A Dockerfile that does not parse.
    #[error("dockerfile parse error line {line}: {message}")]
    Syntax { line: usize, message: String },
    /// A RUN whose command failed: Docker's exact words, and its exit code.
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed { command: String, code: i32 },
    #[error("{instruction} failed: file not found in build context or excluded by .dockerignore: stat {path}: file does not exist")]
    SourceNotFound { instruction: String, path: String },
    #[error("{0} failed: no source files were specified")]
    NoSources(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// Stored metadata that does not parse.
    #[error("corrupt metadata: {0}")]
    Corrupt(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata: {0}")]
    Db(#[from] berth_store::rusqlite::Error),
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    #[error(transparent)]
    Image(#[from] berth_image::ImageError),
    /// Boxed: container errors are large and every step returns a Result.
    #[error(transparent)]
    Container(Box<berth_container::ContainerError>),
    #[error(transparent)]
    Archive(#[from] berth_archive::ArchiveError),
}

impl From<berth_container::ContainerError> for BuildError {
    fn from(e: berth_container::ContainerError) -> Self {
        BuildError::Container(Box::new(e))
    }
}

impl berth_error::HasKind for BuildError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            BuildError::Syntax { .. }
            | BuildError::RunFailed { .. }
            | BuildError::SourceNotFound { .. }
            | BuildError::NoSources(_)
            | BuildError::Refused(_)
            | BuildError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            BuildError::Store(e) => e.kind(),
            BuildError::Image(e) => e.kind(),
            BuildError::Container(e) => e.kind(),
            BuildError::Archive(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }
}

impl BuildError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BuildError::Io {
            path: path.into(),
            source,
        }
    }
}
