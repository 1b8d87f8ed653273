//! OCI runtime spec generation with Docker's defaults.
//!
//! The input ([`SpecInput`]) is fully resolved by the caller: args are the final
//! ENTRYPOINT+CMD, env is merged, the user is resolved, the rootfs is mounted. This
//! module only adds what Docker's daemon adds on top: the default mounts, masked and
//! read-only paths, namespaces, capabilities, device rules and cgroup resources, and
//! applies Docker's rules for privileged mode, read-only rootfs and user mounts
//! that replace defaults. Docker's own values are checked here too (memory floor,
//! CPU range, oom score range), with Docker's messages.

mod devices;
mod kernel;
mod mounts;
mod namespaces;
mod process;
mod resources;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{RootBuilder, Spec};

use crate::apparmor::AppArmor;
use crate::caps::tweak_capabilities;
use crate::error::RuntimeError;
use crate::seccomp::Seccomp;
use crate::user::User;

pub use kernel::{check_devices, check_oom, check_sysctl, DeviceMapping, KernelSettings, Shm};
pub use mounts::{masked_paths, readonly_paths};
pub use namespaces::{cgroup_v2_unified, IdMapping, UserNamespace};
pub use process::{build_exec_process, inherit_container_limits};
pub use resources::{check_resources, linux_resources, Limits, Resources};

/// How a container gets a namespace of some kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// A fresh namespace for this container (Docker's default; bridge/none networks).
    New,
    /// The host's namespace (`--network host`).
    Host,
    /// Join an existing namespace (`--network container:X` → `/proc/PID/ns/net`,
    /// `--pid container:X` → `/proc/PID/ns/pid`).
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    /// `rbind` (submounts follow) rather than `bind`.
    pub recursive: bool,
    /// Read-only on its own mount only (submounts stay writable).
    pub read_only_non_recursive: bool,
    /// `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
    pub propagation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraMount {
    Bind(BindMount),
    /// `options` are tmpfs data and flags as the user gave them (`size=65536k`,
    /// `mode=1777`, `exec`...); Docker's `noexec,nosuid,nodev,rprivate` come first
    /// and are overridden by them.
    Tmpfs {
        destination: String,
        options: Vec<String>,
    },
}

impl ExtraMount {
    fn destination(&self) -> &str {
        match self {
            ExtraMount::Bind(b) => &b.destination,
            ExtraMount::Tmpfs { destination, .. } => destination,
        }
    }
}

/// A `--ulimit name=soft:hard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Everything a container's spec depends on, already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecInput {
    /// The mounted rootfs (overlay merged dir).
    pub rootfs: PathBuf,
    pub read_only_rootfs: bool,
    /// Final ENTRYPOINT+CMD; must not be empty.
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: User,
    pub terminal: bool,
    pub hostname: String,
    /// Config.Domainname (empty: none), set in the container's own UTS
    /// namespace.
    pub domainname: String,
    /// Volumes, binds, tmpfs and the berth-managed /etc files.
    pub mounts: Vec<ExtraMount>,
    pub privileged: bool,
    /// The paths masked and made read-only in an unprivileged container
    /// (`None`: Docker's lists, [`masked_paths`] and [`readonly_paths`]).
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    /// Docker syntax: `NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    /// The seccomp filter chosen at create (Docker's default unless told).
    pub seccomp: Seccomp,
    /// The AppArmor profile chosen at create (applied where AppArmor is on).
    pub apparmor: AppArmor,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
    /// Cgroup settings beyond memory, CPUs and pids (`--cpu-shares`, cpusets,
    /// `--device-cgroup-rule`...).
    pub resources: Resources,
    pub ulimits: Vec<Ulimit>,
    pub network: Namespace,
    /// `--pid`: a new PID namespace, the host's or another container's.
    pub pid: Namespace,
    /// `--uts`: a new UTS namespace (with `hostname`) or the host's.
    pub uts: Namespace,
    /// `--init`: host path of tini, bind-mounted at /sbin/docker-init.
    pub init_binary: Option<PathBuf>,
    pub shm_size_bytes: u64,
    /// cgroupfs-driver path such as `/berth/<id>`; empty leaves it to the runtime.
    pub cgroups_path: String,
    pub oom_score_adj: Option<i32>,
    /// `--ipc` and `/dev/shm`, `--sysctl`, `--device`, `--oom-kill-disable`.
    pub kernel: KernelSettings,
    /// `--userns`: a user namespace of its own; `None`: the host's.
    pub user_namespace: Option<UserNamespace>,
}

impl SpecInput {
    /// The memory, CPU and pids limits.
    fn limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory_bytes,
            nano_cpus: self.nano_cpus,
            pids_limit: self.pids_limit,
        }
    }
}

/// Docker's `--shm-size` default.
pub const DEFAULT_SHM_SIZE_BYTES: u64 = 64 << 20;

