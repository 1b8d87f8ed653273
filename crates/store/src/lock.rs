//! Advisory file locks (flock) used for per-object mutual exclusion between berth
//! processes, and as a liveness signal: a monitor holds its container's lock for
//! its whole life, so a lock that can be taken means the monitor is gone.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is locked by another process")]
    WouldBlock { path: PathBuf },
}

impl berth_error::HasKind for LockError {
    fn kind(&self) -> berth_error::ErrorKind {
        match self {
            // Another process holds what this one needs right now.
            LockError::WouldBlock { .. } => berth_error::ErrorKind::Conflict,
            LockError::Io { .. } => berth_error::ErrorKind::Internal,
        }
    }
}

/// An exclusive flock on a file; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the lock is held.
    pub fn acquire(path: &Path) -> Result<FileLock, LockError> {
        Self::lock(path, libc::LOCK_EX)
    }

    /// Takes the lock if free, else returns [`LockError::WouldBlock`].
    pub fn try_acquire(path: &Path) -> Result<FileLock, LockError> {
        Self::lock(path, libc::LOCK_EX | libc::LOCK_NB)
    }

    /// True if some process holds the lock at `path` right now.
    /// A missing file counts as not held.
    pub fn is_held(path: &Path) -> bool {
        let Ok(file) = File::open(path) else {
            return false;
        };
        // SAFETY: flock on a valid, owned fd.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        r != 0
    }

    fn lock(path: &Path, op: libc::c_int) -> Result<FileLock, LockError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| LockError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        loop {
            // SAFETY: flock on a valid, owned fd.
            let r = unsafe { libc::flock(file.as_raw_fd(), op) };
            if r == 0 {
                // A lock file may be unlinked by whoever held it last (the
                // staging sweep does): a lock on an inode no longer at `path`
                // guards nothing, so lock the file that is there now.
                if !still_at(&file, path) {
                    return Self::lock(path, op);
                }
                return Ok(FileLock {
                    file,
                    path: path.to_path_buf(),
                });
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => {
                    return Err(LockError::WouldBlock {
                        path: path.to_path_buf(),
                    })
                }
                _ => {
                    return Err(LockError::Io {
                        path: path.to_path_buf(),
                        source: err,
                    })
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the lock file while still holding it, then releases it: a
    /// process waiting on the old file retries on a new one (see `lock`).
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// The locked file, e.g. to hand its descriptor to a child that must keep
    /// holding the lock.
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// Whether `path` still names the inode `file` has open.
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_try_fails_while_held_and_succeeds_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let held = FileLock::try_acquire(&p).unwrap();
        assert!(FileLock::is_held(&p));
        assert!(matches!(
            FileLock::try_acquire(&p),
            Err(LockError::WouldBlock { .. })
        ));
        drop(held);
        assert!(!FileLock::is_held(&p));
        FileLock::try_acquire(&p).unwrap();
    }
}
