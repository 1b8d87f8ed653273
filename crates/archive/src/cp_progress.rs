//! What a `cp` between a host path and a container reports while its tar
//! stream runs, for a front end's progress: roughly how many bytes the
//! stream will take (before it starts), then the bytes as they pass.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Stat};

use crate::du::sum_of_children;
use crate::error::{ArchiveError, At};
use crate::fsutil::open_dir_at;

/// Receives a copy's progress; the stream is written on a thread of its
/// own, hence `Sync`.
pub trait CopyProgress: Sync {
    /// The tar stream will take about `bytes` (an estimate: headers and
    /// file contents in 512-byte blocks).
    fn total(&self, bytes: u64);
    /// `bytes` more of the stream went through.
    fn copied(&self, bytes: u64);
}

/// No progress wanted.
pub struct NoProgress;

impl CopyProgress for NoProgress {
    fn total(&self, _bytes: u64) {}
    fn copied(&self, _bytes: u64) {}
}

/// Roughly the bytes of a tar of `name` in `dir`, the tree under it
/// included, with the end-of-archive blocks.
pub(crate) fn tar_size(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    shown: &Path,
) -> Result<u64, ArchiveError> {
    let stat = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).at(shown)?;
    let mut total = 1024 + entry_size(&stat);
    if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
        let top = open_dir_at(dir, name).at(shown)?;
        total += sum_of_children(top.as_fd(), shown, &mut HashSet::new(), entry_size)?;
    }
    Ok(total)
}

/// A header, and a regular file's content in whole blocks.
fn entry_size(stat: &Stat) -> u64 {
    let content = if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile {
        (stat.st_size as u64).div_ceil(512) * 512
    } else {
        0
    };
    512 + content
}

/// A writer that reports what it writes.
pub(crate) struct Counted<'p, W> {
    pub inner: W,
    pub progress: &'p dyn CopyProgress,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.copied(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
