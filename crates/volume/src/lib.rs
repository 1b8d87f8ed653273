//! Volumes: directories that outlive containers, managed by the "local" driver,
//! and ([`spec`]) Docker's `-v` / `--mount` / `--tmpfs` grammar that asks for them.
//!
//! # Terms
//! * A **volume** is a row in the `volumes` table plus the directory
//!   `<root>/volumes/NAME/`, whose `_data/` is what containers see (its
//!   *mountpoint*). A volume is **named** (by the user) or **anonymous** (a
//!   random 64-hex name, made for `-v /dst` or an image `VOLUME`; it carries the
//!   label `com.docker.volume.anonymous` as in Docker 23+).
//! * A volume is **in use** while a `container_volumes` row names it — for any
//!   container, running or stopped. The foreign key makes the database itself
//!   refuse to delete the row of a volume in use.
//! * **Options** (`--opt type=tmpfs|nfs|none|<fs>, o=..., device=...`) make the
//!   volume a mount of `device` on `_data`, made on first [`acquire`] and undone
//!   on the last [`release`]. Holders are recorded by container id in
//!   `volumes/NAME/holders` under a [`FileLock`], so a crashed holder can be
//!   recognised later (its container is gone or no longer running).
//!
//! # Lifecycle and crash safety
//! * [`create`]: the directory is built in the store's staging area and renamed
//!   into `volumes/` inside the same IMMEDIATE transaction that inserts the row.
//!   A crash before the commit leaves a directory without a row: an *orphan*,
//!   which is never shown and is swept by the next create/remove/prune.
//! * [`remove`]: inside one IMMEDIATE transaction the in-use check runs, the row
//!   is deleted, the volume's mount (if any) is undone and `volumes/NAME` is
//!   renamed to `volumes/.trash/<random>-NAME`; then the transaction commits and
//!   the trash entry is deleted. Invariant: **a crash leaves the volume either
//!   whole and listed, or gone** — a trash entry whose row still exists (crash
//!   before commit) is renamed back, one whose row is gone is deleted. That
//!   recovery runs under the write lock, so it never races a remove in progress.
//! * Nothing here ever deletes the data of a volume in use, and deletion never
//!   crosses into another filesystem (a still-mounted NFS export is refused,
//!   not emptied).

mod request;
pub mod spec;

mod local;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_store::rusqlite::{self, params, OptionalExtension};
use berth_store::{FileLock, LockError, Store, StoreError};

pub use local::{acquire, release};

/// The only driver berth has.
pub const LOCAL_DRIVER: &str = "local";
/// Label Docker 23+ puts on anonymous volumes (value "").
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
const TRASH_DIR: &str = ".trash";

