//! `image prune`: unused images.

use berth_image::DeleteItem;

use crate::image::ImagePruneFilter;
use crate::{Engine, Result};

/// What an image prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImagePruneReport {
    /// Untagged references and deleted images and layers, in order.
    pub deleted: Vec<DeleteItem>,
    /// Bytes of the layers deleted.
    pub reclaimed: u64,
}

impl Engine {
    /// Removes the dangling images (with `filter.all`, every image) no
    /// container uses and whose labels `filter` selects.
    pub fn image_prune(&mut self, filter: &ImagePruneFilter) -> Result<ImagePruneReport> {
        let labels = &filter.labels;
        let (deleted, reclaimed) =
            berth_image::prune(&mut self.store, filter.all, &|store, id| {
                if labels == &Default::default() {
                    return Ok(true);
                }
                let config = berth_image::inspect(store, id)?.config;
                let image_labels = config.and_then(|c| c.labels).unwrap_or_default();
                Ok(labels.matches(&image_labels))
            })?;
        Ok(ImagePruneReport { deleted, reclaimed })
    }
}
