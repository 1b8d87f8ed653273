//! The one mapping from library errors to Docker's HTTP status codes:
//! 404 for a missing object, 409 for a conflict (name taken, in use, wrong
//! state), 400 for a bad parameter, 500 for an engine failure. The body is
//! `{"message": "..."}` with the text the berth CLI prints for the same error,
//! so `docker` prints `Error response from daemon: <that text>`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn engine(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn not_implemented(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, message)
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(serde_json::json!({ "message": &self.message })),
        )
            .into_response();
        resp.extensions_mut()
            .insert(crate::log::ErrorText(self.message));
        resp
    }
}

/// The one mapping from an error's kind to Docker's HTTP status.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        // Docker quirk: a command that cannot run is a 400 from `start`
        // (dockerd maps the runtime's "executable file not found" to
        // InvalidParameter).
        ErrorKind::CommandNotFound | ErrorKind::CannotExecute => StatusCode::BAD_REQUEST,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An engine error becomes Docker's status for its kind, with its own text.
impl From<berth_engine::Error> for ApiError {
    fn from(e: berth_engine::Error) -> ApiError {
        ApiError::new(status_of(e.kind()), e.to_string())
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> ApiError {
        ApiError::engine(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_docker_status_codes() {
        let status = |kind| ApiError::from(berth_engine::Error::refused(kind, "x")).status;
        assert_eq!(status(ErrorKind::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status(ErrorKind::Conflict), StatusCode::CONFLICT);
        assert_eq!(status(ErrorKind::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(status(ErrorKind::CommandNotFound), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(ErrorKind::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let e = ApiError::from(berth_engine::Error::refused(
            ErrorKind::Conflict,
            "remove v: volume is in use - [c]",
        ));
        assert_eq!(e.message, "remove v: volume is in use - [c]");
    }
}
