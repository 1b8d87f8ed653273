//! The layer store: each distinct layer unpacked exactly once, shared by every
//! image and container that stacks it (containerd's Snapshotter, reduced to
//! what overlayfs needs).
//!
//! Terms:
//! * **diff_id**: sha256 of a layer's uncompressed tar stream;
//! * **chain ID**: the identity of a layer *in its stack*, per the OCI image spec:
//!   `chain(1) = diff_id(1)`, `chain(n) = sha256(chain(n-1) + " " + diff_id(n))`.
//!   Two images that share their bottom layers share those chain IDs, hence dirs;
//! * **layer dir**: `layers/<chain hex>/`, the unpacked content with overlay
//!   whiteouts, used read-only as an overlay lowerdir;
//! * **layer blob**: the layer as it arrived (compressed or not), kept in
//!   `blobs/` so `save` reproduces the bytes whose digest is the diff_id.
//!
//! Lifecycle:
//! 1. *ensure*: a writer (import, load, commit) holds the content lock shared and
//!    the layer's chain lock exclusively, unpacks into `tmp/` and renames the
//!    result to `layers/<hex>/` — unless a row for that chain ID exists, in which
//!    case nothing is unpacked. The chain lock is held until the rows are
//!    committed, so two concurrent loads of one layer unpack it once.
//! 2. *reference*: the `layers` row is inserted in the same transaction as the
//!    `images`/`image_layers` rows that use it; containers add
//!    `container_layers` rows. A layer dir without a row is garbage.
//! 3. *gc* ([`gc`]): with the content lock held exclusively (no writer between
//!    its rename and its commit), rows nobody references are deleted, then their
//!    dirs and every dir without a row, then unreferenced blobs.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_store::rusqlite::{params, OptionalExtension, Transaction};
use berth_store::{FileLock, Store};
use sha2::{Digest, Sha256};

use crate::blobs::{digest_hex, Blobs};
use crate::error::At;
use crate::ImageError;

/// Media types recorded for layer blobs.
pub const MEDIA_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// Hidden directory below `layers/` for lock files; gc never sweeps it.
pub(crate) const LOCKS_DIR: &str = ".locks";

/// The OCI chain IDs of a stack of diff_ids (bottom first).
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chain: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match chain.last() {
            None => diff_id.clone(),
            Some(parent) => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{parent} {diff_id}").as_bytes()))
            ),
        };
        chain.push(next);
    }
    chain
}

/// Media type of a layer blob judged from its first bytes.
pub fn sniff_media_type(magic: &[u8]) -> &'static str {
    if magic.starts_with(&[0x1f, 0x8b]) {
        MEDIA_TAR_GZIP
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        MEDIA_TAR_ZSTD
    } else {
        MEDIA_TAR
    }
}

/// One `layers` row.
#[derive(Debug, Clone)]
pub struct LayerRow {
    pub chain_id: String,
    pub diff_id: String,
    pub parent: Option<String>,
    pub size: u64,
    pub blob_digest: String,
    pub blob_media_type: String,
}

impl LayerRow {
    pub fn dir_name(&self) -> Result<&str, ImageError> {
        digest_hex(&self.chain_id)
    }
}

pub(crate) fn insert_row(tx: &Transaction, row: &LayerRow) -> Result<(), ImageError> {
    tx.execute(
        "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, dir, blob_digest, \
         blob_media_type, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            row.chain_id,
            row.diff_id,
            row.parent,
            row.size as i64,
            row.dir_name()?,
            row.blob_digest,
            row.blob_media_type,
            berth_store::now_rfc3339()
        ],
    )?;
    Ok(())
}