/// Errors of the volume store and the mount-spec parser. The messages of user
/// mistakes are Docker's, word for word.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// `volume create` refused (bad name, driver or option).
    #[error("create {name}: {reason}")]
    Create { name: String, reason: String },
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{}]", containers.join(", "))]
    InUse {
        name: String,
        containers: Vec<String>,
    },
    /// A mount specification rejected with Docker's message.
    #[error("{0}")]
    InvalidSpec(String),
    /// A flag value the docker CLI itself rejects.
    #[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
    InvalidFlag {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("Invalid filter '{0}'")]
    InvalidFilter(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("volume {name}: {path} is on another filesystem; refusing to delete across it")]
    CrossesMount { name: String, path: PathBuf },
    #[error("volume {name}: corrupt metadata: {detail}")]
    Corrupt { name: String, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("metadata database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error(transparent)]
    Mount(#[from] berth_mount::MountError),
    /// Docker's words for a volume whose `--opt` mount fails at first use.
    #[error("error while mounting volume '{}': failed to mount local volume: mount {device}:{}, data: {data}: {source}", path.display(), path.display())]
    MountFailed {
        path: PathBuf,
        device: String,
        data: String,
        #[source]
        source: Box<berth_mount::MountError>,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
}

impl VolumeError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        VolumeError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl berth_error::HasKind for VolumeError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            VolumeError::NotFound(_) => ErrorKind::NotFound,
            VolumeError::InUse { .. } => ErrorKind::Conflict,
            VolumeError::Create { .. }
            | VolumeError::InvalidSpec(_)
            | VolumeError::InvalidFlag { .. }
            | VolumeError::InvalidFilter(_) => ErrorKind::InvalidArgument,
            VolumeError::Store(e) => e.kind(),
            VolumeError::Lock(e) => e.kind(),
            VolumeError::Mount(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }
}

/// One volume as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub anonymous: bool,
    /// RFC 3339 with nanoseconds, UTC.
    pub created_at: String,
    /// `<root>/volumes/NAME/_data`.
    pub mountpoint: PathBuf,
}

/// `<root>/volumes/NAME`.
fn volume_dir(store: &Store, name: &str) -> PathBuf {
    store.volumes_dir().join(name)
}

/// Docker's local-driver name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<(), VolumeError> {
    let reject = |reason: String| {
        Err(VolumeError::Create {
            name: name.to_string(),
            reason,
        })
    };
    if name.len() < 2 {
        return reject(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        );
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return reject(format!(
            "\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        ));
    }
    Ok(())
}

/// The local driver's options, checked as Docker checks them.
fn validate_options(name: &str, opts: &BTreeMap<String, String>) -> Result<(), VolumeError> {
    let reject = |reason: String| {
        Err(VolumeError::Create {
            name: name.to_string(),
            reason,
        })
    };
    for key in opts.keys() {
        match key.as_str() {
            "type" | "device" | "o" => {}
            "size" => return reject("quota size requested but no quota support".into()),
            other => return reject(format!("invalid option: \"{other}\"")),
        }
    }
    for (option, required) in [
        ("type", &["device"][..]),
        ("device", &["type"][..]),
        ("o", &["device", "type"][..]),
    ] {
        if opts.contains_key(option) {
            if let Some(missing) = required.iter().find(|r| !opts.contains_key(**r)) {
                return reject(format!("missing required option: \"{missing}\""));
            }
        }
    }
    Ok(())
}

/// Creates a volume (or returns the existing one of that name, as Docker's
/// create is idempotent: options and labels of an existing volume are kept).
pub fn create(
    store: &mut Store,
    name: Option<&str>,
    driver: &str,
    opts: BTreeMap<String, String>,
    mut labels: BTreeMap<String, String>,
    anonymous: bool,
) -> Result<Volume, VolumeError> {
    let name = match name {
        Some(n) => n.to_string(),
        None => berth_store::new_id(),
    };
    validate_name(&name)?;
    if driver != LOCAL_DRIVER {
        return Err(VolumeError::Create {
            name,
            reason: format!(
                "error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            ),
        });
    }
    validate_options(&name, &opts)?;
    if anonymous {
        labels.insert(ANONYMOUS_LABEL.into(), String::new());
    }
    recover(store)?;
    if let Some(existing) = find(store, &name)? {
        return Ok(existing);
    }

    let staging = store.staging_dir("volume")?;
    let built = build_dir(&staging);
    let result = built.and_then(|()| {
        let target = volume_dir(store, &name);
        let volumes = store.volumes_dir();
        let created_at = berth_store::now_rfc3339();
        let labels_json = to_json(&labels)?;
        let opts_json = to_json(&opts)?;
        store.write(|tx| {
            let exists: Option<String> = tx
                .query_row("SELECT name FROM volumes WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_some() {
                return Ok(());
            }
            if target.exists() {
                // No row but a directory: an orphan of a crashed create.
                discard_tree(&volumes, &name, &target)?;
            }
            std::fs::rename(&staging, &target).map_err(|e| VolumeError::io(&target, e))?;
            let inserted = tx.execute(
                "INSERT INTO volumes(name, driver, labels, options, anonymous, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, driver, labels_json, opts_json, anonymous, created_at],
            );
            if let Err(e) = inserted {
                // Put the directory back so no orphan is left behind.
                let _ = std::fs::rename(&target, &staging);
                return Err(e.into());
            }
            Ok::<(), VolumeError>(())
        })
    });
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    get(store, &name)
}

/// `NAME/` 0701 (only root may list it, as Docker's) holding `_data/` 0755.
fn build_dir(dir: &Path) -> Result<(), VolumeError> {
    use std::os::unix::fs::PermissionsExt;
    let data = dir.join("_data");
    std::fs::create_dir(&data).map_err(|e| VolumeError::io(&data, e))?;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| VolumeError::io(&data, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o701))
        .map_err(|e| VolumeError::io(dir, e))
}

fn to_json(map: &BTreeMap<String, String>) -> Result<String, VolumeError> {
    serde_json::to_string(map).map_err(|e| VolumeError::Corrupt {
        name: String::new(),
        detail: e.to_string(),
    })
}

const SELECT: &str = "SELECT name, driver, labels, options, anonymous, created_at FROM volumes";

fn from_row(store: &Store, row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    let name: String = row.get(0)?;
    let mountpoint = volume_dir(store, &name).join("_data");
    Ok(RawRow {
        name,
        driver: row.get(1)?,
        labels: row.get(2)?,
        options: row.get(3)?,
        anonymous: row.get(4)?,
        created_at: row.get(5)?,
        mountpoint,
    })
}

struct RawRow {
    name: String,
    driver: String,
    labels: String,
    options: String,
    anonymous: bool,
    created_at: String,
    mountpoint: PathBuf,
}

impl RawRow {
    fn parse(self) -> Result<Volume, VolumeError> {
        let map = |json: &str| -> Result<BTreeMap<String, String>, VolumeError> {
            serde_json::from_str(json).map_err(|e| VolumeError::Corrupt {
                name: self.name.clone(),
                detail: e.to_string(),
            })
        };
        Ok(Volume {
            labels: map(&self.labels)?,
            options: map(&self.options)?,
            name: self.name,
            driver: self.driver,
            anonymous: self.anonymous,
            created_at: self.created_at,
            mountpoint: self.mountpoint,
        })
    }
}

fn find(store: &Store, name: &str) -> Result<Option<Volume>, VolumeError> {
    let raw = store
        .db()
        .query_row(&format!("{SELECT} WHERE name = ?1"), [name], |r| {
            from_row(store, r)
        })
        .optional()?;
    raw.map(RawRow::parse).transpose()
}

pub fn get(store: &Store, name: &str) -> Result<Volume, VolumeError> {
    find(store, name)?.ok_or_else(|| VolumeError::NotFound(name.to_string()))
}

/// Every volume, by name.
pub fn list(store: &Store) -> Result<Vec<Volume>, VolumeError> {
    let mut stmt = store.db().prepare(&format!("{SELECT} ORDER BY name"))?;
    let rows = stmt
        .query_map([], |r| from_row(store, r))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(RawRow::parse).collect()
}

/// Ids of the containers (running or not) that use the volume, sorted.
pub fn users(store: &Store, name: &str) -> Result<Vec<String>, VolumeError> {
    users_in(store.db(), name)
}

fn users_in(conn: &rusqlite::Connection, name: &str) -> Result<Vec<String>, VolumeError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT container_id FROM container_volumes WHERE volume_name = ?1
         ORDER BY container_id",
    )?;
    let ids = stmt
        .query_map([name], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(ids)
}

/// Removes an unused volume and its data. `force` only turns "no such volume"
/// into success (as `docker volume rm -f`); a volume in use is never removed.
pub fn remove(store: &mut Store, name: &str, force: bool) -> Result<(), VolumeError> {
    recover(store)?;
    match remove_unused(store, name) {
        Err(VolumeError::NotFound(_)) if force => Ok(()),
        other => other,
    }
}

fn remove_unused(store: &mut Store, name: &str) -> Result<(), VolumeError> {
    let dir = volume_dir(store, name);
    let trash = store
        .volumes_dir()
        .join(TRASH_DIR)
        .join(format!("{}-{name}", &berth_store::new_id()[..16]));
    store.write(|tx| {
        let exists: Option<String> = tx
            .query_row("SELECT name FROM volumes WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Err(VolumeError::NotFound(name.to_string()));
        }
        let containers = users_in(tx, name)?;
        if !containers.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers,
            });
        }
        tx.execute("DELETE FROM volumes WHERE name = ?1", [name])?;
        local::unmount_stale(&dir)?;
        move_to_trash(&dir, &trash)
    })?;
    delete_tree(name, &trash)
}

