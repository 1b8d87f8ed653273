//! Who owns what is in `tmp/`.
//!
//! Every process that stages something gets its own directory
//! `tmp/own-RAND/` and holds an flock on `tmp/own-RAND.lock` for as long as
//! it lives ([`Owner`], made on first use by `Store::tmp_dir`). Everything
//! it builds (a container's directory, a layer, a blob, a commit's tar, a
//! removed container's files) is made inside that directory, so a staging
//! entry always names its owner, and the kernel drops the lock when the
//! owner dies however it dies. [`sweep`] (run by every `Store::open`) removes
//! the directory of every owner whose lock it can take — at once, never a
//! live owner's — and the stray lock files of finished ones.
//!
//! A process that renames something out of its directory into the root
//! before the row that refers to it commits first leaves a **claim** in its
//! directory ([`Claim`], removed once the row is committed): the sweep
//! removes a claimed container directory that has no row, so a crash between
//! the rename and the commit leaves no orphan under `containers/`.
//!
//! A process whose crash would leave garbage outside `tmp/` that only a
//! library knows how to collect (blobs and layers an image write stored
//! before its rows committed) marks the write **unfinished** ([`Unfinished`])
//! while it runs: when the sweep finds the mark in a dead owner's directory
//! it leaves `tmp/KIND.unfinished` behind, and the next command that opens
//! the engine has that library collect it (`Store::unfinished`).
//!
//! Entries without an owner (made by an older berth) are swept once they are
//! a day old, as before.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::{new_id, perms, FileLock, LockError, StoreError};

/// Name prefix of an owner's directory (its lock: the same name + `.lock`).
pub const OWNER_PREFIX: &str = "own-";
const LOCK_SUFFIX: &str = ".lock";
const CLAIM_PREFIX: &str = "claim-container-";
const UNFINISHED_PREFIX: &str = "unfinished-";
/// Suffix of the flag a dead owner's unfinished write leaves in `tmp/`.
pub(crate) const UNFINISHED_SUFFIX: &str = ".unfinished";

/// How long an entry without an owner may sit untouched before it counts as
/// a crash's leftover.
pub(crate) const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// This process's staging directory and the lock that says it is alive.
#[derive(Debug)]
pub(crate) struct Owner {
    dir: PathBuf,
    lock: Option<FileLock>,
}

impl Owner {
    /// Creates `tmp/own-RAND/`, its lock taken before the directory exists
    /// so the directory is never seen without a live owner.
    pub(crate) fn create(tmp: &Path) -> Result<Owner, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        // Another process's sweep may hold a just-made lock file for a
        // moment (between our open and our flock it looks like a finished
        // owner's): try again under a fresh name.
        let mut attempt = 0;
        let (name, lock) = loop {
            let name = format!("{OWNER_PREFIX}{}", &new_id()[..16]);
            match FileLock::try_acquire(&tmp.join(format!("{name}{LOCK_SUFFIX}"))) {
                Ok(lock) => break (name, lock),
                Err(LockError::WouldBlock { .. }) if attempt < 8 => attempt += 1,
                Err(e) => return Err(lock_error(e)),
            }
        };
        let dir = tmp.join(name);
        std::fs::DirBuilder::new()
            .mode(perms::PRIVATE_DIR_MODE)
            .create(&dir)
            .map_err(|e| StoreError::io(&dir, e))?;
        Ok(Owner {
            dir,
            lock: Some(lock),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(lock) = self.lock.take() {
            lock.remove();
        }
    }
}

fn lock_error(e: LockError) -> StoreError {
    match e {
        LockError::Io { path, source } => StoreError::io(path, source),
        LockError::WouldBlock { path } => {
            StoreError::io(path, std::io::Error::from(std::io::ErrorKind::WouldBlock))
        }
    }
}

/// A container directory renamed into `containers/` whose row is not
/// committed yet. Drop it once the row is committed (or the directory is
/// gone again).
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
}

