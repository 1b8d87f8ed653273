//! `history`: an image's layers and the steps that made them.

use berth_image::HistoryItem;

use crate::{Engine, Result};

impl Engine {
    /// An image's history, newest first.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        Ok(berth_image::history(&self.store, name)?)
    }
}
