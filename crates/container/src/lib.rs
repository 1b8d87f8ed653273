#![recursion_limit = "512"]
//! Containers: an image's read-only layers plus one writable layer, run by an
//! OCI runtime under a per-container monitor.
//!
//! # Terms and lifecycle
//! This crate keeps the container *record*; berth-engine runs the operations.
//! * **create** (berth-engine) validates a request completely into a
//!   [`ContainerSpec`] (image, command, env, user, mounts, resources, the OCI
//!   runtime) before any side effect, then creates named/anonymous volumes, the
//!   container directory (`diff/` = writable layer, `work/`, `merged/`) and the
//!   metadata rows in one transaction. The container is `created`.
//! * **start** spawns the monitor (`berth __monitor`, the id in its
//!   environment, detached with setsid).
//!   The monitor mounts the overlay rootfs ([`rootfs`]), writes the OCI bundle,
//!   has the container's runtime create and start it, reports back through a
//!   pipe, and then stays the container's parent (child subreaper) for its
//!   whole life: it holds stdio, writes the json-file log ([`logs`]), serves
//!   attach clients, records the exit, unmounts the rootfs and applies the
//!   restart policy.
//! * **stop/kill** signal through the runtime; the monitor observes the exit.
//! * **rm** unmounts (if needed), deletes rows and the container directory
//!   (the writable layer dies with the container), then anonymous volumes with
//!   `-v`. Volumes are never deleted by anything else.
//!
//! # Invariants
//! * A container's status changes only through [`state::transition`], which
//!   refuses changes its current status does not allow and records the
//!   matching event in the same transaction.
//! * A container whose status says a monitor exists (running, paused,
//!   restarting) has a live monitor holding `monitor.lock`; when the lock can be
//!   taken the monitor is dead, and berth-engine's `reconcile` marks the
//!   container exited and cleans up its runtime state and mounts.
//! * The overlay rootfs is mounted exactly while a monitor runs the container
//!   (and briefly during `cp`/`export`/`commit` of a stopped container).

mod attributes;
pub mod config;
pub mod health;
pub mod image_mount;
pub mod logs;
pub mod model;
pub mod modes;
pub mod names;
pub mod rootfs;
pub mod state;
pub mod userns;
pub mod volume_rename;

use std::path::PathBuf;

pub use config::{RestartPolicy, SecurityOptions};
pub use health::{Health, HealthConfig, HealthOptions, HealthResult, HealthStatus};
pub use logs::{LogConfig, LogDriver, LogSettings};
pub use model::{Container, ContainerSpec, HostSpec, MountKind, MountPoint, State, Status};
pub use modes::{HostModes, IpcMode, SharedNamespace};

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("No such container: {0}")]
    NotFound(String),
    #[error("multiple IDs found with provided prefix: {0}")]
    Ambiguous(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Conflict(String),
    /// A status change the container's current status does not allow (see
    /// [`state::transition`]); nothing was changed.
    #[error("container {id} is {from}: it cannot become {to}")]
    InvalidTransition {
        id: String,
        from: Status,
        to: Status,
    },
    /// The command could not be started: `code` is 126 (not executable) or 127
    /// (not found), as Docker reports them.
    #[error("{message}")]
    CannotRun { code: i32, message: String },
    #[error("container {id} has corrupt metadata: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call that concerns no file failed (pipe, poll, signalfd, timerfd, fork).
    #[error("{what}: {source}")]
    Sys {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A container's monitor broke its protocol (exited without reporting,
    /// sent what cannot be read).
    #[error("the monitor of container {id}: {problem}")]
    Monitor { id: String, problem: String },
    /// The monitor reported that the container could not be started, for a
    /// reason other than its command (which is [`ContainerError::CannotRun`]).
    #[error("{0}")]
    StartFailed(String),
    /// The container's processes were killed but it did not stop.
    #[error("container {0} did not stop after SIGKILL")]
    DidNotStop(String),
    /// `--init` without a tini binary on the host.
    #[error("--init needs tini: apt-get install tini")]
    InitNotFound,
    /// `top`'s `ps` failed (its stderr).
    #[error("ps: {0}")]
    Ps(String),
    /// `error`, and undoing what led to it failed too.
    #[error("{error}; {what} also failed: {cleanup}")]
    CleanupFailed {
        error: Box<ContainerError>,
        what: String,
        cleanup: Box<ContainerError>,
    },
    #[error("metadata: {0}")]
    Db(#[from] berth_store::rusqlite::Error),
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    #[error(transparent)]
    Lock(#[from] berth_store::LockError),
    #[error(transparent)]
    Image(#[from] berth_image::ImageError),
    #[error(transparent)]
    Volume(#[from] berth_volume::VolumeError),
    #[error(transparent)]
    Runtime(#[from] berth_runtime::RuntimeError),
    #[error(transparent)]
    Mount(#[from] berth_mount::MountError),
    #[error(transparent)]
    Archive(#[from] berth_archive::ArchiveError),
    #[error(transparent)]
    Network(#[from] berth_network::NetworkError),
}

impl ContainerError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ContainerError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn sys(what: &'static str, source: impl Into<std::io::Error>) -> Self {
        ContainerError::Sys {
            what,
            source: source.into(),
        }
    }

    /// `self`, with the failure of the cleanup `what` that followed it.
    pub fn with_cleanup_failure(
        self,
        what: impl Into<String>,
        cleanup: impl Into<ContainerError>,
    ) -> Self {
        ContainerError::CleanupFailed {
            error: Box::new(self),
            what: what.into(),
            cleanup: Box::new(cleanup.into()),
        }
    }
}

impl berth_error::HasKind for ContainerError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            ContainerError::NotFound(_) => ErrorKind::NotFound,
            ContainerError::NameInUse { .. }
            | ContainerError::Conflict(_)
            | ContainerError::InvalidTransition { .. } => ErrorKind::Conflict,
            ContainerError::InvalidName(_)
            | ContainerError::InvalidArgument(_)
            | ContainerError::Ambiguous(_) => ErrorKind::InvalidArgument,
            ContainerError::CannotRun { code: 127, .. } => ErrorKind::CommandNotFound,
            ContainerError::CannotRun { .. } => ErrorKind::CannotExecute,
            ContainerError::Store(e) => e.kind(),
            ContainerError::Lock(e) => e.kind(),
            ContainerError::Image(e) => e.kind(),
            ContainerError::Volume(e) => e.kind(),
            ContainerError::Runtime(e) => e.kind(),
            ContainerError::Mount(e) => e.kind(),
            ContainerError::Archive(e) => e.kind(),
            ContainerError::Network(e) => e.kind(),
            ContainerError::CleanupFailed { error, .. } => error.kind(),
            ContainerError::InitNotFound => ErrorKind::Unavailable,
            ContainerError::Corrupt { .. }
            | ContainerError::Io { .. }
            | ContainerError::Sys { .. }
            | ContainerError::Monitor { .. }
            | ContainerError::StartFailed(_)
            | ContainerError::DidNotStop(_)
            | ContainerError::Ps(_)
            | ContainerError::Db(_) => ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = ContainerError> = std::result::Result<T, E>;
