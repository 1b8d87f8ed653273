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
//!   it is committed. Each process stages in a directory of its own that
//!   names it by a held lock ([`staging`]), so a crash leaves garbage only in
//!   `tmp/`, which the next [`Store::open`] removes at once — never a live
//!   process's. A row never points at a missing directory.
//!
//! # On-disk layout (below the root)
//! ```text
//! berth.db               metadata (WAL mode); schema in `migrations`
//! blobs/sha256/HEX       content-addressed blobs (OCI image-layout semantics)
//! layers/HEX/            one unpacked layer per chain ID (overlay lowerdir)
//! containers/ID/         a container's writable layer, bundle, logs, monitor files
//! volumes/NAME/_data     named and anonymous volumes (local driver)
//! tmp/own-RAND/          one process's staging, owned by its flock on tmp/own-RAND.lock
//! ```
//!
//! The root is `0710 root:root` and the directories below it `0700`, so no
//! other user can reach anything in it ([`perms`]).

pub mod crash;
pub mod events;
mod lock;
mod migrations;
pub mod perms;
pub mod staging;

use std::path::{Path, PathBuf};

pub use lock::{FileLock, LockError};
pub use rusqlite;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, TransactionBehavior};
pub use staging::{Claim, Unfinished};

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
        "{path}: this state root was used by a newer berth (schema version {found}; this berth knows up to {supported}): refusing to open it, nothing was changed"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
}

impl StoreError {
    /// Whether this is the refusal of a root made by a newer berth.
    pub fn is_schema_too_new(&self) -> bool {
        matches!(self, StoreError::SchemaTooNew { .. })
    }

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
    /// This process's staging directory, made on first use.
    owner: std::cell::OnceCell<Option<staging::Owner>>,
}

/// How long a connection waits for another process's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The WAL length (64 pages of 4 KiB with their frame headers) past which a
/// write checkpoints it into the database and truncates it. A process that
/// opens the database while no other has it open rebuilds the WAL's index
/// by reading every frame in it, and forgets what was checkpointed already:
/// SQLite's own checkpoint (passive, at 1000 pages, the WAL restarted only
/// by the next write of the same process) would copy the whole WAL again in
/// every short process. Truncated, the WAL holds only the newest writes.
const WAL_CHECKPOINT_BYTES: u64 = 64 * (4096 + 24);

