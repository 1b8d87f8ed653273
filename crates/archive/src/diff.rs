//! `docker diff`: what a container changed, read from its overlay upperdir against the image's lowerdirs.
//!
//! Rules (Docker's overlay change detection): a whiteout (0/0 char device) in the upper dir is a deletion (D) of
//! that path; any other upper entry is a change (C) if the path exists in the lower stack, else an addition (A);
//! every ancestor directory of a change is reported C (what `docker diff` prints on overlay2: e.g. `rm
//! /var/lib/old` gives `C /var`, `C /var/lib`, `D /var/lib/old`). Lower lookups never follow symlinks out of a
//! lower dir.

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::error::{ArchiveError, At};
use crate::fsutil::{dir_entries, open_dir_at};
use crate::inroot::{open_root, openat_in_root, split_leaf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Deleted,
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeKind::Added => "A",
            ChangeKind::Changed => "C",
            ChangeKind::Deleted => "D",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    /// Absolute path inside the container, e.g. "/etc/x".
    pub path: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}

/// Changes recorded in `upper` relative to `lowers` (top-most first), sorted by path.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, ArchiveError> {
    let upper_fd = rustix::fs::open(
        upper,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(upper)?;
    let lower_fds = lowers
        .iter()
        .map(|lower| open_root(lower))
        .collect::<Result<Vec<_>, _>>()?;
    let mut walk = Walk {
        lowers: &lower_fds,
        found: BTreeMap::new(),
    };
    walk.dir(upper_fd.as_fd(), "", upper)?;
    Ok(walk
        .found
        .into_iter()
        .map(|(path, kind)| Change { kind, path })
        .collect())
}

struct Walk<'a> {
    lowers: &'a [OwnedFd],
    /// path → kind; a BTreeMap keeps the result sorted and lets a parent's C be recorded once.
    found: BTreeMap<String, ChangeKind>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: BorrowedFd<'_>, prefix: &str, shown: &Path) -> Result<(), ArchiveError> {
        for name in dir_entries(dir).at(shown)? {
            let path = format!("{prefix}/{}", String::from_utf8_lossy(name.as_bytes()));
            let stat = match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(ArchiveError::io(shown.join(&name), e)),
            };
            let file_type = FileType::from_raw_mode(stat.st_mode);
            let kind = if file_type == FileType::CharacterDevice && stat.st_rdev == 0 {
                ChangeKind::Deleted
            } else if self.in_lowers(&path)? {
                // Anything in the upper dir that exists below was modified — directories included: they only
                // reach the upper dir through a copy-up, i.e. because something in them changed.
                ChangeKind::Changed
            } else {
                ChangeKind::Added
            };
            self.found.entry(path.clone()).or_insert(kind);
            // Ancestors of a change are changed directories (normally in the upper dir already; this also covers
            // upper dirs that lack them).
            let mut ancestor = prefix;
            while !ancestor.is_empty() {
                self.found
                    .entry(ancestor.to_string())
                    .or_insert(ChangeKind::Changed);
                ancestor = &ancestor[..ancestor.rfind('/').unwrap_or(0)];
            }
            if file_type == FileType::Directory {
                let child = open_dir_at(dir, &name).at(shown.join(&name))?;
                self.dir(child.as_fd(), &path, &shown.join(&name))?;
            }
        }
        Ok(())
    }

    /// Whether `path` exists in the lower stack: decided by the top-most lower that has an entry there (a
    /// whiteout there means "deleted below", i.e. absent).
    fn in_lowers(&self, path: &str) -> Result<bool, ArchiveError> {
        let Some((parent, leaf)) = split_leaf(Path::new(path)) else {
            return Ok(false);
        };
        for lower in self.lowers {
            let parent_fd = match openat_in_root(
                lower.as_fd(),
                &parent,
                OFlags::PATH | OFlags::DIRECTORY,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => continue,
                Err(e) => return Err(ArchiveError::io(path, e)),
            };
            match rustix::fs::statat(&parent_fd, leaf, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => {
                    let whiteout = FileType::from_raw_mode(stat.st_mode)
                        == FileType::CharacterDevice
                        && stat.st_rdev == 0;
                    return Ok(!whiteout);
                }
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(ArchiveError::io(path, e)),
            }
        }
        Ok(false)
    }
}
