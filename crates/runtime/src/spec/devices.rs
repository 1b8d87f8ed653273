//! Devices: the device cgroup rules (Docker's defaults, then
//! `--device-cgroup-rule`s) and, for `--privileged`, the host's devices.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use super::SpecInput;
use crate::error::RuntimeError;

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

/// A `--device-cgroup-rule` (`c 42:* rmw`: type `a`, `b` or `c`, major and
/// minor numbers or `*`, access `rwm`), with Docker's message when malformed.
pub(super) fn parse_device_rule(rule: &str) -> Result<LinuxDeviceCgroup, RuntimeError> {
    let bad = || RuntimeError::invalid(format!("invalid device cgroup rule format: '{rule}'"));
    let parts: Vec<&str> = rule.split(' ').collect();
    let [typ, numbers, access] = parts[..] else {
        return Err(bad());
    };
    let typ = match typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let number = |n: &str| -> Result<Option<i64>, RuntimeError> {
        match n {
            "*" => Ok(None),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse().map(Some).map_err(|_| bad())
            }
            _ => Err(bad()),
        }
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let (major, minor) = (number(major)?, number(minor)?);
    if access.is_empty() || access.len() > 3 || !access.bytes().all(|b| b"rwm".contains(&b)) {
        return Err(bad());
    }
    let mut builder = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .access(access);
    if let Some(major) = major {
        builder = builder.major(major);
    }
    if let Some(minor) = minor {
        builder = builder.minor(minor);
    }
    Ok(builder.build()?)
}

/// The devices a container gets beyond the runtime's defaults (the host's, for
/// `--privileged`) and its device cgroup rules.
pub(super) fn devices(
    input: &SpecInput,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), RuntimeError> {
    let mut device_rules = default_device_rules()?;
    let mut devices = Vec::new();
    if input.privileged {
        devices = host_devices(Path::new("/dev"))?;
        device_rules.push(device_rule(true, None, None, None)?);
    }
    for rule in &input.resources.device_cgroup_rules {
        device_rules.push(parse_device_rule(rule)?);
    }
    Ok((devices, device_rules))
}
