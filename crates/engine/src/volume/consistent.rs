//! What makes a volume's export or clone consistent: no running container
//! writes to it meanwhile. A running container that has the volume mounted
//! read-write either refuses the operation (naming the containers) or, when
//! asked (`--pause`), is frozen for the copy and thawed after it — also when
//! the copy fails.

use berth_container::model::{Container, MountKind, Status};
use berth_volume::Volume;

use crate::{Engine, Error, ErrorKind, Result};

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
    ) -> Result<Vec<Container>> {
        let writers = self.volume_writers(&volume.name)?;
        if writers.is_empty() {
            return Ok(writers);
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
            if let Err(e) = self.container_pause(&c.id) {
                let _ = self.volume_thaw(&paused);
                return Err(e);
            }
            paused.push(c);
        }
        Ok(paused)
    }

    /// Thaws what [`Engine::volume_quiesce`] froze; every container is tried.
    pub(super) fn volume_thaw(&mut self, paused: &[Container]) -> Result<()> {
        let mut first = None;
        for c in paused {
            if let Err(e) = self.container_unpause(&c.id) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// Refuses volumes whose data is a mount made from driver options (`type`,
/// `device`): the directory holds nothing until a container mounts it.
pub(super) fn plain(volume: &Volume, what: &str) -> Result<()> {
    if volume.options.is_empty() {
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
