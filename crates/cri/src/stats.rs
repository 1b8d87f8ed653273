//! The stats calls: each container's counters as the engine reads them from
//! its cgroup (the reading `berth stats` uses), and a pod's as the sum of its
//! infra's and its containers', with the network of its namespace.
//!
//! Only cumulative counters are reported: `usage_nano_cores`, a rate, is left
//! unset, as kubelet computes it from two samples of `usage_core_nano_seconds`.

use std::time::{SystemTime, UNIX_EPOCH};

use berth_engine::container::details::ContainerDetails;
use berth_engine::container::stats::Stats;
use berth_engine::{Engine, ErrorKind, HasKind};
use tonic::Status;

use crate::api;
use crate::error;
use crate::meta::{self, ContainerRecord, PodRecord};
use crate::{containers, sandbox};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn value(v: u64) -> Option<api::UInt64Value> {
    Some(api::UInt64Value { value: v })
}

/// The usage of container `id`; `None` when it went away meanwhile.
fn usage(engine: &mut Engine, id: &str) -> Result<Option<Stats>, Status> {
    match engine.container_usage(id) {
        Ok(s) => Ok(Some(s.usage)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(error::status(e)),
    }
}

fn cpu(s: &Stats, at: i64) -> api::CpuUsage {
    api::CpuUsage {
        timestamp: at,
        usage_core_nano_seconds: value(s.cpu_usage_ns),
        usage_nano_cores: None,
    }
}

fn memory(s: &Stats, at: i64) -> api::MemoryUsage {
    api::MemoryUsage {
        timestamp: at,
        working_set_bytes: value(s.memory_usage),
        available_bytes: value(s.memory_limit.saturating_sub(s.memory_usage)),
        usage_bytes: value(s.memory_usage),
        ..Default::default()
    }
}

fn container_stats(d: &ContainerDetails, s: &Stats, at: i64) -> api::ContainerStats {
    let r: ContainerRecord = meta::record(&d.container.spec.labels).unwrap_or_default();
    api::ContainerStats {
        attributes: Some(api::ContainerAttributes {
            id: d.container.id.clone(),
            metadata: Some(containers::metadata(&r)),
            labels: meta::unsorted(&r.labels),
            annotations: meta::unsorted(&r.annotations),
        }),
        cpu: Some(cpu(s, at)),
        memory: Some(memory(s, at)),
        ..Default::default()
    }
}

pub fn container(engine: &mut Engine, id: &str) -> Result<api::ContainerStatsResponse, Status> {
    let d = containers::find(engine, id)?;
    let s = usage(engine, &d.container.id)?
        .ok_or_else(|| Status::not_found(format!("container {id} not found")))?;
    Ok(api::ContainerStatsResponse {
        stats: Some(container_stats(&d, &s, now())),
    })
}

pub fn list_containers(
    engine: &mut Engine,
    filter: Option<api::ContainerStatsFilter>,
) -> Result<Vec<api::ContainerStats>, Status> {
    let f = filter.unwrap_or_default();
    let mut out = Vec::new();
    for d in sandbox::list(engine, meta::KIND_CONTAINER)? {
        let r: ContainerRecord = meta::record(&d.container.spec.labels).unwrap_or_default();
        if !d.container.id.starts_with(&f.id)
            || !containers::sandbox_of(&d).starts_with(&f.pod_sandbox_id)
            || !meta::selected(&f.label_selector, &r.labels)
        {
            continue;
        }
        if let Some(s) = usage(engine, &d.container.id)? {
            out.push(container_stats(&d, &s, now()));
        }
    }
    Ok(out)
}

/// A pod's stats: its infra's and its containers' usage summed, the network
/// of the namespace they share, and each container's own.
fn pod_stats(
    engine: &mut Engine,
    infra: &ContainerDetails,
    record: &PodRecord,
) -> Result<api::PodSandboxStats, Status> {
    let at = now();
    let mut total = usage(engine, &infra.container.id)?.unwrap_or_default();
    let mut members = Vec::new();
    for d in sandbox::members(engine, &infra.container.id)? {
        let Some(s) = usage(engine, &d.container.id)? else {
            continue;
        };
        total.cpu_usage_ns += s.cpu_usage_ns;
        total.memory_usage += s.memory_usage;
        total.pids += s.pids;
        members.push(container_stats(&d, &s, at));
    }
    let interface = api::NetworkInterfaceUsage {
        name: "eth0".into(),
        rx_bytes: value(total.net_rx),
        tx_bytes: value(total.net_tx),
        ..Default::default()
    };
    Ok(api::PodSandboxStats {
        attributes: Some(api::PodSandboxAttributes {
            id: infra.container.id.clone(),
            metadata: Some(sandbox::metadata(record)),
            labels: meta::unsorted(&record.labels),
            annotations: meta::unsorted(&record.annotations),
        }),
        linux: Some(api::LinuxPodSandboxStats {
            cpu: Some(cpu(&total, at)),
            memory: Some(memory(&total, at)),
            network: Some(api::NetworkUsage {
                timestamp: at,
                default_interface: Some(interface.clone()),
                interfaces: vec![interface],
            }),
            process: Some(api::ProcessUsage {
                timestamp: at,
                process_count: value(total.pids),
            }),
            containers: members,
        }),
        windows: None,
    })
}

pub fn pod(engine: &mut Engine, id: &str) -> Result<api::PodSandboxStatsResponse, Status> {
    let (infra, record) = sandbox::find(engine, id)?;
    Ok(api::PodSandboxStatsResponse {
        stats: Some(pod_stats(engine, &infra, &record)?),
    })
}

pub fn list_pods(
    engine: &mut Engine,
    filter: Option<api::PodSandboxStatsFilter>,
) -> Result<Vec<api::PodSandboxStats>, Status> {
    let f = filter.unwrap_or_default();
    let mut out = Vec::new();
    for d in sandbox::list(engine, meta::KIND_SANDBOX)? {
        let r: PodRecord = meta::record(&d.container.spec.labels).unwrap_or_default();
        if d.container.id.starts_with(&f.id) && meta::selected(&f.label_selector, &r.labels) {
            out.push(pod_stats(engine, &d, &r)?);
        }
    }
    Ok(out)
}
