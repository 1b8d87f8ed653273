//! `resize`: the terminal of a running container.

use berth_container::model::Paths;
use berth_container::{state, ContainerError};

use super::reconcile::lookup;
use crate::monitor::client;
use crate::{Engine, Result};

impl Engine {
    /// `resize`: tells the container's monitor its terminal's new size.
    /// Records Docker's `resize` event (`height`, `width`).
    pub fn container_resize(&mut self, reference: &str, rows: u16, cols: u16) -> Result<()> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        let not_running = |detail: String| {
            ContainerError::Conflict(format!("Container {} is not running{detail}", c.id))
        };
        if !c.state.status.has_monitor() {
            return Err(not_running(String::new()).into());
        }
        let socket = Paths::of(&self.store, &c.id).attach_socket;
        client::resize(&socket, rows, cols).map_err(|e| not_running(format!(": {e}")))?;
        let extra = vec![("height", rows.to_string()), ("width", cols.to_string())];
        self.store
            .write(|tx| state::record(tx, &c.id, "resize", extra))?;
        Ok(())
    }
}
