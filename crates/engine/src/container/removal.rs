//! Removing a container that has no monitor: its record, files and
//! (on request) anonymous volumes, one process at a time. `rm` comes here
//! after stopping it, and so does `reconcile` for a removal left unfinished.

use std::path::{Path, PathBuf};

use berth_container::model::{self, Container, Paths};
use berth_container::state::{self, Transition};
use berth_container::{rootfs, ContainerError, Result};
use berth_mount::Linux;
use berth_store::{crash, FileLock, LockError, Store};

use super::{leftovers, volumes};

/// Whether a command's removal happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Removal {
    /// Removed (or found removed by another process).
    Done,
    /// A monitor runs the container: it is being started (a `start`
    /// racing the removal) or its run is being torn down. Nothing was
    /// changed; the caller waits for it to settle and looks again.
    MonitorRuns,
}

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
/// the holder, and a container already gone is removed. The container's
/// monitor lock is taken before anything changes and held to the end, so
/// no monitor mounts its rootfs meanwhile: a directory is never moved to
/// the trash with a mount in it. A monitor that holds the lock already is
/// left alone ([`Removal::MonitorRuns`]).
pub(crate) fn remove_stopped(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
    volumes: bool,
) -> Result<Removal> {
    with_removal_lock(store, &c.id, |store| {
        let (removal, trash) = remove_locked(store, run_dir, c, volumes, Remover::Command)?;
        trash.empty()?;
        Ok(removal)
    })
}

/// `--rm`: the container's own monitor removes it after its run's
/// teardown, holding its monitor lock. What is left is its directory in
/// the monitor's staging: the monitor tells its clients the exit first and
/// then empties it ([`Trash::empty`]); if the monitor dies before, the
/// next command's sweep of dead processes' staging removes it.
pub(crate) fn remove_own(store: &mut Store, run_dir: &Path, c: &Container) -> Result<Trash> {
    let mut trash = Trash(None);
    with_removal_lock(store, &c.id, |store| {
        let (removal, left) = remove_locked(store, run_dir, c, true, Remover::OwnMonitor)?;
        trash = left;
        Ok(removal)
    })
    .map(|_| trash)
}

/// A removed container's directory, moved into this process's staging.
#[must_use]
pub(crate) struct Trash(Option<PathBuf>);

impl Trash {
    /// Deletes it.
    pub(crate) fn empty(self) -> Result<()> {
        match self.0 {
            Some(trash) if trash.exists() => {
                std::fs::remove_dir_all(&trash).map_err(|e| ContainerError::io(&trash, e))
            }
            _ => Ok(()),
        }
    }
}

/// Who removes a container.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Remover {
    /// A command: no monitor may run the container.
    Command,
    /// Its own monitor (`--rm`), which holds the monitor lock.
    OwnMonitor,
}

fn with_removal_lock(
    store: &mut Store,
    id: &str,
    remove: impl FnOnce(&mut Store) -> Result<Removal>,
) -> Result<Removal> {
    let lock_path = removal_lock(store, id);
    let _lock = match FileLock::try_acquire(&lock_path) {
        Ok(lock) => lock,
        Err(LockError::WouldBlock { .. }) => {
            return Err(ContainerError::Conflict(format!(
                "removal of container {id} is already in progress"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let result = remove(store);
    let _ = std::fs::remove_file(&lock_path);
    result
}

/// The lock a removal of container `id` holds.
pub(crate) fn removal_lock(store: &Store, id: &str) -> std::path::PathBuf {
    store.shared_tmp_dir().join(format!("rm-{id}.lock"))
}

fn remove_locked(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
    volumes: bool,
    remover: Remover,
) -> Result<(Removal, Trash)> {
    // Another process may have finished the removal before we took the lock.
    match model::find(store, &c.id) {
        Ok(_) => {}
        Err(ContainerError::NotFound(_)) => return Ok((Removal::Done, Trash(None))),
        Err(e) => return Err(e),
    }
    // Held to the end: a monitor spawned meanwhile (`start` racing `rm -f`)
    // cannot take it, so it mounts nothing in the directory moved below.
    let _monitor = match remover {
        Remover::OwnMonitor => None,
        Remover::Command => match FileLock::try_acquire(&Paths::of(store, &c.id).monitor_lock) {
            Ok(lock) => Some(lock),
            Err(LockError::WouldBlock { .. }) => return Ok((Removal::MonitorRuns, Trash(None))),
            // No directory (a rerun after the move below): no monitor can
            // start either.
            Err(_) => None,
        },
    };
    store.write(|tx| state::transition(tx, &c.id, Transition::Remove))?;
    crash::point("rm", "after-mark");
    if remover == Remover::Command {
        leftovers::tear_down(store, run_dir, c)?;
    }
    // Whatever is still mounted in the directory (detached): never moved
    // into the trash, where nothing would unmount it.
    rootfs::unmount(store, &c.id, &Linux)?;
    crash::point("rm", "after-teardown");
    let dir = c.dir(store);
    let trash = store.tmp_dir().join(format!("removed-{}", c.id));
    match std::fs::rename(&dir, &trash) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ContainerError::io(&dir, e)),
    }
    crash::point("rm", "after-move");
    let userns = berth_container::userns::range(store.db(), &c.id)?.is_some();
    store.write(|tx| {
        state::record(tx, &c.id, "destroy", vec![])?;
        tx.execute("DELETE FROM containers WHERE id=?1", [&c.id])?;
        Ok::<_, ContainerError>(())
    })?;
    crash::point("rm", "after-delete-row");
    // The pod's other containers may hold the same ids (`map:`): only the
    // entries of uids no container holds any longer go.
    if userns {
        super::userns_access::revoke_stale(store)?;
    }
    if volumes {
        volumes::remove_anonymous(store, c)?;
    }
    berth_image::gc_layers(store)?;
    Ok((Removal::Done, Trash(Some(trash))))
}
