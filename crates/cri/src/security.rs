//! The CRI's namespaces, security contexts and mounts as berth's host
//! settings. What berth cannot apply is refused by name.

use berth_engine::model::{BindOptions, HostSpec, MountRequest};
use tonic::Status;

use crate::api::{self, security_profile::ProfileType, NamespaceMode, SupplementalGroupsPolicy};
use crate::error::{invalid, unsupported};
use crate::meta::PodRecord;

fn mode(value: i32, what: &str) -> Result<NamespaceMode, Status> {
    NamespaceMode::try_from(value)
        .map_err(|_| invalid(format!("unknown {what} namespace mode {value}")))
}

/// The pod's namespaces, on its infra container.
pub fn sandbox_namespaces(
    ns: &api::NamespaceOption,
    host: &mut HostSpec,
    record: &mut PodRecord,
) -> Result<(), Status> {
    host.modes.userns_mode = userns(ns)?;
    match mode(ns.network, "network")? {
        NamespaceMode::Pod => host.network_mode = "default".into(),
        NamespaceMode::Node => host.network_mode = "host".into(),
        m => return Err(unsupported(format!("a pod network namespace mode {m:?}"))),
    }
    match mode(ns.ipc, "IPC")? {
        NamespaceMode::Pod => host.modes.ipc_mode = "shareable".into(),
        NamespaceMode::Node => host.modes.ipc_mode = "host".into(),
        m => return Err(unsupported(format!("a pod IPC namespace mode {m:?}"))),
    }
    match mode(ns.pid, "PID")? {
        NamespaceMode::Container => {}
        NamespaceMode::Pod => record.shared_pid = true,
        NamespaceMode::Node => host.modes.pid_mode = "host".into(),
        NamespaceMode::Target => return Err(unsupported("a pod PID namespace mode TARGET")),
    }
    Ok(())
}

/// The pod's user namespace as the engine's `--userns`: the node's (`""`)
/// or, for POD, `map:uid=U,gid=G,size=N` from its one uid and one gid
/// mapping, which must map the pod's ids from 0 (kubelet's; containerd
/// and CRI-O refuse the rest too).
fn userns(ns: &api::NamespaceOption) -> Result<String, Status> {
    let Some(u) = &ns.userns_options else {
        return Ok(String::new());
    };
    match mode(u.mode, "user")? {
        NamespaceMode::Node => return Ok(String::new()),
        NamespaceMode::Pod => {}
        m => {
            return Err(invalid(format!(
                "user namespace mode {m:?}: only POD and NODE exist for user namespaces"
            )))
        }
    }
    let (uid, gid) = match (&u.uids[..], &u.gids[..]) {
        ([uid], [gid]) => (uid, gid),
        _ => {
            return Err(invalid(format!(
                "a pod user namespace needs exactly one uid and one gid mapping, not {} and {}",
                u.uids.len(),
                u.gids.len()
            )))
        }
    };
    if uid.container_id != 0 || gid.container_id != 0 {
        return Err(invalid(
            "a pod user namespace must map container ids from 0 (container_id 0)",
        ));
    }
    if uid.length != gid.length {
        return Err(invalid(format!(
            "a pod user namespace must map as many uids as gids, not {} and {}",
            uid.length, gid.length
        )));
    }
    Ok(format!(
        "map:uid={},gid={},size={}",
        uid.host_id, gid.host_id, uid.length
    ))
}

/// A container's namespaces: joined to its pod's (`infra`, whose user
/// namespace mode is `pod_userns`) or the node's. Its user namespace maps
/// as its pod's (each container has a namespace of its own with the pod's
/// ids, the infra container's network and IPC namespaces joined as host
/// root before it is made); asking for another is refused.
pub fn container_namespaces(
    ns: &api::NamespaceOption,
    pod: &PodRecord,
    infra: &str,
    pod_userns: &str,
    host: &mut HostSpec,
) -> Result<(), Status> {
    if ns.userns_options.is_some() && userns(ns)? != pod_userns {
        return Err(invalid(
            "a container's user namespace must be its pod's (userns_options as the pod's)",
        ));
    }
    host.modes.userns_mode = pod_userns.to_string();
    let join = format!("container:{infra}");
    host.network_mode = match mode(ns.network, "network")? {
        NamespaceMode::Node if pod.network_mode == NamespaceMode::Node as i32 => "host".into(),
        NamespaceMode::Pod | NamespaceMode::Node => join.clone(),
        m => {
            return Err(unsupported(format!(
                "a container network namespace mode {m:?}"
            )))
        }
    };
    host.modes.ipc_mode = match mode(ns.ipc, "IPC")? {
        NamespaceMode::Node => "host".into(),
        NamespaceMode::Pod => join.clone(),
        m => return Err(unsupported(format!("a container IPC namespace mode {m:?}"))),
    };
    host.modes.pid_mode = match mode(ns.pid, "PID")? {
        NamespaceMode::Container => String::new(),
        NamespaceMode::Pod => join,
        NamespaceMode::Node => "host".into(),
        NamespaceMode::Target if !ns.target_id.is_empty() => format!("container:{}", ns.target_id),
        NamespaceMode::Target => {
            return Err(invalid("PID namespace mode TARGET needs a target_id"))
        }
    };
    Ok(())
}

