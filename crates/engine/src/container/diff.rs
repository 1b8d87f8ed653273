//! `diff`.

use berth_container::model::{self, Paths};

pub use berth_archive::{Change, ChangeKind};

use super::reconcile::lookup_settled;
use crate::{Engine, Result};

impl Engine {
    /// `diff`: changes of the writable layer against the image.
    pub fn container_diff(&mut self, reference: &str) -> Result<Vec<Change>> {
        let c = lookup_settled(&mut self.store, &self.config.run_dir, reference)?;
        let paths = Paths::of(&self.store, &c.id);
        let lowers = model::rootfs_lowers(&self.store, &c.id)?;
        Ok(berth_archive::changes(&paths.upper, &lowers)?)
    }
}
