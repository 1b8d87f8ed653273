//! Volumes: data that outlives containers, kept by a [`VolumeDriver`] (berth
//! has the `local` one), and ([`spec`]) Docker's `-v` / `--mount` / `--tmpfs`
//! grammar that asks for them.
//!
//! # Terms
//! * A **volume** is a row in the `volumes` table plus the directory
//!   `<root>/volumes/NAME/`, in which the row's driver keeps the data
//!   containers see (the local driver's `_data/`, the volume's *mountpoint*). A volume is **named** (by the user) or **anonymous** (a
//!   random 64-hex name, made for `-v /dst` or an image `VOLUME`; it carries the
//!   label `com.docker.volume.anonymous` as in Docker 23+).
//! * A volume is **in use** while a `container_volumes` row names it — for any
//!   container, running or stopped. The foreign key makes the database itself
//!   refuse to delete the row of a volume in use.
//! * **Options** (`--opt type=tmpfs|nfs|none|<fs>, o=..., device=...`) make the
//!   local volume a mount of `device` on `_data`, made on first [`acquire`] and
//!   undone on the last [`release`] (both go through the volume's driver; see
//!   [`driver`] for the drivers' lifecycle).
//!
//! # Lifecycle and crash safety
//! * [`create`]: the directory is built in the store's staging area (the
//!   driver prepares its data there) and renamed
//!   into `volumes/` inside the same IMMEDIATE transaction that inserts the row.
//!   A crash before the commit leaves a directory without a row: an *orphan*,
//!   which is never shown and is swept by the next create/remove/prune.
//! * [`remove`]: inside one IMMEDIATE transaction the in-use check runs, the row
//!   is deleted, the driver undoes what it has active (a mount) and `volumes/NAME` is
//!   renamed to `volumes/.trash/<random>-NAME`; then the transaction commits and
//!   the trash entry is deleted. Invariant: **a crash leaves the volume either
//!   whole and listed, or gone** — a trash entry whose row still exists (crash
//!   before commit) is renamed back, one whose row is gone is deleted. That
//!   recovery runs under the write lock, so it never races a remove in progress.
//!   A plugin volume's plugin is asked between two transactions (the check,
//!   then the removal above), never holding the write lock through its
//!   timeout; a `.removing` mark in its directory lets a retry after a crash
//!   in between finish although the plugin may have removed it already.
//! * Nothing here ever deletes the data of a volume in use, and deletion never
//!   crosses into another filesystem (a still-mounted NFS export is refused,
//!   not emptied).

mod copy;
pub mod driver;
pub mod plugin;
mod request;
pub mod spec;

mod btrfs;
mod local;
mod loopback;
mod quota;
mod size;
mod subpath;
mod trash;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_mount::{Linux, Syscalls};
use berth_store::rusqlite::{self, params, OptionalExtension};
use berth_store::{FileLock, LockError, Store, StoreError};

pub use copy::{create_filled, rename_in};
pub use driver::{Capabilities, Scope, VolumeDriver};
pub use local::validate_name;
pub use loopback::is_image_backed;
pub use quota::{usage, Usage};
pub use size::apparent_size;
pub use subpath::{mount_opened, mount_subpath, open_subpath, opened_is_dir};
use trash::{delete_tree, move_to_trash, read_dir_names, recover, trash_path};
pub use trash::{recover_interrupted, repair, unfinished, Unfinished};

