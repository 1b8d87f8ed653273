//! A pod's containers: CreateContainer makes a berth container that joins
//! its pod's infra container; the lifecycle calls are the engine's.

use std::path::Path;

use berth_engine::container::create::CreateRequest;
use berth_engine::container::details::ContainerDetails;
use berth_engine::container::rm::RemoveRequest;
use berth_engine::container::stop::StopRequest;
use berth_engine::container::update::UpdateRequest;
use berth_engine::model::{DeviceMapping, HostSpec, LogConfig, Resources, Status as BerthStatus};
use berth_engine::{Engine, ErrorKind, HasKind};
use tonic::Status;

use crate::api::{self, ContainerState};
use crate::error::{self, invalid, unsupported};
use crate::meta::{self, ContainerRecord};
use crate::sandbox::{self, nanos};
use crate::security;

/// `k8s_NAME_POD_NAMESPACE_UID_ATTEMPT`, dockershim's container names.
fn container_name(c: &ContainerRecord, pod: &meta::PodRecord) -> String {
    format!(
        "k8s_{}_{}_{}_{}_{}",
        c.name, pod.name, pod.namespace, pod.uid, c.attempt
    )
}

pub fn create(engine: &mut Engine, req: api::CreateContainerRequest) -> Result<String, Status> {
    let config = req
        .config
        .ok_or_else(|| invalid("CreateContainer needs a config"))?;
    let md = config
        .metadata
        .clone()
        .ok_or_else(|| invalid("CreateContainer needs the container's metadata"))?;
    let image = config.image.clone().unwrap_or_default().image;
    if image.is_empty() {
        return Err(invalid("CreateContainer needs an image"));
    }
    if config.windows.is_some() {
        return Err(unsupported("Windows container settings"));
    }
    if !config.cdi_devices.is_empty() {
        return Err(unsupported("CDI devices"));
    }
    let (infra, pod) = sandbox::find(engine, &req.pod_sandbox_id)?;
    let infra_id = infra.container.id.clone();
    let log_path = if config.log_path.is_empty() {
        String::new()
    } else {
        Path::new(&pod.log_directory)
            .join(&config.log_path)
            .display()
            .to_string()
    };
    if !log_path.is_empty() && !log_path.starts_with('/') {
        return Err(invalid(format!(
            "log path {log_path:?}: the pod's log directory must be absolute"
        )));
    }
    let record = ContainerRecord {
        name: md.name,
        attempt: md.attempt,
        labels: meta::sorted(&config.labels),
        annotations: meta::sorted(&config.annotations),
        image: image.clone(),
        log_path: log_path.clone(),
    };
    let linux = config.linux.clone().unwrap_or_default();
    let sc = linux.security_context.clone().unwrap_or_default();
    let mut host = HostSpec {
        runtime: pod.runtime_handler.clone(),
        log_config: if log_path.is_empty() {
            LogConfig {
                driver: "none".into(),
                options: Default::default(),
            }
        } else {
            LogConfig {
                driver: "cri".into(),
                options: [("path".to_string(), log_path.clone())].into(),
            }
        },
        ..HostSpec::default()
    };
    let ns = sc
        .namespace_options
        .clone()
        .unwrap_or(api::NamespaceOption {
            network: pod.network_mode,
            pid: if pod.shared_pid { 0 } else { pod.pid_mode },
            ipc: pod.ipc_mode,
            ..Default::default()
        });
    security::container_namespaces(
        &ns,
        &pod,
        &infra_id,
        &infra.container.spec.host.modes.userns_mode,
        &mut host,
    )?;
    let user = security::container_context(&sc, &mut host)?;
    if let Some(r) = &linux.resources {
        resources(r, &mut host)?;
    }
    for m in &config.mounts {
        host.mounts.push(security::mount(m)?);
    }
    for d in &config.devices {
        host.modes.devices.push(DeviceMapping {
            path_on_host: d.host_path.clone(),
            path_in_container: d.container_path.clone(),
            cgroup_permissions: d.permissions.clone(),
        });
    }
    let mut labels = meta::labels(meta::KIND_CONTAINER, &record);
    labels.extend(sandbox::member_labels(&infra_id));
    labels.extend(record.labels.clone());
    let c = engine
        .container_create(CreateRequest {
            name: Some(container_name(&record, &pod)),
            image,
            // The CRI's command is the image's ENTRYPOINT, its args the CMD.
            entrypoint: (!config.command.is_empty()).then(|| config.command.clone()),
            cmd: (!config.args.is_empty()).then(|| config.args.clone()),
            env: config
                .envs
                .iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect(),
            working_dir: (!config.working_dir.is_empty()).then(|| config.working_dir.clone()),
            user,
            labels,
            tty: config.tty,
            open_stdin: config.stdin,
            stdin_once: config.stdin_once,
            host,
            ..CreateRequest::default()
        })
        .map_err(error::status)?;
    Ok(c.id)
}

