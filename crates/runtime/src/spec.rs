//! OCI runtime spec generation with Docker's defaults.
//!
//! The input ([`SpecInput`]) is fully resolved by the caller: args are the final
//! ENTRYPOINT+CMD, env is merged, the user is resolved, the rootfs is mounted. This
//! module only adds what Docker's daemon adds on top: the default mounts, masked and
//! read-only paths, namespaces, capabilities, device rules and cgroup resources, and
//! applies Docker's rules for privileged mode, read-only rootfs and user mounts
//! that replace defaults. Docker's own values are checked here too (memory floor,
//! CPU range, oom score range), with Docker's messages.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{
    LinuxCapabilities, LinuxCpuBuilder, LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup,
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxMemoryBuilder, LinuxNamespace,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResourcesBuilder, Mount,
    MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process, ProcessBuilder,
    RootBuilder, Spec, UserBuilder,
};

use crate::apparmor::AppArmor;
use crate::caps::{all_capabilities, to_oci, tweak_capabilities};
use crate::error::RuntimeError;
use crate::seccomp::Seccomp;
use crate::user::User;

/// How a container gets a namespace of some kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// A fresh namespace for this container (Docker's default; bridge/none networks).
    New,
    /// The host's namespace (`--network host`).
    Host,
    /// Join an existing namespace (`--network container:X` → `/proc/PID/ns/net`).
    Path(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    /// `rbind` (submounts follow) rather than `bind`.
    pub recursive: bool,
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
    /// Volumes, binds, tmpfs and the berth-managed /etc files.
    pub mounts: Vec<ExtraMount>,
    pub privileged: bool,
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
    pub ulimits: Vec<Ulimit>,
    pub network: Namespace,
    /// `--init`: host path of tini, bind-mounted at /sbin/docker-init.
    pub init_binary: Option<PathBuf>,
    pub shm_size_bytes: u64,
    /// cgroupfs-driver path such as `/berth/<id>`; empty leaves it to the runtime.
    pub cgroups_path: String,
    pub oom_score_adj: Option<i32>,
}

/// Docker's `--shm-size` default.
pub const DEFAULT_SHM_SIZE_BYTES: u64 = 64 << 20;

/// Where `--init` puts the init binary inside the container.
const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";
/// Docker's floor for `--memory`.
const MIN_MEMORY_BYTES: i64 = 6_291_456;
/// CFS period used to express `--cpus` (100ms, in microseconds).
const CPU_PERIOD_US: u64 = 100_000;

const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Default mounts that stay writable under `--read-only`.
const WRITABLE_UNDER_READ_ONLY: &[&str] = &["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"];

/// tmpfs data options Docker accepts (everything else must be a mount flag).
const TMPFS_DATA_KEYS: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// Mount flags grouped so that the last of a group wins when merging tmpfs options.
const FLAG_GROUPS: &[&[&str]] = &[
    &["ro", "rw"],
    &["exec", "noexec"],
    &["suid", "nosuid"],
    &["dev", "nodev"],
    &["sync", "async"],
    &["dirsync"],
    &["remount"],
    &["mand", "nomand"],
    &["atime", "noatime"],
    &["diratime", "nodiratime"],
    &["relatime", "norelatime"],
    &["strictatime", "nostrictatime"],
    &["bind"],
    &["rbind"],
    // One propagation mode only.
    &[
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "unbindable",
        "runbindable",
    ],
];

/// Builds the container's `config.json` content.
pub fn build_spec(input: &SpecInput) -> Result<Spec, RuntimeError> {
    if input.args.is_empty() {
        return Err(RuntimeError::invalid("No command specified"));
    }
    validate_resources(input)?;
    let capabilities = tweak_capabilities(&input.cap_add, &input.cap_drop, input.privileged)?;

    let mut args = input.args.clone();
    if input.init_binary.is_some() {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    let mut process = make_process(
        args,
        &input.env,
        &input.cwd,
        &input.user,
        input.terminal,
        &capabilities,
        input.no_new_privileges,
    )?;
    process.set_rlimits(rlimits(&input.ulimits)?);
    // Docker always writes the score (0 by default) so a container never inherits
    // the engine's own adjustment.
    process.set_oom_score_adj(Some(input.oom_score_adj.unwrap_or(0)));
    process.set_apparmor_profile(crate::apparmor::profile_for(
        &input.apparmor,
        input.privileged,
    )?);
    // The image's and the container's symlinks, as the runtime will follow them.
    crate::cwd::check_cwd_in_root(&input.rootfs, &input.cwd)?;

    let (mounts, rootfs_propagation) = mounts(input)?;
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
        .set_hostname(Some(input.hostname.clone()))
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

/// Writes `bundle_dir/config.json` atomically (temp file, fsync, rename).
pub fn write_bundle(bundle_dir: &Path, spec: &Spec) -> Result<(), RuntimeError> {
    std::fs::create_dir_all(bundle_dir).map_err(|e| RuntimeError::io(bundle_dir, e))?;
    let final_path = bundle_dir.join("config.json");
    let temp_path = bundle_dir.join(".config.json.tmp");
    let bytes = serde_json::to_vec(spec).map_err(|e| {
        RuntimeError::invalid(format!("{}: serializing spec: {e}", final_path.display()))
    })?;
    // Private: it holds the container's environment (`-e SECRET=...`).
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp_path)
        .map_err(|e| RuntimeError::io(&temp_path, e))?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| RuntimeError::io(&temp_path, e))?;
    std::fs::rename(&temp_path, &final_path).map_err(|e| RuntimeError::io(&final_path, e))
}