impl Claim {
    pub(crate) fn container(owner: &Path, id: &str) -> Result<Claim, StoreError> {
        let path = owner.join(format!("{CLAIM_PREFIX}{id}"));
        std::fs::write(&path, b"").map_err(|e| StoreError::io(&path, e))?;
        Ok(Claim { path })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A write of `kind` in progress (see the module's doc); dropped when the
/// write is over, committed or undone.
#[derive(Debug)]
pub struct Unfinished {
    path: PathBuf,
}

impl Unfinished {
    pub(crate) fn mark(owner: &Path, kind: &str) -> Result<Unfinished, StoreError> {
        let path = owner.join(format!("{UNFINISHED_PREFIX}{kind}-{}", &new_id()[..8]));
        std::fs::write(&path, b"").map_err(|e| StoreError::io(&path, e))?;
        Ok(Unfinished { path })
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The kinds of unfinished writes a dead owner's directory holds.
fn unfinished_kinds(owner: &Path) -> Vec<String> {
    names_after(owner, UNFINISHED_PREFIX)
        .into_iter()
        .map(|rest| {
            rest.rsplit_once('-')
                .map_or(rest.as_str(), |(k, _)| k)
                .to_string()
        })
        .collect()
}

/// The names in `dir` that start with `prefix`, without it.
fn names_after(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(prefix).map(String::from)
        })
        .collect()
}

/// What is in `tmp/` that nobody alive owns, found by [`dead_staging`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadStaging {
    /// An owner's directory (or its stray lock) whose owner is dead.
    Owner(PathBuf),
    /// A container directory claimed by a dead owner and without a row.
    Container(PathBuf),
}

/// Container ids claimed by live owners: their directories may exist
/// without a row for a moment.
pub fn live_claims(tmp: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for (dir, lock) in owners(tmp) {
        if FileLock::is_held(&lock) {
            ids.extend(claims(&dir));
        }
    }
    ids
}

/// Owner directories and lock files in `tmp` (a lock with no directory is
/// listed too, with its would-be directory).
fn owners(tmp: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(LOCK_SUFFIX)?;
            Some((tmp.join(stem), e.path()))
        })
        .collect()
}

fn claims(owner: &Path) -> Vec<String> {
    names_after(owner, CLAIM_PREFIX)
}

fn has_row(conn: &Connection, id: &str) -> bool {
    conn.query_row("SELECT 1 FROM containers WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
        // When in doubt, keep it.
        .unwrap_or(true)
}

/// What [`sweep`] would remove now: staging of dead owners and the
/// row-less container directories they claimed. Takes each dead owner's
/// lock to look, and lets it go.
pub fn dead_staging(root: &Path, conn: &Connection) -> Vec<DeadStaging> {
    let mut found = Vec::new();
    for (dir, lock_path) in owners(&root.join("tmp")) {
        let Ok(_lock) = FileLock::try_acquire(&lock_path) else {
            continue;
        };
        for id in claims(&dir) {
            let claimed = root.join("containers").join(&id);
            if claimed.exists() && !has_row(conn, &id) {
                found.push(DeadStaging::Container(claimed));
            }
        }
        found.push(DeadStaging::Owner(if dir.exists() {
            dir
        } else {
            lock_path
        }));
    }
    found
}

/// Removes the staging of every dead owner (and the row-less container
/// directories it claimed), and unowned entries older than a day. Best
/// effort: a failure here must not keep berth from starting.
pub fn sweep(root: &Path, conn: &Connection) {
    let tmp = root.join("tmp");
    for (dir, lock_path) in owners(&tmp) {
        let Ok(lock) = FileLock::try_acquire(&lock_path) else {
            continue;
        };
        for id in claims(&dir) {
            let claimed = root.join("containers").join(&id);
            if claimed.exists() && !has_row(conn, &id) {
                let _ = std::fs::remove_dir_all(&claimed);
            }
        }
        let flagged = unfinished_kinds(&dir).iter().all(|kind| {
            std::fs::write(tmp.join(format!("{kind}{UNFINISHED_SUFFIX}")), b"").is_ok()
        });
        if !flagged {
            // Keep the evidence for the next sweep.
            continue;
        }
        remove_entry(&dir);
        lock.remove();
    }
    sweep_unowned(&tmp);
}

fn remove_entry(path: &Path) {
    let _ = match path.symlink_metadata() {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    };
}

/// Entries that are neither an owner's directory nor a lock, untouched for
/// [`STALE_AFTER`].
fn sweep_unowned(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(LOCK_SUFFIX)
            || name.ends_with(UNFINISHED_SUFFIX)
            || name.starts_with(OWNER_PREFIX)
        {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if stale {
            remove_entry(&entry.path());
        }
    }
}