fn move_to_trash(dir: &Path, trash: &Path) -> Result<(), VolumeError> {
    if let Some(parent) = trash.parent() {
        std::fs::create_dir_all(parent).map_err(|e| VolumeError::io(parent, e))?;
    }
    match std::fs::rename(dir, trash) {
        Ok(()) => Ok(()),
        // A row without a directory cannot be made by berth; removing it is
        // the only way forward.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(VolumeError::io(dir, e)),
    }
}

/// Moves an orphan directory to the trash and deletes it (caller holds the
/// write lock).
fn discard_tree(volumes: &Path, name: &str, dir: &Path) -> Result<(), VolumeError> {
    let trash = volumes
        .join(TRASH_DIR)
        .join(format!("{}-{name}", &berth_store::new_id()[..16]));
    local::unmount_stale(dir)?;
    move_to_trash(dir, &trash)?;
    delete_tree(name, &trash)
}

/// Finishes or rolls back interrupted removes and sweeps orphan directories;
/// runs under the write lock, so no remove or create is half-way meanwhile.
fn recover(store: &mut Store) -> Result<(), VolumeError> {
    let volumes = store.volumes_dir();
    let trash_dir = volumes.join(TRASH_DIR);
    let names: std::collections::HashSet<String> = {
        let mut stmt = store.db().prepare("SELECT name FROM volumes")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        names
    };
    let entries = read_dir_names(&trash_dir)?;
    let orphans: Vec<String> = read_dir_names(&volumes)?
        .into_iter()
        .filter(|n| n != TRASH_DIR && !names.contains(n))
        .collect();
    if entries.is_empty() && orphans.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        for entry in read_dir_names(&trash_dir)? {
            let path = trash_dir.join(&entry);
            let name = entry.split_once('-').map_or("", |(_, n)| n);
            let row: Option<String> = tx
                .query_row("SELECT name FROM volumes WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?;
            let home = volumes.join(name);
            if row.is_some() && !name.is_empty() && !home.exists() {
                // The remove crashed before its commit: the volume stays.
                std::fs::rename(&path, &home).map_err(|e| VolumeError::io(&path, e))?;
            } else if delete_tree(name, &path).is_err() {
                // Best effort: an entry that cannot be deleted yet (e.g. a
                // mount still inside it) is retried by the next recovery
                // rather than blocking every volume operation.
                continue;
            }
        }
        for name in read_dir_names(&volumes)? {
            if name == TRASH_DIR {
                continue;
            }
            let row: Option<String> = tx
                .query_row("SELECT name FROM volumes WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?;
            if row.is_none() {
                discard_tree(&volumes, &name, &volumes.join(&name))?;
            }
        }
        Ok::<(), VolumeError>(())
    })
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, VolumeError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VolumeError::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| VolumeError::io(dir, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// `rm -rf` that never follows symlinks and refuses to enter any mount below
/// `path` (a mount left inside a volume is reported, never emptied).
fn delete_tree(name: &str, path: &Path) -> Result<(), VolumeError> {
    use std::os::unix::fs::MetadataExt;
    let top = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(VolumeError::io(path, e)),
    };
    fn walk(name: &str, dev: u64, path: &Path) -> Result<(), VolumeError> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(VolumeError::io(path, e)),
        };
        if !meta.is_dir() {
            return match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(VolumeError::io(path, e)),
                _ => Ok(()),
            };
        }
        // A bind from the same filesystem keeps st_dev; only the mount-root
        // attribute reveals it.
        if meta.dev() != dev || berth_mount::is_mountpoint(path)? {
            return Err(VolumeError::CrossesMount {
                name: name.to_string(),
                path: path.to_path_buf(),
            });
        }
        for child in read_dir_names(path)? {
            walk(name, dev, &path.join(child))?;
        }
        match std::fs::remove_dir(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(VolumeError::io(path, e)),
            _ => Ok(()),
        }
    }
    walk(name, top.dev(), path)
}

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

