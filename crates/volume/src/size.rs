//! The apparent size of a volume's data, as `system df` and prune report it.

use std::path::{Path, PathBuf};

use crate::VolumeError;

/// Bytes used by a directory tree (apparent file sizes, hard links counted
/// once, as Docker's `system df` counts a volume), never entering a mount below
/// it nor following symlinks.
///
/// Built for volumes with many files: directories are read with getdents on
/// fds and files are stat'ed by name relative to them (no path per file), by
/// several threads sharing one queue of directories. Every directory is opened
/// with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)`
/// relative to the top, so a container renaming things meanwhile can neither
/// lead the walk out of the volume nor into another mount.
pub fn apparent_size(path: &Path) -> Result<u64, VolumeError> {
    use rustix::fs::{Mode, OFlags};
    let top = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| VolumeError::io(path, e.into()))?;
    let queue = size_walk::Queue::new(PathBuf::from("."));
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    let results: Vec<Result<size_walk::Tally, VolumeError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| size_walk::worker(&top, path, &queue)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(VolumeError::io(
                        path,
                        std::io::Error::other("size walk thread panicked"),
                    ))
                })
            })
            .collect()
    });
    let mut total = 0u64;
    let mut linked = std::collections::HashMap::new();
    for tally in results {
        let tally = tally?;
        total += tally.single;
        linked.extend(tally.linked);
    }
    Ok(total + linked.values().sum::<u64>())
}

mod size_walk {
    //! The shared directory queue and worker loop of [`super::apparent_size`].

    use std::collections::HashMap;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::sync::{Condvar, Mutex};

    use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    use crate::VolumeError;

    /// What one worker counted: files with one link, and multiply-linked
    /// inodes by (dev, ino) so they are counted once overall.
    #[derive(Default)]
    pub struct Tally {
        pub single: u64,
        pub linked: HashMap<(u64, u64), u64>,
    }

    /// Directories (relative to the top) waiting to be read, and how many
    /// workers are reading one now; the walk is over when both are zero.
    pub struct Queue {
        state: Mutex<(Vec<PathBuf>, usize)>,
        changed: Condvar,
    }

    impl Queue {
        pub fn new(first: PathBuf) -> Queue {
            Queue {
                state: Mutex::new((vec![first], 0)),
                changed: Condvar::new(),
            }
        }

        fn take(&self) -> Option<PathBuf> {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(dir) = state.0.pop() {
                    state.1 += 1;
                    return Some(dir);
                }
                if state.1 == 0 {
                    return None;
                }
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
        }

        fn push(&self, dirs: Vec<PathBuf>) {
            if dirs.is_empty() {
                return;
            }
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.0.extend(dirs);
            self.changed.notify_all();
        }

        fn done(&self) {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.1 -= 1;
            if state.1 == 0 && state.0.is_empty() {
                self.changed.notify_all();
            }
        }

        /// Empties the queue so the other workers stop after an error.
        fn abort(&self) {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.0.clear();
            state.1 -= 1;
            self.changed.notify_all();
        }
    }

    pub fn worker(top: &OwnedFd, shown: &Path, queue: &Queue) -> Result<Tally, VolumeError> {
        let mut tally = Tally::default();
        while let Some(rel) = queue.take() {
            match read_dir(top, shown, &rel, &mut tally) {
                Ok(subdirs) => {
                    queue.push(subdirs);
                    queue.done();
                }
                Err(e) => {
                    queue.abort();
                    return Err(e);
                }
            }
        }
        Ok(tally)
    }

    /// Counts the files of one directory and returns its subdirectories.
    fn read_dir(
        top: &OwnedFd,
        shown: &Path,
        rel: &Path,
        tally: &mut Tally,
    ) -> Result<Vec<PathBuf>, VolumeError> {
        let io = |path: &Path, e: Errno| VolumeError::io(&shown.join(path), e.into());
        let dir = match rustix::fs::openat2(
            top,
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV,
        ) {
            Ok(fd) => fd,
            // Another mount (EXDEV), replaced by a link (ELOOP), a file
            // (ENOTDIR) or removed meanwhile (ENOENT): not part of the volume.
            Err(Errno::XDEV | Errno::LOOP | Errno::NOTDIR | Errno::NOENT) => return Ok(Vec::new()),
            Err(e) => return Err(io(rel, e)),
        };
        let mut subdirs = Vec::new();
        let mut entries = Dir::read_from(&dir).map_err(|e| io(rel, e))?;
        while let Some(entry) = entries.read() {
            let entry = entry.map_err(|e| io(rel, e))?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            let child = || rel.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
            if entry.file_type() == FileType::Directory {
                subdirs.push(child());
                continue;
            }
            let stat = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(io(&child(), e)),
            };
            if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
                // The filesystem gave no type in the entry (DT_UNKNOWN).
                subdirs.push(child());
            } else if stat.st_nlink > 1 {
                tally
                    .linked
                    .insert((stat.st_dev, stat.st_ino), stat.st_size as u64);
            } else {
                tally.single += stat.st_size as u64;
            }
        }
        Ok(subdirs)
    }
}
