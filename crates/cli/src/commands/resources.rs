//! Resource and namespace flags: those `create`/`run` add to the host
//! settings (`--cpu-shares`, cpusets, `--pid`, `--uts`, `--group-add`...),
//! the cgroup flags `update` shares, and Docker's size grammar.

use anyhow::{anyhow, bail, Result};
use berth_engine::model::{DeviceMapping, HostModes, HostSpec, Resources};
use clap::Args;

// Cgroup flags `create`, `run` and `update` share (a plain comment: see CreateFlags).
#[derive(Args, Debug, Clone, Default)]
pub struct CgroupFlags {
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    cpu_shares: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period")]
    cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// Limit CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<i64>,
    /// Limit CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    /// Memory soft limit
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
}

impl CgroupFlags {
    pub(super) fn resources(&self) -> Result<Resources> {
        Ok(Resources {
            cpu_shares: self.cpu_shares.unwrap_or(0),
            cpu_period: self.cpu_period.unwrap_or(0),
            cpu_quota: self.cpu_quota.unwrap_or(0),
            cpu_realtime_period: self.cpu_rt_period.unwrap_or(0),
            cpu_realtime_runtime: self.cpu_rt_runtime.unwrap_or(0),
            cpuset_cpus: self.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.clone().unwrap_or_default(),
            memory_reservation: bytes(&self.memory_reservation)?,
            // Docker's MemSwapBytes: -1 is "unlimited".
            memory_swap: match self.memory_swap.as_deref() {
                Some("-1") => -1,
                other => bytes(&other.map(str::to_string))?,
            },
            memory_swappiness: None,
            blkio_weight: self.blkio_weight.unwrap_or(0),
            device_cgroup_rules: Vec::new(),
        })
    }

    pub(super) fn is_empty(&self) -> bool {
        self.cpu_shares.is_none()
            && self.cpu_period.is_none()
            && self.cpu_quota.is_none()
            && self.cpu_rt_period.is_none()
            && self.cpu_rt_runtime.is_none()
            && self.cpuset_cpus.is_none()
            && self.cpuset_mems.is_none()
            && self.memory_reservation.is_none()
            && self.memory_swap.is_none()
            && self.blkio_weight.is_none()
    }
}

pub(super) fn bytes(value: &Option<String>) -> Result<i64> {
    Ok(value.as_deref().map(parse_bytes).transpose()?.unwrap_or(0))
}

// `create`/`run` flags of cgroups, namespaces and groups (a plain comment: see
// CreateFlags).
#[derive(Args, Debug, Clone, Default)]
pub struct HostFlags {
    #[command(flatten)]
    cgroup: CgroupFlags,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule")]
    device_cgroup_rule: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add")]
    group_add: Vec<String>,
    /// PID namespace to use
    #[arg(long = "pid")]
    pid: Option<String>,
    /// UTS namespace to use
    #[arg(long = "uts")]
    uts: Option<String>,
    /// User namespace to use
    #[arg(long = "userns")]
    userns: Option<String>,
    /// Cgroup namespace to use (host|private)
    #[arg(long = "cgroupns")]
    cgroupns: Option<String>,
    /// Container isolation technology
    #[arg(long = "isolation")]
    isolation: Option<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver")]
    volume_driver: Option<String>,
    /// IPC mode to use
    #[arg(long = "ipc")]
    ipc: Option<String>,
    /// Sysctl options
    #[arg(long = "sysctl")]
    sysctl: Vec<String>,
    /// Add a host device to the container
    #[arg(long = "device")]
    device: Vec<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long = "oom-score-adj", allow_hyphen_values = true)]
    oom_score_adj: Option<i64>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    oom_kill_disable: bool,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(long = "memory-swappiness", allow_hyphen_values = true)]
    memory_swappiness: Option<i64>,
}

impl HostFlags {
    /// Adds these settings to `host` (the engine checks them at create).
    pub fn apply(&self, host: &mut HostSpec) -> Result<()> {
        host.resources = Resources {
            device_cgroup_rules: self.device_cgroup_rule.clone(),
            // Docker's default -1: the parent cgroup's.
            memory_swappiness: self.memory_swappiness.filter(|s| *s != -1),
            ..self.cgroup.resources()?
        };
        host.modes = HostModes {
            pid_mode: self.pid.clone().unwrap_or_default(),
            uts_mode: self.uts.clone().unwrap_or_default(),
            cgroupns_mode: self.cgroupns.clone().unwrap_or_default(),
            group_add: self.group_add.clone(),
            isolation: self.isolation.clone().unwrap_or_default(),
            volume_driver: self.volume_driver.clone().unwrap_or_default(),
            ipc_mode: self.ipc.clone().unwrap_or_default(),
            sysctls: self
                .sysctl
                .iter()
                .map(|s| match s.split_once('=') {
                    Some((k, v)) => Ok((k.to_string(), v.to_string())),
                    None => Err(anyhow!(
                        "invalid argument \"{s}\" for \"--sysctl\" flag: sysctl '{s}' is not allowed"
                    )),
                })
                .collect::<Result<_>>()?,
            devices: self
                .device
                .iter()
                .map(|d| parse_device(d))
                .collect::<Result<_>>()?,
            oom_score_adj: self.oom_score_adj.unwrap_or(0),
            oom_kill_disable: self.oom_kill_disable,
            userns_mode: self.userns.clone().unwrap_or_default(),
            strict_groups: false,
        };

        Ok(())
    }
}

/// Docker's `--device` grammar: `HOST[:CONTAINER][:PERMISSIONS]`, where a
/// second part made of `rwm` letters is the permissions.
fn parse_device(spec: &str) -> Result<DeviceMapping> {
    let is_mode = |m: &str| !m.is_empty() && m.len() <= 3 && m.bytes().all(|b| b"rwm".contains(&b));
    let parts: Vec<&str> = spec.split(':').collect();
    let (host, container, permissions) = match parts[..] {
        [host] => (host, "", ""),
        [host, mode] if is_mode(mode) => (host, "", mode),
        [host, container] => (host, container, ""),
        [host, container, mode] if is_mode(mode) => (host, container, mode),
        _ => bail!("invalid argument \"{spec}\" for \"--device\" flag: invalid device specification: {spec}"),
    };
    Ok(DeviceMapping {
        path_on_host: host.to_string(),
        path_in_container: container.to_string(),
        cgroup_permissions: if permissions.is_empty() {
            "rwm"
        } else {
            permissions
        }
        .to_string(),
    })
}

/// Docker's RAMInBytes: "512m", "1g", "1024" (bytes), "64k", case-insensitive, optional "b".
pub fn parse_bytes(s: &str) -> Result<i64> {
    let lower = s.trim().to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').unwrap_or(&lower);
    let (number, multiplier) = match trimmed.chars().last() {
        Some('k') => (&trimmed[..trimmed.len() - 1], 1i64 << 10),
        Some('m') => (&trimmed[..trimmed.len() - 1], 1 << 20),
        Some('g') => (&trimmed[..trimmed.len() - 1], 1 << 30),
        Some('t') => (&trimmed[..trimmed.len() - 1], 1 << 40),
        _ => (trimmed, 1),
    };
    let value: f64 = number.parse().map_err(|_| anyhow!("invalid size: '{s}'"))?;
    if value < 0.0 {
        bail!("invalid size: '{s}'");
    }
    Ok((value * multiplier as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_like_docker() {
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert_eq!(parse_bytes("64kb").unwrap(), 64 << 10);
        assert!(parse_bytes("lots").is_err());
    }
}
