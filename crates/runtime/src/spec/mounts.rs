//! Mounts: Docker's defaults, the init binary, user mounts (binds and tmpfs),
//! and the masked and read-only paths.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder};

use super::{strings, ExtraMount, Shm, SpecInput, DEFAULT_SHM_SIZE_BYTES, INIT_PATH_IN_CONTAINER};
use crate::error::RuntimeError;

pub(super) const MASKED_PATHS: &[&str] = &[
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

pub(super) const READONLY_PATHS: &[&str] = &[
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
pub fn masked_paths() -> Vec<String> {
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

/// Docker's read-only paths of an unprivileged container.
pub fn readonly_paths() -> Vec<String> {
    strings(READONLY_PATHS)
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

fn default_mounts(shm_size_bytes: u64, userns: bool) -> Result<Vec<Mount>, RuntimeError> {
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
        // In a user namespace of its own the container may not mount a
        // sysfs for a network namespace it does not own (berth makes the
        // namespace first): the host's is bound read-only instead, as podman
        // does for such containers.
        if userns {
            mount(
                "/sys",
                "bind",
                "/sys",
                strings(&["rbind", "nosuid", "noexec", "nodev", "ro"]),
            )?
        } else {
            mount(
                "/sys",
                "sysfs",
                "sysfs",
                strings(&["nosuid", "noexec", "nodev", "ro"]),
            )?
        },
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
pub(super) fn mounts(input: &SpecInput) -> Result<(Vec<Mount>, Option<String>), RuntimeError> {
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
    for default in default_mounts(input.shm_size_bytes, input.user_namespace.is_some())? {
        let destination = default.destination().to_string_lossy().into_owned();
        if user_destinations.contains(destination.as_str()) {
            continue;
        }
        if user_mounts_dev && destination.starts_with("/dev/") {
            continue;
        }
        if destination == "/dev/shm" {
            match &input.kernel.shm {
                Shm::Tmpfs => {}
                Shm::None => continue,
                // The host's or a shareable container's tmpfs (Docker's
                // `--ipc host|shareable|container:`).
                Shm::Bind(source) => {
                    result.push(mount(
                        "/dev/shm",
                        "bind",
                        source.clone(),
                        strings(&["rbind", "nosuid", "noexec", "nodev"]),
                    )?);
                    continue;
                }
            }
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
                    // a runtime supporting "rro"), so submounts cannot be written either,
                    // unless asked otherwise (`ReadOnlyNonRecursive`: "ro" remounts
                    // the bind alone). A file has no submounts: it gets "ro", which
                    // crun 1.8 needs (its "rro" opens the target as a directory:
                    // "Not a directory").
                    let file = std::fs::metadata(&bind.source).is_ok_and(|m| !m.is_dir());
                    let rro = bind.recursive && !file && !bind.read_only_non_recursive;
                    options.push(if rro { "rro" } else { "ro" }.to_string());
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
