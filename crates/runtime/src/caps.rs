//! Linux capabilities as Docker hands them out.
//!
//! Names are the kernel's `CAP_*` names, indexed by capability number. "All
//! capabilities" means what Docker means: every capability *this process* holds in
//! its effective set (so a `--privileged` container never asks the runtime for a
//! capability the engine itself lacks, e.g. CAP_SYS_RESOURCE on a restricted host).

use std::collections::HashSet;

use oci_spec::runtime::{Capabilities, Capability};

use crate::error::RuntimeError;

/// Kernel capability names; the index is the capability number.
const KNOWN_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default capability set for a container's process.
pub fn default_capabilities() -> Vec<String> {
    [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect()
}

/// The capabilities available to containers: those in this process's effective
/// set (read from `/proc/self/status`), in capability-number order.
pub fn all_capabilities() -> Result<Vec<String>, RuntimeError> {
    let status_path = "/proc/self/status";
    let status =
        std::fs::read_to_string(status_path).map_err(|e| RuntimeError::io(status_path, e))?;
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| RuntimeError::invalid(format!("{status_path}: no CapEff line")))?;
    Ok(names_from_bitmap(effective))
}

fn names_from_bitmap(bitmap: u64) -> Vec<String> {
    KNOWN_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| bitmap & (1u64 << bit) != 0)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// Upper-cases and `CAP_`-prefixes Docker-syntax names ("net_admin", "CAP_NET_ADMIN"),
/// keeping the magic "ALL". Unknown names and names this environment cannot grant
/// are refused with Docker's messages.
fn normalize(names: &[String], available: &[String]) -> Result<Vec<String>, RuntimeError> {
    names
        .iter()
        .map(|raw| {
            let upper = raw.to_uppercase();
            if upper == "ALL" {
                return Ok(upper);
            }
            let name = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if !KNOWN_CAPABILITIES.contains(&name.as_str()) {
                return Err(RuntimeError::invalid(format!(
                    "unknown capability: \"{name}\""
                )));
            }
            if !available.contains(&name) {
                return Err(RuntimeError::invalid(format!(
                    "capability not supported by your kernel or not available in the current environment: \"{name}\""
                )));
            }
            Ok(name)
        })
        .collect()
}

/// Docker's `TweakCapabilities`: privileged gets everything available; otherwise
/// `--cap-add ALL` means everything but the drops, `--cap-drop ALL` means only the
/// adds, and else the defaults minus drops plus adds.
pub fn tweak_capabilities(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
) -> Result<Vec<String>, RuntimeError> {
    if privileged {
        return all_capabilities();
    }
    let defaults = default_capabilities();
    if cap_add.is_empty() && cap_drop.is_empty() {
        return Ok(defaults);
    }
    let available = all_capabilities()?;
    let drops = normalize(cap_drop, &available)?;
    let adds = normalize(cap_add, &available)?;
    let all = "ALL".to_string();
    let mut result: Vec<String> = if adds.contains(&all) {
        available
            .iter()
            .filter(|c| !drops.contains(c))
            .cloned()
            .collect()
    } else if drops.contains(&all) {
        adds
    } else {
        let mut kept: Vec<String> = defaults
            .into_iter()
            .filter(|c| !drops.contains(c))
            .collect();
        kept.extend(adds);
        kept
    };
    let mut seen = HashSet::new();
    result.retain(|c| seen.insert(c.clone()));
    Ok(result)
}

/// Converts `CAP_*` names to the oci-spec set.
pub(crate) fn to_oci(names: &[String]) -> Result<Capabilities, RuntimeError> {
    names
        .iter()
        .map(|name| {
            serde_json::from_value::<Capability>(serde_json::Value::String(name.clone()))
                .map_err(|_| RuntimeError::invalid(format!("unknown capability: \"{name}\"")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn bitmap(names: &[String]) -> u64 {
        names
            .iter()
            .map(|n| {
                let bit = KNOWN_CAPABILITIES.iter().position(|k| k == n).unwrap();
                1u64 << bit
            })
            .fold(0, |acc, b| acc | b)
    }

    #[test]
    fn default_set_matches_docker_bitmap() {
        assert_eq!(bitmap(&default_capabilities()), 0xa80425fb);
    }

    #[test]
    fn add_and_drop_accept_docker_syntax() {
        let caps = tweak_capabilities(
            &strings(&["net_admin"]),
            &strings(&["CAP_CHOWN", "kill"]),
            false,
        )
        .unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        assert!(caps.contains(&"CAP_SETUID".to_string()));
    }

    #[test]
    fn drop_all_keeps_only_adds() {
        let caps =
            tweak_capabilities(&strings(&["NET_BIND_SERVICE"]), &strings(&["ALL"]), false).unwrap();
        assert_eq!(caps, strings(&["CAP_NET_BIND_SERVICE"]));
    }

    #[test]
    fn add_all_is_everything_available_minus_drops() {
        let caps = tweak_capabilities(&strings(&["all"]), &strings(&["SYS_ADMIN"]), false).unwrap();
        let mut expected = all_capabilities().unwrap();
        expected.retain(|c| c != "CAP_SYS_ADMIN");
        assert_eq!(caps, expected);
    }

    #[test]
    fn unknown_capability_is_refused_with_dockers_text() {
        let err = tweak_capabilities(&strings(&["FLY"]), &[], false).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FLY\"");
    }

    #[test]
    fn bitmap_decoding_skips_missing_bits() {
        // CAP_SYS_RESOURCE (24) absent, as on this restricted host.
        let names = names_from_bitmap(0x1fffeffffff);
        assert_eq!(names.len(), 40);
        assert!(!names.contains(&"CAP_SYS_RESOURCE".to_string()));
    }

    #[test]
    fn every_known_name_converts_to_oci() {
        let all = strings(&KNOWN_CAPABILITIES);
        assert_eq!(to_oci(&all).unwrap().len(), KNOWN_CAPABILITIES.len());
    }
}
