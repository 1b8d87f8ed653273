//! `kill -s SIGNAL`.

use std::time::Duration;

use berth_container::model::Status;
use berth_container::ContainerError;

use super::reconcile::lookup;
use super::runtime::runtime_of;
use super::signal::{kill, mark_stopped_by_user};
use crate::monitor::client;
use crate::Engine;

impl Engine {
    /// `kill`: sends `signal` (a name or number; SIGKILL if `None`) to the
    /// container's process.
    pub fn container_kill(&mut self, reference: &str, signal: Option<&str>) -> crate::Result<()> {
        let (store, run_dir) = (&mut self.store, &self.config.run_dir);
        let c = lookup(store, run_dir, reference)?;
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
        kill(
            store,
            runtime_of(&c, run_dir)?.as_ref(),
            &c.id,
            signal,
            false,
        )?;
        if signal == libc::SIGKILL {
            client::wait_exit(store, &c.id, Duration::from_secs(10));
        }
        Ok(())
    }
}
