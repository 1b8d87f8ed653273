//! Copying a tree onto another (a volume clone): every regular file is first offered to the filesystem as a
//! reflink (`FICLONE`: btrfs, XFS with reflink — the copy shares the source's extents until either is
//! written), else copied with `copy_file_range` segment by segment so holes stay holes. Ownership, modes,
//! xattrs, times, hard links, symlinks, devices and fifos are kept; sockets are skipped as in a tar.
//!
//! The walk is the pack one: fd-relative, `O_NOFOLLOW`, each file opened before it is read and checked to be
//! the inode first seen, so nothing outside the source tree is ever read. The destination is a fresh directory
//! nobody else sees (the caller's staging area), created with `*at` calls only.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat, XattrFlags};
use rustix::io::Errno;

use crate::error::{ArchiveError, At};
use crate::fsutil::{dir_entries, list_fd_xattrs, list_xattrs, owner, proc_child_path, timestamps};

/// What [`clone_tree`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloneStats {
    /// Regular files (hard links counted once).
    pub files: u64,
    /// Of those, the ones the filesystem reflinked.
    pub reflinked: u64,
    /// Bytes of file content (apparent sizes).
    pub bytes: u64,
}

/// Copy the tree under the directory `src` into the empty directory `dst` (which gets `src`'s owner, mode,
/// xattrs and times).
pub fn clone_tree(src: &Path, dst: &Path) -> Result<CloneStats, ArchiveError> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let src_fd = rustix::fs::open(src, dir_flags, Mode::empty()).at(src)?;
    let dst_fd = rustix::fs::open(dst, dir_flags, Mode::empty()).at(dst)?;
    let mut cloner = Cloner {
        dst_root: dst_fd.try_clone().at(dst)?,
        links: HashMap::new(),
        stats: CloneStats::default(),
    };
    cloner.children(src_fd.as_fd(), dst_fd.as_fd(), src, Path::new(""))?;
    let stat = rustix::fs::fstat(&src_fd).at(src)?;
    let xattrs = list_fd_xattrs(src_fd.as_fd()).at(src)?;
    fd_meta(dst_fd.as_fd(), &stat, &xattrs, dst)?;
    Ok(cloner.stats)
}

struct Cloner {
    dst_root: OwnedFd,
    /// (dev, ino) of multiply-linked files copied → their path under the destination.
    links: HashMap<(u64, u64), PathBuf>,
    stats: CloneStats,
}

