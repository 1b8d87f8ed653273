//! Namespaces and the sysctls that go with a container's own network namespace.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType,
};

use super::{Namespace, SpecInput};
use crate::error::RuntimeError;

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace, RuntimeError> {
    let builder = LinuxNamespaceBuilder::default().typ(typ);
    Ok(match path {
        Some(p) => builder.path(p).build()?,
        None => builder.build()?,
    })
}

/// True when /sys/fs/cgroup is a pure cgroup v2 mount; a hybrid v1+v2 host is v1
/// for Docker (host cgroup namespace by default).
pub fn cgroup_v2_unified() -> bool {
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

/// `len` ids from `container` in a container's user namespace are the
/// host's ids from `host` (a line of its `uid_map`/`gid_map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapping {
    pub container: u32,
    pub host: u32,
    pub len: u32,
}

/// A container's own user namespace (`--userns=auto`, `keep-id`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserNamespace {
    pub uids: Vec<IdMapping>,
    pub gids: Vec<IdMapping>,
}

/// The OCI `uidMappings`/`gidMappings` of a user namespace.
pub(super) fn id_mappings(
    userns: Option<&UserNamespace>,
) -> Result<(Option<Vec<LinuxIdMapping>>, Option<Vec<LinuxIdMapping>>), RuntimeError> {
    let Some(userns) = userns else {
        return Ok((None, None));
    };
    let convert = |list: &[IdMapping]| {
        list.iter()
            .map(|m| {
                LinuxIdMappingBuilder::default()
                    .container_id(m.container)
                    .host_id(m.host)
                    .size(m.len)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok((Some(convert(&userns.uids)?), Some(convert(&userns.gids)?)))
}

/// The namespaces of a container: its own mount namespace, its network,
/// UTS, PID and IPC namespaces as asked, and a cgroup namespace as asked
/// (by default on a pure cgroup v2 host).
pub(super) fn namespaces(input: &SpecInput) -> Result<Vec<LinuxNamespace>, RuntimeError> {
    let mut namespaces = vec![namespace(LinuxNamespaceType::Mount, None)?];
    if input.user_namespace.is_some() {
        namespaces.push(namespace(LinuxNamespaceType::User, None)?);
    }
    match &input.network {
        Namespace::New => namespaces.push(namespace(LinuxNamespaceType::Network, None)?),
        Namespace::Path(path) => {
            namespaces.push(namespace(LinuxNamespaceType::Network, Some(path))?)
        }
        Namespace::Host => {}
    }
    for (typ, mode) in [
        (LinuxNamespaceType::Uts, &input.uts),
        (LinuxNamespaceType::Pid, &input.pid),
    ] {
        match mode {
            Namespace::New => namespaces.push(namespace(typ, None)?),
            Namespace::Path(path) => namespaces.push(namespace(typ, Some(path))?),
            Namespace::Host => {}
        }
    }
    match &input.kernel.ipc {
        Namespace::New => namespaces.push(namespace(LinuxNamespaceType::Ipc, None)?),
        Namespace::Path(path) => namespaces.push(namespace(LinuxNamespaceType::Ipc, Some(path))?),
        Namespace::Host => {}
    }
    if input
        .kernel
        .private_cgroupns
        .unwrap_or_else(cgroup_v2_unified)
    {
        namespaces.push(namespace(LinuxNamespaceType::Cgroup, None)?);
    }
    Ok(namespaces)
}

/// Network sysctls Docker sets for a container's own network namespace, so that
/// ping and low ports work without NET_RAW / NET_BIND_SERVICE.
pub(super) fn network_sysctls(input: &SpecInput) -> HashMap<String, String> {
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
    sysctl
}
