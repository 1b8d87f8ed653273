//! berth-engine: the one engine under every front end.
//!
//! # Bird's-eye view
//! Every operation the CLI, the Docker Engine API and the CRI server offer is
//! implemented here, once, over the library crates (store, archive, mount,
//! image, volume, network, runtime, registry, build, container). Front ends
//! translate their wire formats to and from this crate's typed requests and
//! results; none of them touches SQLite, a monitor's socket or a library
//! below this crate directly.
//!
//! # Lifecycle
//! A front end opens an [`Engine`] on a [`Config`] (state root, run
//! directory, default OCI runtime) and calls its operations; each operation
//! is one file under `container/`, `image/`, `volume/`, `network/` or
//! `system/`, written as an `impl Engine` block. There is no daemon: an
//! `Engine` is a handle on the state root, opened per CLI command and per API
//! request; running containers are supervised by their monitors
//! ([`monitor`]), which open their own engine.
//!
//! # Errors
//! Every operation returns [`Error`]; [`Error::kind`] (from
//! [`berth_error::HasKind`]) is what front ends map to exit codes, HTTP
//! statuses and gRPC codes.

pub mod container;
mod error;
pub mod events;
pub mod filters;
pub mod image;
pub mod monitor;
pub mod network;
pub mod rootless;
pub mod security;
pub mod system;
pub mod units;
pub mod volume;

use std::path::{Path, PathBuf};

pub use berth_error::{ErrorKind, HasKind};
pub use error::{Error, Result};

/// The library types that front ends meet in the engine's requests and
/// results.
pub mod model {
    pub use berth_container::model::{Paths, Ulimit};
    pub use berth_container::HostModes;
    pub use berth_container::{
        Container, ContainerSpec, HealthConfig, HealthOptions, HealthStatus, HostSpec, LogConfig,
        MountKind, MountPoint, RestartPolicy, SecurityOptions, State, Status,
    };
    pub use berth_network::{Endpoint, EndpointSettings, PortBinding, DEFAULT_NETWORK};
    pub use berth_runtime::{DeviceMapping, Resources};
    pub use berth_volume::spec::{
        BindOptions, DriverConfig, ImageOptions, MountRequest, TmpfsOptions, VolumeOptions,
    };
}

/// Docker's grammars for what users write in flags and request fields
/// (`-v`, `--mount`, `-p`, paths), which front ends read into the engine's
/// requests.
pub mod grammar {
    pub use berth_archive::clean_path;
    pub use berth_network::parse_publish;
    pub use berth_volume::spec::{parse_mount_request, parse_volume_flag};
}

use berth_store::Store;

/// Where an engine keeps its state and what it runs containers with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The state root: metadata, images, containers, volumes
    /// (`--root`, `BERTH_ROOT`; [`Config::DEFAULT_ROOT`]).
    pub root: PathBuf,
    /// The run directory, on a tmpfs: network namespaces, address leases and
    /// the OCI runtime's state, none of which outlive a reboot
    /// (`--run-dir`, `BERTH_RUN_DIR`; [`Config::DEFAULT_RUN_DIR`]).
    pub run_dir: PathBuf,
    /// The OCI runtime a container is created with unless it names one
    /// (`--runtime`, `BERTH_RUNTIME`: runc, crun, youki or a path;
    /// [`Config::default_runtime`] by default).
    pub default_runtime: String,
}

impl Config {
    pub const DEFAULT_ROOT: &'static str = "/var/lib/berth";
    pub const DEFAULT_RUN_DIR: &'static str = berth_network::DEFAULT_RUN_DIR;

    /// The runtime containers get unless they name one: crun where it is
    /// installed, else runc.
    pub fn default_runtime() -> &'static str {
        berth_runtime::default_runtime()
    }

    /// A configuration with the given root and the defaults for the rest.
    pub fn with_root(root: impl Into<PathBuf>) -> Config {
        Config {
            root: root.into(),
            run_dir: PathBuf::from(Config::DEFAULT_RUN_DIR),
            default_runtime: Config::default_runtime().to_string(),
        }
    }
}

/// A handle on a state root through which every operation runs.
pub struct Engine {
    config: Config,
    store: Store,
}

impl Engine {
    /// Opens (creating if needed) the state root of `config`.
    /// Reads the daemon config's default bridge (`bridge`, `bip`) and
    /// applies it to the root's default network when no container runs on
    /// it; a config that cannot be honoured fails the open, as dockerd
    /// refuses to start with it.
    pub fn open(config: Config) -> Result<Engine> {
        let mut store = Store::open(&config.root)?;
        network::default_bridge::apply(&mut store)?;
        // What an image write killed before its commit stored (the staging
        // itself went with the opening). Best effort: a failure leaves it
        // for the next command, and `system check` reports it meanwhile.
        // The step containers of a build that died go first: the gc then
        // sees what they alone used.
        image::build::remove_dead_builds_steps(&mut store, &config.run_dir);
        // The anonymous volumes of creates killed before their commit.
        container::create_marks::remove_dead_creates_volumes(&mut store);
        let _ = berth_image::layers::gc_after_crash(&mut store);
        // A volume removal killed before its commit gets its data back.
        let _ = berth_volume::recover_interrupted(&mut store);
        // What an `rm` killed after its row left of a range's ACL entries.
        let _ = container::userns_access::revoke_stale(&store);
        let mut engine = Engine { config, store };
        // Network connects killed before their interface was plugged.
        engine.undo_killed_connects();
        // Containers a killed `volume export|clone --pause` left frozen.
        engine.thaw_after_crash();
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn root(&self) -> &Path {
        &self.config.root
    }
}
