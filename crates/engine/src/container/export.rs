//! `export`.

use std::io::Write;

use berth_container::{rootfs, Result};
use berth_mount::Linux;
use berth_store::Store;

use super::reconcile::lookup;

/// `export`: the container's filesystem (without volumes) as a tar stream.
pub fn export(store: &mut Store, reference: &str, out: impl Write) -> Result<()> {
    let c = lookup(store, reference)?;
    rootfs::with_mounted(store, &c.id, &Linux, |root| {
        berth_archive::pack_tree(root, out)?;
        Ok(())
    })
}
