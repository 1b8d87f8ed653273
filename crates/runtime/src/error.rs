//! Errors of the runtime crate: spec generation, user resolution and runtime calls.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A filesystem operation failed; `path` is the file concerned.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Docker's wording, e.g. `unable to find user bob: no matching entries in passwd file`.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UserNotFound(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    GroupNotFound(String),
    #[error("uids and gids must be in range 0-2147483647")]
    IdOutOfRange,
    /// An input that Docker would refuse (bad capability, ulimit, resource value...).
    #[error("{0}")]
    InvalidInput(String),
    #[error("Invalid signal: {0}")]
    InvalidSignal(String),
    /// The runtime binary could not be found or is not usable.
    #[error("{0}")]
    RuntimeNotFound(String),
    /// The runtime ran and failed; `message` is its own error text, trimmed.
    #[error("{runtime} {action} failed: {message}")]
    Command {
        runtime: String,
        action: String,
        message: String,
    },
    /// The runtime's output could not be understood.
    #[error("{runtime} {action}: unexpected output: {detail}")]
    BadOutput {
        runtime: String,
        action: String,
        detail: String,
    },
    /// The OCI spec library refused a value we built (a bug rather than bad input).
    #[error("building OCI spec: {0}")]
    Spec(#[from] oci_spec::OciSpecError),
}

impl berth_error::HasKind for RuntimeError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            RuntimeError::UserNotFound(_)
            | RuntimeError::GroupNotFound(_)
            | RuntimeError::IdOutOfRange
            | RuntimeError::InvalidInput(_)
            | RuntimeError::InvalidSignal(_) => ErrorKind::InvalidArgument,
            RuntimeError::RuntimeNotFound(_) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

impl RuntimeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        RuntimeError::InvalidInput(message.into())
    }
}
