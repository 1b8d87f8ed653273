//! Errors of the runtime crate: spec generation, user resolution and runtime calls.
//!
//! A runtime's failure comes out typed: [`RuntimeError::CommandNotFound`],
//! [`RuntimeError::CannotExecute`] and [`RuntimeError::NotFound`] are told apart
//! by the runtime adapter (for runc's CLI, in `runc.rs`, the only code in berth
//! that reads a runtime's error text); everything else is
//! [`RuntimeError::Command`].

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
    /// A system call that concerns no file failed (pipe, pseudo-terminal, fd passing).
    #[error("{what}: {source}")]
    Sys {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Docker's wording, e.g. `unable to find user bob: no matching entries in passwd file`.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UserNotFound(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    GroupNotFound(String),
    /// A `--group-add` name the image does not have (Docker capitalises this one).
    #[error("Unable to find group {0}: no matching entries in group file")]
    GroupAddNotFound(String),
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
    /// The process's executable does not exist (Docker's exit status 127).
    /// `message` is the runtime's own error text, trimmed.
    #[error("{runtime} {action} failed: {message}")]
    CommandNotFound {
        runtime: String,
        action: &'static str,
        message: String,
    },
    /// The process's executable exists but cannot be run (Docker's 126).
    #[error("{runtime} {action} failed: {message}")]
    CannotExecute {
        runtime: String,
        action: &'static str,
        message: String,
    },
    /// The runtime does not know the container.
    #[error("{runtime} {action} failed: {message}")]
    NotFound {
        runtime: String,
        action: &'static str,
        message: String,
    },
    /// The runtime ran and failed otherwise.
    #[error("{runtime} {action} failed: {message}")]
    Command {
        runtime: String,
        action: &'static str,
        message: String,
    },
    /// The runtime's output could not be understood.
    #[error("{runtime} {action}: unexpected output: {detail}")]
    BadOutput {
        runtime: String,
        action: &'static str,
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
            | RuntimeError::GroupAddNotFound(_)
            | RuntimeError::IdOutOfRange
            | RuntimeError::InvalidInput(_)
            | RuntimeError::InvalidSignal(_) => ErrorKind::InvalidArgument,
            RuntimeError::RuntimeNotFound(_) => ErrorKind::Unavailable,
            RuntimeError::CommandNotFound { .. } => ErrorKind::CommandNotFound,
            RuntimeError::CannotExecute { .. } => ErrorKind::CannotExecute,
            RuntimeError::NotFound { .. } => ErrorKind::NotFound,
            RuntimeError::Io { .. }
            | RuntimeError::Sys { .. }
            | RuntimeError::Command { .. }
            | RuntimeError::BadOutput { .. }
            | RuntimeError::Spec(_) => ErrorKind::Internal,
        }
    }
}

impl RuntimeError {
    /// The runtime's own error text, when it ran and failed.
    pub fn runtime_message(&self) -> Option<&str> {
        match self {
            RuntimeError::CommandNotFound { message, .. }
            | RuntimeError::CannotExecute { message, .. }
            | RuntimeError::NotFound { message, .. }
            | RuntimeError::Command { message, .. } => Some(message),
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sys(what: &'static str, source: impl Into<std::io::Error>) -> Self {
        RuntimeError::Sys {
            what,
            source: source.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        RuntimeError::InvalidInput(message.into())
    }
}
