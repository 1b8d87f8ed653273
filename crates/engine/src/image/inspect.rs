//! `image inspect`, and finding an image by reference or ID.

use berth_image::ImageInspect;

use crate::{Engine, Result};

impl Engine {
    /// The inspect document of an image (by reference or ID).
    pub fn image_inspect(&self, name: &str) -> Result<ImageInspect> {
        Ok(berth_image::inspect(&self.store, name)?)
    }

    /// The ID of the image a reference (or ID prefix) names.
    pub fn image_id(&self, name: &str) -> Result<String> {
        Ok(berth_image::resolve_id(&self.store, name)?)
    }
}
