//! `rmi`: untag an image, and delete it with its last reference.

use berth_image::DeleteItem;

use crate::{Engine, Result};

impl Engine {
    /// Removes a reference or an image, as dockerd's `ImageDelete`; returns
    /// what was untagged and deleted, in order.
    pub fn image_remove(&mut self, name: &str, force: bool) -> Result<Vec<DeleteItem>> {
        Ok(berth_image::remove(&mut self.store, name, force)?)
    }
}
