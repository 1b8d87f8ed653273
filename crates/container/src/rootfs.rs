//! A container's root filesystem: its image's layers (read-only lowerdirs,
//! shared) under its own writable layer (`diff/`), assembled by overlayfs at
//! `merged/`. Mounted while the container runs, or briefly for `cp`, `export`
//! and `commit` of a stopped container; the writable layer is kept until `rm`.

use berth_mount::{OverlayMount, Syscalls};
use berth_store::Store;

use crate::model::{self, Paths};
use crate::{ContainerError, Result};

/// Mounts the overlay at `merged/` unless it is already mounted.
pub fn mount(store: &Store, id: &str, sys: &dyn Syscalls) -> Result<()> {
    let paths = Paths::of(store, id);
    if berth_mount::is_mountpoint(&paths.rootfs)? {
        return Ok(());
    }
    let lowers = model::lower_dirs(store, id)?;
    if lowers.is_empty() {
        return Err(ContainerError::Engine(format!(
            "container {id} has no image layers recorded"
        )));
    }
    sys.mount_overlay(&OverlayMount {
        lowers,
        upper: paths.upper.clone(),
        work: paths.work.clone(),
        target: paths.rootfs.clone(),
    })?;
    Ok(())
}

/// Unmounts `merged/` if mounted (lazily, so a stray open file cannot pin it).
pub fn unmount(store: &Store, id: &str, sys: &dyn Syscalls) -> Result<()> {
    let paths = Paths::of(store, id);
    if paths.rootfs.exists() && berth_mount::is_mountpoint(&paths.rootfs)? {
        sys.unmount(&paths.rootfs, true)?;
    }
    Ok(())
}

/// Runs `f` with the rootfs mounted, unmounting afterwards if it was not
/// mounted before (a running container keeps its mount).
pub fn with_mounted<T>(
    store: &Store,
    id: &str,
    sys: &dyn Syscalls,
    f: impl FnOnce(&std::path::Path) -> Result<T>,
) -> Result<T> {
    let paths = Paths::of(store, id);
    let was_mounted = berth_mount::is_mountpoint(&paths.rootfs)?;
    if !was_mounted {
        mount(store, id, sys)?;
    }
    let result = f(&paths.rootfs);
    if !was_mounted {
        if let Err(e) = unmount(store, id, sys) {
            return match result {
                Ok(_) => Err(e),
                Err(original) => Err(ContainerError::Engine(format!(
                    "{original}; unmounting the rootfs also failed: {e}"
                ))),
            };
        }
    }
    result
}
