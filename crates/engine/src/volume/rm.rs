//! `volume rm`.

use crate::{Engine, Result};

impl Engine {
    /// Removes an unused volume and its data. `force` only turns "no such
    /// volume" into success; a volume in use is never removed.
    pub fn volume_remove(&mut self, name: &str, force: bool) -> Result<()> {
        Ok(berth_volume::remove(&mut self.store, name, force)?)
    }
}
