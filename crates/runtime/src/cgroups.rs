//! What this machine's cgroups can limit, as dockerd's `info` reports it
//! (`MemoryLimit`, `SwapLimit`, ... and the warnings for what is missing):
//! on cgroup v1 each knob's file in its hierarchy, on a unified (v2)
//! hierarchy the controllers the root offers.

use std::path::Path;

use crate::cgroup_v2_unified;

/// The limits the kernel's cgroups offer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupFeatures {
    pub memory_limit: bool,
    pub swap_limit: bool,
    pub kernel_memory: bool,
    pub kernel_memory_tcp: bool,
    pub oom_kill_disable: bool,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    pub cpu_shares: bool,
    pub cpuset: bool,
    pub pids_limit: bool,
}

/// The features of the cgroups mounted at /sys/fs/cgroup.
pub fn cgroup_features() -> CgroupFeatures {
    let root = Path::new("/sys/fs/cgroup");
    if cgroup_v2_unified() {
        let controllers =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        v2_features(&controllers)
    } else {
        v1_features(root)
    }
}

/// cgroup v2: by controller (there is no kernel-memory limit, and
/// `memory.oom.group` is not Docker's OOM-kill disable).
fn v2_features(controllers: &str) -> CgroupFeatures {
    let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
    CgroupFeatures {
        memory_limit: has("memory"),
        swap_limit: has("memory"),
        cpu_cfs_period: has("cpu"),
        cpu_cfs_quota: has("cpu"),
        cpu_shares: has("cpu"),
        cpuset: has("cpuset"),
        pids_limit: has("pids"),
        ..CgroupFeatures::default()
    }
}

/// cgroup v1: by the knob's file in its hierarchy under `root`.
fn v1_features(root: &Path) -> CgroupFeatures {
    let file = |p: &str| root.join(p).exists();
    CgroupFeatures {
        memory_limit: file("memory/memory.limit_in_bytes"),
        swap_limit: file("memory/memory.memsw.limit_in_bytes"),
        kernel_memory: file("memory/memory.kmem.limit_in_bytes"),
        kernel_memory_tcp: file("memory/memory.kmem.tcp.limit_in_bytes"),
        oom_kill_disable: file("memory/memory.oom_control"),
        cpu_cfs_period: file("cpu/cpu.cfs_period_us"),
        cpu_cfs_quota: file("cpu/cpu.cfs_quota_us"),
        cpu_shares: file("cpu/cpu.shares"),
        cpuset: file("cpuset/cpuset.cpus"),
        pids_limit: file("pids/cgroup.procs"),
    }
}

/// Whether the kernel limits swap per cgroup: `info`'s SwapLimit, and
/// where Docker's default swap (2 × memory) and `--memory-swap` apply.
pub(crate) fn swap_limit_supported() -> bool {
    cgroup_features().swap_limit
}

/// cgroup v1's `memory.swappiness` (cgroup v2 has no such knob): where
/// `--memory-swappiness` can be honoured.
pub(crate) fn memory_swappiness_supported() -> bool {
    !cgroup_v2_unified() && Path::new("/sys/fs/cgroup/memory/memory.swappiness").exists()
}

impl CgroupFeatures {
    /// dockerd's warnings for what is missing, in its words (the
    /// kernel-memory ones only on cgroup v1, where the knob can exist).
    pub fn warnings(&self, v2: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut warn = |missing: bool, what: &str| {
            if missing {
                out.push(format!("WARNING: No {what} support"));
            }
        };
        warn(!self.memory_limit, "memory limit");
        warn(!self.swap_limit, "swap limit");
        if !v2 {
            warn(!self.kernel_memory, "kernel memory limit");
            warn(!self.kernel_memory_tcp, "kernel memory TCP limit");
            warn(!self.oom_kill_disable, "oom kill disable");
        }
        warn(!self.cpu_cfs_quota, "cpu cfs quota");
        warn(!self.cpu_cfs_period, "cpu cfs period");
        warn(!self.cpu_shares, "cpu shares");
        warn(!self.cpuset, "cpuset");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_features_follow_the_root_controllers() {
        let f = v2_features("cpuset cpu io memory hugetlb pids rdma misc");
        assert!(f.memory_limit && f.swap_limit && f.cpu_shares && f.cpuset && f.pids_limit);
        assert!(!f.kernel_memory && !f.kernel_memory_tcp && !f.oom_kill_disable);
        assert!(f.warnings(true).is_empty(), "{:?}", f.warnings(true));
        // This hybrid host's unified hierarchy: every controller on v1.
        let f = v2_features("hugetlb");
        assert_eq!(
            f.warnings(true),
            [
                "WARNING: No memory limit support",
                "WARNING: No swap limit support",
                "WARNING: No cpu cfs quota support",
                "WARNING: No cpu cfs period support",
                "WARNING: No cpu shares support",
                "WARNING: No cpuset support",
            ]
        );
    }

    #[test]
    fn v1_features_follow_the_knob_files() {
        let root = tempfile::tempdir().unwrap();
        for file in [
            "memory/memory.limit_in_bytes",
            "memory/memory.oom_control",
            "cpu/cpu.cfs_period_us",
            "cpu/cpu.cfs_quota_us",
            "cpu/cpu.shares",
            "cpuset/cpuset.cpus",
            "pids/cgroup.procs",
        ] {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"").unwrap();
        }
        let f = v1_features(root.path());
        assert!(f.memory_limit && f.oom_kill_disable && f.cpu_shares && f.pids_limit);
        assert_eq!(
            f.warnings(false),
            [
                "WARNING: No swap limit support",
                "WARNING: No kernel memory limit support",
                "WARNING: No kernel memory TCP limit support",
            ]
        );
    }
}
