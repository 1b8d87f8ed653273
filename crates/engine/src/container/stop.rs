//! `stop`: the stop signal, then SIGKILL after a timeout.

use std::path::Path;
use std::time::Duration;

use berth_container::model::{Container, Status};
use berth_container::state;
use berth_container::{ContainerError, Result};
use berth_store::{crash, Store};

use super::reconcile::lookup;
use super::runtime::runtime_of;
use super::signal::{kill, mark_stopped_by_user};
use crate::monitor::client;
use crate::Engine;

/// `stop` options, as Docker's.
#[derive(Debug, Clone, Default)]
pub struct StopRequest {
    /// Seconds before SIGKILL (default: the container's stop timeout, or
    /// 10); negative: at once.
    pub timeout: Option<i64>,
    /// The signal to stop with (default: the container's stop signal, or
    /// SIGTERM).
    pub signal: Option<String>,
}

/// Stops `c` if it runs; returns whether it did run.
pub(super) fn stop(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
    req: &StopRequest,
) -> Result<bool> {
    if !c.state.status.has_monitor() {
        return Ok(false);
    }
    let signal = match req.signal.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => berth_runtime::parse_signal(s)?,
        None if c.spec.stop_signal.is_empty() => libc::SIGTERM,
        None => berth_runtime::parse_signal(&c.spec.stop_signal)?,
    };
    mark_stopped_by_user(store, c)?;
    let rt = runtime_of(c, run_dir)?;
    if c.state.status == Status::Paused {
        let _ = rt.resume(&c.id);
    }
    let seconds = req.timeout.or(c.spec.stop_timeout).unwrap_or(10);
    crash::point("stop", "after-mark");
    if c.state.status != Status::Restarting {
        // A container that exits meanwhile cannot be signalled: nothing to do.
        let _ = kill(store, rt.as_ref(), &c.id, signal, false);
    }
    crash::point("stop", "after-signal");
    let grace = Duration::from_secs(seconds.max(0) as u64);
    if seconds < 0 || !client::wait_exit(store, &c.id, grace) {
        let _ = kill(store, rt.as_ref(), &c.id, libc::SIGKILL, true);
        if !client::wait_exit(store, &c.id, Duration::from_secs(30)) {
            return Err(ContainerError::DidNotStop(c.id.clone()));
        }
    }
    // With --rm it is gone, and so is its record.
    match store.write(|tx| state::record(tx, &c.id, "stop", vec![])) {
        Ok(()) | Err(ContainerError::NotFound(_)) => Ok(true),
        Err(e) => Err(e),
    }
}

impl Engine {
    /// `stop`: the stop signal (`req.signal`, the image's STOPSIGNAL or
    /// SIGTERM), then SIGKILL after the timeout. Returns false when the
    /// container was not running (Docker's 304 Not Modified).
    pub fn container_stop(&mut self, reference: &str, req: &StopRequest) -> crate::Result<bool> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        Ok(stop(&mut self.store, &self.config.run_dir, &c, req)?)
    }
}
