//! `start`: spawning a container's monitor.

use std::os::unix::net::UnixStream;
use std::path::Path;

use berth_container::logs::{start_cri_log, LogDriver};
use berth_container::model::{self, Container, Status};
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::attach::{record_attach, Attachment, PendingAttachment};
use super::reconcile::lookup_settled;
use crate::monitor::client;
use crate::Engine;

/// What `start` did.
pub struct Started {
    /// The container as it is after the start (with `--rm` and a quick
    /// exit, as it was before: it is gone again).
    pub container: Container,
    /// False when it was running already (Docker's 304 Not Modified).
    pub started: bool,
    /// The session on its stdio when the start was asked to attach.
    pub attachment: Option<Attachment>,
}

/// Starts a created or exited container. With `attach`, a session on its
/// stdio is handed to the monitor as its first attach client, so no output
/// is missed (to a container that runs already: a session on its run).
pub(crate) fn start(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    attach: bool,
) -> Result<Started> {
    let c = lookup_settled(store, run_dir, reference)?;
    match c.state.status {
        Status::Running | Status::Restarting => {
            let attachment = if attach {
                record_attach(store, &c)?;
                PendingAttachment::of(store, &c)?.wait()
            } else {
                None
            };
            return Ok(Started {
                container: c,
                started: false,
                attachment,
            });
        }
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
    let (attachment, theirs) = if attach {
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| ContainerError::sys("socketpair", e))?;
        record_attach(store, &c)?;
        (Some(Attachment::monitor(ours)?), Some(theirs))
    } else {
        (None, None)
    };
    // kubelet reads a CRI log as soon as the start returns; the monitor
    // opens it a moment later.
    let logs = c.spec.host.log_config.settings()?;
    if logs.driver == LogDriver::Cri {
        if let Some(path) = logs.path(&model::Paths::of(store, &c.id)) {
            start_cri_log(&path)?;
        }
    }
    let report = client::spawn(store.root(), run_dir, &c.id, theirs.as_ref())?;
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
    Ok(Started {
        // With --rm the container may already be gone again.
        container: model::find(store, &c.id).unwrap_or(c),
        started: true,
        attachment,
    })
}

impl Engine {
    /// `start`: runs a created or exited container under a new monitor.
    /// With `attach`, the result carries a session on its stdio that sees
    /// its output from the first byte.
    pub fn container_start(&mut self, reference: &str, attach: bool) -> crate::Result<Started> {
        Ok(start(
            &mut self.store,
            &self.config.run_dir,
            reference,
            attach,
        )?)
    }
}
