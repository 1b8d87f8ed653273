//! `stop`: the stop signal, then SIGKILL after a timeout.

use std::time::Duration;

use berth_container::model::{self, Container, Paths, Status};
use berth_container::state;
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::kill::record;
use super::reconcile::lookup;
use super::runtime::runtime_of;
use crate::monitor::client;

/// Marks `c` as stopped by the user, so that its restart policy does not
/// start it again; a monitor waiting out a restart back-off is told at once.
pub(super) fn mark_stopped_by_user(store: &mut Store, c: &Container) -> Result<()> {
    store.write(|tx| state::set_stopped_by_user(tx, &c.id))?;
    if c.state.status == Status::Restarting {
        client::cancel_restart(&Paths::of(store, &c.id).attach_socket);
    }
    Ok(())
}

/// `stop`: the stop signal (image STOPSIGNAL or SIGTERM), then SIGKILL after
/// `timeout` seconds (default: the container's stop timeout or 10).
pub fn stop(store: &mut Store, reference: &str, timeout: Option<i64>) -> Result<Container> {
    let c = lookup(store, reference)?;
    if !c.state.status.has_monitor() {
        return Ok(c);
    }
    mark_stopped_by_user(store, &c)?;
    let rt = runtime_of(&c)?;
    if c.state.status == Status::Paused {
        let _ = rt.resume(&c.id);
    }
    let signal = if c.spec.stop_signal.is_empty() {
        libc::SIGTERM
    } else {
        berth_runtime::parse_signal(&c.spec.stop_signal)?
    };
    let seconds = timeout.or(c.spec.stop_timeout).unwrap_or(10);
    if c.state.status != Status::Restarting && rt.kill(&c.id, signal, false).is_ok() {
        record(store, &c.id, "kill", vec![("signal", signal.to_string())])?;
    }
    let grace = Duration::from_secs(seconds.max(0) as u64);
    if seconds < 0 || !client::wait_exit(store, &c.id, grace) {
        if rt.kill(&c.id, libc::SIGKILL, true).is_ok() {
            record(
                store,
                &c.id,
                "kill",
                vec![("signal", libc::SIGKILL.to_string())],
            )?;
        }
        if !client::wait_exit(store, &c.id, Duration::from_secs(30)) {
            return Err(ContainerError::DidNotStop(c.id));
        }
    }
    // With --rm it is gone, and so is its record.
    match record(store, &c.id, "stop", vec![]) {
        Ok(()) | Err(ContainerError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    model::find(store, &c.id).or(Ok(c))
}
