//! A container's size, one way for every front end (`ps -s`, `inspect -s`,
//! `system df`, the API's `size=1` and `/system/df`):
//! * **SizeRw** — the bytes of its writable layer (`containers/ID/diff`),
//!   counted as `du` counts them (allocated blocks, hard links once);
//! * **SizeRootFs** — SizeRw plus the size of its image (the sum of the image's
//!   layers), as dockerd adds the layer chain's size to the writable layer's.

use berth_container::model::{Container, Paths};
use berth_error::{ErrorKind, HasKind};
use berth_store::Store;

use crate::{Engine, Result};

/// SizeRw and SizeRootFs of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerSize {
    pub rw: u64,
    pub root_fs: u64,
}

/// The size of `c`. A writable layer or an image that is gone (the container
/// was removed meanwhile, the image deleted with `rmi -f`) counts as 0.
pub fn size(store: &Store, c: &Container) -> Result<ContainerSize> {
    let upper = Paths::of(store, &c.id).upper;
    let rw = if upper.exists() {
        berth_archive::disk_usage(&upper)?
    } else {
        0
    };
    let image = match berth_image::size(store, &c.image_id) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(ContainerSize {
        rw,
        root_fs: rw + image,
    })
}

impl Engine {
    /// The size of `c` (see [`size`]).
    pub fn container_size(&self, c: &Container) -> Result<ContainerSize> {
        size(&self.store, c)
    }
}