/// Where `--init` puts the init binary inside the container.
const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// Builds the container's `config.json` content.
pub fn build_spec(input: &SpecInput) -> Result<Spec, RuntimeError> {
    if input.args.is_empty() {
        return Err(RuntimeError::invalid("No command specified"));
    }
    resources::validate_resources(input)?;
    let capabilities = tweak_capabilities(&input.cap_add, &input.cap_drop, input.privileged)?;

    let mut args = input.args.clone();
    if input.init_binary.is_some() {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    let mut process = process::make_process(
        args,
        &input.env,
        &input.cwd,
        &input.user,
        input.terminal,
        &capabilities,
        input.no_new_privileges,
    )?;
    process.set_rlimits(process::rlimits(&input.ulimits)?);
    // Docker always writes the score (0 by default) so a container never inherits
    // the engine's own adjustment.
    process.set_oom_score_adj(Some(input.oom_score_adj.unwrap_or(0)));
    process.set_apparmor_profile(crate::apparmor::profile_for(
        &input.apparmor,
        input.privileged,
    )?);
    // The image's and the container's symlinks, as the runtime will follow them.
    crate::cwd::check_cwd_in_root(&input.rootfs, &input.cwd)?;

    let (mounts, rootfs_propagation) = mounts::mounts(input)?;
    let seccomp = crate::seccomp::filter_for(&input.seccomp, input.privileged, &capabilities)?;
    let linux = linux_section(input, rootfs_propagation, seccomp)?;

    let mut spec = Spec::default();
    spec.set_version("1.0.2-dev".to_string())
        .set_root(Some(
            RootBuilder::default()
                .path(input.rootfs.clone())
                .readonly(input.read_only_rootfs)
                .build()?,
        ))
        .set_process(Some(process))
        // Without a UTS namespace of its own the container has the host's name.
        .set_hostname((input.uts != Namespace::Host).then(|| input.hostname.clone()))
        // Set as Docker sets it, through the `kernel.domainname` sysctl
        // (runc 1.1 ignores this field).
        .set_domainname(None)
        .set_mounts(Some(mounts))
        .set_hooks(None)
        .set_annotations(None)
        .set_linux(Some(linux))
        .set_solaris(None)
        .set_windows(None)
        .set_vm(None)
        .set_uid_mappings(None)
        .set_gid_mappings(None);
    Ok(spec)
}

/// Writes `bundle_dir/config.json` atomically (temp file, rename).
pub fn write_bundle(bundle_dir: &Path, spec: &Spec) -> Result<(), RuntimeError> {
    std::fs::create_dir_all(bundle_dir).map_err(|e| RuntimeError::io(bundle_dir, e))?;
    let bytes = serde_json::to_vec(spec).map_err(|e| {
        RuntimeError::invalid(format!(
            "{}: serializing spec: {e}",
            bundle_dir.join("config.json").display()
        ))
    })?;
    write_config(bundle_dir, &bytes)
}

/// Replaces `bundle_dir/config.json` with `bytes` atomically (temp file,
/// rename). Not synced to disk: the runtime reads it at once and nothing
/// reads it later (every start writes it anew), so an fsync (4–8 ms on
/// these machines' disks) would buy nothing.
pub(crate) fn write_config(bundle_dir: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    let final_path = bundle_dir.join("config.json");
    let temp_path = bundle_dir.join(".config.json.tmp");
    // Private: it holds the container's environment (`-e SECRET=...`).
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp_path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| RuntimeError::io(&temp_path, e))?;
    std::fs::rename(&temp_path, &final_path).map_err(|e| RuntimeError::io(&final_path, e))
}

fn linux_section(
    input: &SpecInput,
    rootfs_propagation: Option<String>,
    seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
) -> Result<oci_spec::runtime::Linux, RuntimeError> {
    let namespaces = namespaces::namespaces(input)?;
    let (mut devices, mut device_rules) = devices::devices(input)?;
    let (own_devices, own_rules) = kernel::devices(&input.kernel)?;
    devices.extend(own_devices);
    device_rules.extend(own_rules);
    let mut resources = resources::resources(input, device_rules)?;
    kernel::apply_oom_kill_disable(&input.kernel, &mut resources);
    // Docker's network sysctls, then the container's own (which win).
    let mut sysctl = namespaces::network_sysctls(input);
    sysctl.extend(input.kernel.sysctls.clone());
    if input.uts != Namespace::Host && !input.domainname.is_empty() {
        sysctl.insert("kernel.domainname".into(), input.domainname.clone());
    }

    let (uid_mappings, gid_mappings) = namespaces::id_mappings(input.user_namespace.as_ref())?;
    // Every field is set explicitly: the library's Default carries its own opinions.
    let mut linux = oci_spec::runtime::Linux::default();
    linux
        .set_uid_mappings(uid_mappings)
        .set_gid_mappings(gid_mappings)
        .set_sysctl((!sysctl.is_empty()).then_some(sysctl))
        .set_resources(Some(resources))
        .set_cgroups_path(
            (!input.cgroups_path.is_empty()).then(|| PathBuf::from(&input.cgroups_path)),
        )
        .set_namespaces(Some(namespaces))
        .set_devices(Some(devices))
        .set_seccomp(seccomp)
        .set_rootfs_propagation(rootfs_propagation)
        .set_masked_paths(
            (!input.privileged)
                .then(|| (input.masked_paths.clone()).unwrap_or_else(mounts::masked_paths)),
        )
        .set_readonly_paths(
            (!input.privileged)
                .then(|| (input.readonly_paths.clone()).unwrap_or_else(mounts::readonly_paths)),
        )
        .set_mount_label(None)
        .set_intel_rdt(None)
        .set_personality(None)
        .set_time_offsets(None);
    Ok(linux)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
