//! `kill -s SIGNAL`.

use std::time::Duration;

use berth_container::model::{Container, Status};
use berth_container::state;
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::reconcile::lookup;
use super::runtime::runtime_of;
use super::stop::mark_stopped_by_user;
use crate::monitor::client;

/// Appends a container event that changes no status (`kill`, `stop`).
pub(super) fn record(
    store: &mut Store,
    id: &str,
    action: &str,
    extra: Vec<(&'static str, String)>,
) -> Result<()> {
    store.write(|tx| state::record(tx, id, action, extra))
}

/// `kill -s SIGNAL`.
pub fn kill(store: &mut Store, reference: &str, signal: &str) -> Result<Container> {
    let c = lookup(store, reference)?;
    let signal = berth_runtime::parse_signal(signal)?;
    if !matches!(c.state.status, Status::Running | Status::Paused) {
        return Err(ContainerError::Conflict(format!(
            "Cannot kill container: {}: container {} is not running",
            reference, c.id
        )));
    }
    if signal == libc::SIGKILL || signal == libc::SIGTERM {
        mark_stopped_by_user(store, &c)?;
    }
    runtime_of(&c)?.kill(&c.id, signal, false)?;
    record(store, &c.id, "kill", vec![("signal", signal.to_string())])?;
    if signal == libc::SIGKILL {
        client::wait_exit(store, &c.id, Duration::from_secs(10));
    }
    Ok(c)
}
