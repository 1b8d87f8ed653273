//! The one mapping from library errors to Docker's HTTP status codes:
//! 404 for a missing object, 409 for a conflict (name taken, in use, wrong
//! state), 400 for a bad parameter, 500 for an engine failure. The body is
//! `{"message": "..."}` with the text the berth CLI prints for the same error,
//! so `docker` prints `Error response from daemon: <that text>`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_container::ContainerError;
use berth_image::ImageError;
use berth_volume::VolumeError;
use berth_error::{ErrorKind, HasKind};

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
        (
            self.status,
            axum::Json(serde_json::json!({ "message": self.message })),
        )
            .into_response()
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

/// Any library error becomes Docker's status for its kind, with its own text.
macro_rules! from_library_error {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> ApiError {
                ApiError::new(status_of(e.kind()), e.to_string())
            }
        }
    )*};
}

from_library_error!(
    berth_engine::Error,
    ContainerError,
    ImageError,
    VolumeError,
    berth_network::NetworkError,
    berth_store::StoreError,
    berth_archive::ArchiveError,
);

impl From<berth_store::rusqlite::Error> for ApiError {
    fn from(e: berth_store::rusqlite::Error) -> ApiError {
        ApiError::engine(format!("metadata: {e}"))
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
    fn library_errors_map_to_docker_status_codes() {
        let e: ApiError = ContainerError::NotFound("x".into()).into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.message, "No such container: x");
        let e: ApiError = ContainerError::NameInUse {
            name: "a".into(),
            id: "b".into(),
        }
        .into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        let e: ApiError = VolumeError::InUse {
            name: "v".into(),
            containers: vec!["c".into()],
        }
        .into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(e.message, "remove v: volume is in use - [c]");
        let e: ApiError = ContainerError::InvalidArgument("bad".into()).into();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e: ApiError = ContainerError::Image(ImageError::NotFound {
            reference: "busybox:latest".into(),
        })
        .into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        let e: ApiError = ContainerError::StartFailed("boom".into()).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
