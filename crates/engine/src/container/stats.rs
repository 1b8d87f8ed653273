//! `stats`: CPU, memory, pids and network usage from the container's cgroup
//! and network namespace.

use std::path::Path;
use std::time::Duration;

use berth_container::model::{Container, Status};

use super::reconcile::lookup;
use crate::{Engine, Result};

/// One sample of a container's resource usage (`stats --no-stream`).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub cpu_percent: f64,
    /// CPU time used since the container started, in nanoseconds.
    pub cpu_usage_ns: u64,
    pub memory_usage: u64,
    pub memory_limit: u64,
    pub pids: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
}

/// Where the kernel shows cgroups: every controller's v1 hierarchy under it
/// (`memory/`, `cpu,cpuacct/`, `pids/`) or, on a pure v2 host, the one
/// unified hierarchy. A parameter so that tests can lay out either tree.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

fn read_u64(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// One `KEY VALUE` line of a flat-keyed cgroup file (`cpu.stat`).
fn keyed(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// The cgroup usage of container `id` under `root`, from the v1 files where
/// its controllers are v1 and from the unified hierarchy's otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CgroupUsage {
    cpu_ns: Option<u64>,
    memory_usage: Option<u64>,
    /// `None`: no limit (v1's huge number or v2's "max" become the host's memory).
    memory_limit: Option<u64>,
    pids: Option<u64>,
}

fn cgroup_usage(root: &Path, id: &str) -> CgroupUsage {
    let v1 = |controller: &str, file: &str| root.join(controller).join("berth").join(id).join(file);
    let v2 = |file: &str| root.join("berth").join(id).join(file);
    let cpu_ns = read_u64(&v1("cpu,cpuacct", "cpuacct.usage"))
        .or_else(|| read_u64(&v1("cpuacct", "cpuacct.usage")))
        .or_else(|| keyed(&v2("cpu.stat"), "usage_usec").map(|us| us * 1000));
    let memory_usage = read_u64(&v1("memory", "memory.usage_in_bytes"))
        .or_else(|| read_u64(&v2("memory.current")));
    // v1 shows "no limit" as a page-rounded i64::MAX, v2 as "max" (no number).
    let memory_limit = read_u64(&v1("memory", "memory.limit_in_bytes"))
        .or_else(|| read_u64(&v2("memory.max")))
        .filter(|l| *l < (i64::MAX as u64) / 2);
    let pids = read_u64(&v1("pids", "pids.current")).or_else(|| read_u64(&v2("pids.current")));
    CgroupUsage {
        cpu_ns,
        memory_usage,
        memory_limit,
        pids,
    }
}

/// A container and its usage.
#[derive(Debug, Clone)]
pub struct ContainerStats {
    pub container: Container,
    /// All zero unless it runs.
    pub usage: Stats,
}

impl Engine {
    /// `stats`: samples the container's usage twice, `interval` apart, to
    /// compute its CPU percentage as Docker does.
    pub fn container_stats(
        &mut self,
        reference: &str,
        interval: Duration,
    ) -> Result<ContainerStats> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        let usage = if matches!(c.state.status, Status::Running | Status::Paused) {
            sample(&c, interval)
        } else {
            Stats::default()
        };
        Ok(ContainerStats {
            container: c,
            usage,
        })
    }

    /// The container's counters read once, without a CPU percentage (the
    /// CRI's stats, whose clients compute rates from cumulative CPU time).
    pub fn container_usage(&mut self, reference: &str) -> Result<ContainerStats> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        let usage = if matches!(c.state.status, Status::Running | Status::Paused) {
            read_once(&c)
        } else {
            Stats::default()
        };
        Ok(ContainerStats {
            container: c,
            usage,
        })
    }
}

fn sample(c: &Container, interval: Duration) -> Stats {
    let root = Path::new(CGROUP_ROOT);
    let t0 = std::time::Instant::now();
    let cpu0 = cgroup_usage(root, &c.id).cpu_ns.unwrap_or(0);
    std::thread::sleep(interval);
    let mut stats = read_once(c);
    let elapsed = t0.elapsed().as_nanos().max(1) as f64;
    stats.cpu_percent = (stats.cpu_usage_ns.saturating_sub(cpu0)) as f64 / elapsed * 100.0;
    stats
}

fn read_once(c: &Container) -> Stats {
    let usage = cgroup_usage(Path::new(CGROUP_ROOT), &c.id);
    let host_memory = host_memory_bytes();
    let (net_rx, net_tx) = net_bytes(c.state.pid);
    Stats {
        cpu_percent: 0.0,
        cpu_usage_ns: usage.cpu_ns.unwrap_or(0),
        memory_usage: usage.memory_usage.unwrap_or(0),
        memory_limit: usage.memory_limit.unwrap_or(host_memory).min(host_memory),
        pids: usage.pids.unwrap_or(0),
        net_rx,
        net_tx,
        block_read: 0,
        block_write: 0,
    }
}

fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Bytes received/sent on the container's interfaces other than lo.
fn net_bytes(pid: i32) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/dev")) else {
        return (0, 0);
    };
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .filter(|(iface, _)| iface.trim() != "lo")
        .fold((0, 0), |(rx, tx), (_, rest)| {
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (
                rx + f.first().copied().unwrap_or(0),
                tx + f.get(8).copied().unwrap_or(0),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_pure_v2_tree_gives_cpu_memory_limit_and_pids() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        );
        write(
            root,
            "berth/c1/cpu.stat",
            "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
        );
        write(root, "berth/c1/memory.current", "1048576\n");
        write(root, "berth/c1/memory.max", "67108864\n");
        write(root, "berth/c1/pids.current", "3\n");
        write(root, "berth/c2/memory.max", "max\n");
        write(root, "berth/c2/pids.current", "1\n");
        assert_eq!(
            cgroup_usage(root, "c1"),
            CgroupUsage {
                cpu_ns: Some(2_500_000),
                memory_usage: Some(1 << 20),
                memory_limit: Some(64 << 20),
                pids: Some(3),
            }
        );
        let unlimited = cgroup_usage(root, "c2");
        assert_eq!((unlimited.memory_limit, unlimited.pids), (None, Some(1)));
    }

    #[test]
    fn v1_hierarchies_give_the_same_and_no_limit_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "cpu,cpuacct/berth/c1/cpuacct.usage", "2500000\n");
        write(root, "memory/berth/c1/memory.usage_in_bytes", "1048576\n");
        write(
            root,
            "memory/berth/c1/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        write(root, "pids/berth/c1/pids.current", "2\n");
        assert_eq!(
            cgroup_usage(root, "c1"),
            CgroupUsage {
                cpu_ns: Some(2_500_000),
                memory_usage: Some(1 << 20),
                memory_limit: None,
                pids: Some(2),
            }
        );
    }
}