impl Cloner {
    fn children(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        shown: &Path,
        rel: &Path,
    ) -> Result<(), ArchiveError> {
        for name in dir_entries(src).at(shown)? {
            self.entry(src, dst, &name, &shown.join(&name), &rel.join(&name))?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &OsStr,
        shown: &Path,
        rel: &Path,
    ) -> Result<(), ArchiveError> {
        for _ in 0..8 {
            let stat = match rustix::fs::statat(src, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::NOENT) => return Ok(()),
                Err(e) => return Err(ArchiveError::io(shown, e)),
            };
            let file_type = FileType::from_raw_mode(stat.st_mode);
            if file_type != FileType::Directory && stat.st_nlink > 1 {
                if let Some(first) = self.links.get(&(stat.st_dev, stat.st_ino)) {
                    return rustix::fs::linkat(&self.dst_root, first, dst, name, AtFlags::empty())
                        .at(shown);
                }
            }
            let flags = match file_type {
                FileType::RegularFile => OFlags::RDONLY,
                FileType::Directory => OFlags::RDONLY | OFlags::DIRECTORY,
                FileType::Socket => return Ok(()),
                _ => return self.special(src, dst, name, &stat, shown, rel),
            };
            let fd = match rustix::fs::openat(
                src,
                name,
                flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                // Replaced under us: look again.
                Err(Errno::LOOP) | Err(Errno::NOTDIR) | Err(Errno::NOENT) => continue,
                Err(e) => return Err(ArchiveError::io(shown, e)),
            };
            let now = rustix::fs::fstat(&fd).at(shown)?;
            if (now.st_dev, now.st_ino) != (stat.st_dev, stat.st_ino) {
                continue;
            }
            let xattrs = list_fd_xattrs(fd.as_fd()).at(shown)?;
            if file_type == FileType::Directory {
                rustix::fs::mkdirat(dst, name, Mode::from_raw_mode(0o700)).at(shown)?;
                let out = rustix::fs::openat(
                    dst,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .at(shown)?;
                self.children(fd.as_fd(), out.as_fd(), shown, rel)?;
                return fd_meta(out.as_fd(), &stat, &xattrs, shown);
            }
            let out = rustix::fs::openat(
                dst,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
            .at(shown)?;
            self.content(&fd, &out, &stat, shown)?;
            if stat.st_nlink > 1 {
                self.links
                    .insert((stat.st_dev, stat.st_ino), rel.to_path_buf());
            }
            return fd_meta(out.as_fd(), &stat, &xattrs, shown);
        }
        Err(ArchiveError::Refused(format!(
            "{}: kept changing while it was copied",
            shown.display()
        )))
    }

    /// A reflink of the whole file, else its data segments copied (holes stay holes).
    fn content(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        stat: &Stat,
        shown: &Path,
    ) -> Result<(), ArchiveError> {
        let size = stat.st_size as u64;
        self.stats.files += 1;
        self.stats.bytes += size;
        if size == 0 {
            return Ok(());
        }
        if rustix::fs::ioctl_ficlone(dst, src).is_ok() {
            self.stats.reflinked += 1;
            return Ok(());
        }
        let file = std::fs::File::from(src.try_clone().at(shown)?);
        let segments = crate::sparse::data_segments(&file, size).unwrap_or_else(|| vec![(0, size)]);
        for (start, len) in segments {
            let (mut from, mut to) = (start, start);
            let end = start + len;
            while from < end {
                let want = usize::try_from(end - from).unwrap_or(usize::MAX);
                match rustix::fs::copy_file_range(src, Some(&mut from), dst, Some(&mut to), want) {
                    // The source shrank while we copied: the rest is what it is now.
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(Errno::INTR) => {}
                    Err(e) => return Err(ArchiveError::io(shown, e)),
                }
            }
        }
        rustix::fs::ftruncate(dst, size).at(shown)
    }

    /// Symlinks, devices and fifos: made anew, with the source's metadata.
    fn special(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &OsStr,
        stat: &Stat,
        shown: &Path,
        rel: &Path,
    ) -> Result<(), ArchiveError> {
        let file_type = FileType::from_raw_mode(stat.st_mode);
        let xattrs = list_xattrs(&proc_child_path(src, name)).at(shown)?;
        if file_type == FileType::Symlink {
            let target = match rustix::fs::readlinkat(src, name, Vec::new()) {
                Ok(target) => target,
                Err(Errno::NOENT) | Err(Errno::INVAL) => return Ok(()),
                Err(e) => return Err(ArchiveError::io(shown, e)),
            };
            rustix::fs::symlinkat(target.as_c_str(), dst, name).at(shown)?;
        } else {
            rustix::fs::mknodat(
                dst,
                name,
                file_type,
                Mode::from_raw_mode(0o600),
                stat.st_rdev,
            )
            .at(shown)?;
            if stat.st_nlink > 1 {
                self.links
                    .insert((stat.st_dev, stat.st_ino), rel.to_path_buf());
            }
        }
        let (uid, gid) = owner(stat.st_uid, stat.st_gid);
        rustix::fs::chownat(dst, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW).at(shown)?;
        if file_type != FileType::Symlink {
            rustix::fs::chmodat(
                dst,
                name,
                Mode::from_raw_mode(stat.st_mode & 0o7777),
                AtFlags::empty(),
            )
            .at(shown)?;
        }
        let path = proc_child_path(dst, name);
        for (key, value) in &xattrs {
            rustix::fs::lsetxattr(&path, key.as_str(), value, XattrFlags::empty()).at(shown)?;
        }
        rustix::fs::utimensat(dst, name, &times(stat), AtFlags::SYMLINK_NOFOLLOW).at(shown)
    }
}

fn times(stat: &Stat) -> rustix::fs::Timestamps {
    let mut t = timestamps(stat.st_mtime as i64, stat.st_mtime_nsec as u32);
    t.last_access = rustix::fs::Timespec {
        tv_sec: stat.st_atime as i64,
        tv_nsec: stat.st_atime_nsec as _,
    };
    t
}

/// Owner, then mode (a chown clears setuid bits), then xattrs (it clears file capabilities), then times.
fn fd_meta(
    fd: BorrowedFd<'_>,
    stat: &Stat,
    xattrs: &[(String, Vec<u8>)],
    shown: &Path,
) -> Result<(), ArchiveError> {
    let (uid, gid) = owner(stat.st_uid, stat.st_gid);
    rustix::fs::fchown(fd, uid, gid).at(shown)?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(stat.st_mode & 0o7777)).at(shown)?;
    for (key, value) in xattrs {
        rustix::fs::fsetxattr(fd, key.as_str(), value, XattrFlags::empty()).at(shown)?;
    }
    rustix::fs::futimens(fd, &times(stat)).at(shown)
}
