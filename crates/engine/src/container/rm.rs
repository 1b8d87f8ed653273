//! `rm [-f] [-v]`.

use std::path::Path;
use std::time::Duration;

use berth_container::model::{self, Status};
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::reconcile::{lookup_settled, reconcile};
use super::removal::remove_stopped;
use super::runtime::runtime_of;
use super::signal::{kill, mark_stopped_by_user};
use crate::monitor::client;
use crate::Engine;

/// `rm` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveRequest {
    /// Kill it first if it runs (`-f`).
    pub force: bool,
    /// Remove its anonymous volumes too (`-v`).
    pub volumes: bool,
}

/// `rm [-f] [-v]`.
pub(crate) fn remove(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    req: RemoveRequest,
) -> Result<()> {
    let c = lookup_settled(store, run_dir, reference)?;
    if c.state.status.has_monitor() {
        if !req.force {
            let what = if c.state.status == Status::Paused {
                "paused"
            } else {
                "running"
            };
            return Err(ContainerError::Conflict(format!(
                "cannot remove container \"{}\": container is {what}: stop the container before removing or force remove",
                c.slash_name()
            )));
        }
        mark_stopped_by_user(store, &c)?;
        let rt = runtime_of(&c, run_dir)?;
        if c.state.status == Status::Paused {
            let _ = rt.resume(&c.id);
        }
        let _ = kill(store, rt.as_ref(), &c.id, libc::SIGKILL, true);
        if !client::wait_exit(store, &c.id, Duration::from_secs(30)) {
            return Err(ContainerError::DidNotStop(c.id));
        }
    }
    match model::find(store, &c.id) {
        Ok(mut latest) => {
            // A monitor that died instead of recording the exit.
            if latest.state.status.has_monitor() {
                reconcile(store, run_dir, &mut latest)?;
            }
            remove_stopped(store, run_dir, &latest, req.volumes)
        }
        Err(ContainerError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Engine {
    /// `rm`: removes a container (`force`: a running one too, killed
    /// first), and with `volumes` its anonymous volumes.
    pub fn container_remove(&mut self, reference: &str, req: RemoveRequest) -> crate::Result<()> {
        Ok(remove(
            &mut self.store,
            &self.config.run_dir,
            reference,
            req,
        )?)
    }
}
