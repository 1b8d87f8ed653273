//! `volume rm`.

use berth_volume::plugin::PluginDriver;
use berth_volume::{VolumeDriver, VolumeError};

use crate::{Engine, Result};

impl Engine {
    /// Removes an unused volume and its data. `force` only turns "no such
    /// volume" into success (and removes a plugin volume whose plugin fails,
    /// from the store only); a volume in use is never removed. A volume only
    /// a plugin has (made through another host) is removed by that plugin.
    pub fn volume_remove(&mut self, name: &str, force: bool) -> Result<()> {
        match berth_volume::get(&self.store, name) {
            Err(VolumeError::NotFound(_)) => {}
            _ => return Ok(berth_volume::remove(&mut self.store, name, force)?),
        }
        match super::inspect::foreign(name) {
            Ok(v) => {
                let driver = PluginDriver::open(&v.driver)?;
                let dir = self.store.volumes_dir().join(name);
                driver.remove(name, &dir).map_err(|e| VolumeError::Driver {
                    op: "remove",
                    name: name.to_string(),
                    source: Box::new(e),
                })?;
                Ok(())
            }
            Err(_) if force => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
