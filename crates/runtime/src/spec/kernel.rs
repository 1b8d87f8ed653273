//! The IPC namespace and `/dev/shm` (`--ipc`), namespaced sysctls
//! (`--sysctl`), host devices (`--device`) and the OOM killer
//! (`--oom-kill-disable`, `--oom-score-adj`): their checks, with Docker's
//! messages, and their place in the spec.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxMemory, LinuxResources,
};
use serde::{Deserialize, Serialize};

use super::namespaces::cgroup_v2_unified;
use super::process::has_sys_resource;
use super::Namespace;
use crate::error::RuntimeError;

/// What a container's `/dev/shm` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shm {
    /// A tmpfs of its own (`--shm-size`), in its mount namespace.
    Tmpfs,
    /// A host directory: the host's `/dev/shm` (`--ipc host`), or the tmpfs
    /// a shareable container's monitor mounted (its own, or its donor's).
    Bind(PathBuf),
    /// No `/dev/shm` at all (`--ipc none`).
    None,
}

/// A `--device` / `HostConfig.Devices` entry (Docker's `DeviceMapping`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    pub path_on_host: String,
    /// Empty: the host path.
    pub path_in_container: String,
    /// A subset of `rwm`; empty: `rwm`.
    pub cgroup_permissions: String,
}

/// The IPC namespace, `/dev/shm`, sysctls, devices and OOM killer of a
/// container, already resolved (`ipc`'s path is the donor's namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSettings {
    pub ipc: Namespace,
    pub shm: Shm,
    pub sysctls: BTreeMap<String, String>,
    pub devices: Vec<DeviceMapping>,
    pub oom_kill_disable: bool,
    /// A cgroup namespace of its own (`--cgroupns private`); `None`:
    /// Docker's default, own on a pure cgroup v2 host, the host's on v1.
    pub private_cgroupns: Option<bool>,
}

impl Default for KernelSettings {
    fn default() -> Self {
        KernelSettings {
            ipc: Namespace::New,
            shm: Shm::Tmpfs,
            sysctls: BTreeMap::new(),
            devices: Vec::new(),
            oom_kill_disable: false,
            private_cgroupns: None,
        }
    }
}

/// Sysctls of the IPC namespace Docker allows (its `ValidateSysctl` list).
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Docker's rule: only sysctls of a namespace the container has its own
/// of can be set: the IPC ones (`kernel.msg*`, `kernel.sem`, `kernel.shm*`,
/// `fs.mqueue.*`) without `--ipc host`, `net.*` without `--network host`.
/// Docker's CLI refuses the others ("not allowed"); its daemon lets runc
/// fail at start, berth refuses them all at create.
pub fn check_sysctl(name: &str, host_network: bool, host_ipc: bool) -> Result<(), RuntimeError> {
    let ipc = IPC_SYSCTLS.contains(&name) || name.starts_with("fs.mqueue.");
    let net = name.starts_with("net.");
    if !ipc && !net {
        return Err(RuntimeError::invalid(format!(
            "sysctl '{name}' is not allowed: only the namespaced sysctls {}, fs.mqueue.* and net.* can be set for a container",
            IPC_SYSCTLS.join(", ")
        )));
    }
    if net && host_network {
        return Err(RuntimeError::invalid(format!(
            "sysctl '{name}' is not allowed in the host's network namespace (--network host)"
        )));
    }
    if ipc && host_ipc {
        return Err(RuntimeError::invalid(format!(
            "sysctl '{name}' is not allowed in the host's IPC namespace (--ipc host)"
        )));
    }
    Ok(())
}

/// `--oom-score-adj` within Docker's range; a negative score needs
/// CAP_SYS_RESOURCE. `--oom-kill-disable` needs cgroup v1's
/// `memory.oom_control` (Docker discards it with a warning on cgroup v2:
/// berth refuses it there).
pub fn check_oom(score: i64, kill_disable: bool) -> Result<(), RuntimeError> {
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
    if kill_disable && !oom_kill_disable_supported() {
        return Err(RuntimeError::invalid(
            "Your kernel does not support OomKillDisable (no cgroup v1 memory.oom_control); \
             Docker discards it with a warning",
        ));
    }
    Ok(())
}

fn oom_kill_disable_supported() -> bool {
    !cgroup_v2_unified() && Path::new("/sys/fs/cgroup/memory/memory.oom_control").exists()
}

/// Checks each `--device`: an absolute container path, permissions within
/// `rwm`, and a host path that is a device node or a directory (whose
/// devices are all given, as Docker does), with Docker's message.
pub fn check_devices(devices: &[DeviceMapping]) -> Result<(), RuntimeError> {
    for d in devices {
        device_nodes(d)?;
    }
    Ok(())
}

fn invalid_mode(d: &DeviceMapping) -> RuntimeError {
    RuntimeError::invalid(format!(
        "invalid device mode: {} (a subset of rwm)",
        d.cgroup_permissions
    ))
}

