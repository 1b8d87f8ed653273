//! Removing a container that has no monitor: its record, files and
//! (on request) anonymous volumes, one process at a time. `rm` comes here
//! after stopping it, and so does `reconcile` for a removal left unfinished.

use std::path::Path;

use berth_container::model::{self, Container, Paths};
use berth_container::state::{self, Transition};
use berth_container::{rootfs, ContainerError, Result};
use berth_mount::Linux;
use berth_store::{crash, FileLock, LockError, Store};

use super::{leftovers, volumes};

/// Removes a container that has no monitor: what a run left torn down
/// (a container created but never started, or whose monitor died during
/// setup, has a namespace, leases, runtime state to go), rootfs unmounted,
/// directory and rows deleted, anonymous volumes too if `volumes`.
/// Crash-safe: the row is marked `removing` first; the directory is moved
/// to this process's staging in tmp/ (removed by the next command if this
/// one dies) before the rows go, so a rerun (via `reconcile`) finishes the
/// job.
///
/// One process removes a container at a time, holding its removal lock: a
/// second `rm` gets Docker's conflict, `reconcile` leaves the container to
/// the holder, and a container already gone is removed.
pub(crate) fn remove_stopped(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
    volumes: bool,
) -> Result<()> {
    let lock_path = removal_lock(store, &c.id);
    let _lock = match FileLock::try_acquire(&lock_path) {
        Ok(lock) => lock,
        Err(LockError::WouldBlock { .. }) => {
            return Err(ContainerError::Conflict(format!(
                "removal of container {} is already in progress",
                c.id
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let result = remove_locked(store, run_dir, c, volumes);
    let _ = std::fs::remove_file(&lock_path);
    result
}

/// The lock a removal of container `id` holds.
pub(crate) fn removal_lock(store: &Store, id: &str) -> std::path::PathBuf {
    store.shared_tmp_dir().join(format!("rm-{id}.lock"))
}

fn remove_locked(store: &mut Store, run_dir: &Path, c: &Container, volumes: bool) -> Result<()> {
    // Another process may have finished the removal before we took the lock.
    match model::find(store, &c.id) {
        Ok(_) => {}
        Err(ContainerError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    store.write(|tx| state::transition(tx, &c.id, Transition::Remove))?;
    crash::point("rm", "after-mark");
    // Unless a monitor still holds the container (`--rm`: the monitor
    // removing its own container, after its cleanup).
    let monitor_lock = Paths::of(store, &c.id).monitor_lock;
    match FileLock::try_acquire(&monitor_lock) {
        Ok(_lock) => leftovers::tear_down(store, run_dir, c)?,
        Err(LockError::WouldBlock { .. }) => rootfs::unmount(store, &c.id, &Linux)?,
        // No directory (a rerun after the move below).
        Err(_) => leftovers::tear_down(store, run_dir, c)?,
    }
    crash::point("rm", "after-teardown");
    let dir = c.dir(store);
    let trash = store.tmp_dir().join(format!("removed-{}", c.id));
    match std::fs::rename(&dir, &trash) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ContainerError::io(&dir, e)),
    }
    crash::point("rm", "after-move");
    let userns = berth_container::userns::range(store.db(), &c.id)?;
    store.write(|tx| {
        state::record(tx, &c.id, "destroy", vec![])?;
        tx.execute("DELETE FROM containers WHERE id=?1", [&c.id])?;
        Ok::<_, ContainerError>(())
    })?;
    crash::point("rm", "after-delete-row");
    if let Some(range) = userns {
        super::userns_access::revoke(store.root(), range.uid_start)?;
    }
    if trash.exists() {
        std::fs::remove_dir_all(&trash).map_err(|e| ContainerError::io(&trash, e))?;
    }
    if volumes {
        volumes::remove_anonymous(store, c)?;
    }
    berth_image::gc_layers(store)?;
    Ok(())
}
