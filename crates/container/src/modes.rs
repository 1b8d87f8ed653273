//! Docker's `PidMode`, `UTSMode`, `CgroupnsMode`, `IpcMode`, `GroupAdd`, `Isolation`,
//! `VolumeDriver`, `Sysctls`, `Devices`, `OomScoreAdj` and `OomKillDisable`:
//! how a container shares the host's or another container's namespaces, its
//! extra groups, its isolation (Linux has one), its volumes' driver, the
//! kernel settings of its namespaces, its host devices and its OOM killer.

use std::collections::BTreeMap;

use berth_runtime::DeviceMapping;
use serde::{Deserialize, Serialize};

use crate::ContainerError;

/// Namespace modes and the other process-level settings of `HostConfig`
/// (field names as Docker's, flattened into [`crate::HostSpec`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostModes {
    /// `""` (own namespace), `host` or `container:NAME`.
    pub pid_mode: String,
    /// `""` (own namespace) or `host`.
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    /// `host` or `private` (`""`: the engine's default, filled in at
    /// create; records made before it was kept read as that default).
    pub cgroupns_mode: String,
    /// `--group-add`: group names (looked up in the image at start) or ids.
    pub group_add: Vec<String>,
    /// Leave out the image's `/etc/group` memberships of the user (the
    /// CRI's `supplemental_groups_policy: Strict`; Docker always merges).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub strict_groups: bool,
    /// `""` or `default`, the only isolation Linux has.
    pub isolation: String,
    /// The driver of the volumes created for the container (`""` = local);
    /// berth has only `local` (checked against the container's volumes at
    /// create).
    pub volume_driver: String,
    /// `""` (Docker's daemon default, `private`), `private`, `shareable`,
    /// `none`, `host` or `container:NAME`.
    pub ipc_mode: String,
    /// `--sysctl`: namespaced kernel settings.
    pub sysctls: BTreeMap<String, String>,
    /// `--device`: host device nodes given to the container.
    pub devices: Vec<DeviceMapping>,
    pub oom_score_adj: i64,
    pub oom_kill_disable: bool,
    /// `--userns`: `""`/`host`, `auto[:size=N]` or `keep-id`
    /// ([`crate::userns::UsernsMode`]).
    pub userns_mode: String,
}

/// How a container gets its IPC namespace (`--ipc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcMode<'a> {
    /// Its own namespace and `/dev/shm`, which no other container may join.
    Private,
    /// Its own namespace and a `/dev/shm` other containers may join.
    Shareable,
    /// Its own namespace and no `/dev/shm`.
    None,
    Host,
    /// The namespace and `/dev/shm` of a shareable container.
    Container(&'a str),
}

/// How a container gets a namespace it may share (`--pid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedNamespace<'a> {
    Own,
    Host,
    Container(&'a str),
}

impl HostModes {
    /// Docker's checks at create, with its messages; `hostname_given` is `-h`.
    pub fn validate(&self, hostname_given: bool) -> Result<(), ContainerError> {
        let invalid = |m: String| Err(ContainerError::InvalidArgument(m));
        if let Some(other) = self.pid_mode.strip_prefix("container:") {
            if other.is_empty() {
                return invalid(format!("invalid PID mode: {}", self.pid_mode));
            }
        } else if !matches!(self.pid_mode.as_str(), "" | "host") {
            return invalid(format!("invalid PID mode: {}", self.pid_mode));
        }
        match self.ipc_mode.strip_prefix("container:") {
            Some("") => return invalid(format!("Invalid IPC mode: {}", self.ipc_mode)),
            Some(_) => {}
            None if matches!(
                self.ipc_mode.as_str(),
                "" | "private" | "shareable" | "none" | "host"
            ) => {}
            None => return invalid(format!("Invalid IPC mode: {}", self.ipc_mode)),
        }
        if !matches!(self.cgroupns_mode.as_str(), "" | "private" | "host") {
            return invalid(format!(
                "invalid cgroup namespace mode: {}",
                self.cgroupns_mode
            ));
        }
        if !matches!(self.uts_mode.as_str(), "" | "host") {
            return invalid(format!("invalid UTS mode: {}", self.uts_mode));
        }
        if self.uts_mode == "host" && hostname_given {
            return invalid("conflicting options: hostname and the UTS mode".into());
        }
        // Docker on Linux: "default" is the one isolation technology.
        if !matches!(self.isolation.as_str(), "" | "default") {
            return invalid(format!(
                "Invalid isolation: \"{}\" - linux only supports 'default'",
                self.isolation
            ));
        }
        if self.group_add.iter().any(|g| g.is_empty()) {
            return invalid("--group-add: a group name or id cannot be empty".into());
        }
        Ok(())
    }