/// The process for `runtime exec --process FILE`: same capability rules as a
/// container (`privileged` is the container's or the exec's `--privileged`).
#[allow(clippy::too_many_arguments)]
pub fn build_exec_process(
    args: &[String],
    env: &[String],
    cwd: &str,
    user: &User,
    terminal: bool,
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
    no_new_privileges: bool,
) -> Result<Process, RuntimeError> {
    if args.is_empty() {
        return Err(RuntimeError::invalid("No exec command specified"));
    }
    let capabilities = tweak_capabilities(cap_add, cap_drop, privileged)?;
    make_process(
        args.to_vec(),
        env,
        cwd,
        user,
        terminal,
        &capabilities,
        no_new_privileges,
    )
}

/// Gives an exec process what Docker's exec inherits from the container's own
/// process: its rlimits (`--ulimit`) and OOM score adjustment.
pub fn inherit_container_limits(process: &mut Process, container: &Spec) {
    if let Some(main) = container.process() {
        process
            .set_rlimits(main.rlimits().clone())
            .set_oom_score_adj(main.oom_score_adj());
    }
}

fn make_process(
    args: Vec<String>,
    env: &[String],
    cwd: &str,
    user: &User,
    terminal: bool,
    capabilities: &[String],
    no_new_privileges: bool,
) -> Result<Process, RuntimeError> {
    if !cwd.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "the working directory '{cwd}' is invalid, it needs to be an absolute path"
        )));
    }
    crate::cwd::check_cwd(cwd)?;
    // Docker grants bounding, effective and permitted; never inheritable or ambient
    // (CVE-2022-24769), so a non-root user's process ends up with none after execve.
    let caps = to_oci(capabilities)?;
    let mut capabilities = LinuxCapabilities::default();
    capabilities
        .set_bounding(Some(caps.clone()))
        .set_effective(Some(caps.clone()))
        .set_permitted(Some(caps))
        .set_inheritable(None)
        .set_ambient(None);
    let mut process = ProcessBuilder::default()
        .terminal(terminal)
        .user(
            UserBuilder::default()
                .uid(user.uid)
                .gid(user.gid)
                .additional_gids(user.additional_gids.clone())
                .build()?,
        )
        .args(args)
        .env(env.to_vec())
        .cwd(cwd)
        .capabilities(capabilities)
        .build()?;
    // The builder falls back to the library's own defaults for unset fields; clear
    // the ones Docker leaves unset.
    process
        .set_rlimits(None)
        .set_no_new_privileges(no_new_privileges.then_some(true))
        .set_apparmor_profile(None)
        .set_selinux_label(None)
        .set_oom_score_adj(None)
        .set_console_size(None)
        .set_command_line(None)
        .set_scheduler(None)
        .set_io_priority(None)
        .set_exec_cpu_affinity(None);
    Ok(process)
}

fn validate_resources(input: &SpecInput) -> Result<(), RuntimeError> {
    if let Some(memory) = input.memory_bytes {
        if memory != 0 && memory < MIN_MEMORY_BYTES {
            return Err(RuntimeError::invalid("Minimum memory limit allowed is 6MB"));
        }
    }
    if let Some(nano) = input.nano_cpus {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1);
        if nano < 0 || nano > cpus * 1_000_000_000 {
            return Err(RuntimeError::invalid(format!(
                "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
            )));
        }
    }
    if let Some(score) = input.oom_score_adj {
        if !(-1000..=1000).contains(&score) {
            return Err(RuntimeError::invalid(format!(
                "Invalid value {score}, range for oom score adj is [-1000, 1000]"
            )));
        }
        if score < 0 && !has_sys_resource()? {
            return Err(RuntimeError::invalid(format!(
                "oom score adj {score}: a negative value needs CAP_SYS_RESOURCE, which this process lacks"
            )));
        }
    }
    Ok(())
}

fn has_sys_resource() -> Result<bool, RuntimeError> {
    Ok(all_capabilities()?.iter().any(|c| c == "CAP_SYS_RESOURCE"))
}

fn rlimit_type(name: &str) -> Option<(PosixRlimitType, rustix::process::Resource)> {
    use rustix::process::Resource as R;
    use PosixRlimitType as T;
    Some(match name {
        "as" => (T::RlimitAs, R::As),
        "core" => (T::RlimitCore, R::Core),
        "cpu" => (T::RlimitCpu, R::Cpu),
        "data" => (T::RlimitData, R::Data),
        "fsize" => (T::RlimitFsize, R::Fsize),
        "locks" => (T::RlimitLocks, R::Locks),
        "memlock" => (T::RlimitMemlock, R::Memlock),
        "msgqueue" => (T::RlimitMsgqueue, R::Msgqueue),
        "nice" => (T::RlimitNice, R::Nice),
        "nofile" => (T::RlimitNofile, R::Nofile),
        "nproc" => (T::RlimitNproc, R::Nproc),
        "rss" => (T::RlimitRss, R::Rss),
        "rtprio" => (T::RlimitRtprio, R::Rtprio),
        "rttime" => (T::RlimitRttime, R::Rttime),
        "sigpending" => (T::RlimitSigpending, R::Sigpending),
        "stack" => (T::RlimitStack, R::Stack),
        _ => return None,
    })
}

