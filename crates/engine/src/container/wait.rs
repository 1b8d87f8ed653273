//! `wait`: until the container is not running.

use std::time::Duration;

use berth_container::model;
use berth_container::{ContainerError, Result};
use berth_store::Store;

use super::reconcile::{lookup, reconcile};
use crate::monitor::client;

/// Blocks until the container is not running; returns its exit code.
pub fn wait(store: &mut Store, reference: &str) -> Result<i32> {
    let c = lookup(store, reference)?;
    if c.state.status.has_monitor() {
        client::wait_exit(store, &c.id, Duration::from_secs(u64::MAX / 4));
    }
    match model::find(store, &c.id) {
        Ok(mut latest) => {
            reconcile(store, &mut latest)?;
            Ok(latest.state.exit_code)
        }
        // Removed on exit (--rm): the code is gone with it, as with Docker's
        // `wait` racing an auto-remove.
        Err(ContainerError::NotFound(_)) => Ok(c.state.exit_code),
        Err(e) => Err(e),
    }
}