    /// The PID namespace asked for.
    pub fn pid(&self) -> SharedNamespace<'_> {
        match self.pid_mode.as_str() {
            "host" => SharedNamespace::Host,
            mode => match mode.strip_prefix("container:") {
                Some(other) => SharedNamespace::Container(other),
                None => SharedNamespace::Own,
            },
        }
    }

    /// The IPC namespace asked for (Docker's daemon default is `private`).
    pub fn ipc(&self) -> IpcMode<'_> {
        match self.ipc_mode.as_str() {
            "shareable" => IpcMode::Shareable,
            "none" => IpcMode::None,
            "host" => IpcMode::Host,
            mode => match mode.strip_prefix("container:") {
                Some(other) => IpcMode::Container(other),
                None => IpcMode::Private,
            },
        }
    }

    pub fn uts_host(&self) -> bool {
        self.uts_mode == "host"
    }

    /// Docker's `CgroupnsMode`, with dockerd's default for none: `private`
    /// on a pure cgroup v2 host (`v2`), the host's on a v1 or hybrid one.
    pub fn cgroupns(&self, v2: bool) -> &str {
        match self.cgroupns_mode.as_str() {
            "" if v2 => "private",
            "" => "host",
            mode => mode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(modes: HostModes, hostname: bool) -> String {
        modes.validate(hostname).unwrap_err().to_string()
    }

    #[test]
    fn dockers_values_pass_and_others_are_refused() {
        let ok = HostModes {
            pid_mode: "container:web".into(),
            uts_mode: "host".into(),
            cgroupns_mode: "private".into(),
            group_add: vec!["audio".into(), "1234".into()],
            isolation: "default".into(),
            volume_driver: "local".into(),
            ipc_mode: "container:db".into(),
            ..Default::default()
        };
        ok.validate(false).unwrap();
        assert_eq!(ok.pid(), SharedNamespace::Container("web"));
        assert_eq!(ok.ipc(), IpcMode::Container("db"));
        assert_eq!(HostModes::default().ipc(), IpcMode::Private);
        let with = |f: fn(&mut HostModes)| {
            let mut m = HostModes::default();
            f(&mut m);
            m
        };
        assert_eq!(
            refused(with(|m| m.isolation = "hyperv".into()), false),
            "Invalid isolation: \"hyperv\" - linux only supports 'default'"
        );
        assert_eq!(
            refused(with(|m| m.ipc_mode = "bogus".into()), false),
            "Invalid IPC mode: bogus"
        );
        assert_eq!(
            refused(with(|m| m.pid_mode = "bogus".into()), false),
            "invalid PID mode: bogus"
        );
        assert_eq!(
            refused(with(|m| m.cgroupns_mode = "shared".into()), false),
            "invalid cgroup namespace mode: shared"
        );
        assert_eq!(HostModes::default().cgroupns(false), "host");
        assert_eq!(HostModes::default().cgroupns(true), "private");
        assert_eq!(ok.cgroupns(false), "private");
        assert_eq!(
            refused(with(|m| m.uts_mode = "host".into()), true),
            "conflicting options: hostname and the UTS mode"
        );
    }

    #[test]
    fn older_records_read_as_defaults() {
        let modes: HostModes = serde_json::from_str("{}").unwrap();
        assert_eq!(modes, HostModes::default());
    }
}