/// The driver of volumes created without one.
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
    #[error("error looking up volume plugin {0}: plugin \"{0}\" not found")]
    NoSuchDriver(String),
    /// A plugin that activates but is no volume driver.
    #[error("error looking up volume plugin {0}: plugin \"{0}\" does not implement VolumeDriver")]
    NotVolumeDriver(String),
    /// A plugin's `.spec`/`.json` file that berth cannot use.
    #[error("volume plugin {}: {reason}", file.display())]
    PluginSpec { file: PathBuf, reason: String },
    /// A plugin call that failed: the plugin's own `Err`, or that it could
    /// not be reached or did not answer in time (`unavailable`).
    #[error("{method}: {reason}")]
    Plugin {
        method: String,
        reason: String,
        unavailable: bool,
    },
    /// What an operation on a volume was doing when its driver failed
    /// (dockerd's `create NAME: VolumeDriver.Create: ...`).
    #[error("{op} {name}: {source}")]
    Driver {
        op: &'static str,
        name: String,
        #[source]
        source: Box<VolumeError>,
    },
    /// `volume create` of a name another driver has.
    #[error("create {name}: volume name must be unique: driver '{existing}' already in use for volume '{name}', not '{requested}'")]
    DriverConflict {
        name: String,
        existing: String,
        requested: String,
    },
    /// `volume create` with a driver there is none of (dockerd: 404).
    #[error(
        "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
    )]
    CreateNoSuchDriver { name: String, driver: String },
    #[error("get {0}: no such volume")]
    NotFound(String),
    /// `volume clone` / `volume rename` to a name a volume has.
    #[error("volume {0} already exists")]
    Exists(String),
    /// A volume whose removal runs (or was killed before its commit).
    #[error("volume {0} is being removed")]
    Removing(String),
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
    /// dockerd's words for a volume subpath that is missing or reached
    /// through a symlink.
    #[error("cannot access path {}: {cause}", path.display())]
    SubpathNotAccessible { path: PathBuf, cause: String },
    /// dockerd's words for a subpath whose `..` leaves the volume.
    #[error("path concatenation escapes the base directory, base: {}, subpath: {subpath}", base.display())]
    SubpathEscapes { base: PathBuf, subpath: String },
    /// `--opt size` where berth cannot enforce it.
    #[error("create {name}: quota size requested but no quota support: berth's volumes are on {fs}; sized volumes need a berth root on btrfs (each is a subvolume with a qgroup limit) or mkfs.ext4 (e2fsprogs, for an ext4 image on a loop device)")]
    QuotaUnsupported { name: String, fs: String },
    /// Copying a volume's data (clone).
    #[error(transparent)]
    Archive(#[from] berth_archive::ArchiveError),
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
            VolumeError::InUse { .. }
            | VolumeError::Removing(_)
            | VolumeError::Exists(_)
            | VolumeError::DriverConflict { .. } => ErrorKind::Conflict,
            VolumeError::Plugin {
                unavailable: true, ..
            }
            | VolumeError::PluginSpec { .. } => ErrorKind::Unavailable,
            VolumeError::NotVolumeDriver(_) => ErrorKind::NotFound,
            VolumeError::Driver { source, .. } => source.kind(),
            VolumeError::Create { .. }
            | VolumeError::SubpathNotAccessible { .. }
            | VolumeError::SubpathEscapes { .. }
            | VolumeError::QuotaUnsupported { .. }
            | VolumeError::InvalidSpec(_)
            | VolumeError::InvalidFlag { .. } => ErrorKind::InvalidArgument,
            VolumeError::NoSuchDriver(_) | VolumeError::CreateNoSuchDriver { .. } => {
                ErrorKind::NotFound
            }
            VolumeError::Store(e) => e.kind(),
            VolumeError::Lock(e) => e.kind(),
            VolumeError::Archive(e) => e.kind(),
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
    /// Where the driver keeps the data (the local driver's
    /// `<root>/volumes/NAME/_data`).
    pub mountpoint: PathBuf,
    /// The driver's scope.
    pub scope: Scope,
    /// A plugin volume's `Status` (what the plugin's `VolumeDriver.Get`
    /// says, once [`plugin::describe`]d); none for local volumes.
    pub status: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Volume {
    /// Whether its options make it a mount of a device (`type`, `device`),
    /// made at first use; `size` alone does not.
    pub fn mounts_device(&self) -> bool {
        self.options.contains_key("type") || self.options.contains_key("device")
    }
}

/// `<root>/volumes/NAME`.
pub(crate) fn volume_dir(store: &Store, name: &str) -> PathBuf {
    store.volumes_dir().join(name)
}

/// Creates a volume (or returns the existing one of that name, as Docker's
/// create is idempotent: options and labels of an existing volume are kept).
pub fn create(
    store: &mut Store,
    name: Option<&str>,
    driver_name: &str,
    opts: BTreeMap<String, String>,
    mut labels: BTreeMap<String, String>,
    anonymous: bool,
) -> Result<Volume, VolumeError> {
    let name = match name {
        Some(n) => n.to_string(),
        None => berth_store::new_id(),
    };
    let driver = match driver_for(driver_name, &Linux) {
        Ok(d) => d,
        Err(VolumeError::NoSuchDriver(driver)) => {
            return Err(VolumeError::CreateNoSuchDriver { name, driver })
        }
        Err(e @ (VolumeError::Plugin { .. } | VolumeError::NotVolumeDriver(_))) => {
            return Err(VolumeError::Driver {
                op: "create",
                name,
                source: Box::new(e),
            })
        }
        Err(e) => return Err(e),
    };
    driver.validate(&name, &opts)?;
    if anonymous {
        labels.insert(ANONYMOUS_LABEL.into(), String::new());
    }
    recover(store)?;
    if let Some(existing) = find(store, &name)? {
        // dockerd: an existing volume is returned unless another (non-local)
        // driver is asked for.
        if existing.driver != driver_name && driver_name != LOCAL_DRIVER {
            return Err(VolumeError::DriverConflict {
                name,
                existing: existing.driver,
                requested: driver_name.to_string(),
            });
        }
        return Ok(existing);
    }

    let staging = store.staging_dir("volume")?;
    let built = driver.create(&name, &staging, &opts).map_err(|e| match e {
        VolumeError::QuotaUnsupported { fs, .. } => VolumeError::QuotaUnsupported {
            name: name.clone(),
            fs,
        },
        e @ VolumeError::Plugin { .. } => VolumeError::Driver {
            op: "create",
            name: name.clone(),
            source: Box::new(e),
        },
        e => e,
    });
    let driver_made = built.is_ok();
    let built = built.and_then(|()| restrict(&staging));
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
                trash::release_orphan(&target)?;
                let trash = trash_path(&volumes, &name);
                move_to_trash(&target, &trash)?;
                delete_tree(&name, &trash)?;
            }
            std::fs::rename(&staging, &target).map_err(|e| VolumeError::io(&target, e))?;
            berth_store::crash::point("volume-create", "after-rename");
            let inserted = tx.execute(
                "INSERT INTO volumes(name, driver, labels, options, anonymous, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    name,
                    driver_name,
                    labels_json,
                    opts_json,
                    anonymous,
                    created_at
                ],
            );
            let inserted = inserted.and_then(|_| volume_event(tx, "create", &name, &driver_name));
            if let Err(e) = inserted {
                // Put the directory back so no orphan is left behind.
                let _ = std::fs::rename(&target, &staging);
                return Err(e.into());
            }
            Ok::<(), VolumeError>(())
        })
    });
    if result.is_err() && driver_made && driver_name != LOCAL_DRIVER {
        // Nothing half-made: the plugin's volume goes with the failed create.
        let _ = driver.remove(&name, &staging);
    }
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    get(store, &name)
}

