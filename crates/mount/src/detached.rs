//! Read-only overlays of image layers that are not attached anywhere: the
//! tree exists only through the descriptor [`Linux::read_only_overlay`]
//! returns (read it as `/proc/self/fd/N`), and the kernel unmounts it when
//! the last descriptor closes — however the process ends, nothing is left
//! in the mount table. [`Linux::attach`] puts one at a mount point (what a
//! runtime needs: a path).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags,
};

use crate::fslog::kernel_log;
use crate::{Linux, MountError};

impl Linux {
    /// An overlay of `lowers` (top-most first) without an upper layer:
    /// read-only, whiteouts applied. Overlayfs needs two lowers without an
    /// upper, so a single layer takes `empty` (an empty directory that must
    /// stay while the overlay lives) below it.
    pub fn read_only_overlay(
        &self,
        lowers: &[PathBuf],
        empty: &Path,
    ) -> Result<OwnedFd, MountError> {
        let shown = lowers.first().cloned().unwrap_or_default();
        if lowers.is_empty() {
            return Err(MountError::InvalidPath {
                path: shown,
                reason: "overlay without a lower layer",
            });
        }
        let mut layers: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
        if layers.len() == 1 {
            layers.push(empty);
        }
        let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(|e| MountError::Sys {
            op: "fsopen overlay for",
            target: shown.clone(),
            source: e.into(),
        })?;
        let failed = |op: &'static str, e: rustix::io::Errno| MountError::Overlay {
            op,
            target: shown.clone(),
            source: e.into(),
            detail: kernel_log(fs.as_fd()),
        };
        fsconfig_set_string(fs.as_fd(), "source", "overlay")
            .map_err(|e| failed("overlay source", e))?;
        for (index, lower) in layers.iter().enumerate() {
            match fsconfig_set_string(fs.as_fd(), "lowerdir+", *lower) {
                Ok(()) => {}
                // Before Linux 6.8: the whole list as one "lowerdir".
                Err(rustix::io::Errno::INVAL) if index == 0 => {
                    let joined: Vec<_> = layers.iter().map(|l| l.to_string_lossy()).collect();
                    fsconfig_set_string(fs.as_fd(), "lowerdir", joined.join(":").as_str())
                        .map_err(|e| failed("overlay lowerdir", e))?;
                    break;
                }
                Err(e) => return Err(failed("overlay lowerdir+", e)),
            }
        }
        if crate::in_user_namespace() {
            fsconfig_set_flag(fs.as_fd(), "userxattr")
                .map_err(|e| failed("overlay userxattr", e))?;
        }
        fsconfig_create(fs.as_fd()).map_err(|e| failed("overlay create", e))?;
        fsmount(
            fs.as_fd(),
            FsMountFlags::FSMOUNT_CLOEXEC,
            MountAttrFlags::MOUNT_ATTR_RDONLY | MountAttrFlags::MOUNT_ATTR_NODEV,
        )
        .map_err(|e| failed("fsmount overlay", e))
    }

    /// Attaches the detached mount `mnt` at `target` (a magic link such as
    /// `/proc/self/fd/N` is followed to what it names).
    pub fn attach(&self, mnt: BorrowedFd<'_>, target: &Path) -> Result<(), MountError> {
        move_mount(
            mnt,
            "",
            rustix::fs::CWD,
            target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_SYMLINKS,
        )
        .map_err(|e| MountError::Sys {
            op: "move_mount to",
            target: target.to_path_buf(),
            source: e.into(),
        })
    }
}
