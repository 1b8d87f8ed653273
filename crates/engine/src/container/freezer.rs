//! The runtime's freezer (`pause`, `unpause`) and its record, and the
//! repair of a change killed between the two.

use std::path::{Path, PathBuf};

use berth_container::model::{self, Container, Paths, Status};
use berth_container::state::{self, Transition};
use berth_container::ContainerError;
use berth_store::{crash, FileLock, LockError, Store};

use super::runtime::runtime_of;

/// Held in the container's directory by a `pause` or `unpause` from before
/// it asks the runtime until its record commits (then removed). One that
/// exists with nobody holding it is a pause or unpause killed in between:
/// [`settle`] records what the runtime's freezer says.
fn freezer_mark(store: &Store, id: &str) -> PathBuf {
    Paths::of(store, id).dir.join("freezer.pending")
}

/// Whether a `pause` or `unpause` of container `id` was killed between the
/// runtime's freezer and its record (its mark is there, nobody holds it).
pub(crate) fn freezer_change_killed(store: &Store, id: &str) -> bool {
    let path = freezer_mark(store, id);
    path.exists() && !FileLock::is_held(&path)
}

/// Asks the runtime to freeze (`freeze`) or thaw `c` and records it,
/// holding the freezer mark meanwhile.
pub(super) fn change(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
    freeze: bool,
) -> berth_container::Result<()> {
    let mark = match FileLock::try_acquire(&freezer_mark(store, &c.id)) {
        Ok(mark) => mark,
        Err(LockError::WouldBlock { .. }) => {
            return Err(ContainerError::Conflict(format!(
                "a pause or unpause of container {} is in progress",
                c.id
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let rt = runtime_of(c, run_dir)?;
    let (op, t) = if freeze {
        ("pause", Transition::Pause)
    } else {
        ("unpause", Transition::Unpause)
    };
    let result = if freeze {
        rt.pause(&c.id)
    } else {
        rt.resume(&c.id)
    }
    .map_err(ContainerError::from)
    .and_then(|()| {
        crash::point(op, "after-freezer");
        store.write(|tx| state::transition(tx, &c.id, t))
    });
    mark.remove();
    result
}

/// Repairs the record of `c` after a `pause` or `unpause` killed between
/// the runtime's freeze or thaw and its record: as dockerd restoring a
/// container trusts containerd's state, the record follows the runtime's
/// (a frozen container recorded running is recorded paused, with its
/// `pause` event; a thawed one recorded paused, running). Cheap when there
/// is nothing to repair (one `stat`).
pub(super) fn settle(
    store: &mut Store,
    run_dir: &Path,
    c: &mut Container,
) -> berth_container::Result<()> {
    if !freezer_change_killed(store, &c.id) {
        return Ok(());
    }
    // Taken meanwhile by a new pause or unpause: left to it.
    let Ok(mark) = FileLock::try_acquire(&freezer_mark(store, &c.id)) else {
        return Ok(());
    };
    let latest = model::find(store, &c.id)?;
    let frozen = match latest.state.status {
        Status::Running | Status::Paused => runtime_of(&latest, run_dir)?
            .state(&c.id)
            .ok()
            .flatten()
            .map(|s| s.status == berth_runtime::Status::Paused),
        _ => None,
    };
    let repair = match (latest.state.status, frozen) {
        (Status::Running, Some(true)) => Some(Transition::Pause),
        (Status::Paused, Some(false)) => Some(Transition::Unpause),
        _ => None,
    };
    if let Some(t) = repair {
        store.write(|tx| state::transition(tx, &c.id, t))?;
    }
    mark.remove();
    model::reload(store, c)
}
