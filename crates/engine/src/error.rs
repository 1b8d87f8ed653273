//! The engine's error: any library's error, or a refusal of the engine's own.

use berth_error::{ErrorKind, HasKind};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Container(#[from] berth_container::ContainerError),
    #[error(transparent)]
    Image(#[from] berth_image::ImageError),
    #[error(transparent)]
    Volume(#[from] berth_volume::VolumeError),
    #[error(transparent)]
    Network(#[from] berth_network::NetworkError),
    #[error(transparent)]
    Build(#[from] berth_build::BuildError),
    #[error(transparent)]
    Registry(#[from] berth_registry::RegistryError),
    #[error(transparent)]
    Runtime(#[from] berth_runtime::RuntimeError),
    #[error(transparent)]
    Archive(#[from] berth_archive::ArchiveError),
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    #[error(transparent)]
    Lock(#[from] berth_store::LockError),
    #[error("metadata database: {0}")]
    Db(#[from] berth_store::rusqlite::Error),
    /// A request the engine itself refuses; `kind` says why.
    #[error("{message}")]
    Refused { kind: ErrorKind, message: String },
}

impl Error {
    /// Whether the state root was refused as a whole: a newer berth's
    /// (front ends exit as the engine failing, Docker's 125).
    pub fn refuses_root(&self) -> bool {
        matches!(self, Error::Store(e) if e.is_schema_too_new())
    }

    /// A refusal of the engine's own.
    pub fn refused(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error::Refused {
            kind,
            message: message.into(),
        }
    }
}

impl HasKind for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Container(e) => e.kind(),
            Error::Image(e) => e.kind(),
            Error::Volume(e) => e.kind(),
            Error::Network(e) => e.kind(),
            Error::Build(e) => e.kind(),
            Error::Registry(e) => e.kind(),
            Error::Runtime(e) => e.kind(),
            Error::Archive(e) => e.kind(),
            Error::Store(e) => e.kind(),
            Error::Lock(e) => e.kind(),
            Error::Db(_) => ErrorKind::Internal,
            Error::Refused { kind, .. } => *kind,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