/// LinuxContainerResources as berth's cgroup settings.
fn resources(r: &api::LinuxContainerResources, host: &mut HostSpec) -> Result<(), Status> {
    if r.hugepage_limits.iter().any(|h| h.limit != 0) {
        return Err(unsupported("hugepage limits"));
    }
    if !r.unified.is_empty() {
        return Err(unsupported("unified cgroup v2 settings"));
    }
    host.memory = r.memory_limit_in_bytes;
    host.modes.oom_score_adj = r.oom_score_adj;
    host.resources = linux_resources(r);
    Ok(())
}

fn linux_resources(r: &api::LinuxContainerResources) -> Resources {
    Resources {
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpu_shares: r.cpu_shares,
        cpuset_cpus: r.cpuset_cpus.clone(),
        cpuset_mems: r.cpuset_mems.clone(),
        memory_swap: r.memory_swap_limit_in_bytes,
        ..Resources::default()
    }
}

pub fn update(
    engine: &mut Engine,
    req: api::UpdateContainerResourcesRequest,
) -> Result<(), Status> {
    if req.windows.is_some() {
        return Err(unsupported("Windows container resources"));
    }
    let d = find(engine, &req.container_id)?;
    let Some(r) = req.linux else {
        return Ok(());
    };
    if r.hugepage_limits.iter().any(|h| h.limit != 0) {
        return Err(unsupported("hugepage limits"));
    }
    if !r.unified.is_empty() {
        return Err(unsupported("unified cgroup v2 settings"));
    }
    if r.oom_score_adj != d.container.spec.host.modes.oom_score_adj {
        return Err(unsupported("changing oom_score_adj of a created container"));
    }
    engine
        .container_update(
            &d.container.id,
            &UpdateRequest {
                memory: r.memory_limit_in_bytes,
                nano_cpus: 0,
                pids_limit: None,
                resources: linux_resources(&r),
                restart_policy: None,
            },
        )
        .map(|_| ())
        .map_err(error::status)
}

/// The CRI container `id` names (an ID or a unique prefix).
pub fn find(engine: &mut Engine, id: &str) -> Result<ContainerDetails, Status> {
    if id.is_empty() {
        return Err(invalid("a container ID is required"));
    }
    let found: Vec<_> = sandbox::list(engine, meta::KIND_CONTAINER)?
        .into_iter()
        .filter(|d| d.container.id.starts_with(id))
        .collect();
    match found.len() {
        1 => Ok(found.into_iter().next().unwrap_or_else(|| unreachable!())),
        0 => Err(Status::not_found(format!("container {id} not found"))),
        _ => Err(invalid(format!("container ID {id} is ambiguous"))),
    }
}

pub fn start(engine: &mut Engine, id: &str) -> Result<(), Status> {
    let d = find(engine, id)?;
    if d.container.state.status != BerthStatus::Created {
        return Err(Status::failed_precondition(format!(
            "container {} is {}, not created",
            d.container.id,
            d.container.state.status.as_str()
        )));
    }
    engine
        .container_start(&d.container.id, false)
        .map(|_| ())
        .map_err(error::status)
}

/// Stops a container (`timeout` seconds before SIGKILL); a missing or
/// stopped one is stopped.
pub fn stop(engine: &mut Engine, id: &str, timeout: i64) -> Result<(), Status> {
    let d = match find(engine, id) {
        Err(s) if s.code() == tonic::Code::NotFound => return Ok(()),
        r => r?,
    };
    let req = StopRequest {
        timeout: Some(timeout.max(0)),
        signal: None,
    };
    match engine.container_stop(&d.container.id, &req) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(error::status(e)),
        _ => Ok(()),
    }
}

/// Removes a container, running or not; a missing one is removed.
pub fn remove(engine: &mut Engine, id: &str) -> Result<(), Status> {
    let d = match find(engine, id) {
        Err(s) if s.code() == tonic::Code::NotFound => return Ok(()),
        r => r?,
    };
    let req = RemoveRequest {
        force: true,
        volumes: true,
    };
    match engine.container_remove(&d.container.id, req) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(error::status(e)),
        _ => Ok(()),
    }
}

fn state(d: &ContainerDetails) -> ContainerState {
    match d.container.state.status {
        BerthStatus::Created => ContainerState::ContainerCreated,
        BerthStatus::Running | BerthStatus::Paused | BerthStatus::Restarting => {
            ContainerState::ContainerRunning
        }
        BerthStatus::Exited | BerthStatus::Dead => ContainerState::ContainerExited,
        _ => ContainerState::ContainerUnknown,
    }
}

