//! `kill -s SIGNAL`.

use std::time::Duration;

use berth_container::model::Status;
use berth_container::state;
use berth_container::{ContainerError, Result};
use berth_runtime::OciRuntime;
use berth_store::Store;

use super::reconcile::lookup;
use super::runtime::runtime_of;
use super::stop::mark_stopped_by_user;
use crate::monitor::client;
use crate::Engine;

/// Sends `signal` (to every process of the container with `all`) and
/// records Docker's `kill` event, in one write transaction: the monitor's
/// `die` that the signal causes waits for it, so the events come in order.
pub(super) fn kill(
    store: &mut Store,
    rt: &dyn OciRuntime,
    id: &str,
    signal: i32,
    all: bool,
) -> Result<()> {
    store.write(|tx| {
        state::record(tx, id, "kill", vec![("signal", signal.to_string())])?;
        Ok(rt.kill(id, signal, all)?)
    })
}

impl Engine {
    /// `kill`: sends `signal` (a name or number; SIGKILL if `None`) to the
    /// container's process.
    pub fn container_kill(&mut self, reference: &str, signal: Option<&str>) -> crate::Result<()> {
        let store = &mut self.store;
        let c = lookup(store, reference)?;
        let signal = match signal.filter(|s| !s.is_empty()) {
            Some(s) => berth_runtime::parse_signal(s)?,
            None => libc::SIGKILL,
        };
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(ContainerError::Conflict(format!(
                "Cannot kill container: {}: container {} is not running",
                reference, c.id
            ))
            .into());
        }
        if signal == libc::SIGKILL || signal == libc::SIGTERM {
            mark_stopped_by_user(store, &c)?;
        }
        kill(store, runtime_of(&c)?.as_ref(), &c.id, signal, false)?;
        if signal == libc::SIGKILL {
            client::wait_exit(store, &c.id, Duration::from_secs(10));
        }
        Ok(())
    }
}
