//! What makes a volume's export or clone consistent: no running container
//! writes to it meanwhile. A running container that has the volume mounted
//! read-write either refuses the operation (naming the containers) or, when
//! asked (`--pause`), is frozen for the copy and thawed after it — also when
//! the copy fails.
//!
//! A pause is marked in the store before it is made (an unfinished write of
//! `volume-pause.ID`, gone once the container is thawed): a process killed
//! while it holds containers frozen leaves its marks to the next command,
//! which thaws them ([`Engine::thaw_after_crash`]). A front end's SIGINT or
//! SIGTERM handler thaws at once with [`thaw_before_exit`].

use std::sync::Mutex;

use berth_container::model::{Container, MountKind, Status};
use berth_store::Unfinished;
use berth_volume::Volume;

use crate::{Config, Engine, Error, ErrorKind, Result};

/// The store's mark of a container frozen for a volume's copy.
const PAUSE_MARK: &str = "volume-pause.";

/// The containers this process froze for a volume's copy and has not thawed
/// yet — process-wide, as the signals that must thaw them are; held locked
/// through each pause and thaw, so a signal's handler never sees one half
/// made.
static FROZEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn frozen() -> std::sync::MutexGuard<'static, Vec<String>> {
    FROZEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A container frozen by [`Engine::volume_quiesce`], with its mark.
pub(super) struct Frozen {
    pub(super) container: Container,
    mark: Unfinished,
}

/// For a front end's SIGINT/SIGTERM handler during `volume export|clone
/// --pause`: thaws the containers this process froze and has not thawed,
/// and holds any further pause off; the caller exits right after. (Their
/// marks, left by the exit, are settled by the next command.)
pub fn thaw_before_exit(config: Config) {
    let frozen = frozen();
    if !frozen.is_empty() {
        if let Ok(mut engine) = Engine::open(config) {
            for id in frozen.iter() {
                let _ = engine.container_unpause(id);
            }
        }
    }
    // Held until the process exits: the copy's thread pauses nothing more.
    std::mem::forget(frozen);
}

impl Engine {
    /// Running (or restarting) containers that have volume `name` mounted
    /// read-write, their state reconciled first.
    pub(super) fn volume_writers(&mut self, name: &str) -> Result<Vec<Container>> {
        let mut writers = Vec::new();
        for id in berth_volume::users(&self.store, name)? {
            let c = self.container_lookup(&id)?;
            let writes = c
                .spec
                .mounts
                .iter()
                .any(|m| m.kind == MountKind::Volume && m.name == name && m.rw);
            if writes && matches!(c.state.status, Status::Running | Status::Restarting) {
                writers.push(c);
            }
        }
        Ok(writers)
    }

    /// Makes sure nothing writes to `volume` for `what` (`export`, `clone`):
    /// with `pause`, freezes the running writers and returns them (thaw them
    /// with [`Engine::volume_thaw`]); without, refuses if there are any.
    pub(super) fn volume_quiesce(
        &mut self,
        volume: &Volume,
        what: &str,
        pause: bool,
    ) -> Result<Vec<Frozen>> {
        let writers = self.volume_writers(&volume.name)?;
        if writers.is_empty() {
            return Ok(Vec::new());
        }
        if !pause {
            return Err(Error::refused(
                ErrorKind::Conflict,
                format!(
                    "volume {} is mounted read-write by running containers [{}]: \
                     stop them, or {what} with --pause to freeze them meanwhile",
                    volume.name,
                    names(&writers)
                ),
            ));
        }
        let mut paused = Vec::new();
        for c in writers {
            let mut list = frozen();
            let made = self
                .store
                .mark_unfinished(&format!("{PAUSE_MARK}{}", c.id))
                .map_err(Error::from)
                .and_then(|mark| {
                    berth_store::crash::point("volume-pause", "after-mark");
                    self.container_pause(&c.id)?;
                    Ok(mark)
                });
            match made {
                Ok(mark) => {
                    list.push(c.id.clone());
                    berth_store::crash::point("volume-pause", "after-pause");
                    paused.push(Frozen { container: c, mark });
                }
                Err(e) => {
                    drop(list);
                    let _ = self.volume_thaw(paused);
                    return Err(e);
                }
            }
        }
        Ok(paused)
    }

    /// Thaws what [`Engine::volume_quiesce`] froze; every container is tried
    /// (one that cannot be thawed now keeps its mark for the next command).
    pub(super) fn volume_thaw(&mut self, paused: Vec<Frozen>) -> Result<()> {
        let mut first = None;
        for Frozen { container, mark } in paused {
            let mut list = frozen();
            match self.container_unpause(&container.id) {
                Ok(()) => {
                    list.retain(|id| *id != container.id);
                    drop(mark);
                }
                Err(e) => {
                    std::mem::forget(mark);
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Thaws the containers a process killed during a volume's export or
    /// clone left frozen (its marks; see the module's doc). Best effort: a
    /// container that cannot be thawed now keeps its mark for the next
    /// command; one no longer paused (unpaused by a user, removed) is done.
    pub(crate) fn thaw_after_crash(&mut self) {
        for id in self.store.unfinished_with_prefix(PAUSE_MARK) {
            let settled = match self.container_lookup(&id) {
                Ok(c) if c.state.status == Status::Paused => self.container_unpause(&id).is_ok(),
                Ok(_) => true,
                Err(e) => berth_error::HasKind::kind(&e) == ErrorKind::NotFound,
            };
            if settled {
                self.store.finished(&format!("{PAUSE_MARK}{id}"));
            }
        }
    }
}

/// A plugin's volume lives in the plugin: berth's verbs on volume data
/// (export, import, clone, rename, seed) would act on its own bookkeeping.
pub(super) fn local(volume: &Volume, what: &str) -> Result<()> {
    if volume.driver == berth_volume::LOCAL_DRIVER {
        return Ok(());
    }
    Err(Error::refused(
        ErrorKind::InvalidArgument,
        format!(
            "volume {} belongs to the volume plugin {}: {what} works on local volumes only",
            volume.name, volume.driver
        ),
    ))
}

/// Refuses volumes whose data is a mount made from driver options (`type`,
/// `device`): the directory holds nothing until a container mounts it.
/// A sized volume (`size` alone) holds its data like any local volume (a
/// btrfs subvolume, or an image's filesystem mounted whenever the volume is
/// read), so export, import, seed and diff work on it; clone refuses it
/// (a copy would lose the limit). A plugin's volume is refused first, as
/// [`local`] says.
pub(super) fn plain(volume: &Volume, what: &str) -> Result<()> {
    local(volume, what)?;
    let only_size = volume.options.keys().all(|k| k == "size");
    if volume.options.is_empty() || (only_size && what != "clone") {
        return Ok(());
    }
    Err(Error::refused(
        ErrorKind::InvalidArgument,
        format!(
            "volume {} is a mount of driver options ({}): {what} works on plain local volumes only",
            volume.name,
            volume
                .options
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
    ))
}

/// Container names, as `ps` shows them, comma-separated.
pub(super) fn names(containers: &[Container]) -> String {
    containers
        .iter()
        .map(|c| c.name.trim_start_matches('/').to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
