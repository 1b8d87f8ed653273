//! The one mapping from berth's error kinds to gRPC status codes, and the
//! refusals of CRI fields berth does not honour.

use berth_engine::{ErrorKind, HasKind};
use tonic::{Code, Status};

/// The gRPC code of an error of `kind`.
pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::Conflict => Code::FailedPrecondition,
        ErrorKind::Unauthorized => Code::Unauthenticated,
        ErrorKind::Forbidden => Code::PermissionDenied,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::NotImplemented => Code::Unimplemented,
        ErrorKind::CommandNotFound | ErrorKind::CannotExecute => Code::FailedPrecondition,
        ErrorKind::Internal => Code::Internal,
    }
}

/// An engine error as the status a CRI client gets.
pub fn status(e: impl HasKind + std::fmt::Display) -> Status {
    Status::new(code(e.kind()), e.to_string())
}

/// A CRI field or value berth does not implement: refused, never dropped.
pub fn unsupported(what: impl std::fmt::Display) -> Status {
    Status::unimplemented(format!("berth cri does not implement {what}"))
}

/// A request that is malformed (a required field missing).
pub fn invalid(what: impl Into<String>) -> Status {
    Status::invalid_argument(what.into())
}
