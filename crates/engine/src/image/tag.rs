//! `tag`: another name for an image.

use crate::{Engine, Result};

impl Engine {
    /// Points `target` at the image `source` names; returns the image's ID.
    pub fn image_tag(&mut self, source: &str, target: &str) -> Result<String> {
        berth_image::tag(&mut self.store, source, target)?;
        Ok(berth_image::resolve_id(&self.store, target)?)
    }
}