/// Whether this process has opened a connection to a database (see
/// [`Store::open`]).
static CONNECTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Store {
    /// Opens (creating if needed) the state root at `root`.
    pub fn open(root: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = root.as_ref().to_path_buf();
        let db_path = root.join("berth.db");
        // A root a newer berth made is refused before anything is touched:
        // by reading the database's header, but only while this process has
        // no connection yet. Closing any descriptor of the database file
        // drops every POSIX lock this process holds on it, SQLite's
        // included (a server's connections on other threads would lose
        // theirs); once connected, `migrations::apply` refuses it through
        // the connection instead.
        if !CONNECTED.load(std::sync::atomic::Ordering::SeqCst) {
            migrations::refuse_newer(&db_path)?;
        }
        // Nothing under the root is reachable by other users (see `perms`).
        perms::secure_root(&root)?;
        let blobs = root.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| StoreError::io(&blobs, e))?;
        perms::create_db_file(&db_path)?;
        let mut conn = Connection::open(&db_path)?;
        CONNECTED.store(true, std::sync::atomic::Ordering::SeqCst);
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Every berth command is a short process with a connection of its
        // own. By default SQLite checkpoints the WAL into the database when
        // the last connection closes, fsyncs both and deletes the WAL and
        // its index; the next process then creates them again and fsyncs
        // the new WAL's header and the directory: four fsyncs and two file
        // creations per writing command. Without the checkpoint on close
        // the WAL stays, and [`Store::write`] checkpoints it once it is
        // long. Durability is what `synchronous=NORMAL` in WAL mode gives
        // already: a commit survives a crash of the process; a power loss
        // may take the commits since the last checkpoint, never the
        // database's consistency.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )?;
        migrations::apply(&mut conn, &db_path)?;
        staging::sweep(&root, &conn);
        Ok(Store {
            root,
            conn,
            owner: std::cell::OnceCell::new(),
        })
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
        self.checkpoint_if_long();
        Ok(value)
    }

    /// Checkpoints a long WAL into the database and truncates it (see
    /// [`WAL_CHECKPOINT_BYTES`]), without waiting: while another process
    /// reads or writes, the WAL is left for a later write.
    fn checkpoint_if_long(&self) {
        let wal = self.root.join("berth.db-wal");
        if !std::fs::metadata(wal).is_ok_and(|m| m.len() >= WAL_CHECKPOINT_BYTES) {
            return;
        }
        if self.conn.busy_timeout(std::time::Duration::ZERO).is_ok() {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
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
    /// This process's staging directory (`tmp/own-RAND/`, made on first
    /// use and owned by a lock this process holds until it exits), on the
    /// same filesystem as the rest of the root so a finished build can be
    /// `rename`d into place atomically. If it cannot be made, the path is
    /// still returned and the first use reports the failure.
    pub fn tmp_dir(&self) -> PathBuf {
        let owner = self
            .owner
            .get_or_init(|| staging::Owner::create(&self.shared_tmp_dir()).ok());
        match owner {
            Some(owner) => owner.dir().to_path_buf(),
            None => {
                let unowned = self.shared_tmp_dir().join("unowned");
                let _ = std::fs::create_dir_all(&unowned);
                unowned
            }
        }
    }

    /// `tmp/` itself: for locks every berth process must find by name.
    pub fn shared_tmp_dir(&self) -> PathBuf {
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

    /// Claims `containers/ID` for this process until the returned claim is
    /// dropped: if the process dies first and no row names the container,
    /// the next [`Store::open`] removes the directory (see [`staging`]).
    pub fn claim_container_dir(&self, id: &str) -> Result<Claim, StoreError> {
        Claim::container(&self.tmp_dir(), id)
    }

    /// Marks a write of `kind` as in progress until the mark is dropped: if
    /// this process dies first, [`Store::unfinished`] says so afterwards.
    pub fn mark_unfinished(&self, kind: &str) -> Result<Unfinished, StoreError> {
        Unfinished::mark(&self.tmp_dir(), kind)
    }

    /// Whether a process died during a write of `kind` since the last
    /// [`Store::finished`] (what it left is for the caller to collect).
    pub fn unfinished(&self, kind: &str) -> bool {
        self.unfinished_flag(kind).exists()
    }

    /// What a dead process's write of `kind` left has been collected.
    pub fn finished(&self, kind: &str) {
        let _ = std::fs::remove_file(self.unfinished_flag(kind));
    }

    /// The kinds starting with `prefix` (without it) whose writers died
    /// since their last [`Store::finished`]: one per object a dead process
    /// owned (`build-step.ID`).
    pub fn unfinished_with_prefix(&self, prefix: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.shared_tmp_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let kind = name.strip_suffix(staging::UNFINISHED_SUFFIX)?;
                kind.strip_prefix(prefix).map(String::from)
            })
            .collect()
    }

    fn unfinished_flag(&self, kind: &str) -> PathBuf {
        self.shared_tmp_dir()
            .join(format!("{kind}{}", staging::UNFINISHED_SUFFIX))
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
    fn open_sweeps_unowned_staging_entries_only_when_stale() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let fresh = store.shared_tmp_dir().join("fresh");
        let stale = store.shared_tmp_dir().join("stale");
        std::fs::create_dir(&fresh).unwrap();
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("f"), "x").unwrap();
        let old = std::time::SystemTime::now()
            - staging::STALE_AFTER
            - std::time::Duration::from_secs(60);
        std::fs::File::open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        drop(store);
        Store::open(dir.path()).unwrap();
        assert!(fresh.exists(), "an unowned entry is kept for a day");
        assert!(!stale.exists());
    }

    #[test]
    fn open_removes_a_dead_owners_staging_at_once_and_never_a_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let live = Store::open(dir.path()).unwrap();
        let staged = live.staging_dir("layer").unwrap();
        // A dead owner: its directory and lock file, nobody holding the lock.
        let tmp = live.shared_tmp_dir();
        let dead = tmp.join("own-dead");
        std::fs::create_dir_all(dead.join("layer-x")).unwrap();
        std::fs::write(tmp.join("own-dead.lock"), "").unwrap();
        let other = Store::open(dir.path()).unwrap();
        assert!(staged.exists(), "a live owner's staging is kept");
        assert!(!dead.exists() && !tmp.join("own-dead.lock").exists());
        assert!(staging::dead_staging(dir.path(), other.db()).is_empty());
        drop(live);
        assert!(!staged.exists(), "an owner removes its staging when done");
    }

    #[test]
    fn a_dead_owners_claimed_container_dir_goes_unless_its_row_exists() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tmp = store.shared_tmp_dir();
        let dead = tmp.join("own-dead");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(tmp.join("own-dead.lock"), "").unwrap();
        for id in ["orphan", "kept"] {
            std::fs::write(dead.join(format!("claim-container-{id}")), "").unwrap();
            std::fs::create_dir_all(store.containers_dir().join(id)).unwrap();
        }
        store
            .db()
            .execute_batch(
                "PRAGMA foreign_keys=OFF; INSERT INTO containers(id, name, image_id, image_ref, \
                 created_at, config, status) VALUES ('kept','n','i','r','t','{}','created')",
            )
            .unwrap();
        assert_eq!(
            staging::dead_staging(dir.path(), store.db()),
            vec![
                staging::DeadStaging::Container(store.containers_dir().join("orphan")),
                staging::DeadStaging::Owner(dead.clone()),
            ]
        );
        Store::open(dir.path()).unwrap();
        assert!(!store.containers_dir().join("orphan").exists());
        assert!(store.containers_dir().join("kept").exists());
        assert!(!dead.exists());
    }

    #[test]
    fn the_wal_stays_short_and_outlives_the_process_connection() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("berth.db-wal");
        for round in 0..4 {
            let mut store = Store::open(dir.path()).unwrap();
            for i in 0..50 {
                store
                    .write(|tx| {
                        tx.execute(
                            "INSERT INTO volumes(name, driver, created_at, anonymous) \
                             VALUES (?1, 'local', 't', 0)",
                            [format!("v{round}-{i}")],
                        )
                    })
                    .unwrap();
                let len = std::fs::metadata(&wal).unwrap().len();
                assert!(len < 2 * WAL_CHECKPOINT_BYTES, "WAL of {len} bytes");
            }
            drop(store);
            // Closing checkpoints nothing: the next process finds the WAL.
            assert!(wal.exists());
        }
        let store = Store::open(dir.path()).unwrap();
        let n: i64 = store
            .db()
            .query_row("SELECT count(*) FROM volumes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 200);
    }

    #[test]
    fn ids_are_64_hex() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, new_id());
    }
}
