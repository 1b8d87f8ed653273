//! Volumes made from other volumes: [`create_filled`] (the new volume of a
//! `volume clone`, its data written by the caller before it is listed) and
//! [`rename_in`] (`volume rename`, inside the caller's transaction, which
//! also moves the users' container records).
//!
//! Crash safety is create's: the new volume is built in the store's staging
//! area (swept if the process dies), then renamed into `volumes/` inside the
//! transaction that inserts its row. A crash between that rename and the
//! commit leaves a complete directory without a row, which the next volume
//! operation registers again ([`crate::trash`]): data is never lost, and a
//! half-made clone is never listed.

use std::collections::BTreeMap;
use std::path::Path;

use berth_mount::Linux;
use berth_store::rusqlite::{self, params, OptionalExtension};
use berth_store::Store;

use crate::trash::{delete_tree, move_to_trash, recover, trash_path};
use crate::{driver_for, get, to_json, volume_dir, Volume, VolumeError, LOCAL_DRIVER};

/// Creates the local volume `name` (which must not exist yet) with `labels`,
/// its `_data` filled by `fill` while it is still staged.
pub fn create_filled(
    store: &mut Store,
    name: &str,
    labels: &BTreeMap<String, String>,
    fill: &mut dyn FnMut(&Path) -> Result<(), VolumeError>,
) -> Result<Volume, VolumeError> {
    let driver = driver_for(LOCAL_DRIVER, &Linux)?;
    let options = BTreeMap::new();
    driver.validate(name, &options)?;
    recover(store)?;
    if exists(store.db(), name)? {
        return Err(VolumeError::Exists(name.to_string()));
    }
    let staging = store.staging_dir("volume-clone")?;
    let result = driver
        .create(name, &staging, &options)
        .and_then(|()| crate::restrict(&staging))
        .and_then(|()| fill(&driver.path(&staging)))
        .and_then(|()| {
            berth_store::crash::point("volume-clone", "after-fill");
            let target = volume_dir(store, name);
            let volumes = store.volumes_dir();
            let labels_json = to_json(labels)?;
            store.write(|tx| {
                if exists(tx, name)? {
                    return Err(VolumeError::Exists(name.to_string()));
                }
                if target.exists() {
                    // No row but a directory: an empty orphan of a crashed
                    // create (recover registered any holding data).
                    driver.remove(name, &target)?;
                    let trash = trash_path(&volumes, name);
                    move_to_trash(&target, &trash)?;
                    delete_tree(name, &trash)?;
                }
                std::fs::rename(&staging, &target).map_err(|e| VolumeError::io(&target, e))?;
                berth_store::crash::point("volume-clone", "after-rename");
                let inserted = tx
                    .execute(
                        "INSERT INTO volumes(name, driver, labels, options, anonymous, created_at)
                         VALUES (?1, ?2, ?3, '{}', 0, ?4)",
                        params![name, LOCAL_DRIVER, labels_json, berth_store::now_rfc3339()],
                    )
                    .and_then(|_| crate::volume_event(tx, "create", name, LOCAL_DRIVER));
                if let Err(e) = inserted {
                    let _ = std::fs::rename(&target, &staging);
                    return Err(e.into());
                }
                Ok(())
            })
        });
    if staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    get(store, name)
}

/// Renames volume `old` to `new` inside the transaction `tx` (the caller
/// holds the write lock and has checked that no user is running): the row,
/// the `container_volumes` rows that name it, and its directory. `new` must
/// be a valid name no volume has.
pub fn rename_in(
    tx: &rusqlite::Connection,
    volumes: &Path,
    old: &str,
    new: &str,
) -> Result<(), VolumeError> {
    crate::validate_name(new)?;
    if !exists(tx, old)? {
        return Err(VolumeError::NotFound(old.to_string()));
    }
    if exists(tx, new)? || volumes.join(new).exists() {
        return Err(VolumeError::Exists(new.to_string()));
    }
    tx.execute(
        "INSERT INTO volumes(name, driver, labels, options, anonymous, created_at)
         SELECT ?2, driver, labels, options, anonymous, created_at FROM volumes WHERE name = ?1",
        params![old, new],
    )?;
    tx.execute(
        "UPDATE container_volumes SET volume_name = ?2 WHERE volume_name = ?1",
        params![old, new],
    )?;
    tx.execute("DELETE FROM volumes WHERE name = ?1", [old])?;
    // Killed from here to the commit, the next command's recovery puts the
    // directory back where the rows say (the caller settles the mark).
    crate::trash::mark_rename(volumes, old, new)?;
    let (from, to) = (volumes.join(old), volumes.join(new));
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        &from,
        rustix::fs::CWD,
        &to,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(|e| VolumeError::io(&from, e.into()))?;
    berth_store::crash::point("volume-rename", "after-rename");
    Ok(())
}

fn exists(db: &rusqlite::Connection, name: &str) -> Result<bool, VolumeError> {
    Ok(db
        .query_row("SELECT 1 FROM volumes WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}
