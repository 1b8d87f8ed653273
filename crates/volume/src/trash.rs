//! Removing volume directories crash-safely: a directory leaves its name by a
//! rename into `volumes/.trash/<random>-NAME` in the transaction that deletes
//! its row, and is deleted after the commit; [`recover`] finishes or rolls
//! back what a crash interrupted and deals with orphans (directories without
//! a row): one holding data is registered again (volume data is never
//! deleted but by `volume rm`/`prune`), an empty one — what a `volume create`
//! killed before its commit leaves — is removed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use berth_mount::Linux;
use berth_store::rusqlite::OptionalExtension;
use berth_store::Store;

use crate::driver::VolumeDriver;
use crate::DRIVERS;
use crate::{VolumeError, TRASH_DIR};

/// The mark a `volume rename` leaves in the trash while it runs: the file
/// `.rename-NEW` holds OLD. Volume names cannot start with a dot, so no
/// removed directory is ever taken for one.
const RENAME_MARK: &str = ".rename-";

/// Marks the rename of `old` to `new` as begun (see [`finish_rename`]).
pub(crate) fn mark_rename(volumes: &Path, old: &str, new: &str) -> Result<(), VolumeError> {
    let dir = volumes.join(TRASH_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| VolumeError::io(&dir, e))?;
    let mark = dir.join(format!("{RENAME_MARK}{new}"));
    std::fs::write(&mark, old).map_err(|e| VolumeError::io(&mark, e))
}

/// Settles a rename a mark says was begun: committed (NEW's row exists),
/// the directory is NEW's; not committed, OLD's again. Then the mark goes.
fn finish_rename(
    tx: &berth_store::rusqlite::Connection,
    volumes: &Path,
    new: &str,
    mark: &Path,
) -> Result<(), VolumeError> {
    let old = std::fs::read_to_string(mark).unwrap_or_default();
    let committed = tx
        .query_row("SELECT 1 FROM volumes WHERE name = ?1", [new], |_| Ok(()))
        .optional()?
        .is_some();
    let (from, to) = if committed {
        (volumes.join(&old), volumes.join(new))
    } else {
        (volumes.join(new), volumes.join(&old))
    };
    if !old.is_empty() && from.exists() && !to.exists() {
        std::fs::rename(&from, &to).map_err(|e| VolumeError::io(&from, e))?;
    }
    std::fs::remove_file(mark).map_err(|e| VolumeError::io(mark, e))
}

/// Where the directory of volume `name` goes when it is removed.
pub(crate) fn trash_path(volumes: &Path, name: &str) -> PathBuf {
    volumes
        .join(TRASH_DIR)
        .join(format!("{}-{name}", &berth_store::new_id()[..16]))
}

