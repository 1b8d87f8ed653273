//! `save`: images as a `docker save` archive.

use std::io::Write;

use crate::{Engine, Result};

impl Engine {
    /// Writes the images `names` (references or IDs) as one archive to `out`.
    pub fn image_save(&self, names: &[String], out: impl Write) -> Result<()> {
        Ok(berth_image::save(&self.store, names, out)?)
    }
}