/// `uid[:gid]` of a security context, `None` for the image's user.
fn user(
    uid: Option<&api::Int64Value>,
    gid: Option<&api::Int64Value>,
    name: &str,
) -> Result<Option<String>, Status> {
    let u = match (uid, name) {
        (Some(u), _) => u.value.to_string(),
        (None, n) if !n.is_empty() => n.to_string(),
        (None, _) if gid.is_some() => {
            return Err(invalid("run_as_group needs run_as_user or run_as_username"))
        }
        _ => return Ok(None),
    };
    Ok(Some(match gid {
        Some(g) => format!("{u}:{}", g.value),
        None => u,
    }))
}

pub fn sandbox_user(sc: &api::LinuxSandboxSecurityContext) -> Option<String> {
    user(sc.run_as_user.as_ref(), sc.run_as_group.as_ref(), "")
        .ok()
        .flatten()
}

fn selinux(o: &Option<api::SeLinuxOption>) -> Result<(), Status> {
    match o {
        Some(o) if *o != api::SeLinuxOption::default() => Err(unsupported("SELinux options")),
        _ => Ok(()),
    }
}

/// seccomp and AppArmor profiles as `--security-opt` values.
///
/// The CRI's seccomp rules, as containerd and CRI-O apply them: no profile
/// at all (neither field) is unconfined, not the runtime's default, and a
/// privileged container runs without a filter whatever profile it names.
fn profiles(
    seccomp: &Option<api::SecurityProfile>,
    seccomp_path: &str,
    apparmor: &Option<api::SecurityProfile>,
    apparmor_name: &str,
    privileged: bool,
    out: &mut Vec<String>,
) -> Result<(), Status> {
    match seccomp {
        _ if privileged => out.push("seccomp=unconfined".into()),
        Some(p) => match ProfileType::try_from(p.profile_type) {
            Ok(ProfileType::RuntimeDefault) => {}
            Ok(ProfileType::Unconfined) => out.push("seccomp=unconfined".into()),
            Ok(ProfileType::Localhost) => {
                out.push(format!("seccomp={}", read_profile(&p.localhost_ref)?))
            }
            Err(_) => return Err(invalid("unknown seccomp profile type")),
        },
        None => match seccomp_path {
            "runtime/default" | "docker/default" => {}
            "" | "unconfined" => out.push("seccomp=unconfined".into()),
            p => match p.strip_prefix("localhost/") {
                Some(path) => out.push(format!("seccomp={}", read_profile(path)?)),
                None => return Err(invalid(format!("unknown seccomp profile {p:?}"))),
            },
        },
    }
    match apparmor {
        Some(p) => match ProfileType::try_from(p.profile_type) {
            Ok(ProfileType::RuntimeDefault) => {}
            Ok(ProfileType::Unconfined) => out.push("apparmor=unconfined".into()),
            Ok(ProfileType::Localhost) => out.push(format!("apparmor={}", p.localhost_ref)),
            Err(_) => return Err(invalid("unknown AppArmor profile type")),
        },
        None => match apparmor_name {
            "" | "runtime/default" => {}
            "unconfined" => out.push("apparmor=unconfined".into()),
            p => match p.strip_prefix("localhost/") {
                Some(name) => out.push(format!("apparmor={name}")),
                None => return Err(invalid(format!("unknown AppArmor profile {p:?}"))),
            },
        },
    }
    Ok(())
}

/// A Localhost seccomp profile: the JSON file on the node.
fn read_profile(path: &str) -> Result<String, Status> {
    std::fs::read_to_string(path).map_err(|e| invalid(format!("seccomp profile {path}: {e}")))
}

