//! Cgroup resources: memory, CPU, cpuset, block I/O and pids limits, with
//! Docker's checks. The same values make a new container's spec and the
//! resources given to the runtime's `update` for a running one.

use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroup, LinuxMemoryBuilder, LinuxPidsBuilder,
    LinuxResources, LinuxResourcesBuilder,
};
use serde::{Deserialize, Serialize};

use super::devices::parse_device_rule;
use super::namespaces::cgroup_v2_unified;
use super::SpecInput;
use crate::cgroups::{memory_swappiness_supported, swap_limit_supported};
use crate::error::RuntimeError;

/// Docker's floor for `--memory` and `--memory-reservation`.
const MIN_MEMORY_BYTES: i64 = 6_291_456;
/// Where the kernel's cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// CFS period used to express `--cpus` (100ms, in microseconds).
const CPU_PERIOD_US: u64 = 100_000;

/// The cgroup settings of Docker's `HostConfig` beyond memory, CPUs and pids
/// (field names as Docker's; zero or empty = not set). `--device-cgroup-rule`
/// entries are kept as given (`c 42:* rmw`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Resources {
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpu_realtime_period: i64,
    pub cpu_realtime_runtime: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub memory_reservation: i64,
    /// Memory plus swap; -1 = unlimited swap, 0 = Docker's default (2 × memory).
    pub memory_swap: i64,
    /// The kernel's tendency to swap this cgroup's anonymous pages (0–100;
    /// `None` = the parent's, Docker's -1).
    pub memory_swappiness: Option<i64>,
    pub blkio_weight: u16,
    pub device_cgroup_rules: Vec<String>,
}

/// Memory, CPU and pids limits as a container has them (`None` = not set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub pids_limit: Option<i64>,
}

/// Docker's checks of resource values (`verifyPlatformContainerResources`),
/// with its messages. `update` checks a request's values alone, as Docker does
/// (so `--memory-swap` without `--memory` is allowed there). Returns Docker's
/// warnings; a setting the kernel cannot apply and that Docker discards with
/// a warning (block I/O weight) is zeroed in `resources`; at create, Docker's
/// default swap (2 × memory, where the kernel limits swap) is filled in.
pub fn check_resources(
    limits: Limits,
    resources: &mut Resources,
    update: bool,
) -> Result<Vec<String>, RuntimeError> {
    let invalid = |m: &str| Err(RuntimeError::invalid(m));
    let mut warnings = Vec::new();
    let memory = limits.memory_bytes.unwrap_or(0);
    let r = &*resources;
    if memory != 0 && memory < MIN_MEMORY_BYTES {
        return invalid("Minimum memory limit allowed is 6MB");
    }
    if memory > 0 && r.memory_swap > 0 && r.memory_swap < memory {
        return invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if memory == 0 && r.memory_swap > 0 && !update {
        return invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        );
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY_BYTES {
        return invalid("Minimum memory reservation allowed is 6MB");
    }
    if memory > 0 && r.memory_reservation > 0 && memory < r.memory_reservation {
        return invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    let nano = limits.nano_cpus.unwrap_or(0);
    if nano > 0 && r.cpu_period > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if nano > 0 && r.cpu_quota > 0 {
        return invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    if nano != 0 {
        let cpus = online_cpus();
        if nano < 0 || nano > cpus * 1_000_000_000 {
            return Err(RuntimeError::invalid(format!(
                "range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
            )));
        }
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if r.cpu_shares < 0 || r.cpu_realtime_period < 0 || r.cpu_realtime_runtime < 0 {
        return invalid("CPU shares and real-time values cannot be negative");
    }
    check_cpuset(&r.cpuset_cpus, "cpus", &host_set("cpus"), "Requested CPUs")?;
    check_cpuset(
        &r.cpuset_mems,
        "mems",
        &host_set("mems"),
        "Requested memory nodes",
    )?;
    if (r.cpu_realtime_period != 0 || r.cpu_realtime_runtime != 0) && !realtime_supported() {
        return invalid("Your kernel does not support CPU real-time scheduler");
    }
    if r.cpu_realtime_period != 0
        && r.cpu_realtime_runtime != 0
        && r.cpu_realtime_runtime > r.cpu_realtime_period
    {
        return invalid("cpu real-time runtime cannot be higher than cpu real-time period");
    }
    if r.cpu_realtime_runtime > 0 {
        // The kernel refuses a group more real-time time than its parent
        // has; dockerd leaves that to runc at start (its --cpu-rt-runtime
        // gives its parent a budget), berth refuses it here.
        let budget = realtime_budget();
        if r.cpu_realtime_runtime > budget {
            return Err(RuntimeError::invalid(format!(
                "cpu real-time runtime {} is more than the real-time budget of berth's cgroup \
                 parent (cpu/berth/cpu.rt_runtime_us: {budget})",
                r.cpu_realtime_runtime
            )));
        }
    }
    if !update && memory > 0 && resources.memory_swap == 0 && swap_limit_supported() {
        // Docker stores its default swap at create: twice the memory.
        resources.memory_swap = memory.saturating_mul(2);
    }
    let r = &*resources;
    for rule in &r.device_cgroup_rules {
        parse_device_rule(rule)?;
    }
    if let Some(swappiness) = r.memory_swappiness {
        if !memory_swappiness_supported() {
            warnings.push(
                "Your kernel does not support memory swappiness capabilities or the cgroup is \
                 not mounted. Memory swappiness discarded."
                    .to_string(),
            );
            resources.memory_swappiness = None;
        } else if !(0..=100).contains(&swappiness) {
            return Err(RuntimeError::invalid(format!(
                "Invalid value: {swappiness}, valid memory swappiness range is 0-100"
            )));
        }
    }
    let r = &*resources;
    if r.blkio_weight > 0 && !blkio_weight_supported() {
        warnings.push(
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. \
             Weight discarded."
                .to_string(),
        );
        resources.blkio_weight = 0;
    } else if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return invalid("Range of blkio weight is from 10 to 1000");
    }
    Ok(warnings)
}

pub(super) fn validate_resources(input: &SpecInput) -> Result<(), RuntimeError> {
    check_resources(input.limits(), &mut input.resources.clone(), false)?;
    super::kernel::check_oom(
        input.oom_score_adj.unwrap_or(0).into(),
        input.kernel.oom_kill_disable,
    )?;
    Ok(())
}

fn online_cpus() -> i64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1)
}

/// The host's CPUs or memory nodes as a cpuset list (`0-1`).
fn host_set(kind: &str) -> String {
    let candidates = [
        format!("/sys/fs/cgroup/cpuset/cpuset.{kind}"),
        format!("/sys/fs/cgroup/cpuset.{kind}.effective"),
    ];
    candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| match kind {
            "cpus" => format!("0-{}", online_cpus() - 1),
            _ => "0".to_string(),
        })
}

