//! `rm [-f] [-v]`.

use std::path::Path;
use std::time::{Duration, Instant};

use berth_container::model::{self, Status};
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::reconcile::{lookup_settled, reconcile};
use super::removal::{remove_stopped, Removal};
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

/// How long `rm` waits for a monitor that is starting the container or
/// tearing its run down to settle.
const SETTLE_WAIT: Duration = Duration::from_secs(30);

/// `rm [-f] [-v]`. A monitor starting the container meanwhile (a `start`
/// racing the `rm`, as docker-py's `rm -f` right after `start`) is waited
/// for, as dockerd's container lock makes the two take turns: then the
/// container runs (killed with `-f`, refused without) or its start failed.
pub(crate) fn remove(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    req: RemoveRequest,
) -> Result<()> {
    let deadline = Instant::now() + SETTLE_WAIT;
    let mut pause = Duration::from_millis(1);
    let mut first = true;
    loop {
        if remove_once(store, run_dir, reference, req, first)? == Removal::Done {
            return Ok(());
        }
        first = false;
        if Instant::now() >= deadline {
            return Err(ContainerError::Conflict(format!(
                "cannot remove container \"{reference}\": its monitor is still starting or stopping it"
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn remove_once(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    req: RemoveRequest,
    first: bool,
) -> Result<Removal> {
    let c = match lookup_settled(store, run_dir, reference) {
        // Removed meanwhile (`--rm`) by the monitor we waited for.
        Err(ContainerError::NotFound(_)) if !first => return Ok(Removal::Done),
        other => other?,
    };
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
        Err(ContainerError::NotFound(_)) => Ok(Removal::Done),
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
