//! The crate's error type: one line each, in Docker's wording where Docker has
//! one, so the CLI prints them as they are.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The user's input is wrong (reference, platform, flags).
    #[error("{0}")]
    InvalidArgument(String),
    /// The registry could not be reached or spoke no usable HTTP/TLS.
    #[error("{0}")]
    Unreachable(String),
    /// The registry refused the credentials (or wanted some).
    #[error("{0}")]
    Unauthorized(String),
    /// The manifest (tag or digest) or a blob does not exist there.
    #[error("{0}")]
    NotFound(String),
    /// Content whose digest is not the one it was asked for.
    #[error("{0}")]
    DigestMismatch(String),
    /// Any other answer the registry gave.
    #[error("{0}")]
    Registry(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error(transparent)]
    Image(#[from] berth_image::ImageError),
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
}

impl RegistryError {
    pub(crate) fn io(path: impl AsRef<Path>, source: io::Error) -> Self {
        RegistryError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn config(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        RegistryError::Config {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }
}

impl berth_error::HasKind for RegistryError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            RegistryError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            RegistryError::Unreachable(_) => ErrorKind::Unavailable,
            RegistryError::Unauthorized(_) => ErrorKind::Unauthorized,
            RegistryError::NotFound(_) => ErrorKind::NotFound,
            RegistryError::Image(e) => e.kind(),
            RegistryError::Store(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }
}

/// Attaches a path to an I/O result.
pub(crate) trait At<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, RegistryError>;
}

impl<T> At<T> for Result<T, io::Error> {
    fn at(self, path: impl AsRef<Path>) -> Result<T, RegistryError> {
        self.map_err(|e| RegistryError::io(path, e))
    }
}

/// The innermost cause of an error, which is the one worth printing for
/// network failures ("Connection refused (os error 111)").
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Turns an oci-client error into a one-line error. `what` names the object
/// asked for (`manifest for HOST/NAME:TAG`), `url` the endpoint when known.
pub(crate) fn from_oci(err: oci_client::errors::OciDistributionError, what: &str) -> RegistryError {
    use oci_client::errors::{DigestError, OciDistributionError as E, OciErrorCode};
    match err {
        E::RequestError(e) => from_reqwest(&e),
        E::UnauthorizedError { url } => RegistryError::Unauthorized(format!(
            "Get \"{url}\": unauthorized: authentication required"
        )),
        E::AuthenticationFailure(body) => {
            RegistryError::Unauthorized(format!("unauthorized: {}", token_error_detail(&body)))
        }
        E::RegistryError { envelope, url } => {
            let not_found = envelope.errors.iter().any(|e| {
                matches!(
                    e.code,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            });
            let unauthorized = envelope
                .errors
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied));
            let detail = envelope
                .errors
                .iter()
                .map(|e| {
                    // distribution's errcode: lower-cased code, then the message.
                    let code = serde_json::to_value(&e.code)
                        .ok()
                        .and_then(|v| v.as_str().map(|s| s.to_lowercase().replace('_', " ")))
                        .unwrap_or_default();
                    if e.message.is_empty() {
                        code
                    } else {
                        format!("{code}: {}", e.message)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            if not_found {
                RegistryError::NotFound(format!("{what} not found: {detail}"))
            } else if unauthorized {
                RegistryError::Unauthorized(format!("{what}: {detail}"))
            } else {
                RegistryError::Registry(format!("{what}: {detail} ({url})"))
            }
        }
        E::ServerError { code, url, message } => {
            if code == 404 {
                return RegistryError::NotFound(format!("{what} not found"));
            }
            let message = message.trim();
            RegistryError::Registry(format!(
                "{what}: received unexpected HTTP status: {code} {}{}",
                reqwest::StatusCode::from_u16(code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or(""),
                if message.is_empty() {
                    format!(" ({url})")
                } else {
                    format!(": {message} ({url})")
                }
            ))
        }
        E::DigestError(DigestError::VerificationError { expected, actual }) => {
            RegistryError::DigestMismatch(format!(
                "{what}: digest mismatch: expected {expected}, got {actual}"
            ))
        }
        E::IoError(e) => RegistryError::Registry(format!("{what}: {e}")),
        other => RegistryError::Registry(format!("{what}: {other}")),
    }
}

/// Network errors as Docker prints them: the request, then the innermost cause.
pub(crate) fn from_reqwest(e: &reqwest::Error) -> RegistryError {
    let url = e
        .url()
        .map(|u| format!("Get \"{u}\": "))
        .unwrap_or_default();
    if let Some(status) = e.status() {
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return RegistryError::Unauthorized(format!(
                "{url}unauthorized: authentication required"
            ));
        }
        return RegistryError::Registry(format!("{url}received unexpected HTTP status: {status}"));
    }
    if e.is_connect() || e.is_timeout() || e.is_request() {
        return RegistryError::Unreachable(format!("{url}{}", root_cause(e)));
    }
    RegistryError::Registry(format!("{url}{}", root_cause(e)))
}

/// A token server's refusal: its `details` (Docker Hub) or `errors[].message`.
pub(crate) fn token_error_detail(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        v.get("details")
            .and_then(|d| d.as_str())
            .map(str::to_string)
            .or_else(|| {
                v.get("errors")?
                    .as_array()?
                    .first()?
                    .get("message")?
                    .as_str()
                    .map(str::to_string)
            })
    });
    from_json.unwrap_or_else(|| {
        let trimmed = body.trim();
        if trimmed.is_empty() {
            "authentication required".to_string()
        } else {
            trimmed.to_string()
        }
    })
}
