//! `volume inspect`.

use berth_volume::Volume;

use crate::{Engine, Result};

impl Engine {
    pub fn volume_inspect(&self, name: &str) -> Result<Volume> {
        Ok(berth_volume::get(&self.store, name)?)
    }
}
