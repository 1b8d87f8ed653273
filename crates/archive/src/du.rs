//! `du`-style disk usage for `system df`: allocated bytes (st_blocks × 512) of a tree, the top directory
//! included, hard-linked inodes counted once, symlinks not followed. The walk is fd-relative (getdents + fstatat
//! on names), so no path strings are built per file; `cp`'s progress total ([`crate::CopyProgress`]) sums the
//! same walk with its own size of an entry.

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};

use crate::error::{ArchiveError, At};
use crate::fsutil::{dir_entries_typed, open_dir_at};

/// Bytes used under `dir`, like `du -sB1 dir`.
pub fn disk_usage(dir: &Path) -> Result<u64, ArchiveError> {
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(dir)?;
    let stat = rustix::fs::fstat(&fd).at(dir)?;
    let mut seen = HashSet::new();
    Ok(allocated(&stat) + sum_of_children(fd.as_fd(), dir, &mut seen, allocated)?)
}

fn allocated(stat: &Stat) -> u64 {
    stat.st_blocks as u64 * 512
}

/// The sum of `size` over the tree under `dir` (not `dir` itself), a hard-linked inode once.
pub(crate) fn sum_of_children(
    dir: BorrowedFd<'_>,
    shown: &Path,
    seen: &mut HashSet<(u64, u64)>,
    size: fn(&Stat) -> u64,
) -> Result<u64, ArchiveError> {
    let mut total = 0u64;
    for (name, _) in dir_entries_typed(dir).at(shown)? {
        let stat = match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            // Removed while we walk: it no longer uses space.
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(ArchiveError::io(shown.join(&name), e)),
        };
        if stat.st_nlink > 1
            && FileType::from_raw_mode(stat.st_mode) != FileType::Directory
            && !seen.insert((stat.st_dev, stat.st_ino))
        {
            continue;
        }
        total += size(&stat);
        if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
            let child = open_dir_at(dir, &name).at(shown.join(&name))?;
            total += sum_of_children(child.as_fd(), &shown.join(&name), seen, size)?;
        }
    }
    Ok(total)
}
