//! `diff`.

use berth_container::model::{self, Paths};
use berth_container::Result;
use berth_store::Store;

use super::reconcile::lookup;

/// `diff`: changes of the writable layer against the image.
pub fn diff(store: &mut Store, reference: &str) -> Result<Vec<berth_archive::Change>> {
    let c = lookup(store, reference)?;
    let paths = Paths::of(store, &c.id);
    let lowers = model::rootfs_lowers(store, &c.id)?;
    Ok(berth_archive::changes(&paths.upper, &lowers)?)
}