/// Parses a cpuset list (`0-2,4`) as the kernel and Docker read it.
fn parse_set(list: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in list.split(',') {
        let bad = || format!("invalid format: {list}");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if b < a {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(out)
}

fn check_cpuset(
    requested: &str,
    kind: &str,
    available: &str,
    what: &str,
) -> Result<(), RuntimeError> {
    if requested.is_empty() {
        return Ok(());
    }
    let wanted = parse_set(requested).map_err(|e| {
        RuntimeError::invalid(format!("Invalid value {requested} for cpuset {kind}: {e}"))
    })?;
    let have = parse_set(available).unwrap_or_default();
    if wanted.iter().any(|n| !have.contains(n)) {
        return Err(RuntimeError::invalid(format!(
            "{what} are not available - requested {requested}, available: {available}"
        )));
    }
    Ok(())
}

/// Real-time group scheduling (CONFIG_RT_GROUP_SCHED) shows as the cgroup v1
/// cpu controller's `cpu.rt_runtime_us`; cgroup v2 has none.
fn realtime_supported() -> bool {
    !cgroup_v2_unified() && Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists()
}

/// The real-time runtime berth's containers may share: their parent
/// cgroup's (0 until someone gives it one, the kernel's default for a new
/// group).
fn realtime_budget() -> i64 {
    std::fs::read_to_string("/sys/fs/cgroup/cpu/berth/cpu.rt_runtime_us")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether the kernel weighs block I/O per cgroup. v1: a weight file of the
/// blkio controller (CFQ's or BFQ's). v2: the `io` controller among the
/// root's (Docker's check; the weight files, `io.weight` or `io.bfq.weight`,
/// exist only below the root, where the runtime writes one of them).
fn blkio_weight_supported() -> bool {
    blkio_weight_supported_at(Path::new(CGROUP_ROOT), cgroup_v2_unified())
}

fn blkio_weight_supported_at(root: &Path, v2: bool) -> bool {
    if v2 {
        return controllers(root).iter().any(|c| c == "io");
    }
    ["blkio/blkio.weight", "blkio/blkio.bfq.weight"]
        .iter()
        .any(|f| root.join(f).exists())
}

/// The controllers a pure v2 hierarchy offers (its root's `cgroup.controllers`).
fn controllers(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The cgroup resources of a container (its device rules apart): what the
/// spec carries at create and what the runtime's `update` is given.
pub fn linux_resources(
    limits: Limits,
    r: &Resources,
    device_rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, RuntimeError> {
    let mut resources = LinuxResourcesBuilder::default().devices(device_rules);
    let memory = limits.memory_bytes.filter(|m| *m > 0);
    if memory.is_some()
        || r.memory_reservation > 0
        || r.memory_swap != 0
        || r.memory_swappiness.is_some()
    {
        let mut builder = LinuxMemoryBuilder::default();
        if let Some(memory) = memory {
            builder = builder.limit(memory);
            if swap_limit_supported() {
                builder = builder.swap(match r.memory_swap {
                    0 => memory.saturating_mul(2),
                    swap => swap,
                });
            }
        } else if r.memory_swap != 0 && swap_limit_supported() {
            builder = builder.swap(r.memory_swap);
        }
        if r.memory_reservation > 0 {
            builder = builder.reservation(r.memory_reservation);
        }
        if let Some(swappiness) = r.memory_swappiness {
            builder = builder.swappiness(swappiness as u64);
        }
        resources = resources.memory(builder.build()?);
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if let Some(nano) = limits.nano_cpus.filter(|n| *n > 0) {
        let quota = nano.saturating_mul(CPU_PERIOD_US as i64) / 1_000_000_000;
        cpu = cpu.period(CPU_PERIOD_US).quota(quota);
        any_cpu = true;
    }
    if r.cpu_period > 0 {
        cpu = cpu.period(r.cpu_period as u64);
        any_cpu = true;
    }
    if r.cpu_quota != 0 {
        cpu = cpu.quota(r.cpu_quota);
        any_cpu = true;
    }
    if r.cpu_shares > 0 {
        cpu = cpu.shares(r.cpu_shares as u64);
        any_cpu = true;
    }
    if r.cpu_realtime_period > 0 {
        cpu = cpu.realtime_period(r.cpu_realtime_period as u64);
        any_cpu = true;
    }
    if r.cpu_realtime_runtime > 0 {
        cpu = cpu.realtime_runtime(r.cpu_realtime_runtime);
        any_cpu = true;
    }
    if !r.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(r.cpuset_cpus.clone());
        any_cpu = true;
    }
    if !r.cpuset_mems.is_empty() {
        cpu = cpu.mems(r.cpuset_mems.clone());
        any_cpu = true;
    }
    if any_cpu {
        resources = resources.cpu(cpu.build()?);
    }
    if r.blkio_weight > 0 {
        resources = resources.block_io(
            LinuxBlockIoBuilder::default()
                .weight(r.blkio_weight)
                .build()?,
        );
    }
    if let Some(pids) = limits.pids_limit {
        // Docker maps 0 and negative values to "unlimited" (-1 for the runtime).
        let limit = if pids <= 0 { -1 } else { pids };
        resources = resources.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    Ok(resources.build()?)
}

/// The cgroup resources of a new container, device rules included.
pub(super) fn resources(
    input: &SpecInput,
    device_rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, RuntimeError> {
    linux_resources(input.limits(), &input.resources, device_rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpusets_parse_as_the_kernel_lists_them() {
        assert_eq!(parse_set("0-2,4").unwrap(), vec![0, 1, 2, 4]);
        assert_eq!(parse_set("x").unwrap_err(), "invalid format: x");
        assert!(parse_set("3-1").is_err());
        let err = check_cpuset("7", "cpus", "0-1", "Requested CPUs").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Requested CPUs are not available - requested 7, available: 0-1"
        );
        let err = check_cpuset("x", "cpus", "0-1", "Requested CPUs").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value x for cpuset cpus: invalid format: x"
        );
    }

    #[test]
    fn dockers_conflicts_are_refused() {
        let check = |limits: Limits, r: Resources, update: bool| {
            check_resources(limits, &mut r.clone(), update).map_err(|e| e.to_string())
        };
        let nano = Limits {
            nano_cpus: Some(500_000_000),
            ..Default::default()
        };
        let period = Resources {
            cpu_period: 50_000,
            ..Default::default()
        };
        assert_eq!(
            check(nano, period, false).unwrap_err(),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        let swap_only = Resources {
            memory_swap: 100 << 20,
            ..Default::default()
        };
        assert!(check(Limits::default(), swap_only.clone(), false).is_err());
        assert!(check(Limits::default(), swap_only, true).is_ok());
        let reservation = Resources {
            memory_reservation: 64 << 20,
            ..Default::default()
        };
        let memory = Limits {
            memory_bytes: Some(32 << 20),
            ..Default::default()
        };
        assert_eq!(
            check(memory, reservation, false).unwrap_err(),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
    }

    #[test]
    fn block_io_weight_is_supported_where_dockers_check_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A pure v2 root has no io.weight (only its children do): the io
        // controller among the root's controllers is what counts.
        std::fs::write(root.join("cgroup.controllers"), "cpuset cpu memory pids\n").unwrap();
        assert!(!blkio_weight_supported_at(root, true));
        std::fs::write(
            root.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        assert!(blkio_weight_supported_at(root, true));
        // v1: a weight file of the blkio hierarchy.
        assert!(!blkio_weight_supported_at(root, false));
        std::fs::create_dir(root.join("blkio")).unwrap();
        std::fs::write(root.join("blkio/blkio.bfq.weight"), "default 100\n").unwrap();
        assert!(blkio_weight_supported_at(root, false));
    }

    #[test]
    fn resources_carry_every_setting() {
        let r = Resources {
            cpu_shares: 512,
            cpuset_cpus: "0".into(),
            cpuset_mems: "0".into(),
            memory_reservation: 16 << 20,
            memory_swap: -1,
            ..Default::default()
        };
        let limits = Limits {
            memory_bytes: Some(64 << 20),
            ..Default::default()
        };
        let out = linux_resources(limits, &r, Vec::new()).unwrap();
        let cpu = out.cpu().as_ref().unwrap();
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
        let memory = out.memory().as_ref().unwrap();
        assert_eq!(memory.reservation(), Some(16 << 20));
        if swap_limit_supported() {
            assert_eq!(memory.swap(), Some(-1));
        }
    }
}
