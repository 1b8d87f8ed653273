//! berth-error: what kind of failure an error is, independent of its text.
//!
//! Every library error type of berth implements [`HasKind`]. Front ends map a
//! kind to their own wire format exactly once: the CLI to an exit status, the
//! Docker API to an HTTP status, the CRI server to a gRPC code. No code decides
//! anything by reading an error's message.
//!
//! The kinds follow moby's `errdefs` (what dockerd's HTTP statuses are derived
//! from), plus the two ways a container's command cannot run, which Docker
//! reports as exit statuses 126 and 127.

use std::fmt;

/// The kind of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The object asked for does not exist (container, image, volume, network,
    /// exec, file in a container).
    NotFound,
    /// The request is malformed or names something that cannot be (bad flag
    /// value, invalid name, bad reference, unsafe archive entry).
    InvalidArgument,
    /// The request is valid but conflicts with the current state: a name
    /// already taken, an object in use, a container in the wrong state.
    Conflict,
    /// A registry wanted (other) credentials.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// Something berth depends on is not reachable or not there (a registry,
    /// a runtime binary, a volume plugin, a kernel feature).
    Unavailable,
    /// berth does not implement this.
    NotImplemented,
    /// The container's command does not exist (Docker's exit status 127).
    CommandNotFound,
    /// The container's command exists but cannot be executed (Docker's exit
    /// status 126).
    CannotExecute,
    /// Anything else: an I/O error, a corrupt store, a runtime failure.
    Internal,
}

impl ErrorKind {
    /// A short lower-case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NotImplemented => "not implemented",
            ErrorKind::CommandNotFound => "command not found",
            ErrorKind::CannotExecute => "cannot execute",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that knows its [`ErrorKind`].
pub trait HasKind {
    fn kind(&self) -> ErrorKind;
}

/// The kind of an I/O error: a missing file is [`ErrorKind::NotFound`], a
/// refused permission [`ErrorKind::Forbidden`], the rest internal.
pub fn io_kind(e: &std::io::Error) -> ErrorKind {
    match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::Forbidden,
        _ => ErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_have_kinds() {
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(io_kind(&e), ErrorKind::NotFound);
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(io_kind(&e), ErrorKind::Forbidden);
        let e = std::io::Error::from(std::io::ErrorKind::Other);
        assert_eq!(io_kind(&e), ErrorKind::Internal);
        assert_eq!(ErrorKind::NotFound.to_string(), "not found");
    }
}
