//! `update`: changes a container's resources and restart policy, stored so
//! that every later start has them and, for a running or paused container,
//! applied to its cgroup by the OCI runtime at once.

use berth_container::model::{self, HostSpec, Status};
use berth_container::RestartPolicy;
use berth_error::ErrorKind;
use berth_runtime::{Limits, Resources};

use super::reconcile::lookup;
use super::runtime::runtime_of;
use super::settings::limits;
use crate::{Engine, Error, Result};

/// What to change; zero, empty and `None` leave a setting as it is (Docker's
/// `update` body).
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    pub memory: i64,
    pub nano_cpus: i64,
    pub pids_limit: Option<i64>,
    /// CPU shares, CFS and real-time values, cpusets, swap, reservation,
    /// block I/O weight (device cgroup rules are not updatable, as in Docker).
    pub resources: Resources,
    pub restart_policy: Option<RestartPolicy>,
}

impl Engine {
    /// `update`: checks the values as Docker does (invalid values refused
    /// with its messages, a conflict with what is set refused as
    /// "Cannot update container ID: ..."), applies them to a running or
    /// paused container's cgroup, then stores them. Returns Docker's warnings.
    pub fn container_update(
        &mut self,
        reference: &str,
        req: &UpdateRequest,
    ) -> Result<Vec<String>> {
        let mut c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        let mut requested = req.resources.clone();
        requested.device_cgroup_rules.clear();
        let asked = Limits {
            memory_bytes: (req.memory != 0).then_some(req.memory),
            nano_cpus: (req.nano_cpus != 0).then_some(req.nano_cpus),
            pids_limit: req.pids_limit,
        };
        crate::rootless::check_no_limits(&asked, &requested)?;
        let warnings = berth_runtime::check_resources(asked, &mut requested, true)?;
        let id = c.id.clone();
        let cannot = move |kind: ErrorKind, why: String| {
            Error::refused(kind, format!("Cannot update container {id}: {why}"))
        };
        if matches!(c.state.status, Status::Removing | Status::Dead) {
            return Err(cannot(
                ErrorKind::Conflict,
                "container is marked for removal and cannot be \"update\"".into(),
            ));
        }
        merge(&mut c.spec.host, req, &requested).map_err(|why| cannot(ErrorKind::Conflict, why))?;
        if matches!(c.state.status, Status::Running | Status::Paused) {
            let host = &c.spec.host;
            let resources = berth_runtime::linux_resources(limits(host), &host.resources, vec![])?;
            runtime_of(&c, &self.config.run_dir)?
                .update(&c.id, &resources)
                .map_err(|e| cannot(ErrorKind::Internal, e.to_string()))?;
        }
        model::save_spec(&mut self.store, &c)?;
        Ok(warnings)
    }
}

/// Docker's `UpdateContainer`: set values replace stored ones, refusing
/// what conflicts with the stored settings.
fn merge(host: &mut HostSpec, req: &UpdateRequest, r: &Resources) -> Result<(), String> {
    let stored = &host.resources;
    // `--cpus` is expressed as a CFS period and quota: one or the other.
    if req.nano_cpus > 0 && stored.cpu_period > 0 {
        return Err(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
                .into(),
        );
    }
    if req.nano_cpus > 0 && stored.cpu_quota > 0 {
        return Err(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
                .into(),
        );
    }
    if r.cpu_period > 0 && host.nano_cpus > 0 {
        return Err(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
                .into(),
        );
    }
    if r.cpu_quota > 0 && host.nano_cpus > 0 {
        return Err(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
                .into(),
        );
    }
    if req.memory > 0
        && r.memory_swap == 0
        && stored.memory_swap > 0
        && req.memory > stored.memory_swap
    {
        return Err("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into());
    }
    if let Some(policy) = req.restart_policy {
        if host.auto_remove && !policy.is_no() {
            return Err(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            );
        }
        host.restart_policy = policy;
    }
    let target = &mut host.resources;
    let set = |value: i64, slot: &mut i64| {
        if value != 0 {
            *slot = value;
        }
    };
    set(r.cpu_shares, &mut target.cpu_shares);
    set(r.cpu_period, &mut target.cpu_period);
    set(r.cpu_quota, &mut target.cpu_quota);
    set(r.cpu_realtime_period, &mut target.cpu_realtime_period);
    set(r.cpu_realtime_runtime, &mut target.cpu_realtime_runtime);
    set(r.memory_swap, &mut target.memory_swap);
    set(r.memory_reservation, &mut target.memory_reservation);
    if r.blkio_weight != 0 {
        target.blkio_weight = r.blkio_weight;
    }
    if r.memory_swappiness.is_some() {
        target.memory_swappiness = r.memory_swappiness;
    }
    if !r.cpuset_cpus.is_empty() {
        target.cpuset_cpus = r.cpuset_cpus.clone();
    }
    if !r.cpuset_mems.is_empty() {
        target.cpuset_mems = r.cpuset_mems.clone();
    }
    set(req.memory, &mut host.memory);
    set(req.nano_cpus, &mut host.nano_cpus);
    if req.pids_limit.is_some() {
        host.pids_limit = req.pids_limit;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_replace_and_conflicts_are_refused() {
        let mut host = HostSpec {
            nano_cpus: 1_000_000_000,
            ..Default::default()
        };
        let req = UpdateRequest {
            memory: 64 << 20,
            restart_policy: Some(RestartPolicy::Always),
            resources: Resources {
                cpu_shares: 300,
                ..Default::default()
            },
            ..Default::default()
        };
        merge(&mut host, &req, &req.resources).unwrap();
        assert_eq!(host.memory, 64 << 20);
        assert_eq!(host.resources.cpu_shares, 300);
        assert_eq!(host.restart_policy, RestartPolicy::Always);
        assert_eq!(host.nano_cpus, 1_000_000_000);

        let quota = Resources {
            cpu_quota: 20_000,
            ..Default::default()
        };
        assert_eq!(
            merge(&mut host, &UpdateRequest::default(), &quota).unwrap_err(),
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        );
        host.auto_remove = true;
        host.restart_policy = RestartPolicy::No;
        let restart = UpdateRequest {
            restart_policy: Some(RestartPolicy::Always),
            ..Default::default()
        };
        assert!(merge(&mut host, &restart, &Resources::default())
            .unwrap_err()
            .starts_with("Restart policy cannot be updated"));
    }

    #[test]
    fn memory_above_the_stored_swap_needs_a_new_swap() {
        let mut host = HostSpec {
            memory: 32 << 20,
            ..Default::default()
        };
        host.resources.memory_swap = 64 << 20;
        let bigger = UpdateRequest {
            memory: 100 << 20,
            ..Default::default()
        };
        assert!(merge(&mut host.clone(), &bigger, &Resources::default()).is_err());
        let with_swap = Resources {
            memory_swap: 200 << 20,
            ..Default::default()
        };
        merge(&mut host, &bigger, &with_swap).unwrap();
        assert_eq!(
            (host.memory, host.resources.memory_swap),
            (100 << 20, 200 << 20)
        );
    }
}