/// Supplemental groups, and whether the image's `/etc/group` memberships
/// of the user join them (Merge) or not (Strict).
fn groups(ids: &[i64], policy: i32, host: &mut HostSpec) -> Result<(), Status> {
    host.modes.strict_groups = match SupplementalGroupsPolicy::try_from(policy) {
        Ok(SupplementalGroupsPolicy::Merge) => false,
        Ok(SupplementalGroupsPolicy::Strict) => true,
        Err(_) => {
            return Err(invalid(format!(
                "unknown supplemental_groups_policy {policy}"
            )))
        }
    };
    host.modes.group_add = ids.iter().map(i64::to_string).collect();
    Ok(())
}

/// The infra container's confinement (the pod's security context).
// The deprecated profile fields: clients before 1.25 send only them.
#[allow(deprecated)]
pub fn sandbox_context(
    sc: &api::LinuxSandboxSecurityContext,
    host: &mut HostSpec,
) -> Result<(), Status> {
    selinux(&sc.selinux_options)?;
    host.privileged = sc.privileged;
    host.read_only_rootfs = sc.readonly_rootfs;
    groups(&sc.supplemental_groups, sc.supplemental_groups_policy, host)?;
    profiles(
        &sc.seccomp,
        &sc.seccomp_profile_path,
        &sc.apparmor,
        "",
        sc.privileged,
        &mut host.security_opt,
    )
}

/// A container's security context; returns the user it runs as.
#[allow(deprecated)]
pub fn container_context(
    sc: &api::LinuxContainerSecurityContext,
    host: &mut HostSpec,
) -> Result<Option<String>, Status> {
    selinux(&sc.selinux_options)?;
    host.privileged = sc.privileged;
    host.read_only_rootfs = sc.readonly_rootfs;
    groups(&sc.supplemental_groups, sc.supplemental_groups_policy, host)?;
    if let Some(caps) = &sc.capabilities {
        if !caps.add_ambient_capabilities.is_empty() {
            return Err(unsupported("ambient capabilities"));
        }
        host.cap_add = caps.add_capabilities.clone();
        host.cap_drop = caps.drop_capabilities.clone();
    }
    if sc.no_new_privs {
        host.security_opt.push("no-new-privileges".into());
    }
    profiles(
        &sc.seccomp,
        &sc.seccomp_profile_path,
        &sc.apparmor,
        &sc.apparmor_profile,
        sc.privileged,
        &mut host.security_opt,
    )?;
    // An empty list (proto3 cannot tell it from none) keeps berth's own,
    // Docker's, as containerd keeps its defaults; kubelet sends the same
    // list or none.
    host.masked_paths = (!sc.masked_paths.is_empty()).then(|| sc.masked_paths.clone());
    host.readonly_paths = (!sc.readonly_paths.is_empty()).then(|| sc.readonly_paths.clone());
    user(
        sc.run_as_user.as_ref(),
        sc.run_as_group.as_ref(),
        &sc.run_as_username,
    )
}

/// A CRI mount as a bind mount (hostPath, emptyDir, configMap... are all
/// directories or files kubelet prepared on the node).
pub fn mount(m: &api::Mount) -> Result<MountRequest, Status> {
    if m.image.as_ref().is_some_and(|i| !i.image.is_empty()) {
        return Err(unsupported("image volumes"));
    }
    if !m.uid_mappings.is_empty() || !m.gid_mappings.is_empty() {
        return Err(unsupported("ID-mapped mounts"));
    }
    // selinux_relabel: berth runs without SELinux; nothing to relabel.
    let propagation = match api::MountPropagation::try_from(m.propagation) {
        Ok(api::MountPropagation::PropagationPrivate) => "rprivate",
        Ok(api::MountPropagation::PropagationHostToContainer) => "rslave",
        Ok(api::MountPropagation::PropagationBidirectional) => "rshared",
        Err(_) => {
            return Err(invalid(format!(
                "unknown mount propagation {}",
                m.propagation
            )))
        }
    };
    // The CRI's read-only mount leaves its submounts writable unless it is
    // `recursive_read_only` (berth's, and Docker's, read-only bind), which
    // must be read-only and private (kubelet's and containerd's checks).
    if m.recursive_read_only && !m.readonly {
        return Err(invalid("a recursive read-only mount must be readonly"));
    }
    if m.recursive_read_only && propagation != "rprivate" {
        return Err(invalid(
            "a recursive read-only mount must have private propagation",
        ));
    }
    Ok(MountRequest {
        kind: "bind".into(),
        source: m.host_path.clone(),
        target: m.container_path.clone(),
        read_only: m.readonly,
        bind_options: Some(BindOptions {
            propagation: Some(propagation.into()),
            non_recursive: false,
            read_only_non_recursive: m.readonly && !m.recursive_read_only,
        }),
        ..MountRequest::default()
    })
}
