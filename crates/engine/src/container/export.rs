//! `export`.

use std::io::Write;

use berth_container::rootfs;
use berth_mount::Linux;

use super::reconcile::lookup_settled;
use crate::{Engine, Result};

impl Engine {
    /// `export`: the container's filesystem (without volumes) as a tar
    /// stream, owned as the container sees its files.
    pub fn container_export(&mut self, reference: &str, out: impl Write) -> Result<()> {
        let c = lookup_settled(&mut self.store, &self.config.run_dir, reference)?;
        let ids = super::userns::id_shift(self.store.db(), &c.id)?;
        rootfs::with_mounted(&self.store, &c.id, &Linux, |root| {
            berth_archive::pack_tree(root, out, ids)?;
            Ok(())
        })?;
        Ok(())
    }
}
