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

fn status_of_container(e: &ContainerError) -> StatusCode {
    match e {
        ContainerError::NotFound(_) => StatusCode::NOT_FOUND,
        ContainerError::Image(i) => status_of_image(i),
        ContainerError::Volume(v) => status_of_volume(v),
        ContainerError::NameInUse { .. } | ContainerError::Conflict(_) => StatusCode::CONFLICT,
        ContainerError::InvalidName(_)
        | ContainerError::InvalidArgument(_)
        | ContainerError::Ambiguous(_) => StatusCode::BAD_REQUEST,
        // Docker quirk: a command that cannot run is a 400 from `start`
        // (dockerd maps the runtime's "executable file not found" to
        // InvalidParameter); the CLI derives exit status 126/127 from the text.
        ContainerError::CannotRun { .. } => StatusCode::BAD_REQUEST,
        ContainerError::Runtime(r) if r.to_string().contains("invalid signal") => {
            StatusCode::BAD_REQUEST
        }
        ContainerError::Archive(a) if a.is_not_found() => StatusCode::NOT_FOUND,
        ContainerError::Archive(
            berth_archive::ArchiveError::Refused(_)
            | berth_archive::ArchiveError::UnsafeEntry { .. }
            | berth_archive::ArchiveError::NotADirectory { .. },
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn status_of_image(e: &ImageError) -> StatusCode {
    if e.is_not_found() {
        StatusCode::NOT_FOUND
    } else if e.is_conflict() {
        StatusCode::CONFLICT
    } else if e.is_invalid_argument() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

fn status_of_volume(e: &VolumeError) -> StatusCode {
    match e {
        VolumeError::NotFound(_) => StatusCode::NOT_FOUND,
        VolumeError::InUse { .. } => StatusCode::CONFLICT,
        // Docker quirk: an unknown volume driver is a missing plugin: 404.
        VolumeError::Create { reason, .. }
            if reason.contains("plugin") && reason.contains("not found") =>
        {
            StatusCode::NOT_FOUND
        }
        VolumeError::Create { .. }
        | VolumeError::InvalidSpec(_)
        | VolumeError::InvalidFlag { .. }
        | VolumeError::InvalidFilter(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ContainerError> for ApiError {
    fn from(e: ContainerError) -> ApiError {
        ApiError::new(status_of_container(&e), e.to_string())
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        ApiError::new(status_of_image(&e), e.to_string())
    }
}

impl From<VolumeError> for ApiError {
    fn from(e: VolumeError) -> ApiError {
        ApiError::new(status_of_volume(&e), e.to_string())
    }
}

impl From<berth_store::StoreError> for ApiError {
    fn from(e: berth_store::StoreError) -> ApiError {
        ApiError::engine(e.to_string())
    }
}

impl From<berth_archive::ArchiveError> for ApiError {
    fn from(e: berth_archive::ArchiveError) -> ApiError {
        ApiError::from(ContainerError::from(e))
    }
}

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
        let e: ApiError = ContainerError::Engine("boom".into()).into();
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