/// `--ulimit`s as OCI rlimits. Raising a hard limit above this process's own needs
/// CAP_SYS_RESOURCE; without it the runtime would fail obscurely, so refuse here.
fn rlimits(ulimits: &[Ulimit]) -> Result<Option<Vec<PosixRlimit>>, RuntimeError> {
    if ulimits.is_empty() {
        return Ok(None);
    }
    let can_raise = has_sys_resource()?;
    let mut out = Vec::with_capacity(ulimits.len());
    for ulimit in ulimits {
        let (typ, resource) = rlimit_type(&ulimit.name).ok_or_else(|| {
            RuntimeError::invalid(format!("invalid ulimit type: {}", ulimit.name))
        })?;
        if ulimit.soft > ulimit.hard {
            return Err(RuntimeError::invalid(format!(
                "ulimit soft limit must be less than or equal to hard limit: {} > {}",
                ulimit.soft, ulimit.hard
            )));
        }
        let current_hard = rustix::process::getrlimit(resource)
            .maximum
            .unwrap_or(u64::MAX);
        if ulimit.hard > current_hard && !can_raise {
            return Err(RuntimeError::invalid(format!(
                "ulimit {}: hard limit {} is above the current hard limit {current_hard}, and raising it needs CAP_SYS_RESOURCE, which this process lacks",
                ulimit.name, ulimit.hard
            )));
        }
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(ulimit.soft)
                .hard(ulimit.hard)
                .build()?,
        );
    }
    Ok(Some(out))
}

/// Lexically cleans an absolute container path ("/a//b/" → "/a/b").
fn clean_destination(destination: &str) -> Result<String, RuntimeError> {
    if !destination.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "invalid mount config: mount destination {destination} is not an absolute path"
        )));
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(destination).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

fn depth(destination: &str) -> usize {
    destination.matches('/').count()
}

/// Docker's masked paths plus each CPU's `thermal_throttle` directory where the
/// host has one (it exposes host-wide state, GHSA-6fw5-f8r9-fgfm's sibling).
fn masked_paths() -> Vec<String> {
    let mut paths = strings(MASKED_PATHS);
    let mut throttles: Vec<(u32, String)> = std::fs::read_dir("/sys/devices/system/cpu")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let number: u32 = name.strip_prefix("cpu")?.parse().ok()?;
            let throttle = entry.path().join("thermal_throttle");
            throttle
                .exists()
                .then(|| (number, throttle.to_string_lossy().into_owned()))
        })
        .collect();
    throttles.sort();
    paths.extend(throttles.into_iter().map(|(_, path)| path));
    paths
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn mount(
    destination: &str,
    typ: &str,
    source: impl Into<PathBuf>,
    options: Vec<String>,
) -> Result<Mount, RuntimeError> {
    Ok(MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source.into())
        .options(options)
        .build()?)
}

fn default_mounts(shm_size_bytes: u64) -> Result<Vec<Mount>, RuntimeError> {
    let shm_size = if shm_size_bytes == 0 {
        DEFAULT_SHM_SIZE_BYTES
    } else {
        shm_size_bytes
    };
    Ok(vec![
        mount(
            "/proc",
            "proc",
            "proc",
            strings(&["nosuid", "noexec", "nodev"]),
        )?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            strings(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            strings(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ]),
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            strings(&["nosuid", "noexec", "nodev", "ro"]),
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            strings(&["ro", "nosuid", "noexec", "nodev"]),
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            strings(&["nosuid", "noexec", "nodev"]),
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            vec![
                "nosuid".into(),
                "noexec".into(),
                "nodev".into(),
                "mode=1777".into(),
                format!("size={shm_size}"),
            ],
        )?,
    ])
}

/// Docker's `MergeTmpfsOptions`: later options win over earlier ones of the same
/// flag group or data key; unknown data keys are refused.
fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, RuntimeError> {
    let mut seen_keys: HashSet<String> = HashSet::new();
    let mut merged: Vec<String> = Vec::new();
    for option in options.iter().rev() {
        if option == "defaults" || option.is_empty() {
            continue;
        }
        let key = if let Some(group) = FLAG_GROUPS.iter().find(|g| g.contains(&option.as_str())) {
            group[0].to_string()
        } else {
            match option.split_once('=') {
                Some((key, _)) if TMPFS_DATA_KEYS.contains(&key) => format!("{key}="),
                _ => {
                    return Err(RuntimeError::invalid(format!(
                        "invalid tmpfs option \"{option}\""
                    )))
                }
            }
        };
        if seen_keys.insert(key) {
            merged.insert(0, option.clone());
        }
    }
    Ok(merged)
}

