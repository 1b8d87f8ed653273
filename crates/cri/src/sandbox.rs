//! Pod sandboxes: RunPodSandbox makes and starts the pod's infra container,
//! which holds the pod's namespaces; the other calls find it by ID (the
//! infra container's) and act on it and on the pod's containers.

use std::collections::BTreeMap;

use berth_engine::container::create::CreateRequest;
use berth_engine::container::details::ContainerDetails;
use berth_engine::container::list::{ContainerFilter, ListRequest};
use berth_engine::container::rm::RemoveRequest;
use berth_engine::container::stop::StopRequest;
use berth_engine::model::{HostSpec, PortBinding, Status as BerthStatus};
use berth_engine::{Engine, ErrorKind, HasKind};
use tonic::Status;

use crate::api::{self, NamespaceMode, PodSandboxState};
use crate::error::{self, invalid, unsupported};
use crate::meta::{self, PodRecord};
use crate::security;

/// The infra container's name: `k8s_POD_NAME_NAMESPACE_UID_ATTEMPT`, the
/// name kubelet's dockershim gave it.
fn infra_name(r: &PodRecord) -> String {
    format!("k8s_POD_{}_{}_{}_{}", r.name, r.namespace, r.uid, r.attempt)
}

/// Makes and starts a pod's infra container; its ID is the pod's.
pub fn run(
    engine: &mut Engine,
    pause_image: &str,
    req: api::RunPodSandboxRequest,
) -> Result<String, Status> {
    let config = req
        .config
        .ok_or_else(|| invalid("RunPodSandbox needs a config"))?;
    let md = config
        .metadata
        .clone()
        .ok_or_else(|| invalid("RunPodSandbox needs the pod's metadata"))?;
    if config.windows.is_some() {
        return Err(unsupported("Windows pod settings"));
    }
    let linux = config.linux.clone().unwrap_or_default();
    if !linux.cgroup_parent.is_empty() {
        return Err(unsupported(format!(
            "a pod cgroup parent ({}); run kubelet with --cgroups-per-qos=false",
            linux.cgroup_parent
        )));
    }
    let sc = linux.security_context.clone().unwrap_or_default();
    let ns = sc.namespace_options.clone().unwrap_or_default();
    let mut record = PodRecord {
        name: md.name,
        uid: md.uid,
        namespace: md.namespace,
        attempt: md.attempt,
        labels: meta::sorted(&config.labels),
        annotations: meta::sorted(&config.annotations),
        log_directory: config.log_directory.clone(),
        runtime_handler: req.runtime_handler.clone(),
        shared_pid: false,
        network_mode: ns.network,
        ipc_mode: ns.ipc,
        pid_mode: ns.pid,
    };
    let mut host = HostSpec {
        runtime: req.runtime_handler.clone(),
        ..HostSpec::default()
    };
    security::sandbox_namespaces(&ns, &mut host, &mut record)?;
    security::sandbox_context(&sc, &mut host)?;
    host.modes.sysctls = meta::sorted(&linux.sysctls);
    if let Some(dns) = &config.dns_config {
        host.dns = dns.servers.clone();
        host.dns_search = dns.searches.clone();
        host.dns_options = dns.options.clone();
    }
    for p in &config.port_mappings {
        if ns.network == NamespaceMode::Node as i32 {
            // The pod is the node's network: its ports are the node's.
            continue;
        }
        let protocol = match api::Protocol::try_from(p.protocol) {
            Ok(api::Protocol::Tcp) => "tcp",
            Ok(api::Protocol::Udp) => "udp",
            _ => return Err(unsupported("SCTP port mappings")),
        };
        let port = |n: i32, what: &str| {
            u16::try_from(n).map_err(|_| invalid(format!("port mapping: bad {what} {n}")))
        };
        host.port_bindings.push(PortBinding {
            host_ip: p.host_ip.clone(),
            host_port: port(p.host_port, "host port")?,
            container_port: port(p.container_port, "container port")?,
            protocol: protocol.to_string(),
        });
    }
    let user = security::sandbox_user(&sc);
    let name = infra_name(&record);
    let mut labels = meta::labels(meta::KIND_SANDBOX, &record);
    labels.extend(record.labels.clone());
    ensure_image(engine, pause_image)?;
    let hostname = (ns.network != NamespaceMode::Node as i32 && !config.hostname.is_empty())
        .then(|| config.hostname.clone());
    let c = engine
        .container_create(CreateRequest {
            name: Some(name),
            image: pause_image.to_string(),
            hostname,
            user,
            labels,
            host,
            ..CreateRequest::default()
        })
        .map_err(error::status)?;
    if let Err(e) = engine.container_start(&c.id, false) {
        let _ = engine.container_remove(
            &c.id,
            RemoveRequest {
                force: true,
                volumes: true,
            },
        );
        return Err(error::status(e));
    }
    Ok(c.id)
}

/// Pulls `image` unless it is here (kubelet's sandbox image).
fn ensure_image(engine: &mut Engine, image: &str) -> Result<(), Status> {
    if engine.image_id(image).is_ok() {
        return Ok(());
    }
    crate::images::pull(engine, image, None).map(|_| ())
}

/// Every container of the CRI (sandboxes, or a pod's containers), any state.
pub fn list(engine: &mut Engine, kind: &str) -> Result<Vec<ContainerDetails>, Status> {
    let filter = ContainerFilter::parse([("label", format!("{}={kind}", meta::KIND).as_str())])
        .map_err(error::status)?;
    engine
        .container_list(&ListRequest {
            all: true,
            limit: None,
            size: false,
            filter,
        })
        .map_err(error::status)
}

