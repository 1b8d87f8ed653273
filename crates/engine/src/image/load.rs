//! `load`: images from a `docker save` archive.

use std::io::Read;

use berth_image::LoadedImage;

use crate::{Engine, Result};

impl Engine {
    /// Loads every image of the archive read from `source`.
    pub fn image_load(&mut self, source: impl Read) -> Result<Vec<LoadedImage>> {
        Ok(berth_image::load(&mut self.store, source)?)
    }
}