/// Default mounts, the init binary, then user mounts shallowest first; returns the
/// rootfs propagation a shared/slave user mount requires.
fn mounts(input: &SpecInput) -> Result<(Vec<Mount>, Option<String>), RuntimeError> {
    let mut user_mounts: Vec<(String, &ExtraMount)> = input
        .mounts
        .iter()
        .map(|m| Ok((clean_destination(m.destination())?, m)))
        .collect::<Result<_, RuntimeError>>()?;
    // Parents before children: a stable sort on path depth.
    user_mounts.sort_by_key(|(destination, _)| depth(destination));
    let user_destinations: HashSet<&str> = user_mounts.iter().map(|(d, _)| d.as_str()).collect();
    let user_mounts_dev = user_destinations.contains("/dev");

    let mut result: Vec<Mount> = Vec::new();
    for default in default_mounts(input.shm_size_bytes)? {
        let destination = default.destination().to_string_lossy().into_owned();
        if user_destinations.contains(destination.as_str()) {
            continue;
        }
        if user_mounts_dev && destination.starts_with("/dev/") {
            continue;
        }
        result.push(default);
    }
    if let Some(init) = &input.init_binary {
        if !user_destinations.contains(INIT_PATH_IN_CONTAINER) {
            result.push(mount(
                INIT_PATH_IN_CONTAINER,
                "bind",
                init.clone(),
                strings(&["bind", "ro"]),
            )?);
        }
    }

    let mut rootfs_propagation: Option<String> = None;
    for (destination, extra) in &user_mounts {
        match extra {
            ExtraMount::Tmpfs { options, .. } => {
                let mut all = strings(&["noexec", "nosuid", "nodev", "rprivate"]);
                all.extend(
                    options
                        .iter()
                        .flat_map(|o| o.split(','))
                        .map(str::to_string),
                );
                result.push(mount(
                    destination,
                    "tmpfs",
                    "tmpfs",
                    merge_tmpfs_options(&all)?,
                )?);
            }
            ExtraMount::Bind(bind) => {
                let mut options = vec![if bind.recursive { "rbind" } else { "bind" }.to_string()];
                if bind.read_only {
                    // Recursive binds are made read-only recursively (Docker ≥ 25 with
                    // a runtime supporting "rro"), so submounts cannot be written either.
                    options.push(if bind.recursive { "rro" } else { "ro" }.to_string());
                }
                if let Some(propagation) = &bind.propagation {
                    match propagation.as_str() {
                        "shared" | "rshared" => {
                            rootfs_propagation = Some("shared".into());
                        }
                        "slave" | "rslave" => {
                            if rootfs_propagation.as_deref() != Some("shared") {
                                rootfs_propagation = Some("rslave".into());
                            }
                        }
                        "private" | "rprivate" => {}
                        other => {
                            return Err(RuntimeError::invalid(format!(
                                "invalid mount config: invalid propagation mode: {other}"
                            )))
                        }
                    }
                    options.push(propagation.clone());
                }
                result.push(mount(destination, "bind", bind.source.clone(), options)?);
            }
        }
    }

    for m in result.iter_mut() {
        let destination = m.destination().to_string_lossy().into_owned();
        let is_user = user_destinations.contains(destination.as_str());
        let options = m.options_mut().get_or_insert_with(Vec::new);
        if input.read_only_rootfs
            && !is_user
            && !WRITABLE_UNDER_READ_ONLY.contains(&destination.as_str())
            && !options.iter().any(|o| o == "ro")
        {
            options.push("ro".into());
        }
        // Privileged containers get a writable /sys and writable cgroups.
        if input.privileged
            && !is_user
            && (destination == "/sys" || m.typ().as_deref() == Some("cgroup"))
        {
            if let Some(options) = m.options_mut() {
                options.retain(|o| o != "ro");
            }
        }
    }
    Ok((result, rootfs_propagation))
}

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace, RuntimeError> {
    let builder = LinuxNamespaceBuilder::default().typ(typ);
    Ok(match path {
        Some(p) => builder.path(p).build()?,
        None => builder.build()?,
    })
}

/// True when /sys/fs/cgroup is a pure cgroup v2 mount; a hybrid v1+v2 host is v1
/// for Docker (host cgroup namespace by default).
fn cgroup_v2_unified() -> bool {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    rustix::fs::statfs("/sys/fs/cgroup")
        // f_type's integer type differs between architectures.
        .map(|s| {
            #[allow(clippy::unnecessary_cast)]
            let magic = s.f_type as i64;
            magic == CGROUP2_SUPER_MAGIC
        })
        .unwrap_or(false)
}

/// Whether the kernel accounts swap, so Docker's default swap (2 × memory) applies.
fn swap_limit_supported() -> bool {
    cgroup_v2_unified() || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
}

fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
) -> Result<LinuxDeviceCgroup, RuntimeError> {
    let mut builder = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .access("rwm");
    if let Some(typ) = typ {
        builder = builder.typ(typ);
    }
    if let Some(major) = major {
        builder = builder.major(major);
    }
    if let Some(minor) = minor {
        builder = builder.minor(minor);
    }
    Ok(builder.build()?)
}

/// Docker's device cgroup rules: deny all, then the standard character devices,
/// and deny /dev/fuse explicitly.
fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, RuntimeError> {
    let c = Some(LinuxDeviceType::C);
    Ok(vec![
        device_rule(false, None, None, None)?,
        device_rule(true, c, Some(1), Some(5))?,     // zero
        device_rule(true, c, Some(1), Some(3))?,     // null
        device_rule(true, c, Some(1), Some(9))?,     // urandom
        device_rule(true, c, Some(1), Some(8))?,     // random
        device_rule(true, c, Some(5), Some(0))?,     // tty
        device_rule(true, c, Some(5), Some(1))?,     // console
        device_rule(false, c, Some(10), Some(229))?, // fuse
    ])
}

/// Every device node under the host's /dev, for `--privileged` (skipping the
/// per-container pts/shm/mqueue trees and the console, as Docker does).
fn host_devices(dir: &Path) -> Result<Vec<LinuxDevice>, RuntimeError> {
    let mut devices = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| RuntimeError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| RuntimeError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let metadata = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Devices come and go (hotplug); a vanished node is simply skipped.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(RuntimeError::io(&path, e)),
        };
        let file_type = metadata.file_type();
        if file_type.is_dir() {
            if matches!(
                name.to_str(),
                Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")
            ) {
                continue;
            }
            devices.extend(host_devices(&path)?);
            continue;
        }
        if name == "console" {
            continue;
        }
        let typ = if file_type.is_block_device() {
            LinuxDeviceType::B
        } else if file_type.is_char_device() {
            LinuxDeviceType::C
        } else {
            continue;
        };
        let rdev = metadata.rdev();
        devices.push(
            LinuxDeviceBuilder::default()
                .path(path)
                .typ(typ)
                .major(rustix::fs::major(rdev) as i64)
                .minor(rustix::fs::minor(rdev) as i64)
                .file_mode(metadata.mode() & 0o7777)
                .uid(metadata.uid())
                .gid(metadata.gid())
                .build()?,
        );
    }
    Ok(devices)
}

