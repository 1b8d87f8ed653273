//! Idmapped mounts: a mount that shows its files' owners through a user
//! namespace's mapping, and stores what is written through it mapped back
//! (`mount_setattr(MOUNT_ATTR_IDMAP)`, Linux >= 5.12; overlayfs layers and
//! tmpfs from 6.x).
//!
//! # Terms
//! * An [`IdMap`] is a user namespace's `uid_map`/`gid_map`: extents of ids
//!   *inside* (what is on disk, for a mount) and the host ids they show as
//!   *outside*. A file owned by `inside` on disk is seen by the host as
//!   owned by `outside`; a process whose id is `outside` writes files owned
//!   by `inside`. An id outside every extent shows as the overflow id and
//!   cannot be written.
//! * The namespace an idmapped mount needs is made for the mount alone: a
//!   child process in a new user namespace, its maps written from here, the
//!   namespace kept by a descriptor and the child killed. The kernel keeps the
//!   mapping with the mount; the descriptor closes once the mount exists.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::mount::{
    fsconfig_create, fsconfig_set_fd, fsconfig_set_string, fsmount, fsopen, move_mount, open_tree,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags,
};

use crate::fslog::kernel_log;
use crate::{MountError, OverlayMount};

/// One line of a `uid_map`/`gid_map`: `len` ids from `inside` show as the
/// ids from `outside`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdExtent {
    pub inside: u32,
    pub outside: u32,
    pub len: u32,
}

/// A user namespace's uid and gid mappings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IdMap {
    pub uids: Vec<IdExtent>,
    pub gids: Vec<IdExtent>,
}

impl IdMap {
    /// `size` ids from 0 inside shown as `size` ids from `uid`/`gid` outside
    /// (a `--userns=auto` container's range).
    pub fn range(uid: u32, gid: u32, size: u32) -> IdMap {
        IdMap {
            uids: vec![IdExtent {
                inside: 0,
                outside: uid,
                len: size,
            }],
            gids: vec![IdExtent {
                inside: 0,
                outside: gid,
                len: size,
            }],
        }
    }

    /// Every id shown as itself (a mount through it changes nothing).
    pub fn is_identity(&self) -> bool {
        self.uids
            .iter()
            .chain(&self.gids)
            .all(|e| e.inside == e.outside)
    }

    /// Where `inside` shows outside, if it is mapped (uids or gids).
    pub fn outside(extents: &[IdExtent], inside: u32) -> Option<u32> {
        extents
            .iter()
            .find(|e| inside >= e.inside && inside - e.inside < e.len)
            .map(|e| e.outside + (inside - e.inside))
    }
}

fn sys(op: &'static str, target: &Path, e: impl Into<std::io::Error>) -> MountError {
    MountError::Sys {
        op,
        target: target.to_path_buf(),
        source: e.into(),
    }
}

fn map_text(extents: &[IdExtent]) -> String {
    extents
        .iter()
        .map(|e| format!("{} {} {}\n", e.inside, e.outside, e.len))
        .collect()
}

/// A user namespace with `map`, held by a descriptor (`target` names the
/// mount it is for, in errors).
pub(crate) fn user_namespace(map: &IdMap, target: &Path) -> Result<OwnedFd, MountError> {
    // SAFETY: a raw clone without a new stack behaves as fork(2); the child
    // only waits for its SIGKILL (async-signal-safe calls only).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(sys(
            "clone a user namespace for",
            target,
            std::io::Error::last_os_error(),
        ));
    }
    if pid == 0 {
        loop {
            // SAFETY: pause(2) has no preconditions.
            unsafe { libc::pause() };
        }
    }
    let pid = pid as libc::pid_t;
    let result = (|| {
        for (file, extents) in [("uid_map", &map.uids), ("gid_map", &map.gids)] {
            let path = format!("/proc/{pid}/{file}");
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|mut f| f.write_all(map_text(extents).as_bytes()))
                .map_err(|e| sys("write the id map of a user namespace for", target, e))?;
        }
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/user"))
            .map_err(|e| sys("open a user namespace for", target, e))?;
        Ok(OwnedFd::from(ns))
    })();
    // SAFETY: the child is ours and is reaped right here.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    result
}

/// A detached copy of the mount tree at `source` (its submounts too when
/// `recursive`), idmapped through `userns`.
pub(crate) fn idmapped_tree(
    source: &Path,
    recursive: bool,
    userns: BorrowedFd<'_>,
) -> Result<OwnedFd, MountError> {
    let mut flags = OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= OpenTreeFlags::AT_RECURSIVE;
    }
    let tree = open_tree(rustix::fs::CWD, source, flags)
        .map_err(|e| sys("open_tree (clone)", source, e))?;
    set_idmap(tree.as_fd(), recursive, userns, source)?;
    Ok(tree)
}

