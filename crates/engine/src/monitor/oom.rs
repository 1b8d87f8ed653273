//! Whether the kernel OOM-killed a process of the container: read from its
//! memory cgroup when its init has exited, before the runtime deletes it.

use std::path::Path;

/// Where the kernel's cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Whether the kernel OOM-killed a process in the container's memory cgroup.
pub(super) fn oom_killed(id: &str) -> bool {
    oom_killed_at(Path::new(CGROUP_ROOT), id)
}

/// The `oom_kill` count of the container's memory cgroup under `root`: v1's
/// `memory/berth/ID/memory.oom_control`, a pure v2 host's
/// `berth/ID/memory.events` (which counts the cgroup's descendants too), or
/// the v2 hierarchy of a hybrid host.
fn oom_killed_at(root: &Path, id: &str) -> bool {
    [
        root.join("memory/berth")
            .join(id)
            .join("memory.oom_control"),
        root.join("berth").join(id).join("memory.events"),
        root.join("unified/berth").join(id).join("memory.events"),
    ]
    .iter()
    .any(|path| {
        std::fs::read_to_string(path).is_ok_and(|text| {
            text.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_pure_v2_hosts_memory_events_tell_an_oom_kill() {
        let events = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        let calm = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";
        let dir = tree(&[
            ("cgroup.controllers", "cpuset cpu io memory pids\n"),
            ("berth/killed/memory.events", events),
            ("berth/calm/memory.events", calm),
        ]);
        assert!(oom_killed_at(dir.path(), "killed"));
        assert!(!oom_killed_at(dir.path(), "calm"));
        assert!(!oom_killed_at(dir.path(), "gone"));
    }

    #[test]
    fn v1s_oom_control_tells_it_too() {
        let dir = tree(&[(
            "memory/berth/killed/memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )]);
        assert!(oom_killed_at(dir.path(), "killed"));
    }
}