/// `NAME/` 0701: only root may list it, as Docker's.
pub(crate) fn restrict(dir: &Path) -> Result<(), VolumeError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o701))
        .map_err(|e| VolumeError::io(dir, e))
}

pub(crate) fn to_json(map: &BTreeMap<String, String>) -> Result<String, VolumeError> {
    serde_json::to_string(map).map_err(|e| VolumeError::Corrupt {
        name: String::new(),
        detail: e.to_string(),
    })
}

const SELECT: &str = "SELECT name, driver, labels, options, anonymous, created_at FROM volumes";

fn from_row(store: &Store, row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    let name: String = row.get(0)?;
    let dir = volume_dir(store, &name);
    Ok(RawRow {
        name,
        dir,
        driver: row.get(1)?,
        labels: row.get(2)?,
        options: row.get(3)?,
        anonymous: row.get(4)?,
        created_at: row.get(5)?,
    })
}

struct RawRow {
    name: String,
    driver: String,
    labels: String,
    options: String,
    anonymous: bool,
    created_at: String,
    /// `<root>/volumes/NAME`.
    dir: PathBuf,
}

impl RawRow {
    fn parse(self) -> Result<Volume, VolumeError> {
        let map = |json: &str| -> Result<BTreeMap<String, String>, VolumeError> {
            serde_json::from_str(json).map_err(|e| VolumeError::Corrupt {
                name: self.name.clone(),
                detail: e.to_string(),
            })
        };
        let options = map(&self.options)?;
        // A plugin volume is described from the row alone (no plugin call);
        // plugin::describe asks the plugin for the rest.
        let (mountpoint, scope) = if self.driver == LOCAL_DRIVER {
            let driver = driver_for(&self.driver, &Linux)?;
            let mountpoint = driver.path(&self.dir);
            // An image-backed sized volume's filesystem is mounted whenever
            // the volume is looked at (after its create, after a reboot).
            if options.contains_key("size") && loopback::is_image_backed(&self.dir) {
                loopback::ensure_mounted(&self.dir, &mountpoint)?;
            }
            (mountpoint, driver.capabilities().scope)
        } else {
            (self.dir.clone(), Scope::Local)
        };
        Ok(Volume {
            labels: map(&self.labels)?,
            options,
            mountpoint,
            scope,
            status: None,
            name: self.name,
            driver: self.driver,
            anonymous: self.anonymous,
            created_at: self.created_at,
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
///
/// A plugin volume is removed from its plugin first; if the plugin fails,
/// the volume stays, unless `force` (dockerd's purge on error: the row goes,
/// the plugin keeps whatever it has).
pub fn remove(store: &mut Store, name: &str, force: bool) -> Result<(), VolumeError> {
    recover(store)?;
    match remove_unused(store, name, force) {
        Err(VolumeError::NotFound(_)) if force => Ok(()),
        other => other,
    }
}

fn remove_unused(store: &mut Store, name: &str, purge: bool) -> Result<(), VolumeError> {
    let dir = volume_dir(store, name);
    let trash = trash_path(&store.volumes_dir(), name);
    let mark_path = dir.join(REMOVING_MARK);
    // A plugin's Remove may take up to its timeout: it is asked between two
    // transactions, not inside one, so a hung plugin holds no lock. The
    // mark in the volume's directory, held while the plugin is asked, is
    // made in the first transaction: a container created after it commits
    // is refused the volume ([`refuse_removing`]), so none takes a volume
    // whose data the plugin may be deleting. A retry after a crash (the
    // mark there, nobody holding it) accepts the plugin's refusal (the
    // volume may be gone there already). A crash anywhere leaves the
    // volume listed (and refused to containers) or gone.
    let (driver_name, mark) = store.write(|tx| {
        let driver_name = unused_driver(tx, name)?;
        if driver_name == LOCAL_DRIVER {
            delete_row(tx, name, &driver_name, &dir, &trash)?;
            return Ok::<_, VolumeError>((driver_name, None));
        }
        let retry = mark_path.exists();
        let mark = FileLock::try_acquire(&mark_path).map_err(|e| match e {
            LockError::WouldBlock { .. } => VolumeError::Removing(name.to_string()),
            e => e.into(),
        })?;
        Ok((driver_name, Some((mark, retry))))
    })?;
    if let Some((mark, retry)) = mark {
        let removed = driver_for(&driver_name, &Linux).and_then(|d| d.remove(name, &dir));
        berth_store::crash::point("volume-rm", "after-plugin-remove");
        match removed {
            Ok(()) => {}
            Err(_) if purge || retry => {}
            Err(e) => {
                mark.remove();
                return Err(match e {
                    VolumeError::Plugin { .. }
                    | VolumeError::NoSuchDriver(_)
                    | VolumeError::NotVolumeDriver(_) => VolumeError::Driver {
                        op: "remove",
                        name: name.to_string(),
                        source: Box::new(e),
                    },
                    e => e,
                });
            }
        }
        // Still held: moved to the trash with the directory.
        store.write(|tx| {
            let driver_name = unused_driver(tx, name)?;
            delete_row(tx, name, &driver_name, &dir, &trash)
        })?;
        drop(mark);
    }
    berth_store::crash::point("volume-rm", "after-commit");
    delete_tree(name, &trash)
}

/// A plugin volume's directory holds this while its removal runs (a lock
/// its remover holds; left behind, unheld, by a removal killed before its
/// commit).
const REMOVING_MARK: &str = ".removing";

/// Refuses volume `name` (in `volumes_dir`) to a container while its
/// removal runs or was killed before its commit: called inside the
/// transaction that records the container's use of it.
pub fn refuse_removing(volumes_dir: &Path, name: &str) -> Result<(), VolumeError> {
    if volumes_dir.join(name).join(REMOVING_MARK).exists() {
        return Err(VolumeError::Removing(name.to_string()));
    }
    Ok(())
}

/// Plugin volumes whose removal was killed before its commit (the mark
/// there, nobody holding it): what `volume rm` of them would finish.
pub(crate) fn interrupted_plugin_removals(store: &Store) -> Result<Vec<String>, VolumeError> {
    Ok(list(store)?
        .into_iter()
        .filter(|v| v.driver != LOCAL_DRIVER)
        .filter(|v| {
            let mark = volume_dir(store, &v.name).join(REMOVING_MARK);
            mark.exists() && !FileLock::is_held(&mark)
        })
        .map(|v| v.name)
        .collect())
}

/// The driver of volume `name`, if it exists and no container uses it.
fn unused_driver(tx: &rusqlite::Connection, name: &str) -> Result<String, VolumeError> {
    let driver_name: Option<String> = tx
        .query_row("SELECT driver FROM volumes WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(driver_name) = driver_name else {
        return Err(VolumeError::NotFound(name.to_string()));
    };
    let containers = users_in(tx, name)?;
    if !containers.is_empty() {
        return Err(VolumeError::InUse {
            name: name.to_string(),
            containers,
        });
    }
    Ok(driver_name)
}

/// Deletes the row of an unused volume and moves its directory to the
/// trash (the local driver first undoes a mount on it), in `tx`.
fn delete_row(
    tx: &rusqlite::Connection,
    name: &str,
    driver_name: &str,
    dir: &Path,
    trash: &Path,
) -> Result<(), VolumeError> {
    tx.execute("DELETE FROM volumes WHERE name = ?1", [name])?;
    volume_event(tx, "destroy", name, driver_name)?;
    if driver_name == LOCAL_DRIVER {
        driver_for(LOCAL_DRIVER, &Linux)?.remove(name, dir)?;
    }
    move_to_trash(dir, trash)?;
    berth_store::crash::point("volume-rm", "after-trash");
    Ok(())
}

/// Docker's volume events (`create`, `destroy`), appended in the
/// transaction of the change.
pub(crate) fn volume_event(
    tx: &berth_store::rusqlite::Connection,
    action: &str,
    name: &str,
    driver: &str,
) -> berth_store::rusqlite::Result<()> {
    let attributes = [("driver".to_string(), driver.to_string())]
        .into_iter()
        .collect();
    berth_store::events::append(
        tx,
        &berth_store::events::NewEvent {
            kind: berth_store::events::EventType::Volume,
            action,
            actor: name,
            attributes,
        },
    )
}

/// What a prune removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    /// Bytes in the deleted volumes' `_data`.
    pub reclaimed: u64,
}

/// Removes the unused volumes `select` accepts (the engine decides which:
/// anonymous ones, labels...).
pub fn prune(
    store: &mut Store,
    select: &dyn Fn(&Volume) -> bool,
) -> Result<PruneReport, VolumeError> {
    recover(store)?;
    let mut report = PruneReport::default();
    for volume in list(store)? {
        if !select(&volume) {
            continue;
        }
        if !users(store, &volume.name)?.is_empty() {
            continue;
        }
        let size = if !volume.mounts_device() {
            usage(&volume).map_or(0, |u| u.bytes)
        } else {
            0
        };
        match remove_unused(store, &volume.name, false) {
            Ok(()) => {
                report.deleted.push(volume.name);
                report.reclaimed += size;
                berth_store::crash::point("volume-prune", "after-one");
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
    let mut out = serde_json::json!({
        "CreatedAt": docker_time(&v.created_at),
        "Driver": v.driver,
        "Labels": map_or_null(&v.labels),
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": map_or_null(&v.options),
        "Scope": v.scope.as_str(),
    });
    if let Some(status) = &v.status {
        out["Status"] = serde_json::Value::Object(status.clone());
    }
    out
}

/// Makes the volume ready for `container_id` (through its driver) and returns
/// the host path to mount into the container. Called by the container's
/// monitor before the container starts.
pub fn acquire(
    store: &mut Store,
    name: &str,
    container_id: &str,
    sys: &dyn Syscalls,
) -> Result<PathBuf, VolumeError> {
    let volume = get(store, name)?;
    driver_for(&volume.driver, sys)?.mount(store, &volume, container_id)
}

/// `container_id` has exited and no longer uses the volume (its driver undoes
/// what the last holder's [`acquire`] did).
pub fn release(
    store: &mut Store,
    name: &str,
    container_id: &str,
    sys: &dyn Syscalls,
) -> Result<(), VolumeError> {
    let volume = get(store, name)?;
    driver_for(&volume.driver, sys)?.unmount(store, &volume, container_id)
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

/// The drivers berth has, by name.
pub const DRIVERS: &[&str] = &[LOCAL_DRIVER];

/// The driver called `name`: `local`, or the volume plugin of that name
/// (found and activated now); one there is none of is refused with Docker's
/// words. The local driver mounts through `sys`.
pub fn driver_for<'a>(
    name: &str,
    sys: &'a dyn Syscalls,
) -> Result<Box<dyn driver::VolumeDriver + 'a>, VolumeError> {
    match name {
        LOCAL_DRIVER => Ok(Box::new(local::Local { sys })),
        other => Ok(Box::new(plugin::PluginDriver::open(other)?)),
    }
}