/// The sandbox `id` names (an ID or a unique prefix), or NotFound.
pub fn find(engine: &mut Engine, id: &str) -> Result<(ContainerDetails, PodRecord), Status> {
    if id.is_empty() {
        return Err(invalid("a pod sandbox ID is required"));
    }
    let found: Vec<_> = list(engine, meta::KIND_SANDBOX)?
        .into_iter()
        .filter(|d| d.container.id.starts_with(id))
        .collect();
    match found.len() {
        1 => {
            let d = found.into_iter().next().unwrap_or_else(|| unreachable!());
            let record = meta::record(&d.container.spec.labels).unwrap_or_default();
            Ok((d, record))
        }
        0 => Err(Status::not_found(format!("pod sandbox {id} not found"))),
        _ => Err(invalid(format!("pod sandbox ID {id} is ambiguous"))),
    }
}

/// The pod's containers (not its infra).
pub fn members(engine: &mut Engine, sandbox_id: &str) -> Result<Vec<ContainerDetails>, Status> {
    Ok(list(engine, meta::KIND_CONTAINER)?
        .into_iter()
        .filter(|d| {
            d.container
                .spec
                .labels
                .get(meta::SANDBOX)
                .map(String::as_str)
                == Some(sandbox_id)
        })
        .collect())
}

fn ignore_missing(r: berth_engine::Result<()>) -> Result<(), Status> {
    match r {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(error::status(e)),
        _ => Ok(()),
    }
}

/// Stops the pod's containers, then its infra (at once: kubelet has given
/// them their grace period already). A missing pod is stopped.
pub fn stop(engine: &mut Engine, id: &str) -> Result<(), Status> {
    let (d, _) = match find(engine, id) {
        Err(s) if s.code() == tonic::Code::NotFound => return Ok(()),
        r => r?,
    };
    let now = StopRequest {
        timeout: Some(0),
        signal: None,
    };
    for m in members(engine, &d.container.id)? {
        ignore_missing(engine.container_stop(&m.container.id, &now).map(|_| ()))?;
    }
    ignore_missing(engine.container_stop(&d.container.id, &now).map(|_| ()))
}

/// Removes the pod's containers and its infra. A missing pod is removed.
pub fn remove(engine: &mut Engine, id: &str) -> Result<(), Status> {
    let (d, _) = match find(engine, id) {
        Err(s) if s.code() == tonic::Code::NotFound => return Ok(()),
        r => r?,
    };
    let force = || RemoveRequest {
        force: true,
        volumes: true,
    };
    for m in members(engine, &d.container.id)? {
        ignore_missing(engine.container_remove(&m.container.id, force()))?;
    }
    ignore_missing(engine.container_remove(&d.container.id, force()))
}

fn state(d: &ContainerDetails) -> PodSandboxState {
    match d.container.state.status {
        BerthStatus::Running => PodSandboxState::SandboxReady,
        _ => PodSandboxState::SandboxNotready,
    }
}

pub fn nanos(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .filter(|n| *n > 0)
        .unwrap_or(0)
}

pub fn metadata(r: &PodRecord) -> api::PodSandboxMetadata {
    api::PodSandboxMetadata {
        name: r.name.clone(),
        uid: r.uid.clone(),
        namespace: r.namespace.clone(),
        attempt: r.attempt,
    }
}

pub fn status(engine: &mut Engine, id: &str) -> Result<api::PodSandboxStatusResponse, Status> {
    let (d, r) = find(engine, id)?;
    let ip = d
        .networking
        .endpoints
        .first()
        .map(|e| e.ipv4.to_string())
        .unwrap_or_default();
    let status = api::PodSandboxStatus {
        id: d.container.id.clone(),
        metadata: Some(metadata(&r)),
        state: state(&d) as i32,
        created_at: nanos(&d.container.created_at),
        network: Some(api::PodSandboxNetworkStatus {
            ip,
            additional_ips: Vec::new(),
        }),
        linux: Some(api::LinuxPodSandboxStatus {
            namespaces: Some(api::Namespace {
                options: Some(api::NamespaceOption {
                    network: r.network_mode,
                    pid: r.pid_mode,
                    ipc: r.ipc_mode,
                    ..Default::default()
                }),
            }),
        }),
        labels: meta::unsorted(&r.labels),
        annotations: meta::unsorted(&r.annotations),
        runtime_handler: r.runtime_handler.clone(),
    };
    Ok(api::PodSandboxStatusResponse {
        status: Some(status),
        info: Default::default(),
        containers_statuses: Vec::new(),
        timestamp: 0,
    })
}

pub fn list_sandboxes(
    engine: &mut Engine,
    filter: Option<api::PodSandboxFilter>,
) -> Result<Vec<api::PodSandbox>, Status> {
    let filter = filter.unwrap_or_default();
    let mut out = Vec::new();
    for d in list(engine, meta::KIND_SANDBOX)? {
        let r: PodRecord = meta::record(&d.container.spec.labels).unwrap_or_default();
        let state = state(&d) as i32;
        if !d.container.id.starts_with(&filter.id)
            || filter.state.as_ref().is_some_and(|s| s.state != state)
            || !meta::selected(&filter.label_selector, &r.labels)
        {
            continue;
        }
        out.push(api::PodSandbox {
            id: d.container.id.clone(),
            metadata: Some(metadata(&r)),
            state,
            created_at: nanos(&d.container.created_at),
            labels: meta::unsorted(&r.labels),
            annotations: meta::unsorted(&r.annotations),
            runtime_handler: r.runtime_handler.clone(),
        });
    }
    Ok(out)
}

/// The labels a pod's container inherits from it: which pod it is in.
pub fn member_labels(sandbox_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(meta::SANDBOX.to_string(), sandbox_id.to_string())])
}
