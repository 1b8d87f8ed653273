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
//! * The **runtime** is an [`OciRuntime`]: a container goes `create` (namespaces
//!   set up, process waiting) → `start` (user process runs) → exits → `delete`;
//!   `kill`, `pause`/`resume`, `state`, `ps`, `exec` and `update` act on it in
//!   between (the trait's documentation has the exact lifecycle). Its stdio is
//!   typed ([`ProcessIo`]: descriptors handed over, or a terminal whose master
//!   comes back), and so are its failures ([`RuntimeError`]). [`open`] gives the
//!   runtime a container names; [`RuncCli`], runc's command line (which crun
//!   and youki share), is the one implementation today; [`default_runtime`]
//!   is crun where it is installed, else runc. On a hybrid cgroup host crun
//!   runs in a mount namespace of its own that hides the cgroup2 mount it
//!   refuses (`crun`), and from a sealed copy of its binary that berth makes
//!   once per process, so that crun skips its own (`sealed_exe`,
//!   [`release_sealed_copy`]). The runtime's own state
//!   (under its state root) is authoritative only for "is it there and what is
//!   its pid"; berth keeps everything else in its store.
//! * [`build_exec_process`] makes the `process.json` given to `runtime exec`, with
//!   the same security defaults as the container's main process;
//!   [`inherit_container_limits`] copies the container's rlimits and OOM score onto
//!   it, as Docker's exec inherits them.

mod advisories;
pub mod apparmor;
mod binary_version;
mod caps;
mod cgroups;
mod child_signals;
mod crun;
mod cwd;
mod error;
mod executable;
mod oci;
mod runc;
mod sealed_exe;
pub mod seccomp;
mod seccomp_cache;
mod signal;
mod sources;
mod spec;
mod terminal;
mod user;
mod verify;

use std::path::Path;

pub use advisories::{host_warnings, runtime_warnings, security_options};
pub use apparmor::AppArmor;
pub use binary_version::{binary_version, BinaryVersion};
pub use caps::{all_capabilities, default_capabilities, tweak_capabilities};
pub use cgroups::{cgroup_features, CgroupFeatures};
pub use child_signals::default_signals_in_child;
pub use crun::is_hybrid as cgroup_hybrid;
pub use cwd::{check_cwd, check_cwd_in_root};
pub use error::RuntimeError;
pub use executable::check_command_in_root;
pub use oci::{Created, Exec, ExecProcess, OciRuntime, ProcessIo, State, Status, WindowSize};
pub use oci_spec;
pub use runc::{default_runtime, runtime_binary, RuncCli, KNOWN_RUNTIMES};
pub use sealed_exe::release_sealed_copy;
pub use seccomp::Seccomp;
pub use signal::parse_signal;
pub use sources::{pin_source, PinnedSource};
pub use spec::{
    build_exec_process, build_spec, cgroup_v2_unified, check_devices, check_oom, check_resources,
    check_sysctl, inherit_container_limits, linux_resources, masked_paths, readonly_paths,
    write_bundle, BindMount, DeviceMapping, ExtraMount, IdMapping, KernelSettings, Limits,
    Namespace, Resources, Shm, SpecInput, Ulimit, UserNamespace, DEFAULT_SHM_SIZE_BYTES,
};
pub use terminal::set_window_size;
pub use user::{resolve_container_user, resolve_user, User};
pub use verify::verify_created;

/// The runtime called `name` (`runc`, `crun`, `youki` or an absolute path to
/// a binary with their command line), keeping its containers' state under
/// `state_root`.
pub fn open(name: &str, state_root: &Path) -> Result<Box<dyn OciRuntime>, RuntimeError> {
    Ok(Box::new(RuncCli::new(name, state_root)?))
}
