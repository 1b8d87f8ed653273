//! `volume prune`.

use berth_volume::{PruneReport, LOCAL_DRIVER};

use crate::volume::VolumePruneFilter;
use crate::{Engine, Result};

impl Engine {
    /// Removes the unused local volumes `filter` selects: anonymous ones
    /// only, unless `filter.all` (Docker 23+). As dockerd, plugin volumes
    /// are never pruned (`volume rm` removes them).
    pub fn volume_prune(&mut self, filter: &VolumePruneFilter) -> Result<PruneReport> {
        Ok(berth_volume::prune(&mut self.store, &|v| {
            v.driver == LOCAL_DRIVER
                && (filter.all || v.anonymous)
                && filter.labels.matches(&v.labels)
        })?)
    }
}
