//! The state root of berth: one directory holding a SQLite database for metadata
//! and plain directories for content.
//!
//! # Terms and lifecycle
//! * [`Store::open`] creates the root if needed, applies schema migrations and
//!   returns a handle. Every berth process (CLI, monitor, API server) opens its own
//!   handle; there is no daemon holding state.
//! * Metadata changes go through [`Store::write`], an `IMMEDIATE` SQLite
//!   transaction: concurrent berth processes serialise on it, and a crash leaves
//!   either the whole change or none of it.
//! * Content (blobs, layer directories, container layers, volumes) is built in
//!   [`Store::tmp_dir`] and renamed into place *before* the metadata that refers to
//!   it is committed. A crash leaves garbage only in `tmp/`, which
//!   [`Store::open`] sweeps once an entry has been untouched for a day (other
//!   berth processes may be staging there right now, so age is the only safe
//!   signal). A row never points at a missing directory.
//!
//! # On-disk layout (below the root)
//! ```text
//! berth.db               metadata (WAL mode); schema in `migrations`
//! blobs/sha256/HEX       content-addressed blobs (OCI image-layout semantics)
//! layers/HEX/            one unpacked layer per chain ID (overlay lowerdir)
//! containers/ID/         a container's writable layer, bundle, logs, monitor files
//! volumes/NAME/_data     named and anonymous volumes (local driver)
//! tmp/                   staging area for atomic builds; stale entries swept on open
//! ```
//!
//! The root is `0710 root:root` and the directories below it `0700`, so no
//! other user can reach anything in it ([`perms`]).

pub mod events;
mod lock;
mod migrations;
pub mod perms;

use std::path::{Path, PathBuf};

pub use lock::{FileLock, LockError};
pub use rusqlite;
use rusqlite::{Connection, TransactionBehavior};

/// Errors of the store itself. Each I/O error names the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error(
        "metadata database {path} has schema version {found}, newer than this berth ({supported})"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
}

impl StoreError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

impl berth_error::HasKind for StoreError {
    fn kind(&self) -> berth_error::ErrorKind {
        berth_error::ErrorKind::Internal
    }
}

/// A handle on a berth state root.
pub struct Store {
    root: PathBuf,
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the state root at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = root.as_ref().to_path_buf();
        // Nothing under the root is reachable by other users (see `perms`).
        perms::secure_root(&root)?;
        let blobs = root.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| StoreError::io(&blobs, e))?;
        let db_path = root.join("berth.db");
        perms::create_db_file(&db_path)?;
        let mut conn = Connection::open(&db_path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::apply(&mut conn, &db_path)?;
        sweep_stale(&root.join("tmp"));
        Ok(Store { root, conn })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Read access to the metadata. Writes go through [`Store::write`].
    pub fn db(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in an IMMEDIATE transaction and commits it if `f` succeeds.
    /// The write lock is taken up front, so two berth processes never interleave
    /// a read-check-write sequence (e.g. a container name uniqueness check).
    pub fn write<T, E>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn volumes_dir(&self) -> PathBuf {
        self.root.join("volumes")
    }
    /// Staging directory on the same filesystem as the rest of the root, so a
    /// finished build can be `rename`d into place atomically.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A fresh, uniquely named directory under [`Store::tmp_dir`], `0700`:
    /// what is renamed into place from it (a container's directory, a layer)
    /// stays private.
    pub fn staging_dir(&self, purpose: &str) -> Result<PathBuf, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        let path = self
            .tmp_dir()
            .join(format!("{purpose}-{}", &new_id()[..16]));
        std::fs::DirBuilder::new()
            .mode(perms::PRIVATE_DIR_MODE)
            .create(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(path)
    }
}

/// How long a staging entry may sit untouched before it counts as a crash's leftover.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes entries of `tmp` untouched for [`STALE_AFTER`]. Best effort: a
/// failure here must not keep berth from starting.
fn sweep_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        if stale {
            let path = entry.path();
            let _ = if meta.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// A new random 256-bit identifier as 64 lowercase hex digits (Docker's ID shape).
pub fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Current time as RFC 3339 with nanoseconds in UTC, the format Docker uses in
/// `Created`, `StartedAt` and friends.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Docker's zero time, shown for never-started containers.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_layout_and_is_reopenable() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let store = Store::open(&root).unwrap();
        for d in ["blobs/sha256", "layers", "containers", "volumes", "tmp"] {
            assert!(root.join(d).is_dir(), "{d} missing");
        }
        let v: i64 = store
            .db()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, migrations::LATEST);
        drop(store);
        Store::open(&root).unwrap();
    }

    #[test]
    fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let r: Result<(), rusqlite::Error> = store.write(|tx| {
            tx.execute(
                "INSERT INTO volumes(name, driver, created_at, anonymous) VALUES ('v','local','t',0)",
                [],
            )?;
            Err(rusqlite::Error::QueryReturnedNoRows)
        });
        assert!(r.is_err());
        let n: i64 = store
            .db()
            .query_row("SELECT count(*) FROM volumes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn open_sweeps_only_stale_staging_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let fresh = store.staging_dir("fresh").unwrap();
        let stale = store.staging_dir("stale").unwrap();
        std::fs::write(stale.join("f"), "x").unwrap();
        let old = std::time::SystemTime::now() - STALE_AFTER - std::time::Duration::from_secs(60);
        std::fs::File::open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        drop(store);
        Store::open(dir.path()).unwrap();
        assert!(
            fresh.exists(),
            "a fresh staging dir may belong to a running process"
        );
        assert!(!stale.exists());
    }

    #[test]
    fn ids_are_64_hex() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, new_id());
    }
}