/// A `label=KEY[=VALUE]` or `label!=KEY[=VALUE]` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
    /// `label!=`: the volume must NOT match.
    pub negate: bool,
}

impl LabelFilter {
    /// Parses the part after `label=` / `label!=`.
    pub fn new(expr: &str, negate: bool) -> LabelFilter {
        let (key, value) = match expr.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (expr.to_string(), None),
        };
        LabelFilter { key, value, negate }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let hit = match (&self.value, labels.get(&self.key)) {
            (None, found) => found.is_some(),
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
        };
        hit != self.negate
    }
}

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    /// Bytes in the deleted volumes' `_data`.
    pub reclaimed: u64,
}

/// Removes unused volumes matching every filter: anonymous ones only, unless
/// `all` (Docker 23+ semantics).
pub fn prune(
    store: &mut Store,
    all: bool,
    label_filters: &[LabelFilter],
) -> Result<PruneReport, VolumeError> {
    recover(store)?;
    let mut report = PruneReport::default();
    for volume in list(store)? {
        if !(all || volume.anonymous) || !label_filters.iter().all(|f| f.matches(&volume.labels)) {
            continue;
        }
        if !users(store, &volume.name)?.is_empty() {
            continue;
        }
        let size = if volume.options.is_empty() {
            apparent_size(&volume.mountpoint).unwrap_or(0)
        } else {
            0
        };
        match remove_unused(store, &volume.name) {
            Ok(()) => {
                report.deleted.push(volume.name);
                report.reclaimed += size;
            }
            // Someone started using it, or removed it, meanwhile.
            Err(VolumeError::InUse { .. } | VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// `docker volume inspect`'s object for one volume.
pub fn inspect_json(v: &Volume) -> serde_json::Value {
    let map_or_null = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(m)
        }
    };
    serde_json::json!({
        "CreatedAt": docker_time(&v.created_at),
        "Driver": v.driver,
        "Labels": map_or_null(&v.labels),
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": map_or_null(&v.options),
        "Scope": "local",
    })
}

/// Docker shows a volume's creation time to the second, in the daemon's zone.
fn docker_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// Opens `volumes/NAME/lock`, serialising acquire/release of one volume.
fn volume_lock(store: &Store, name: &str) -> Result<FileLock, VolumeError> {
    Ok(FileLock::acquire(&volume_dir(store, name).join("lock"))?)
}
