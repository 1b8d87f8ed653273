//! The boundary between berth and the OCI runtime (runc, crun or youki).
//!
//! # Terms and lifecycle
//! * A **bundle** is a directory holding `config.json`, the OCI runtime spec of one
//!   container. [`build_spec`] turns a fully resolved [`SpecInput`] (rootfs already
//!   mounted, args/env/user already resolved against the image) into a spec carrying
//!   Docker's defaults (namespaces, capabilities, masked paths, default mounts, device
//!   cgroup rules); [`write_bundle`] stores it atomically.
//! * A **user** is resolved by [`resolve_user`] from Docker's `-u` grammar against the
//!   image's `/etc/passwd` and `/etc/group`, which are opened *inside* the rootfs so
//!   that a symlink in an image can never make berth read a host file.
//! * The **runtime** ([`Runtime`]) is the OCI runtime binary plus its state root.
//!   A container goes `create` (namespaces set up, process waiting) → `start` (user
//!   process runs) → exits → `delete`; `kill`, `pause`/`resume`, `state`, `ps`,
//!   `exec` and `update` act on it in between. The runtime's own state (under the
//!   state root) is authoritative only for "is it there and what is its pid"; berth
//!   keeps everything else in its store.
//! * [`build_exec_process`] makes the `process.json` given to `runtime exec`, with
//!   the same security defaults as the container's main process;
//!   [`inherit_container_limits`] copies the container's rlimits and OOM score onto
//!   it, as Docker's exec inherits them.

mod caps;
mod error;
mod runtime;
mod signal;
mod spec;
mod user;

pub use caps::{all_capabilities, default_capabilities, tweak_capabilities};
pub use error::RuntimeError;
pub use oci_spec;
pub use runtime::{exec_log_path, Runtime, State};
pub use signal::parse_signal;
pub use spec::{
    build_exec_process, build_spec, inherit_container_limits, write_bundle, BindMount, ExtraMount,
    Namespace, SpecInput, Ulimit, DEFAULT_SHM_SIZE_BYTES,
};
pub use user::{resolve_user, User};
