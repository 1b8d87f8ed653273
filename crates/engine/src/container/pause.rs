//! `pause` and `unpause`.

use std::path::Path;

use berth_container::model::{Container, Status};
use berth_container::ContainerError;
use berth_store::Store;

use super::freezer::change;
use super::reconcile::lookup;
use crate::{Engine, Result};

/// Freezes a running `c` and records it paused (Docker's `pause` event).
pub(super) fn pause(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
) -> berth_container::Result<()> {
    change(store, run_dir, c, true)
}

/// Thaws a paused `c` and records it running (Docker's `unpause` event).
pub(super) fn unpause(
    store: &mut Store,
    run_dir: &Path,
    c: &Container,
) -> berth_container::Result<()> {
    change(store, run_dir, c, false)
}

impl Engine {
    /// `pause`: freezes the container's processes.
    pub fn container_pause(&mut self, reference: &str) -> Result<()> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        match c.state.status {
            Status::Running => Ok(pause(&mut self.store, &self.config.run_dir, &c)?),
            Status::Paused => Err(ContainerError::Conflict(format!(
                "Container {} is already paused",
                c.id
            ))
            .into()),
            _ => Err(ContainerError::Conflict(format!("Container {} is not running", c.id)).into()),
        }
    }

    /// `unpause`.
    pub fn container_unpause(&mut self, reference: &str) -> Result<()> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        if c.state.status != Status::Paused {
            return Err(
                ContainerError::Conflict(format!("Container {} is not paused", c.id)).into(),
            );
        }
        Ok(unpause(&mut self.store, &self.config.run_dir, &c)?)
    }
}
