//! `system check`'s look at containers, mounts and leases, and the repair
//! of what it finds there (see `check.rs`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use berth_container::model::{self, Paths};
use berth_mount::{Linux, Syscalls};
use berth_store::{FileLock, Store};

use super::finding::Finding;
use crate::container::leftovers;
use crate::container::lifecycle;
use crate::Result;

/// Container rows against directories, dead monitors, and what the runs of
/// containers that do not run left behind. A container whose monitor or
/// remover is alive, or whose directory a live `create` claims, is left to it.
pub(super) fn containers(store: &Store, run_dir: &Path) -> Result<Vec<Finding>> {
    let mut found = Vec::new();
    let rows = model::list(store)?;
    let ids: HashSet<&str> = rows.iter().map(|c| c.id.as_str()).collect();
    for c in &rows {
        if FileLock::is_held(&lifecycle::removal_lock(store, &c.id)) {
            continue;
        }
        let paths = Paths::of(store, &c.id);
        if !paths.dir.exists() {
            found.push(Finding::ContainerWithoutDir { id: c.id.clone() });
            continue;
        }
        if FileLock::is_held(&paths.monitor_lock) {
            if lifecycle::freezer_change_killed(store, &c.id) {
                found.push(Finding::FreezerUnrecorded { id: c.id.clone() });
            }
            continue;
        }
        if c.state.status.has_monitor() {
            found.push(Finding::MonitorGone { id: c.id.clone() });
            continue;
        }
        found.extend(
            leftovers::find(store, run_dir, &c.id)
                .into_iter()
                .map(|what| Finding::Leftover {
                    id: c.id.clone(),
                    what,
                }),
        );
    }
    let claimed = berth_store::staging::live_claims(&store.shared_tmp_dir());
    let dir = store.containers_dir();
    for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !ids.contains(name.as_str()) && !claimed.contains(&name) {
            found.push(Finding::ContainerDirWithoutRow { id: name });
        }
    }
    Ok(found)
}

fn io(path: &Path, e: std::io::Error) -> crate::Error {
    berth_container::ContainerError::io(path, e).into()
}

/// Mount points listed in /proc/self/mountinfo (octal escapes undone).
fn mount_points() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .collect()
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mounts under the root that no running container owns. Mounts under a
/// container's directory are judged with the container (its rootfs is a
/// leftover when it does not run; an orphan directory goes whole); a
/// volume's mount (a volume with options) is owned while a container using
/// the volume runs, an image-backed volume's filesystem always. Under the run dir, only this root's containers'
/// namespaces are judged (other roots share it), also with the containers.
pub(super) fn mounts(store: &Store) -> Result<Vec<Finding>> {
    let root = store
        .root()
        .canonicalize()
        .unwrap_or_else(|_| store.root().to_path_buf());
    let mut found = Vec::new();
    for point in mount_points() {
        let Ok(rest) = point.strip_prefix(&root) else {
            continue;
        };
        let mut parts = rest.iter().map(|p| p.to_string_lossy().into_owned());
        match parts.next().as_deref() {
            None | Some("containers") => {}
            Some("volumes") => {
                let name = parts.next().unwrap_or_default();
                // An image-backed sized volume's filesystem is its own.
                let dir = store.volumes_dir().join(&name);
                let own_fs = parts.next().is_some_and(|p| p == "_data")
                    && parts.next().is_none()
                    && berth_volume::is_image_backed(&dir);
                if !own_fs && !volume_in_use(store, &name)? {
                    found.push(Finding::StrayMount(point));
                }
            }
            Some(_) => found.push(Finding::StrayMount(point)),
        }
    }
    Ok(found)
}

/// Whether a container using volume `name` runs (holds its monitor lock).
fn volume_in_use(store: &Store, name: &str) -> Result<bool> {
    let mut stmt = store
        .db()
        .prepare("SELECT container_id FROM container_volumes WHERE volume_name = ?1")?;
    let users = stmt
        .query_map([name], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(users
        .iter()
        .any(|id| FileLock::is_held(&Paths::of(store, id).monitor_lock)))
}

/// Lease files naming the namespace of a container of this root that is
/// not mounted (the namespace is made before a lease is claimed and removed
/// after it is released, so such a lease is never a live one).
pub(super) fn leases(store: &Store, run_dir: &Path) -> Result<Vec<Finding>> {
    let ours: HashSet<PathBuf> = model::list(store)?
        .into_iter()
        .map(|c| berth_network::netns_path(run_dir, &c.id))
        .collect();
    Ok(berth_network::lease_files()
        .into_iter()
        .filter(|l| ours.contains(&l.owner) && !l.live())
        .map(|l| Finding::StaleLease {
            path: l.path,
            owner: l.owner,
        })
        .collect())
}

/// Repairs a finding about one container; other findings are left alone.
pub(super) fn repair_container(store: &mut Store, run_dir: &Path, f: &Finding) -> Result<()> {
    match f {
        Finding::MonitorGone { id } | Finding::FreezerUnrecorded { id } => {
            let mut c = model::find(store, id)?;
            lifecycle::reconcile(store, run_dir, &mut c)?;
        }
        Finding::Leftover { id, .. } => {
            let c = model::find(store, id)?;
            // Not if a monitor started meanwhile.
            if let Ok(_lock) = FileLock::try_acquire(&Paths::of(store, id).monitor_lock) {
                leftovers::tear_down(store, run_dir, &c)?;
            }
        }
        Finding::ContainerWithoutDir { id } => {
            let mut c = model::find(store, id)?;
            lifecycle::reconcile(store, run_dir, &mut c)?;
            // Without a directory no monitor can run it: always removed.
            let _ = lifecycle::remove_stopped(store, run_dir, &c, false)?;
        }
        Finding::ContainerDirWithoutRow { id } => {
            let claimed = berth_store::staging::live_claims(&store.shared_tmp_dir());
            if model::find(store, id).is_ok() || claimed.contains(id) {
                return Ok(());
            }
            let paths = Paths::of(store, id);
            if berth_mount::is_mountpoint(&paths.rootfs).unwrap_or(false) {
                Linux
                    .unmount(&paths.rootfs, true)
                    .map_err(berth_container::ContainerError::from)?;
            }
            std::fs::remove_dir_all(&paths.dir).map_err(|e| io(&paths.dir, e))?;
        }
        _ => {}
    }
    Ok(())
}

/// Detaches a stray mount.
pub(super) fn unmount(path: &Path) -> Result<()> {
    Linux
        .unmount(path, true)
        .map_err(berth_container::ContainerError::from)?;
    Ok(())
}
