//! `start`: spawning a container's monitor.

use std::os::unix::net::UnixStream;

use berth_container::model::{self, Container, Status};
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::reconcile::lookup;
use crate::monitor::client;

/// Starts a created or exited container. `attach` is handed to the monitor as
/// its first attach client, so no output is missed.
pub fn start(store: &mut Store, reference: &str, attach: Option<&UnixStream>) -> Result<Container> {
    let c = lookup(store, reference)?;
    match c.state.status {
        Status::Running | Status::Restarting => return Ok(c),
        Status::Paused => {
            return Err(ContainerError::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            ))
        }
        Status::Removing | Status::Dead => {
            return Err(ContainerError::Conflict(format!(
                "container {} is marked for removal and cannot be started",
                c.id
            )))
        }
        Status::Created | Status::Exited => {}
    }
    let report = client::spawn(store.root(), &c.id, attach)?;
    if !report.ok {
        return Err(if report.code == 126 || report.code == 127 {
            ContainerError::CannotRun {
                code: report.code,
                message: report.error,
            }
        } else {
            ContainerError::StartFailed(report.error)
        });
    }
    // With --rm the container may already be gone again.
    model::find(store, &c.id).or(Ok(c))
}
