//! Cgroup resources: memory, CPU and pids limits, with Docker's checks.

use std::path::Path;

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxDeviceCgroup, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder,
};

use super::namespaces::cgroup_v2_unified;
use super::process::has_sys_resource;
use super::SpecInput;
use crate::error::RuntimeError;

/// Docker's floor for `--memory`.
const MIN_MEMORY_BYTES: i64 = 6_291_456;
/// CFS period used to express `--cpus` (100ms, in microseconds).
const CPU_PERIOD_US: u64 = 100_000;

pub(super) fn validate_resources(input: &SpecInput) -> Result<(), RuntimeError> {
    if let Some(memory) = input.memory_bytes {
        if memory != 0 && memory < MIN_MEMORY_BYTES {
            return Err(RuntimeError::invalid("Minimum memory limit allowed is 6MB"));
        }
    }
    if let Some(nano) = input.nano_cpus {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1);
        if nano < 0 || nano > cpus * 1_000_000_000 {
            return Err(RuntimeError::invalid(format!(
                "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
            )));
        }
    }
    if let Some(score) = input.oom_score_adj {
        if !(-1000..=1000).contains(&score) {
            return Err(RuntimeError::invalid(format!(
                "Invalid value {score}, range for oom score adj is [-1000, 1000]"
            )));
        }
        if score < 0 && !has_sys_resource()? {
            return Err(RuntimeError::invalid(format!(
                "oom score adj {score}: a negative value needs CAP_SYS_RESOURCE, which this process lacks"
            )));
        }
    }
    Ok(())
}

/// Whether the kernel accounts swap, so Docker's default swap (2 × memory) applies.
pub(super) fn swap_limit_supported() -> bool {
    cgroup_v2_unified() || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
}

/// The cgroup resources of a container: its device rules, memory, CPU and
/// pids limits.
pub(super) fn resources(
    input: &SpecInput,
    device_rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, RuntimeError> {
    let mut resources = LinuxResourcesBuilder::default().devices(device_rules);
    if let Some(memory) = input.memory_bytes.filter(|m| *m > 0) {
        let mut builder = LinuxMemoryBuilder::default().limit(memory);
        if swap_limit_supported() {
            builder = builder.swap(memory.saturating_mul(2));
        }
        resources = resources.memory(builder.build()?);
    }
    if let Some(nano) = input.nano_cpus.filter(|n| *n > 0) {
        let quota = nano.saturating_mul(CPU_PERIOD_US as i64) / 1_000_000_000;
        resources = resources.cpu(
            LinuxCpuBuilder::default()
                .period(CPU_PERIOD_US)
                .quota(quota)
                .build()?,
        );
    }
    if let Some(pids) = input.pids_limit {
        // Docker maps 0 and negative values to "unlimited" (-1 for the runtime).
        let limit = if pids <= 0 { -1 } else { pids };
        resources = resources.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    Ok(resources.build()?)
}
