//! `--userns=auto`'s pool is host-wide: every berth root on the host hands
//! out ranges from the same subordinate ids (user `berth`'s), so a range
//! must be free in every root, not only in the one creating the container.
//!
//! A root taking a range holds [`LOCK`] (`flock`) from its plan until its
//! insert commits, and meanwhile registers itself in [`ROOTS`] (one file per
//! root, named by a hash of its path, holding the path) and reads the
//! ranges every other registered root's database holds (`container_userns`,
//! read-only). The rows stay the only record of a range: a crash leaks
//! nothing, a registered root that no longer has a database is dropped from
//! the registry, and the registry lives on disk (a root's stopped
//! containers hold their ranges across reboots).

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use berth_container::userns::{self, Range};
use berth_container::{ContainerError, Result};

/// The host-wide lock around taking a range.
const LOCK: &str = "/run/berth/userns.lock";
/// The roots that took a range: `<hash>` files holding a root's path.
const ROOTS: &str = "/var/lib/berth-userns/roots";

/// The pool's lock, held until the container's row committed (dropped).
#[derive(Debug)]
pub(crate) struct PoolLock {
    _file: std::fs::File,
    /// This root, registered; its own ranges come from its transaction.
    root: PathBuf,
}

/// A stable name for `root`'s registry file (FNV-1a, 64 bits).
fn entry_name(root: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let hash = root
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
}

/// Takes the pool's lock (waiting for another root's create) and registers
/// `root` in the registry.
pub(crate) fn lock(root: &Path) -> Result<PoolLock> {
    let run = Path::new(LOCK).parent().unwrap_or(Path::new("/run"));
    std::fs::create_dir_all(run).map_err(|e| ContainerError::io(run, e))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)
        .map_err(|e| ContainerError::io(Path::new(LOCK), e))?;
    rustix::fs::flock(file.as_fd(), rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| ContainerError::io(Path::new(LOCK), e.into()))?;
    let root = std::fs::canonicalize(root).map_err(|e| ContainerError::io(root, e))?;
    let roots = Path::new(ROOTS);
    std::fs::create_dir_all(roots).map_err(|e| ContainerError::io(roots, e))?;
    let entry = roots.join(entry_name(&root));
    if std::fs::read(&entry).ok().as_deref() != Some(root.as_os_str().as_encoded_bytes()) {
        let staged = roots.join(format!(".{}.tmp", entry_name(&root)));
        let written = std::fs::File::create(&staged)
            .and_then(|mut f| f.write_all(root.as_os_str().as_encoded_bytes()))
            .and_then(|()| std::fs::rename(&staged, &entry));
        written.map_err(|e| ContainerError::io(&entry, e))?;
    }
    Ok(PoolLock { _file: file, root })
}

/// The ranges every other registered root's containers hold; roots whose
/// database is gone leave the registry.
pub(crate) fn held_elsewhere(lock: &PoolLock) -> Result<Vec<Range>> {
    let roots = Path::new(ROOTS);
    let dir = std::fs::read_dir(roots).map_err(|e| ContainerError::io(roots, e))?;
    let mut held = Vec::new();
    for entry in dir.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(other) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let other = PathBuf::from(other);
        if other == lock.root {
            continue;
        }
        let db = other.join("berth.db");
        if !db.exists() {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        held.extend(userns::held_in(&db)?);
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_stable_and_distinct() {
        let a = entry_name(Path::new("/var/lib/berth"));
        assert_eq!(a, entry_name(Path::new("/var/lib/berth")));
        assert_ne!(a, entry_name(Path::new("/var/lib/berth2")));
        assert_eq!(a.len(), 16);
    }
}
