//! Resources and namespace modes through the API: `HostConfig`'s cgroup
//! fields, `PidMode`, `UTSMode`, `IpcMode`, `GroupAdd`, `Isolation`,
//! `VolumeDriver`, `Sysctls`, `Devices` and the OOM settings at create, and `POST /containers/{id}/update` (Docker's update body as
//! the engine's `UpdateRequest`; as dockerd, only the fields `update`
//! changes are read).

use axum::extract::{Path, State};
use axum::Json;
use berth_engine::container::update::UpdateRequest;
use berth_engine::model::{DeviceMapping, HostModes, Resources, RestartPolicy};
use bollard_stubs::models::{ContainerUpdateBody, HostConfig};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::Shared;

/// Docker quirk: dockerd decodes `HostConfig` with Go's case-insensitive
/// field matching, and docker-py spells the real-time fields
/// `CPURealtimePeriod`/`CPURealtimeRuntime`: they become the API's names.
pub(super) fn normalise_host_config(host: &mut Value) {
    let Some(object) = host.as_object_mut() else {
        return;
    };
    for (given, name) in [
        ("CPURealtimePeriod", "CpuRealtimePeriod"),
        ("CPURealtimeRuntime", "CpuRealtimeRuntime"),
    ] {
        if let Some(value) = object.remove(given) {
            object.entry(name).or_insert(value);
        }
    }
}

/// `HostConfig`'s cgroup settings beyond memory, CPUs and pids.
pub(super) fn create_resources(host: &HostConfig) -> Resources {
    Resources {
        cpu_shares: host.cpu_shares.unwrap_or(0),
        cpu_period: host.cpu_period.unwrap_or(0),
        cpu_quota: host.cpu_quota.unwrap_or(0),
        cpu_realtime_period: host.cpu_realtime_period.unwrap_or(0),
        cpu_realtime_runtime: host.cpu_realtime_runtime.unwrap_or(0),
        cpuset_cpus: host.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: host.cpuset_mems.clone().unwrap_or_default(),
        memory_reservation: host.memory_reservation.unwrap_or(0),
        memory_swap: host.memory_swap.unwrap_or(0),
        // Docker's "not set" is -1 (or absent).
        memory_swappiness: host.memory_swappiness.filter(|s| *s != -1),
        blkio_weight: host.blkio_weight.unwrap_or(0),
        device_cgroup_rules: host.device_cgroup_rules.clone().unwrap_or_default(),
    }
}

/// `HostConfig`'s namespace modes, extra groups, isolation and volume driver.
pub(super) fn create_modes(host: &HostConfig) -> HostModes {
    HostModes {
        pid_mode: host.pid_mode.clone().unwrap_or_default(),
        uts_mode: host.uts_mode.clone().unwrap_or_default(),
        userns_mode: host.userns_mode.clone().unwrap_or_default(),
        group_add: host.group_add.clone().unwrap_or_default(),
        isolation: host
            .isolation
            .as_ref()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        volume_driver: host.volume_driver.clone().unwrap_or_default(),
        ipc_mode: host.ipc_mode.clone().unwrap_or_default(),
        sysctls: host
            .sysctls
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        devices: host
            .devices
            .iter()
            .flatten()
            .map(|d| DeviceMapping {
                path_on_host: d.path_on_host.clone().unwrap_or_default(),
                path_in_container: d.path_in_container.clone().unwrap_or_default(),
                cgroup_permissions: d.cgroup_permissions.clone().unwrap_or_default(),
            })
            .collect(),
        oom_score_adj: host.oom_score_adj.unwrap_or(0),
        oom_kill_disable: host.oom_kill_disable.unwrap_or(false),
        cgroupns_mode: host
            .cgroupns_mode
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        // Docker merges the image's groups (no such setting).
        strict_groups: false,
    }
}

fn update_request(body: ContainerUpdateBody) -> Result<UpdateRequest, ApiError> {
    let restart_policy = match body.restart_policy {
        Some(p) => {
            let name = p.name.map(|n| n.to_string()).unwrap_or_default();
            // Docker: a policy without a name leaves the policy as it is.
            if name.is_empty() {
                None
            } else {
                Some(
                    RestartPolicy::from_parts(&name, p.maximum_retry_count.unwrap_or(0))
                        .map_err(berth_engine::Error::from)?,
                )
            }
        }
        None => None,
    };
    Ok(UpdateRequest {
        memory: body.memory.unwrap_or(0),
        nano_cpus: body.nano_cpus.unwrap_or(0),
        pids_limit: body.pids_limit,
        resources: Resources {
            cpu_shares: body.cpu_shares.unwrap_or(0),
            cpu_period: body.cpu_period.unwrap_or(0),
            cpu_quota: body.cpu_quota.unwrap_or(0),
            cpu_realtime_period: body.cpu_realtime_period.unwrap_or(0),
            cpu_realtime_runtime: body.cpu_realtime_runtime.unwrap_or(0),
            cpuset_cpus: body.cpuset_cpus.unwrap_or_default(),
            cpuset_mems: body.cpuset_mems.unwrap_or_default(),
            memory_reservation: body.memory_reservation.unwrap_or(0),
            memory_swap: body.memory_swap.unwrap_or(0),
            memory_swappiness: body.memory_swappiness.filter(|s| *s != -1),
            blkio_weight: body.blkio_weight.unwrap_or(0),
            device_cgroup_rules: Vec::new(),
        },
        restart_policy,
    })
}

pub(super) async fn update(
    State(server): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<ContainerUpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let req = update_request(body)?;
    let warnings = server
        .with_engine(move |engine| Ok(engine.container_update(&id, &req)?))
        .await?;
    Ok(Json(json!({ "Warnings": warnings })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_pys_real_time_keys_are_dockers() {
        let mut host = json!({"CPURealtimePeriod": 1000, "CPURealtimeRuntime": 500});
        normalise_host_config(&mut host);
        let host: HostConfig = serde_json::from_value(host).unwrap();
        let r = create_resources(&host);
        assert_eq!((r.cpu_realtime_period, r.cpu_realtime_runtime), (1000, 500));
    }

    #[test]
    fn docker_py_body_maps_to_request() {
        let body: ContainerUpdateBody = serde_json::from_value(json!({
            "Memory": 314572800,
            "CpuShares": 3,
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 42}
        }))
        .unwrap();
        let req = update_request(body).unwrap();
        assert_eq!(req.memory, 314572800);
        assert_eq!(req.resources.cpu_shares, 3);
        assert_eq!(
            req.restart_policy,
            Some(RestartPolicy::OnFailure { max_retries: 42 })
        );
        let unnamed: ContainerUpdateBody =
            serde_json::from_value(json!({"RestartPolicy": {"Name": ""}})).unwrap();
        assert_eq!(update_request(unnamed).unwrap().restart_policy, None);
    }
}
