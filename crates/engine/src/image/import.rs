//! `import`: a root filesystem tar as a one-layer image.

use std::io::Read;

use berth_image::ImportOptions;

use crate::{Engine, Result};

impl Engine {
    /// Imports a rootfs tar (plain, gzip or zstd) read from `source`; returns
    /// the new image's ID.
    pub fn image_import(&mut self, source: impl Read, opts: &ImportOptions) -> Result<String> {
        Ok(berth_image::import(&mut self.store, source, opts)?)
    }
}
