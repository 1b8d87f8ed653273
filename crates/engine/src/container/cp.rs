//! `cp` in and out of a container, and `stat` of a path in it. Paths inside
//! the container are always resolved inside its root (berth-archive's
//! openat2 RESOLVE_IN_ROOT), never by following a symlink out of it.

use std::io::Write;
use std::path::Path;

use berth_container::model::{Container, Status};
use berth_container::{rootfs, Result};
use berth_mount::Linux;
use berth_store::Store;

use super::exec::live_root;
use super::reconcile::lookup;

/// Runs `f` with a root directory through which the container's filesystem,
/// volumes and binds included, can be reached: the live root of a running
/// container, or the rootfs with its storage mounted for a stopped one.
fn with_root<T>(store: &Store, c: &Container, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    if c.state.status == Status::Running || c.state.status == Status::Paused {
        f(&live_root(c))
    } else {
        rootfs::with_mounted_storage(store, c, &Linux, f)
    }
}

/// `cp HOST_PATH CONTAINER:PATH`.
pub fn copy_in(
    store: &mut Store,
    reference: &str,
    host_src: &Path,
    dest: &str,
    follow: bool,
    archive: bool,
) -> Result<()> {
    let c = lookup(store, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::copy_into_root(
            root, host_src, dest, follow, archive,
        )?)
    })
}

/// `cp CONTAINER:PATH HOST_PATH`.
pub fn copy_out(
    store: &mut Store,
    reference: &str,
    src: &str,
    host_dest: &Path,
    follow: bool,
) -> Result<()> {
    let c = lookup(store, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::copy_from_root(root, src, host_dest, follow)?)
    })
}

/// `cp CONTAINER:PATH -`: a tar stream of the path.
pub fn archive_out(
    store: &mut Store,
    reference: &str,
    src: &str,
    follow: bool,
    out: impl Write,
) -> Result<()> {
    let c = lookup(store, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::archive_path(root, src, follow, out)?)
    })
}

/// `cp - CONTAINER:DIR`: extracts a tar stream into a directory.
pub fn archive_in(
    store: &mut Store,
    reference: &str,
    dir: &str,
    input: impl std::io::Read,
    no_overwrite_dir_non_dir: bool,
    archive: bool,
) -> Result<()> {
    let c = lookup(store, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::extract_to_dir(
            root,
            dir,
            input,
            no_overwrite_dir_non_dir,
            archive,
        )?)
    })
}

/// `stat` of a path in the container (the API's archive HEAD).
pub fn stat(store: &mut Store, reference: &str, path: &str) -> Result<berth_archive::PathStat> {
    let c = lookup(store, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::stat_in_root(root, path)?)
    })
}