/// The device nodes and cgroup rules of one mapping.
fn device_nodes(d: &DeviceMapping) -> Result<Vec<(LinuxDevice, LinuxDeviceCgroup)>, RuntimeError> {
    let access = if d.cgroup_permissions.is_empty() {
        "rwm"
    } else {
        d.cgroup_permissions.as_str()
    };
    if access.len() > 3 || !access.bytes().all(|b| b"rwm".contains(&b)) {
        return Err(invalid_mode(d));
    }
    let in_container = if d.path_in_container.is_empty() {
        d.path_on_host.as_str()
    } else {
        d.path_in_container.as_str()
    };
    if !in_container.starts_with('/') {
        return Err(RuntimeError::invalid(format!(
            "{in_container} is not an absolute path"
        )));
    }
    let gathering = |e: String| {
        RuntimeError::invalid(format!(
            "error gathering device information while adding custom device \"{}\": {e}",
            d.path_on_host
        ))
    };
    let host = Path::new(&d.path_on_host);
    let metadata = std::fs::metadata(host).map_err(|e| {
        gathering(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".into(),
            _ => e.to_string(),
        })
    })?;
    let mut out = Vec::new();
    if metadata.is_dir() {
        collect_dir(host, Path::new(in_container), access, &mut out)?;
        return Ok(out);
    }
    match node(Path::new(in_container), &metadata, access)? {
        Some(n) => out.push(n),
        None => return Err(gathering("not a device node".into())),
    }
    Ok(out)
}

fn collect_dir(
    host: &Path,
    in_container: &Path,
    access: &str,
    out: &mut Vec<(LinuxDevice, LinuxDeviceCgroup)>,
) -> Result<(), RuntimeError> {
    let entries = std::fs::read_dir(host).map_err(|e| RuntimeError::io(host, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| RuntimeError::io(host, e))?;
        let path = entry.path();
        let target = in_container.join(entry.file_name());
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            collect_dir(&path, &target, access, out)?;
        } else if let Some(n) = node(&target, &metadata, access)? {
            out.push(n);
        }
    }
    Ok(())
}

fn node(
    in_container: &Path,
    metadata: &std::fs::Metadata,
    access: &str,
) -> Result<Option<(LinuxDevice, LinuxDeviceCgroup)>, RuntimeError> {
    let file_type = metadata.file_type();
    let typ = if file_type.is_block_device() {
        LinuxDeviceType::B
    } else if file_type.is_char_device() {
        LinuxDeviceType::C
    } else {
        return Ok(None);
    };
    let rdev = metadata.rdev();
    let (major, minor) = (
        rustix::fs::major(rdev) as i64,
        rustix::fs::minor(rdev) as i64,
    );
    let device = LinuxDeviceBuilder::default()
        .path(in_container)
        .typ(typ)
        .major(major)
        .minor(minor)
        .file_mode(metadata.mode() & 0o7777)
        .uid(metadata.uid())
        .gid(metadata.gid())
        .build()?;
    let rule = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .major(major)
        .minor(minor)
        .access(access)
        .build()?;
    Ok(Some((device, rule)))
}

/// The spec's devices and cgroup rules for `--device`s.
pub(super) fn devices(
    k: &KernelSettings,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), RuntimeError> {
    let mut devices = Vec::new();
    let mut rules = Vec::new();
    for d in &k.devices {
        for (device, rule) in device_nodes(d)? {
            devices.push(device);
            rules.push(rule);
        }
    }
    Ok((devices, rules))
}

/// `--oom-kill-disable` in the cgroup resources.
pub(super) fn apply_oom_kill_disable(k: &KernelSettings, resources: &mut LinuxResources) {
    if k.oom_kill_disable {
        // oci-spec has no setter for this one field: through its JSON form.
        let memory: LinuxMemory = resources.memory().unwrap_or_default();
        let mut value = serde_json::to_value(memory).unwrap_or_default();
        value["disableOOMKiller"] = serde_json::Value::Bool(true);
        resources.set_memory(serde_json::from_value(value).ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_namespaced_sysctls_pass() {
        check_sysctl("kernel.shmmax", false, false).unwrap();
        check_sysctl("fs.mqueue.msg_max", false, false).unwrap();
        check_sysctl("net.ipv4.ip_forward", false, false).unwrap();
        let err = check_sysctl("vm.swappiness", false, false).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("sysctl 'vm.swappiness' is not allowed"));
        assert!(check_sysctl("net.ipv4.ip_forward", true, false).is_err());
        assert!(check_sysctl("kernel.sem", false, true).is_err());
    }

    #[test]
    fn devices_are_checked_on_the_host() {
        let null = DeviceMapping {
            path_on_host: "/dev/null".into(),
            path_in_container: "/dev/mynull".into(),
            cgroup_permissions: "rw".into(),
        };
        let nodes = device_nodes(&null).unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].0.path(), Path::new("/dev/mynull"));
        assert_eq!(nodes[0].1.access().as_deref(), Some("rw"));
        let missing = DeviceMapping {
            path_on_host: "/dev/nonexistent-berth".into(),
            ..Default::default()
        };
        assert_eq!(
            check_devices(&[missing]).unwrap_err().to_string(),
            "error gathering device information while adding custom device \
             \"/dev/nonexistent-berth\": no such file or directory"
        );
        let bad_mode = DeviceMapping {
            cgroup_permissions: "rwx".into(),
            ..null
        };
        assert!(check_devices(&[bad_mode]).is_err());
    }
}
