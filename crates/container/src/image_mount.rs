//! Image mounts (`--mount type=image,source=IMAGE,target=/x[,image-subpath=p]`,
//! Docker 28): an image's layers as one read-only overlay.
//!
//! The overlay is made detached ([`ImageTree`]: it exists through a descriptor
//! only, and the kernel drops it with the last one), so no process that dies
//! can leave it in the host's mount table. For a run, the monitor attaches it
//! at a staging mount point under `subpaths/` ([`stage`]), binds the subpath
//! (resolved inside the image by `berth_volume::open_subpath`, the volume
//! subpath code) when there is one, hands the runtime that path, and undoes
//! the staging once the runtime has created the container (as for volume
//! subpaths): from then on only the container's mount namespace holds it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_mount::Linux;
use berth_store::Store;

use crate::model::{MountPoint, Paths};
use crate::{ContainerError, Result};

/// An image's merged content, read-only, held by a descriptor.
pub struct ImageTree {
    mnt: OwnedFd,
    /// An empty lower of this process's own, removed with the tree.
    scratch: Option<PathBuf>,
}

impl Drop for ImageTree {
    fn drop(&mut self) {
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl ImageTree {
    /// The overlay of `lowers` (top-most first); `empty` is an empty
    /// directory that lives as long as the tree (the lower below a single
    /// layer). `image` names the image in errors.
    pub fn open(sys: &Linux, image: &str, lowers: &[PathBuf], empty: &Path) -> Result<ImageTree> {
        if lowers.is_empty() {
            return Err(ContainerError::InvalidArgument(format!(
                "image {image} has no layers to mount"
            )));
        }
        Ok(ImageTree {
            mnt: sys.read_only_overlay(lowers, empty)?,
            scratch: None,
        })
    }

    /// The tree's root as a path (`/proc/self/fd/N`), valid in this process.
    pub fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.mnt.as_raw_fd()))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.mnt.as_fd()
    }
}

/// The tree of `image` (named `name`), for a process that holds it briefly
/// (create's subpath check, `volume diff`/`seed`): its empty lower is made
/// in the process's staging and goes with the tree.
pub fn open_image(
    store: &Store,
    name: &str,
    image: &berth_image::ResolvedImage,
    sys: &Linux,
) -> Result<ImageTree> {
    let lowers: Vec<PathBuf> = image.layers.iter().rev().map(|l| l.dir.clone()).collect();
    let empty = store.staging_dir("image-empty")?;
    match ImageTree::open(sys, name, &lowers, &empty) {
        Ok(mut tree) => {
            tree.scratch = Some(empty);
            Ok(tree)
        }
        Err(e) => {
            let _ = std::fs::remove_dir(&empty);
            Err(e)
        }
    }
}

/// How a path inside an image mount is named in errors: `IMAGE:/path`.
pub fn shown(image: &str) -> PathBuf {
    PathBuf::from(format!("{image}:/"))
}

/// The empty lower a single-layer image mount of container `paths` needs,
/// made if missing (it goes with the container's directory).
fn empty_lower(paths: &Paths) -> Result<PathBuf> {
    let empty = paths.dir.join("image-empty");
    match std::fs::create_dir(&empty) {
        Ok(()) => Ok(empty),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(empty),
        Err(e) => Err(ContainerError::io(&empty, e)),
    }
}

/// The tree of image mount `m` of container `id` (its layers from the rows
/// that hold them).
pub fn open_mount(store: &Store, id: &str, m: &MountPoint, sys: &Linux) -> Result<ImageTree> {
    let paths = Paths::of(store, id);
    let lowers = berth_image::mounts::layer_dirs(store, id, &m.destination)?;
    ImageTree::open(sys, &m.name, &lowers, &empty_lower(&paths)?)
}

/// Stages image mount `m` (the container's mount number `index`) for a run:
/// returns the path the runtime binds read-only at `m.destination`. A
/// subpath missing in the image, or reached through a symlink, is refused
/// with the volume subpath's words.
pub fn stage(
    store: &Store,
    paths: &Paths,
    id: &str,
    index: usize,
    m: &MountPoint,
    sys: &Linux,
) -> Result<PathBuf> {
    let tree = open_mount(store, id, m, sys)?;
    let staged = paths.subpaths.join(index.to_string());
    if m.subpath.is_empty() {
        std::fs::create_dir_all(&staged).map_err(|e| ContainerError::io(&staged, e))?;
        sys.attach(tree.fd(), &staged)?;
    } else {
        // Attached first: a bind from a detached tree needs a recent kernel.
        let whole = paths.subpaths.join(format!("image-{index}"));
        std::fs::create_dir_all(&whole).map_err(|e| ContainerError::io(&whole, e))?;
        sys.attach(tree.fd(), &whole)?;
        berth_volume::mount_subpath(sys, &whole, &shown(&m.name), &m.subpath, &staged)?;
    }
    Ok(staged)
}