fn image_spec(r: &ContainerRecord) -> api::ImageSpec {
    api::ImageSpec {
        image: r.image.clone(),
        ..Default::default()
    }
}

pub fn metadata(r: &ContainerRecord) -> api::ContainerMetadata {
    api::ContainerMetadata {
        name: r.name.clone(),
        attempt: r.attempt,
    }
}

pub fn sandbox_of(d: &ContainerDetails) -> String {
    d.container
        .spec
        .labels
        .get(meta::SANDBOX)
        .cloned()
        .unwrap_or_default()
}

pub fn list(
    engine: &mut Engine,
    filter: Option<api::ContainerFilter>,
) -> Result<Vec<api::Container>, Status> {
    let f = filter.unwrap_or_default();
    let mut out = Vec::new();
    for d in sandbox::list(engine, meta::KIND_CONTAINER)? {
        let r: ContainerRecord = meta::record(&d.container.spec.labels).unwrap_or_default();
        let state = state(&d) as i32;
        let pod = sandbox_of(&d);
        if !d.container.id.starts_with(&f.id)
            || !pod.starts_with(&f.pod_sandbox_id)
            || f.state.as_ref().is_some_and(|s| s.state != state)
            || !meta::selected(&f.label_selector, &r.labels)
        {
            continue;
        }
        out.push(api::Container {
            id: d.container.id.clone(),
            pod_sandbox_id: pod,
            metadata: Some(metadata(&r)),
            image: Some(image_spec(&r)),
            image_ref: d.container.image_id.clone(),
            state,
            created_at: nanos(&d.container.created_at),
            labels: meta::unsorted(&r.labels),
            annotations: meta::unsorted(&r.annotations),
            image_id: d.container.image_id.clone(),
        });
    }
    Ok(out)
}

pub fn status(engine: &mut Engine, id: &str) -> Result<api::ContainerStatusResponse, Status> {
    let d = find(engine, id)?;
    let c = &d.container;
    let r: ContainerRecord = meta::record(&c.spec.labels).unwrap_or_default();
    let state = state(&d);
    let (reason, exit_code) = match state {
        ContainerState::ContainerExited if c.state.oom_killed => ("OOMKilled", c.state.exit_code),
        ContainerState::ContainerExited if c.state.exit_code == 0 => ("Completed", 0),
        ContainerState::ContainerExited => ("Error", c.state.exit_code),
        _ => ("", 0),
    };
    let mounts = c
        .spec
        .host
        .mounts
        .iter()
        .map(|m| api::Mount {
            container_path: m.target.clone(),
            host_path: m.source.clone(),
            readonly: m.read_only,
            propagation: match m
                .bind_options
                .as_ref()
                .and_then(|b| b.propagation.as_deref())
            {
                Some("rslave") => api::MountPropagation::PropagationHostToContainer as i32,
                Some("rshared") => api::MountPropagation::PropagationBidirectional as i32,
                _ => api::MountPropagation::PropagationPrivate as i32,
            },
            ..Default::default()
        })
        .collect();
    // The identity its first process got (the CRI's ContainerUser), while
    // it runs.
    let user = engine
        .container_process_user(&c.id)
        .map_err(error::status)?
        .map(|u| api::ContainerUser {
            linux: Some(api::LinuxContainerUser {
                uid: u.uid.into(),
                gid: u.gid.into(),
                supplemental_groups: u.additional_gids.iter().map(|&g| g.into()).collect(),
            }),
        });
    let status = api::ContainerStatus {
        id: c.id.clone(),
        metadata: Some(metadata(&r)),
        state: state as i32,
        created_at: nanos(&c.created_at),
        started_at: nanos(&c.state.started_at),
        finished_at: if state == ContainerState::ContainerExited {
            nanos(&c.state.finished_at)
        } else {
            0
        },
        exit_code,
        image: Some(image_spec(&r)),
        image_ref: c.image_id.clone(),
        reason: reason.to_string(),
        message: c.state.error.clone(),
        labels: meta::unsorted(&r.labels),
        annotations: meta::unsorted(&r.annotations),
        mounts,
        log_path: r.log_path.clone(),
        image_id: c.image_id.clone(),
        user,
        ..Default::default()
    };
    Ok(api::ContainerStatusResponse {
        status: Some(status),
        info: Default::default(),
    })
}

/// ReopenContainerLog: the engine starts the renamed log anew at its path.
pub fn reopen_log(engine: &mut Engine, id: &str) -> Result<(), Status> {
    let d = find(engine, id)?;
    engine
        .container_reopen_log(&d.container.id)
        .map_err(error::status)
}
