//! `restart`: stop (if it runs), then start.

use berth_container::state;

use super::reconcile::lookup;
use super::start::start;
use super::stop::{stop, StopRequest};
use crate::{Engine, Result};

impl Engine {
    /// `restart`: stops the container as `stop` does (if it runs), starts
    /// it again and records Docker's `restart` event.
    pub fn container_restart(&mut self, reference: &str, req: &StopRequest) -> Result<()> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        stop(&mut self.store, &self.config.run_dir, &c, req)?;
        start(&mut self.store, &self.config.run_dir, &c.id, false)?;
        self.store
            .write(|tx| state::record(tx, &c.id, "restart", vec![]))?;
        Ok(())
    }
}