/// `struct mount_attr` of <linux/mount.h>.
#[repr(C)]
pub(crate) struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// mount_setattr(2) of `path` relative to `dirfd`.
pub(crate) fn mount_setattr(
    dirfd: libc::c_int,
    path: &std::ffi::CStr,
    flags: libc::c_int,
    attr: &MountAttr,
) -> std::io::Result<()> {
    // SAFETY: a valid NUL-terminated path and a valid struct of the size given.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags as libc::c_uint,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

fn set_idmap(
    tree: BorrowedFd<'_>,
    recursive: bool,
    userns: BorrowedFd<'_>,
    shown: &Path,
) -> Result<(), MountError> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    mount_setattr(tree.as_raw_fd(), c"", flags, &attr).map_err(|e| {
        sys(
            "mount_setattr idmap (the kernel or this filesystem lacks idmapped mounts)",
            shown,
            e,
        )
    })
}

/// Binds `source` at `target` idmapped through `map`.
pub(crate) fn bind(
    source: &Path,
    target: &Path,
    recursive: bool,
    map: &IdMap,
) -> Result<(), MountError> {
    let userns = user_namespace(map, target)?;
    let tree = idmapped_tree(source, recursive, userns.as_fd())?;
    move_mount(
        tree.as_fd(),
        "",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| sys("move_mount idmapped bind to", target, e))
}

/// The overlay `o` with every lower layer idmapped through `map` (each
/// handed to overlayfs as the descriptor of its idmapped copy, Linux >=
/// 6.13); the upper and work directories are used as they are.
pub(crate) fn overlay(o: &OverlayMount, map: &IdMap) -> Result<(), MountError> {
    let userns = user_namespace(map, &o.target)?;
    let lowers = o
        .lowers
        .iter()
        .map(|l| idmapped_tree(l, false, userns.as_fd()))
        .collect::<Result<Vec<_>, _>>()?;
    drop(userns);
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| sys("fsopen overlay for", &o.target, e))?;
    let failed = |op: &'static str, e: rustix::io::Errno| MountError::Overlay {
        op,
        target: o.target.clone(),
        source: e.into(),
        detail: kernel_log(fs.as_fd()),
    };
    fsconfig_set_string(fs.as_fd(), "source", "overlay")
        .map_err(|e| failed("overlay source", e))?;
    for lower in &lowers {
        fsconfig_set_fd(fs.as_fd(), "lowerdir+", lower.as_fd())
            .map_err(|e| failed("overlay lowerdir+ (an idmapped layer by descriptor)", e))?;
    }
    fsconfig_set_string(fs.as_fd(), "upperdir", &o.upper)
        .map_err(|e| failed("overlay upperdir", e))?;
    fsconfig_set_string(fs.as_fd(), "workdir", &o.work)
        .map_err(|e| failed("overlay workdir", e))?;
    fsconfig_create(fs.as_fd()).map_err(|e| failed("overlay create", e))?;
    let mnt = fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::empty(),
    )
    .map_err(|e| failed("fsmount overlay", e))?;
    move_mount(
        mnt.as_fd(),
        "",
        rustix::fs::CWD,
        &o.target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| sys("move_mount overlay to", &o.target, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn outside_finds_the_extent() {
        let map = IdMap::range(100_000, 200_000, 10);
        assert_eq!(IdMap::outside(&map.uids, 0), Some(100_000));
        assert_eq!(IdMap::outside(&map.gids, 9), Some(200_009));
        assert_eq!(IdMap::outside(&map.uids, 10), None);
        assert!(!map.is_identity());
        assert!(IdMap::range(0, 0, 5).is_identity());
    }

    #[test]
    fn an_idmapped_bind_shows_and_stores_owners_through_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let dst = dir.path().join("dst");
        std::fs::create_dir(&src).unwrap();
        std::fs::create_dir(&dst).unwrap();
        std::fs::write(src.join("f"), "x").unwrap();
        bind(&src, &dst, false, &IdMap::range(300_000, 400_000, 100)).unwrap();
        let meta = std::fs::metadata(dst.join("f")).unwrap();
        let seen = (meta.uid(), meta.gid());
        crate::Syscalls::unmount(&crate::Linux, &dst, true).unwrap();
        assert_eq!(seen, (300_000, 400_000));
        assert_eq!(std::fs::metadata(src.join("f")).unwrap().uid(), 0);
    }
}