pub(crate) fn move_to_trash(dir: &Path, trash: &Path) -> Result<(), VolumeError> {
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

/// Moves an orphan directory to the trash and deletes it, once its driver has
/// undone what it had active on it (caller holds the write lock).
fn discard_tree(volumes: &Path, name: &str) -> Result<(), VolumeError> {
    let dir = volumes.join(name);
    let trash = trash_path(volumes, name);
    release_orphan(&dir)?;
    move_to_trash(&dir, &trash)?;
    delete_tree(name, &trash)
}

/// Whether the directory is a plugin volume's (it names its driver).
fn is_plugin_dir(dir: &Path) -> bool {
    dir.join(crate::plugin::DRIVER_FILE).exists()
}

/// Readies an orphan directory for deletion: the local driver undoes a
/// mount left on it; a plugin volume's is only forgotten (the plugin keeps
/// its volume: it may be another host's too, and `volume ls` still lists it).
pub(crate) fn release_orphan(dir: &Path) -> Result<(), VolumeError> {
    if is_plugin_dir(dir) {
        return Ok(());
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    crate::driver_for(crate::LOCAL_DRIVER, &Linux)?.remove(&name.unwrap_or_default(), dir)
}

/// The volume directories some driver keeps that have no row, with their
/// driver's name.
fn orphans(
    db: &berth_store::rusqlite::Connection,
    volumes: &Path,
) -> Result<Vec<(&'static str, String)>, VolumeError> {
    let names: HashSet<String> = {
        let mut stmt = db.prepare("SELECT name FROM volumes")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        names
    };
    let mut out = Vec::new();
    for &name in DRIVERS {
        for dir in crate::driver_for(name, &Linux)?.list(volumes)? {
            if !names.contains(&dir) {
                out.push((name, dir));
            }
        }
    }
    Ok(out)
}

/// If a removal was interrupted (the trash is not empty: one readdir),
/// finishes or rolls it back, so a volume whose `rm` was killed before its
/// commit has its data back for the next command, whatever it is.
pub fn recover_interrupted(store: &mut Store) -> Result<(), VolumeError> {
    let trash = store.volumes_dir().join(TRASH_DIR);
    if read_dir_names(&trash)?.is_empty() {
        return Ok(());
    }
    recover(store)
}

/// Finishes or rolls back interrupted removes and renames and deals with
/// orphan directories (after the renames: a renamed directory is no orphan);
/// runs under the write lock, so no remove or create is half-way meanwhile.
pub(crate) fn recover(store: &mut Store) -> Result<(), VolumeError> {
    let volumes = store.volumes_dir();
    let trash_dir = volumes.join(TRASH_DIR);
    if read_dir_names(&trash_dir)?.is_empty() && orphans(store.db(), &volumes)?.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        for entry in read_dir_names(&trash_dir)? {
            let path = trash_dir.join(&entry);
            if let Some(new) = entry.strip_prefix(RENAME_MARK) {
                finish_rename(tx, &volumes, new, &path)?;
                continue;
            }
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
        for (driver_name, name) in orphans(tx, &volumes)? {
            let dir = volumes.join(&name);
            let driver = crate::driver_for(driver_name, &Linux)?;
            if !is_plugin_dir(&dir) && holds_data(&dir, driver.as_ref()) {
                register(tx, driver_name, &name)?;
            } else {
                discard_tree(&volumes, &name)?;
            }
        }
        Ok::<(), VolumeError>(())
    })
}

/// Whether an orphan directory holds anything a user may have put there:
/// anything in its data directory, or anything beside it but berth's own
/// (the image of an image-backed volume, never mounted before its row was
/// committed, holds nothing; the lock).
fn holds_data(dir: &Path, driver: &dyn VolumeDriver) -> bool {
    let data = driver.path(dir);
    let names = read_dir_names(dir).unwrap_or_default();
    names
        .iter()
        .any(|n| dir.join(n) != data && n != crate::loopback::IMAGE && n != "lock")
        || read_dir_names(&data).is_ok_and(|inside| !inside.is_empty())
}

/// Records an orphan directory as the volume of its name again (no
/// options, no labels: what made it is not known), with its event.
fn register(
    tx: &berth_store::rusqlite::Connection,
    driver: &str,
    name: &str,
) -> Result<(), VolumeError> {
    tx.execute(
        "INSERT INTO volumes(name, driver, labels, options, anonymous, created_at) \
         VALUES (?1, ?2, '{}', '{}', 0, ?3)",
        berth_store::rusqlite::params![name, driver, berth_store::now_rfc3339()],
    )?;
    crate::volume_event(tx, "create", name, driver)?;
    Ok(())
}

/// What [`recover`] would do now: removals a crash interrupted (entries
/// in the trash) and directories without a row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unfinished {
    /// Entries in the trash, and the marks of plugin volumes whose removal
    /// was killed before its commit (finished by a repair).
    pub trash: Vec<PathBuf>,
    /// Orphans holding data (registered again by a repair).
    pub orphans_with_data: Vec<String>,
    /// Empty orphans (removed by a repair).
    pub empty_orphans: Vec<String>,
    /// Rows whose data directory is missing (made again, empty, by a repair:
    /// containers refer to them).
    pub missing_dirs: Vec<String>,
}

/// Looks for what [`recover`] repairs, changing nothing.
pub fn unfinished(store: &Store) -> Result<Unfinished, VolumeError> {
    let volumes = store.volumes_dir();
    let trash_dir = volumes.join(TRASH_DIR);
    let mut found = Unfinished {
        trash: read_dir_names(&trash_dir)?
            .into_iter()
            .map(|n| trash_dir.join(n))
            .collect(),
        ..Unfinished::default()
    };
    for (driver_name, name) in orphans(store.db(), &volumes)? {
        let dir = volumes.join(&name);
        let driver = crate::driver_for(driver_name, &Linux)?;
        if !is_plugin_dir(&dir) && holds_data(&dir, driver.as_ref()) {
            found.orphans_with_data.push(name);
        } else {
            found.empty_orphans.push(name);
        }
    }
    for volume in crate::list(store)? {
        if !volume.mountpoint.exists() {
            found.missing_dirs.push(volume.name);
        }
    }
    found.trash.extend(
        crate::interrupted_plugin_removals(store)?
            .into_iter()
            .map(|name| volumes.join(name).join(crate::REMOVING_MARK)),
    );
    Ok(found)
}

/// Finishes interrupted removals, registers or removes orphan directories
/// (see [`recover`]; every volume operation does that too) and makes the
/// missing data directory of a row again, empty.
pub fn repair(store: &mut Store) -> Result<(), VolumeError> {
    recover(store)?;
    // A plugin volume's removal killed before its commit is finished, as
    // `volume rm` again would: the plugin may have deleted its data.
    for name in crate::interrupted_plugin_removals(store)? {
        crate::remove(store, &name, true)?;
    }
    for volume in crate::list(store)? {
        if volume.mountpoint.exists() {
            continue;
        }
        let dir = crate::volume_dir(store, &volume.name);
        std::fs::create_dir_all(&dir).map_err(|e| VolumeError::io(&dir, e))?;
        crate::restrict(&dir)?;
        crate::driver_for(&volume.driver, &Linux)?.create(&volume.name, &dir, &volume.options)?;
    }
    Ok(())
}

pub(crate) fn read_dir_names(dir: &Path) -> Result<Vec<String>, VolumeError> {
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
pub(crate) fn delete_tree(name: &str, path: &Path) -> Result<(), VolumeError> {
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
        // A sized volume's data is a btrfs subvolume (its own st_dev).
        if meta.dev() != dev && crate::quota::delete_if_subvolume(path)? {
            return Ok(());
        }
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
