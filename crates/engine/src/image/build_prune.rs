//! `builder prune`: the build cache, which is the untagged images that build
//! steps made and no container uses.

use crate::image::ImagePruneReport;
use crate::{Engine, Result};

impl Engine {
    /// Removes the build steps' untagged images no container uses; their
    /// cache entries go with them.
    pub fn build_cache_prune(&mut self) -> Result<ImagePruneReport> {
        let (deleted, reclaimed) = berth_image::prune(&mut self.store, false, &|store, id| {
            Ok(berth_build::cache::is_cached(store, id)?)
        })?;
        Ok(ImagePruneReport { deleted, reclaimed })
    }
}