fn linux_section(
    input: &SpecInput,
    rootfs_propagation: Option<String>,
    seccomp: Option<oci_spec::runtime::LinuxSeccomp>,
) -> Result<oci_spec::runtime::Linux, RuntimeError> {
    let mut namespaces = vec![namespace(LinuxNamespaceType::Mount, None)?];
    match &input.network {
        Namespace::New => namespaces.push(namespace(LinuxNamespaceType::Network, None)?),
        Namespace::Path(path) => {
            namespaces.push(namespace(LinuxNamespaceType::Network, Some(path))?)
        }
        Namespace::Host => {}
    }
    namespaces.push(namespace(LinuxNamespaceType::Uts, None)?);
    namespaces.push(namespace(LinuxNamespaceType::Pid, None)?);
    namespaces.push(namespace(LinuxNamespaceType::Ipc, None)?);
    if cgroup_v2_unified() {
        namespaces.push(namespace(LinuxNamespaceType::Cgroup, None)?);
    }

    let mut device_rules = default_device_rules()?;
    let mut devices = Vec::new();
    if input.privileged {
        devices = host_devices(Path::new("/dev"))?;
        device_rules.push(device_rule(true, None, None, None)?);
    }

    let mut resources = LinuxResourcesBuilder::default().devices(device_rules);
    if let Some(memory) = input.memory_bytes.filter(|m| *m > 0) {
        let mut builder = LinuxMemoryBuilder::default().limit(memory);
        if swap_limit_supported() {
            builder = builder.swap(memory.saturating_mul(2));
        }
        resources = resources.memory(builder.build()?);
    }
    if let Some(nano) = input.nano_cpus.filter(|n| *n > 0) {
        let quota = nano.saturating_mul(CPU_PERIOD_US as i64) / 1_000_000_000;
        resources = resources.cpu(
            LinuxCpuBuilder::default()
                .period(CPU_PERIOD_US)
                .quota(quota)
                .build()?,
        );
    }
    if let Some(pids) = input.pids_limit {
        // Docker maps 0 and negative values to "unlimited" (-1 for the runtime).
        let limit = if pids <= 0 { -1 } else { pids };
        resources = resources.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }

    // Network sysctls Docker sets for a container's own network namespace, so that
    // ping and low ports work without NET_RAW / NET_BIND_SERVICE.
    let mut sysctl = HashMap::new();
    if input.network == Namespace::New {
        if Path::new("/proc/sys/net/ipv4/ping_group_range").exists() {
            sysctl.insert(
                "net.ipv4.ping_group_range".to_string(),
                "0 2147483647".to_string(),
            );
        }
        if Path::new("/proc/sys/net/ipv4/ip_unprivileged_port_start").exists() {
            sysctl.insert(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "0".to_string(),
            );
        }
    }

    // Every field is set explicitly: the library's Default carries its own opinions.
    let mut linux = oci_spec::runtime::Linux::default();
    linux
        .set_uid_mappings(None)
        .set_gid_mappings(None)
        .set_sysctl((!sysctl.is_empty()).then_some(sysctl))
        .set_resources(Some(resources.build()?))
        .set_cgroups_path(
            (!input.cgroups_path.is_empty()).then(|| PathBuf::from(&input.cgroups_path)),
        )
        .set_namespaces(Some(namespaces))
        .set_devices(Some(devices))
        .set_seccomp(seccomp)
        .set_rootfs_propagation(rootfs_propagation)
        .set_masked_paths((!input.privileged).then(masked_paths))
        .set_readonly_paths((!input.privileged).then(|| strings(READONLY_PATHS)))
        .set_mount_label(None)
        .set_intel_rdt(None)
        .set_personality(None)
        .set_time_offsets(None);
    Ok(linux)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_input() -> SpecInput {
        SpecInput {
            rootfs: PathBuf::from("/var/lib/berth/containers/x/rootfs"),
            read_only_rootfs: false,
            args: vec!["sh".into(), "-c".into(), "true".into()],
            env: vec!["PATH=/usr/bin:/bin".into()],
            cwd: "/".into(),
            user: User {
                uid: 0,
                gid: 0,
                additional_gids: vec![0, 10],
                home: "/root".into(),
            },
            terminal: false,
            hostname: "abc123".into(),
            mounts: vec![],
            privileged: false,
            cap_add: vec![],
            cap_drop: vec![],
            no_new_privileges: false,
            seccomp: Seccomp::Default,
            apparmor: AppArmor::Default,
            memory_bytes: None,
            nano_cpus: None,
            pids_limit: None,
            ulimits: vec![],
            network: Namespace::New,
            init_binary: None,
            shm_size_bytes: DEFAULT_SHM_SIZE_BYTES,
            cgroups_path: "/berth/x".into(),
            oom_score_adj: None,
        }
    }

    fn destinations(spec: &Spec) -> Vec<String> {
        spec.mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect()
    }

    fn mount_at<'a>(spec: &'a Spec, destination: &str) -> &'a Mount {
        spec.mounts()
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.destination() == Path::new(destination))
            .unwrap_or_else(|| panic!("no mount at {destination}"))
    }

    fn options(spec: &Spec, destination: &str) -> Vec<String> {
        mount_at(spec, destination)
            .options()
            .clone()
            .unwrap_or_default()
    }

    fn cap_names(set: &Option<oci_spec::runtime::Capabilities>) -> Vec<String> {
        let mut names: Vec<String> = set
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        names.sort();
        names
    }

    fn sorted(mut list: Vec<String>) -> Vec<String> {
        list.sort();
        list
    }

    fn bind(source: &str, destination: &str, read_only: bool) -> ExtraMount {
        ExtraMount::Bind(BindMount {
            source: PathBuf::from(source),
            destination: destination.into(),
            read_only,
            recursive: true,
            propagation: None,
        })
    }

    #[test]
    fn defaults_match_docker() {
        let spec = build_spec(&base_input()).unwrap();
        assert_eq!(spec.hostname().as_deref(), Some("abc123"));
        let root = spec.root().as_ref().unwrap();
        assert_eq!(root.path(), Path::new("/var/lib/berth/containers/x/rootfs"));
        assert_eq!(root.readonly(), Some(false));

        assert_eq!(
            destinations(&spec),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert_eq!(
            options(&spec, "/dev"),
            ["nosuid", "strictatime", "mode=755", "size=65536k"]
        );
        assert_eq!(
            options(&spec, "/dev/pts"),
            [
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5"
            ]
        );
        assert!(options(&spec, "/sys").contains(&"ro".to_string()));
        assert!(options(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
        assert_eq!(
            options(&spec, "/dev/shm"),
            ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
        );

        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.args().as_ref().unwrap(), &["sh", "-c", "true"]);
        assert_eq!(process.user().additional_gids().as_ref().unwrap(), &[0, 10]);
        assert_eq!(process.oom_score_adj(), Some(0));
        assert_eq!(process.rlimits(), &None);
        assert_eq!(process.no_new_privileges(), None);
        let caps = process.capabilities().as_ref().unwrap();
        let defaults = sorted(crate::caps::default_capabilities());
        assert_eq!(cap_names(caps.bounding()), defaults);
        assert_eq!(cap_names(caps.effective()), defaults);
        assert_eq!(cap_names(caps.permitted()), defaults);
        assert_eq!(caps.inheritable(), &None);
        assert_eq!(caps.ambient(), &None);

        let linux = spec.linux().as_ref().unwrap();
        let namespaces: Vec<LinuxNamespaceType> = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        let mut expected = vec![
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
        ];
        if cgroup_v2_unified() {
            expected.push(LinuxNamespaceType::Cgroup);
        }
        assert_eq!(namespaces, expected);
        assert_eq!(
            linux.masked_paths().as_ref().unwrap(),
            &strings(MASKED_PATHS)
        );
        assert!(linux
            .masked_paths()
            .as_ref()
            .unwrap()
            .contains(&"/proc/kcore".to_string()));
        assert_eq!(
            linux.readonly_paths().as_ref().unwrap(),
            &strings(READONLY_PATHS)
        );
        assert_eq!(linux.cgroups_path().as_deref(), Some(Path::new("/berth/x")));
        assert_eq!(linux.devices().as_ref().unwrap().len(), 0);
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap();
        assert_eq!(rules.len(), 8);
        assert!(!rules[0].allow() && rules[0].typ().is_none());
        assert!(!rules[7].allow() && rules[7].major() == Some(10) && rules[7].minor() == Some(229));
        assert_eq!(
            linux
                .sysctl()
                .as_ref()
                .unwrap()
                .get("net.ipv4.ip_unprivileged_port_start")
                .map(String::as_str),
            Some("0")
        );

        // Nothing the library would add on its own ends up in the JSON.
        let json = serde_json::to_value(&spec).unwrap();
        for absent in ["annotations", "hooks", "domainname"] {
            assert!(json.get(absent).is_none(), "{absent} in {json}");
        }
        let process_json = &json["process"];
        for absent in [
            "rlimits",
            "noNewPrivileges",
            "apparmorProfile",
            "consoleSize",
        ] {
            assert!(
                process_json.get(absent).is_none(),
                "{absent} in {process_json}"
            );
        }
        assert!(process_json["capabilities"].get("inheritable").is_none());
        // Docker's default seccomp profile, unless the kernel has none.
        let filtered = crate::seccomp::seccomp_supported();
        assert_eq!(
            json["linux"]["seccomp"]["defaultAction"].as_str(),
            filtered.then_some("SCMP_ACT_ERRNO")
        );
    }

    #[test]
    fn host_network_drops_namespace_and_sysctls() {
        let mut input = base_input();
        input.network = Namespace::Host;
        let spec = build_spec(&input).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(!linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Network));
        assert_eq!(linux.sysctl(), &None);

        input.network = Namespace::Path(PathBuf::from("/proc/42/ns/net"));
        let spec = build_spec(&input).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        let net = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .find(|n| n.typ() == LinuxNamespaceType::Network)
            .unwrap();
        assert_eq!(net.path().as_deref(), Some(Path::new("/proc/42/ns/net")));
        assert_eq!(linux.sysctl(), &None);
    }

    #[test]
    fn privileged_gets_everything() {
        let mut input = base_input();
        input.privileged = true;
        input.cap_drop = vec!["ALL".into()];
        let spec = build_spec(&input).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(
            cap_names(caps.bounding()),
            sorted(all_capabilities().unwrap())
        );
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.masked_paths(), &None);
        assert_eq!(linux.readonly_paths(), &None);
        assert!(!options(&spec, "/sys").contains(&"ro".to_string()));
        assert!(!options(&spec, "/sys/fs/cgroup").contains(&"ro".to_string()));
        let devices = linux.devices().as_ref().unwrap();
        assert!(devices
            .iter()
            .any(|d| d.path() == Path::new("/dev/null") && d.major() == 1 && d.minor() == 3));
        assert!(!devices.iter().any(|d| d.path().starts_with("/dev/pts")));
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap();
        let last = rules.last().unwrap();
        assert!(last.allow() && last.typ().is_none() && last.major().is_none());
    }

    #[test]
    fn cap_add_and_drop() {
        let mut input = base_input();
        input.cap_add = vec!["NET_ADMIN".into()];
        input.cap_drop = vec!["chown".into(), "CAP_NET_RAW".into()];
        let spec = build_spec(&input).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        let names = cap_names(caps.effective());
        assert!(names.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!names.contains(&"CAP_CHOWN".to_string()));
        assert!(!names.contains(&"CAP_NET_RAW".to_string()));
        assert_eq!(names.len(), 13);

        input.cap_add = vec!["SETUID".into()];
        input.cap_drop = vec!["ALL".into()];
        let spec = build_spec(&input).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(cap_names(caps.bounding()), ["CAP_SETUID"]);

        input.cap_add = vec!["ALL".into()];
        input.cap_drop = vec!["MKNOD".into()];
        let spec = build_spec(&input).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        let mut expected = all_capabilities().unwrap();
        expected.retain(|c| c != "CAP_MKNOD");
        assert_eq!(cap_names(caps.permitted()), sorted(expected));

        input.cap_add = vec!["BOGUS".into()];
        input.cap_drop = vec![];
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "unknown capability: \"CAP_BOGUS\""
        );
    }

    #[test]
    fn read_only_rootfs_keeps_dev_proc_and_user_mounts_writable() {
        let mut input = base_input();
        input.read_only_rootfs = true;
        input.init_binary = Some(PathBuf::from("/usr/bin/tini"));
        input.mounts = vec![bind("/srv/data", "/data", false)];
        let spec = build_spec(&input).unwrap();
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
        for writable in [
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/mqueue",
            "/dev/shm",
            "/data",
        ] {
            assert!(
                !options(&spec, writable).contains(&"ro".to_string()),
                "{writable}"
            );
        }
        for read_only in ["/sys", "/sys/fs/cgroup", "/sbin/docker-init"] {
            assert_eq!(
                options(&spec, read_only)
                    .iter()
                    .filter(|o| *o == "ro")
                    .count(),
                1,
                "{read_only}"
            );
        }
    }

    #[test]
    fn resources_become_cgroup_limits() {
        let mut input = base_input();
        input.memory_bytes = Some(64 << 20);
        input.nano_cpus = Some(1_500_000_000);
        input.pids_limit = Some(100);
        input.oom_score_adj = Some(500);
        input.no_new_privileges = true;
        let spec = build_spec(&input).unwrap();
        let resources = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        let memory = resources.memory().as_ref().unwrap();
        assert_eq!(memory.limit(), Some(64 << 20));
        if swap_limit_supported() {
            assert_eq!(memory.swap(), Some(128 << 20));
        } else {
            assert_eq!(memory.swap(), None);
        }
        let cpu = resources.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(150_000));
        assert_eq!(resources.pids().as_ref().unwrap().limit(), 100);
        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.oom_score_adj(), Some(500));
        assert_eq!(process.no_new_privileges(), Some(true));

        input.pids_limit = Some(0);
        let spec = build_spec(&input).unwrap();
        let resources = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(resources.pids().as_ref().unwrap().limit(), -1);
    }

    #[test]
    fn out_of_range_resources_get_dockers_errors() {
        let mut input = base_input();
        input.memory_bytes = Some(1 << 20);
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "Minimum memory limit allowed is 6MB"
        );

        let mut input = base_input();
        input.nano_cpus = Some(10_000 * 1_000_000_000);
        let err = build_spec(&input).unwrap_err().to_string();
        assert!(err.starts_with("range of CPUs is from 0.01 to "), "{err}");

        let mut input = base_input();
        input.oom_score_adj = Some(1001);
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]"
        );

        let mut input = base_input();
        input.args = vec![];
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "No command specified"
        );

        let mut input = base_input();
        input.cwd = "relative".into();
        assert!(build_spec(&input)
            .unwrap_err()
            .to_string()
            .contains("needs to be an absolute path"));
    }

    #[test]
    fn ulimits_are_checked_against_the_hard_limit() {
        let (soft, hard) = {
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
            (
                limit.current.unwrap_or(u64::MAX),
                limit.maximum.unwrap_or(u64::MAX),
            )
        };
        let mut input = base_input();
        input.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: soft.min(hard),
            hard,
        }];
        let spec = build_spec(&input).unwrap();
        let rlimits = spec.process().as_ref().unwrap().rlimits().clone().unwrap();
        assert_eq!(rlimits.len(), 1);
        assert_eq!(rlimits[0].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!(rlimits[0].hard(), hard);

        if hard < u64::MAX {
            input.ulimits = vec![Ulimit {
                name: "nofile".into(),
                soft: hard,
                hard: hard + 1,
            }];
            let result = build_spec(&input);
            if has_sys_resource().unwrap() {
                result.unwrap();
            } else {
                let err = result.unwrap_err().to_string();
                assert!(
                    err.contains("CAP_SYS_RESOURCE") && err.contains("ulimit nofile"),
                    "{err}"
                );
            }
        }

        input.ulimits = vec![Ulimit {
            name: "files".into(),
            soft: 1,
            hard: 1,
        }];
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "invalid ulimit type: files"
        );
        input.ulimits = vec![Ulimit {
            name: "core".into(),
            soft: 2,
            hard: 1,
        }];
        assert!(build_spec(&input)
            .unwrap_err()
            .to_string()
            .contains("soft limit must be less than or equal"));
    }

    #[test]
    fn init_prepends_args_and_binds_the_binary() {
        let mut input = base_input();
        input.init_binary = Some(PathBuf::from("/usr/bin/tini"));
        input.mounts = vec![bind("/srv", "/srv", false)];
        let spec = build_spec(&input).unwrap();
        assert_eq!(
            spec.process().as_ref().unwrap().args().as_ref().unwrap(),
            &["/sbin/docker-init", "--", "sh", "-c", "true"]
        );
        let init = mount_at(&spec, "/sbin/docker-init");
        assert_eq!(init.typ().as_deref(), Some("bind"));
        assert_eq!(init.source().as_deref(), Some(Path::new("/usr/bin/tini")));
        assert_eq!(init.options().as_ref().unwrap(), &["bind", "ro"]);
        // After the defaults, before user mounts.
        let order = destinations(&spec);
        assert_eq!(order[7], "/sbin/docker-init");
        assert_eq!(order[8], "/srv");
    }

    #[test]
    fn user_mounts_are_sorted_parents_first_after_defaults() {
        let mut input = base_input();
        input.mounts = vec![
            bind("/h/c", "/a/b/c", true),
            bind("/h/a", "/a/", false),
            ExtraMount::Tmpfs {
                destination: "/a/b".into(),
                options: vec!["size=65536k".into(), "exec".into()],
            },
            bind("/h/z", "/z", false),
        ];
        let spec = build_spec(&input).unwrap();
        assert_eq!(&destinations(&spec)[7..], ["/a", "/z", "/a/b", "/a/b/c"]);
        assert_eq!(options(&spec, "/a/b/c"), ["rbind", "rro"]);
        assert_eq!(options(&spec, "/a"), ["rbind"]);
        assert_eq!(
            options(&spec, "/a/b"),
            ["nosuid", "nodev", "rprivate", "size=65536k", "exec"]
        );
        assert_eq!(mount_at(&spec, "/a/b").typ().as_deref(), Some("tmpfs"));
    }

    #[test]
    fn user_mount_replaces_a_default() {
        let mut input = base_input();
        input.mounts = vec![bind("/host/shm", "/dev/shm", false)];
        let spec = build_spec(&input).unwrap();
        let shm: Vec<&Mount> = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm[0].typ().as_deref(), Some("bind"));
        assert_eq!(shm[0].source().as_deref(), Some(Path::new("/host/shm")));

        // A user /dev takes every default under /dev with it.
        input.mounts = vec![bind("/host/dev", "/dev", false)];
        let spec = build_spec(&input).unwrap();
        assert_eq!(
            destinations(&spec),
            ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]
        );
    }

    #[test]
    fn propagation_sets_rootfs_propagation_and_bad_values_fail() {
        let mut input = base_input();
        input.mounts = vec![ExtraMount::Bind(BindMount {
            source: PathBuf::from("/mnt"),
            destination: "/mnt".into(),
            read_only: true,
            recursive: false,
            propagation: Some("rshared".into()),
        })];
        let spec = build_spec(&input).unwrap();
        assert_eq!(options(&spec, "/mnt"), ["bind", "ro", "rshared"]);
        assert_eq!(
            spec.linux()
                .as_ref()
                .unwrap()
                .rootfs_propagation()
                .as_deref(),
            Some("shared")
        );

        if let ExtraMount::Bind(b) = &mut input.mounts[0] {
            b.propagation = Some("sideways".into());
        }
        assert!(build_spec(&input)
            .unwrap_err()
            .to_string()
            .contains("invalid propagation mode: sideways"));
    }

    #[test]
    fn bad_tmpfs_options_and_destinations_are_refused() {
        let mut input = base_input();
        input.mounts = vec![ExtraMount::Tmpfs {
            destination: "/t".into(),
            options: vec!["foo=bar".into()],
        }];
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "invalid tmpfs option \"foo=bar\""
        );
        input.mounts = vec![bind("/x", "relative", false)];
        assert!(build_spec(&input)
            .unwrap_err()
            .to_string()
            .contains("not an absolute path"));
    }

    #[test]
    fn exec_process_carries_the_same_defaults() {
        let user = User {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![1000],
            home: "/home/u".into(),
        };
        let process = build_exec_process(
            &["ls".to_string()],
            &["A=1".to_string()],
            "/tmp",
            &user,
            true,
            false,
            &["NET_ADMIN".to_string()],
            &[],
            true,
        )
        .unwrap();
        assert_eq!(process.user().uid(), 1000);
        assert_eq!(process.cwd(), Path::new("/tmp"));
        assert_eq!(process.terminal(), Some(true));
        assert_eq!(process.no_new_privileges(), Some(true));
        assert_eq!(process.rlimits(), &None);
        let caps = process.capabilities().as_ref().unwrap();
        assert_eq!(cap_names(caps.bounding()).len(), 15);
        assert_eq!(caps.inheritable(), &None);

        let privileged = build_exec_process(
            &["ls".to_string()],
            &[],
            "/",
            &user,
            false,
            true,
            &[],
            &[],
            false,
        )
        .unwrap();
        let caps = privileged.capabilities().as_ref().unwrap();
        assert_eq!(
            cap_names(caps.effective()),
            sorted(all_capabilities().unwrap())
        );
    }

    #[test]
    fn exec_inherits_container_ulimits_and_oom_score() {
        let mut input = base_input();
        input.ulimits = vec![Ulimit {
            name: "core".into(),
            soft: 0,
            hard: 0,
        }];
        input.oom_score_adj = Some(300);
        let container = build_spec(&input).unwrap();
        let mut process = build_exec_process(
            &["ls".to_string()],
            &[],
            "/",
            &input.user,
            false,
            false,
            &[],
            &[],
            false,
        )
        .unwrap();
        assert_eq!(process.rlimits(), &None);
        inherit_container_limits(&mut process, &container);
        let rlimits = process.rlimits().clone().unwrap();
        assert_eq!(rlimits[0].typ(), PosixRlimitType::RlimitCore);
        assert_eq!(process.oom_score_adj(), Some(300));
    }

    #[test]
    fn write_bundle_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle");
        let spec = build_spec(&base_input()).unwrap();
        write_bundle(&bundle, &spec).unwrap();
        let loaded = Spec::load(bundle.join("config.json")).unwrap();
        assert_eq!(loaded, spec);
        assert!(!bundle.join(".config.json.tmp").exists());
    }
}
