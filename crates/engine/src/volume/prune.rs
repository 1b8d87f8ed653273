//! `volume prune`.

use berth_volume::PruneReport;

use crate::volume::VolumePruneFilter;
use crate::{Engine, Result};

impl Engine {
    /// Removes the unused volumes `filter` selects: anonymous ones only,
    /// unless `filter.all` (Docker 23+).
    pub fn volume_prune(&mut self, filter: &VolumePruneFilter) -> Result<PruneReport> {
        Ok(berth_volume::prune(&mut self.store, &|v| {
            (filter.all || v.anonymous) && filter.labels.matches(&v.labels)
        })?)
    }
}
