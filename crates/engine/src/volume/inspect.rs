//! `volume inspect`.

use berth_volume::plugin::{self, PluginDriver};
use berth_volume::{Volume, VolumeError};

use crate::{Engine, Result};

impl Engine {
    /// The volume `name`: a plugin volume as its plugin describes it
    /// (Mountpoint, Status, Scope); a name the store does not have but a
    /// plugin does is that plugin's volume, as dockerd asks every driver.
    pub fn volume_inspect(&self, name: &str) -> Result<Volume> {
        match berth_volume::get(&self.store, name) {
            Ok(v) => Ok(plugin::describe(v)?),
            Err(VolumeError::NotFound(_)) => Ok(foreign(name)?),
            Err(e) => Err(e.into()),
        }
    }
}

/// The first plugin that has `name`; the store's "no such volume" if none.
pub(super) fn foreign(name: &str) -> std::result::Result<Volume, VolumeError> {
    for found in plugin::discovery::scan() {
        let Ok(driver) = PluginDriver::open(&found.name) else {
            continue;
        };
        if let Ok(v) = plugin::foreign_volume(&driver, name) {
            return Ok(v);
        }
    }
    Err(VolumeError::NotFound(name.to_string()))
}
