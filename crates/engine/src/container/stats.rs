//! `stats`: CPU, memory, pids and network usage from the container's cgroup
//! and network namespace.

use std::time::Duration;

use berth_container::model::{Container, Status};

use super::reconcile::lookup;
use crate::{Engine, Result};

/// One sample of a container's resource usage (`stats --no-stream`).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub cpu_percent: f64,
    pub memory_usage: u64,
    pub memory_limit: u64,
    pub pids: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn cpu_usage_ns(id: &str) -> Option<u64> {
    read_u64(&format!(
        "/sys/fs/cgroup/cpu,cpuacct/berth/{id}/cpuacct.usage"
    ))
    .or_else(|| read_u64(&format!("/sys/fs/cgroup/cpuacct/berth/{id}/cpuacct.usage")))
    .or_else(|| {
        let text = std::fs::read_to_string(format!("/sys/fs/cgroup/berth/{id}/cpu.stat")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|us| us * 1000)
    })
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
}

fn sample(c: &Container, interval: Duration) -> Stats {
    let id = &c.id;
    let t0 = std::time::Instant::now();
    let cpu0 = cpu_usage_ns(id).unwrap_or(0);
    std::thread::sleep(interval);
    let cpu1 = cpu_usage_ns(id).unwrap_or(cpu0);
    let elapsed = t0.elapsed().as_nanos().max(1) as f64;
    let memory_usage = read_u64(&format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.usage_in_bytes"
    ))
    .or_else(|| read_u64(&format!("/sys/fs/cgroup/berth/{id}/memory.current")))
    .unwrap_or(0);
    let host_memory = host_memory_bytes();
    let memory_limit = read_u64(&format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"
    ))
    .unwrap_or(host_memory)
    .min(host_memory);
    let pids = read_u64(&format!("/sys/fs/cgroup/pids/berth/{id}/pids.current")).unwrap_or(0);
    let (net_rx, net_tx) = net_bytes(c.state.pid);
    Stats {
        cpu_percent: (cpu1.saturating_sub(cpu0)) as f64 / elapsed * 100.0,
        memory_usage,
        memory_limit,
        pids,
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
