//! The local driver's mounted volumes: a volume created with options
//! (`type`, `device`, `o`) is `mount -t TYPE -o O DEVICE _data`, made when the
//! first container acquires it and undone when the last one releases it.
//!
//! Who holds the mount is recorded as container ids in `volumes/NAME/holders`
//! (JSON, replaced atomically) under `volumes/NAME/lock`. A holder whose
//! container is gone or has exited/died is stale and dropped at the next
//! acquire or release, so a crashed container cannot pin the mount forever.
//! (A container that crashed while still marked `created` stays a holder until
//! it is removed.)

use std::path::{Path, PathBuf};

use berth_mount::{is_mountpoint, Linux, Mount, Syscalls};
use berth_store::rusqlite::OptionalExtension;
use berth_store::Store;

use crate::{get, volume_dir, volume_lock, Volume, VolumeError};

/// Makes the volume ready for `container_id` and returns the host path to
/// mount into the container. Plain volumes need nothing; a volume with options
/// is mounted on its first holder.
pub fn acquire(
    store: &mut Store,
    name: &str,
    container_id: &str,
    sys: &dyn Syscalls,
) -> Result<PathBuf, VolumeError> {
    let volume = get(store, name)?;
    if volume.options.is_empty() {
        return Ok(volume.mountpoint);
    }
    let _lock = volume_lock(store, name)?;
    let holders_path = volume_dir(store, name).join("holders");
    let mut holders = live_holders(store, &holders_path)?;
    if holders.is_empty() && !mounted(&volume.mountpoint)? {
        let opt = |k: &str| volume.options.get(k).cloned().unwrap_or_default();
        sys.mount(&device_mount(&volume))
            .map_err(|source| VolumeError::MountFailed {
                path: volume.mountpoint.clone(),
                device: opt("device"),
                data: opt("o"),
                source: Box::new(source),
            })?;
    }
    if !holders.iter().any(|h| h == container_id) {
        holders.push(container_id.to_string());
    }
    write_holders(&holders_path, &holders)?;
    Ok(volume.mountpoint)
}

/// `container_id` no longer uses the volume; the last holder's release unmounts
/// a volume with options.
pub fn release(
    store: &mut Store,
    name: &str,
    container_id: &str,
    sys: &dyn Syscalls,
) -> Result<(), VolumeError> {
    let volume = get(store, name)?;
    if volume.options.is_empty() {
        return Ok(());
    }
    let _lock = volume_lock(store, name)?;
    let holders_path = volume_dir(store, name).join("holders");
    let mut holders = live_holders(store, &holders_path)?;
    holders.retain(|h| h != container_id);
    if holders.is_empty() {
        // Lazy: a container that is still being torn down may hold it busy.
        sys.unmount(&volume.mountpoint, true)?;
    }
    write_holders(&holders_path, &holders)
}

/// The mount the volume's options describe, onto its `_data`.
pub(crate) fn device_mount(volume: &Volume) -> Mount {
    let opt = |k: &str| volume.options.get(k).map(String::as_str).unwrap_or("");
    Mount::from_options(opt("device"), &volume.mountpoint, opt("type"), opt("o"))
}

fn mounted(path: &Path) -> Result<bool, VolumeError> {
    if !path.exists() {
        return Ok(false);
    }
    Ok(is_mountpoint(path)?)
}

/// Undoes a mount left on `dir/_data` (by a crash) before the directory is
/// deleted, so deletion never reaches into the mounted filesystem.
pub(crate) fn unmount_stale(dir: &Path) -> Result<(), VolumeError> {
    let data = dir.join("_data");
    if mounted(&data)? {
        Linux.unmount(&data, true)?;
    }
    Ok(())
}

fn live_holders(store: &Store, path: &Path) -> Result<Vec<String>, VolumeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VolumeError::io(path, e)),
    };
    let holders: Vec<String> = serde_json::from_str(&text).map_err(|e| VolumeError::Corrupt {
        name: path.display().to_string(),
        detail: e.to_string(),
    })?;
    let mut live = Vec::with_capacity(holders.len());
    for id in holders {
        let status: Option<String> = store
            .db()
            .query_row("SELECT status FROM containers WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .optional()?;
        if matches!(status.as_deref(), Some(s) if s != "exited" && s != "dead") {
            live.push(id);
        }
    }
    Ok(live)
}

fn write_holders(path: &Path, holders: &[String]) -> Result<(), VolumeError> {
    let tmp = path.with_extension("new");
    let json = serde_json::to_string(holders).map_err(|e| VolumeError::Corrupt {
        name: path.display().to_string(),
        detail: e.to_string(),
    })?;
    std::fs::write(&tmp, json).map_err(|e| VolumeError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| VolumeError::io(path, e))
}