pub(crate) fn find_row(store: &Store, chain_id: &str) -> Result<Option<LayerRow>, ImageError> {
    Ok(store
        .db()
        .query_row(
            "SELECT chain_id, diff_id, parent, size, blob_digest, blob_media_type FROM layers \
             WHERE chain_id = ?1",
            [chain_id],
            |r| {
                Ok(LayerRow {
                    chain_id: r.get(0)?,
                    diff_id: r.get(1)?,
                    parent: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    blob_digest: r.get(4)?,
                    blob_media_type: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// flock(2) on `layers/.locks/content.lock`: writers share it, gc excludes them.
pub(crate) struct ContentLock {
    _file: File,
}

impl ContentLock {
    pub(crate) fn shared(store: &Store) -> Result<ContentLock, ImageError> {
        Self::take(store, libc::LOCK_SH)
    }

    pub(crate) fn exclusive(store: &Store) -> Result<ContentLock, ImageError> {
        Self::take(store, libc::LOCK_EX)
    }

    /// The exclusive lock if no writer holds the shared one right now.
    fn try_exclusive(store: &Store) -> Result<Option<ContentLock>, ImageError> {
        match Self::take(store, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(lock) => Ok(Some(lock)),
            Err(ImageError::Io { source, .. }) if source.kind() == io::ErrorKind::WouldBlock => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn take(store: &Store, op: libc::c_int) -> Result<ContentLock, ImageError> {
        let path = locks_dir(store)?.join("content.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        loop {
            // SAFETY: flock on a valid fd owned by `file`, which outlives the lock.
            let r = unsafe { libc::flock(file.as_raw_fd(), op) };
            if r == 0 {
                return Ok(ContentLock { _file: file });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(ImageError::io(&path, e));
            }
        }
    }
}

fn locks_dir(store: &Store) -> Result<PathBuf, ImageError> {
    let dir = store.layers_dir().join(LOCKS_DIR);
    std::fs::create_dir_all(&dir).at(&dir)?;
    Ok(dir)
}

/// Everything one write (import, load, commit) adds before its rows commit.
/// Dropped without [`Pending::committed`], it removes the layer dirs and blobs
/// it created, so a failure leaves the store as it was.
pub(crate) struct Pending {
    pub(crate) blobs: Blobs,
    layers_dir: PathBuf,
    created_dirs: Vec<PathBuf>,
    created_blobs: Vec<String>,
    chain_locks: Vec<FileLock>,
    locked_chains: HashSet<String>,
    locks_dir: PathBuf,
    /// Layers already present (a row exists) or unpacked by this write.
    pub(crate) rows: Vec<LayerRow>,
    done: bool,
    _content: ContentLock,
    /// Until this write is over: if the process dies, the next command
    /// collects what it stored ([`gc_after_crash`]).
    _unfinished: berth_store::Unfinished,
}

impl Pending {
    pub(crate) fn begin(store: &Store) -> Result<Pending, ImageError> {
        let content = ContentLock::shared(store)?;
        Ok(Pending {
            blobs: Blobs::new(store),
            layers_dir: store.layers_dir(),
            created_dirs: Vec::new(),
            created_blobs: Vec::new(),
            chain_locks: Vec::new(),
            locked_chains: HashSet::new(),
            locks_dir: locks_dir(store)?,
            rows: Vec::new(),
            done: false,
            _content: content,
            _unfinished: store.mark_unfinished(UNFINISHED)?,
        })
    }

    /// Records a blob this write added (removed again on failure).
    pub(crate) fn created_blob(&mut self, digest: &str, created: bool) {
        if created {
            self.created_blobs.push(digest.to_string());
        }
    }

    /// Takes the chain lock of `chain_id` (kept until this write ends) and tells
    /// whether the layer is already stored.
    pub(crate) fn lock_chain(
        &mut self,
        store: &Store,
        chain_id: &str,
    ) -> Result<Option<LayerRow>, ImageError> {
        let path = self
            .locks_dir
            .join(format!("{}.lock", digest_hex(chain_id)?));
        // flock is per open file: locking the same chain twice from one
        // process would wait for itself.
        if self.locked_chains.insert(chain_id.to_string()) {
            self.chain_locks.push(FileLock::acquire(&path)?);
        }
        if let Some(row) = self.rows.iter().find(|r| r.chain_id == chain_id) {
            return Ok(Some(row.clone()));
        }
        find_row(store, chain_id)
    }

    /// Moves a freshly unpacked layer (a staging dir under `tmp/`) into place as
    /// the dir of `row`. The caller holds the chain lock and found no row.
    pub(crate) fn install(&mut self, staging: StagingDir, row: LayerRow) -> Result<(), ImageError> {
        let target = self.layers_dir.join(row.dir_name()?);
        if target.exists() {
            // No row but a dir: a writer died between rename and commit.
            std::fs::remove_dir_all(&target).at(&target)?;
        }
        std::fs::rename(&staging.path, &target).at(&target)?;
        staging.disarm();
        self.created_dirs.push(target);
        self.rows.push(row);
        Ok(())
    }

    /// Records a layer that is already stored.
    pub(crate) fn reuse(&mut self, row: LayerRow) {
        if !self.rows.iter().any(|r| r.chain_id == row.chain_id) {
            self.rows.push(row);
        }
    }

    pub(crate) fn insert_rows(&self, tx: &Transaction) -> Result<(), ImageError> {
        for row in &self.rows {
            insert_row(tx, row)?;
        }
        Ok(())
    }

    /// The rows are committed: keep everything.
    pub(crate) fn committed(mut self) {
        self.done = true;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        for dir in &self.created_dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
        for digest in &self.created_blobs {
            let _ = self.blobs.delete(digest);
        }
    }
}

/// A directory under `tmp/` removed on drop unless moved into place.
pub(crate) struct StagingDir {
    pub(crate) path: PathBuf,
    armed: bool,
}

impl StagingDir {
    pub(crate) fn new(store: &Store, purpose: &str) -> Result<StagingDir, ImageError> {
        Ok(StagingDir {
            path: store.staging_dir(purpose)?,
            armed: true,
        })
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Docker's `directory.Size`: bytes of every non-directory entry (a symlink
/// counts its target's length), each hard-linked inode once.
pub fn dir_size(dir: &Path) -> Result<u64, ImageError> {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).at(&current)? {
            let entry = entry.at(&current)?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).at(&path)?;
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            total += meta.len();
        }
    }
    Ok(total)
}

/// A layer removed by [`gc`].
#[derive(Debug, Clone)]
pub struct RemovedLayer {
    pub chain_id: String,
    pub size: u64,
}

/// The kind of unfinished write an image write marks (see
/// `berth_store::staging`).
const UNFINISHED: &str = "image";

/// If an image write died before its commit since the last collection,
/// collects what it stored ([`gc`]) — unless a write is under way now, in
/// which case a later command does (never waiting for it).
pub fn gc_after_crash(store: &mut Store) -> Result<(), ImageError> {
    if !store.unfinished(UNFINISHED) {
        return Ok(());
    }
    let Some(lock) = ContentLock::try_exclusive(store)? else {
        return Ok(());
    };
    collect(store, lock)?;
    store.finished(UNFINISHED);
    Ok(())
}

/// Deletes every layer no image or container refers to, every layer dir without
/// a row, and every blob nothing refers to. Returns the removed layers.
pub fn gc(store: &mut Store) -> Result<Vec<RemovedLayer>, ImageError> {
    let lock = ContentLock::exclusive(store)?;
    collect(store, lock)
}

fn collect(store: &mut Store, _lock: ContentLock) -> Result<Vec<RemovedLayer>, ImageError> {
    let removed = store.write(|tx| -> Result<Vec<RemovedLayer>, ImageError> {
        let mut stmt = tx.prepare(
            "SELECT chain_id, size FROM layers WHERE \
             chain_id NOT IN (SELECT chain_id FROM image_layers) AND \
             chain_id NOT IN (SELECT chain_id FROM container_layers) AND \
             chain_id NOT IN (SELECT chain_id FROM container_image_mounts)",
        )?;
        let removed = stmt
            .query_map([], |r| {
                Ok(RemovedLayer {
                    chain_id: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        for layer in &removed {
            tx.execute("DELETE FROM layers WHERE chain_id = ?1", [&layer.chain_id])?;
        }
        Ok(removed)
    })?;

    // Dirs go after the rows are gone, so a crash in between leaves only
    // row-less dirs, which the sweep below removes next time.
    let live_dirs: HashSet<String> = query_strings(store, "SELECT dir FROM layers")?;
    let layers_dir = store.layers_dir();
    for entry in std::fs::read_dir(&layers_dir).at(&layers_dir)? {
        let entry = entry.at(&layers_dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == LOCKS_DIR || live_dirs.contains(&name) {
            continue;
        }
        let path = entry.path();
        std::fs::remove_dir_all(&path).at(&path)?;
    }
    let locks = layers_dir.join(LOCKS_DIR);
    if let Ok(entries) = std::fs::read_dir(&locks) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(hex) = name.strip_suffix(".lock") {
                if hex.len() == 64 && !live_dirs.contains(hex) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    let mut live_blobs: HashSet<String> = query_strings(store, "SELECT id FROM images")?;
    live_blobs.extend(query_strings(
        store,
        "SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL",
    )?);
    live_blobs.extend(query_strings(store, "SELECT blob_digest FROM layers")?);
    let blobs_dir = store.blobs_dir();
    for entry in std::fs::read_dir(&blobs_dir).at(&blobs_dir)? {
        let entry = entry.at(&blobs_dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !live_blobs.contains(&format!("sha256:{name}")) {
            let path = entry.path();
            std::fs::remove_file(&path).at(&path)?;
        }
    }
    Ok(removed)
}

/// Every layer's size and every image's layers, for `system df`.
#[derive(Debug, Clone, Default)]
pub struct LayerUsage {
    /// Size by chain ID.
    pub sizes: HashMap<String, u64>,
    /// Chain IDs by image ID, bottom first.
    pub by_image: HashMap<String, Vec<String>>,
}

pub fn usage(store: &Store) -> Result<LayerUsage, ImageError> {
    let db = store.db();
    let mut stmt = db.prepare("SELECT chain_id, size FROM layers")?;
    let sizes = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<HashMap<_, _>, _>>()?;
    let mut stmt = db.prepare("SELECT image_id, chain_id FROM image_layers ORDER BY position")?;
    let mut by_image: HashMap<String, Vec<String>> = HashMap::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (image, layer) = row?;
        by_image.entry(image).or_default().push(layer);
    }
    Ok(LayerUsage { sizes, by_image })
}

pub(crate) fn query_strings(store: &Store, sql: &str) -> Result<HashSet<String>, ImageError> {
    let mut stmt = store.db().prepare(sql)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<HashSet<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_oci_spec() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        let expected = format!(
            "sha256:{}",
            hex::encode(Sha256::digest(format!("{a} {b}").as_bytes()))
        );
        assert_eq!(chain[1], expected);
    }
}
