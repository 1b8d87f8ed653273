//! What a volume uses (`volume ls --size`, a berth extension).

use crate::volume::{Volume, VolumeSize};
use crate::{Engine, Result};

impl Engine {
    /// What `volume` uses: its qgroup's accounting when it is sized (O(1)),
    /// else the apparent size of its files.
    pub fn volume_usage(&self, volume: &Volume) -> Result<VolumeSize> {
        Ok(berth_volume::usage(volume)?)
    }
}
