//! `volume ls`.

use berth_volume::Volume;

use crate::filters::name_match;
use crate::volume::VolumeFilter;
use crate::{Engine, Result};

impl Engine {
    /// The volumes `filter` selects, by name.
    pub fn volume_list(&self, filter: &VolumeFilter) -> Result<Vec<Volume>> {
        let mut out = Vec::new();
        for v in berth_volume::list(&self.store)? {
            if (!filter.drivers.is_empty() && !filter.drivers.contains(&v.driver))
                || (!filter.names.is_empty() && !name_match(&filter.names, &v.name))
                || !filter.labels.matches(&v.labels)
            {
                continue;
            }
            if let Some(dangling) = filter.dangling {
                if berth_volume::users(&self.store, &v.name)?.is_empty() != dangling {
                    continue;
                }
            }
            out.push(v);
        }
        Ok(out)
    }
}
