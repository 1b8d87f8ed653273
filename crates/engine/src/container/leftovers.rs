//! What a run of a container leaves outside its row and directory — the
//! runtime's state and cgroups, the network namespace with its veths and
//! address leases, volume mounts, the rootfs mount — and the one idempotent
//! teardown of it, for a container whose monitor is gone: it died (SIGKILL,
//! OOM) during setup, while the container ran, or before its own cleanup.
//! `reconcile`, `rm` and `system check --repair` all come here.

use std::path::{Path, PathBuf};

use berth_container::model::{Container, Paths};
use berth_container::{rootfs, Result};
use berth_mount::Linux;
use berth_store::rusqlite::OptionalExtension;
use berth_store::Store;

use super::runtime::{runtime_of, runtime_state_root};
use super::volumes;

/// The cgroups path every container's runtime is given (`prepare.rs`).
pub(crate) fn cgroups_path(id: &str) -> String {
    format!("/berth/{id}")
}

/// The container's cgroup directories that exist: one per v1 hierarchy,
/// or the one of v2.
pub(crate) fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let relative = cgroups_path(id);
    let relative = relative.trim_start_matches('/');
    let root = std::path::Path::new("/sys/fs/cgroup");
    let mut dirs = vec![root.join(relative)];
    if let Ok(entries) = std::fs::read_dir(root) {
        // `cpu` and `cpuacct` are symlinks to `cpu,cpuacct`: each hierarchy once.
        dirs.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path().join(relative)),
        );
    }
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

/// One thing a run left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// The OCI runtime's state directory.
    RuntimeState(PathBuf),
    /// A cgroup directory.
    Cgroup(PathBuf),
    /// The mounted network namespace (with its veths).
    Netns(PathBuf),
    /// Endpoint rows (address leases) or published-port rows.
    Endpoints,
    /// The overlay rootfs, mounted.
    Rootfs(PathBuf),
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leftover::RuntimeState(p) => write!(f, "runtime state {}", p.display()),
            Leftover::Cgroup(p) => write!(f, "cgroup {}", p.display()),
            Leftover::Netns(p) => write!(f, "network namespace {}", p.display()),
            Leftover::Endpoints => f.write_str("address leases / published ports"),
            Leftover::Rootfs(p) => write!(f, "mounted rootfs {}", p.display()),
        }
    }
}

/// What a run of container `id` left (cheap: a few stats and one query);
/// `run_dir` is the root's run directory.
pub(crate) fn find(store: &Store, run_dir: &Path, id: &str) -> Vec<Leftover> {
    let mut found = Vec::new();
    let state = runtime_state_root(run_dir).join(id);
    if state.exists() {
        found.push(Leftover::RuntimeState(state));
    }
    found.extend(cgroup_dirs(id).into_iter().map(Leftover::Cgroup));
    let netns = berth_network::netns_path(run_dir, id);
    if netns.exists() {
        found.push(Leftover::Netns(netns));
    }
    let rows: Option<i64> = store
        .db()
        .query_row(
            "SELECT 1 FROM endpoints WHERE container_id = ?1 \
             UNION SELECT 1 FROM endpoint_ports WHERE container_id = ?1 LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .unwrap_or(None);
    if rows.is_some() {
        found.push(Leftover::Endpoints);
    }
    let merged = Paths::of(store, id).rootfs;
    if berth_mount::is_mountpoint(&merged).unwrap_or(false) {
        found.push(Leftover::Rootfs(merged));
    }
    found
}

/// Tears down everything a run of `c` left, in the monitor's cleanup
/// order; each step tolerates being done already, and a step is skipped
/// when nothing of it is there (so removing a clean container runs no
/// runtime command). The caller made sure no monitor runs it (it holds,
/// or could take, its lock).
pub(crate) fn tear_down(store: &mut Store, run_dir: &Path, c: &Container) -> Result<()> {
    let left = find(store, run_dir, &c.id);
    if left.is_empty() {
        return Ok(());
    }
    let any = |f: fn(&Leftover) -> bool| left.iter().any(f);
    if any(|l| matches!(l, Leftover::RuntimeState(_) | Leftover::Cgroup(_))) {
        if let Ok(rt) = runtime_of(c, run_dir) {
            // Rootless: no cgroup to find "all" in (see `signal::kill`).
            let _ = rt.kill(&c.id, libc::SIGKILL, !crate::rootless::active());
            let _ = rt.delete(&c.id, true);
        }
        remove_cgroups(&c.id);
    }
    if any(|l| matches!(l, Leftover::Netns(_) | Leftover::Endpoints)) {
        // The veths, rules, leases and namespace (idempotent). A step that
        // fails is found again by the next `system check`.
        let _ = berth_network::teardown(store, run_dir, &c.id);
    }
    let sys = Linux;
    let _ = volumes::release_all(store, c, &sys);
    rootfs::unmount(store, &c.id, &sys)
}

/// Removes the container's cgroups the runtime did not (a runtime killed
/// during `create` leaves them without a state to delete them by): what
/// still runs in them is killed first.
fn remove_cgroups(id: &str) {
    for dir in cgroup_dirs(id) {
        for _ in 0..50 {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill(2) with a pid read from the container's cgroup.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            // Nested cgroups first (deepest last in a walk: remove reversed).
            let mut nested = Vec::new();
            collect_dirs(&dir, &mut nested);
            for d in nested.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
            if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(e.path());
            collect_dirs(&e.path(), out);
        }
    }
}
