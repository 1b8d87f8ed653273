//! The `local` driver: a volume's data is the directory `_data` inside its
//! volume directory. A volume created with options (`type`, `device`, `o`)
//! is `mount -t TYPE -o O DEVICE _data`, made when the first container mounts
//! it and undone when the last one unmounts it.
//!
//! Who holds the mount is recorded as container ids in `volumes/NAME/holders`
//! (JSON, replaced atomically) under `volumes/NAME/lock`. A holder whose
//! container is gone or has exited/died is stale and dropped at the next
//! mount or unmount, so a crashed container cannot pin the mount forever.
//! (A container that crashed while still marked `created` stays a holder until
//! it is removed.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_mount::{is_mountpoint, Linux, Mount, Syscalls};
use berth_store::rusqlite::OptionalExtension;
use berth_store::{FileLock, Store};

use crate::driver::{Capabilities, Options, Scope, VolumeDriver};
use crate::{Volume, VolumeError, TRASH_DIR};

/// The local driver; mounts through `sys`.
pub(crate) struct Local<'a> {
    pub sys: &'a dyn Syscalls,
}

impl VolumeDriver for Local<'_> {
    fn name(&self) -> &str {
        crate::LOCAL_DRIVER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: Scope::Local,
        }
    }

    fn validate(&self, name: &str, options: &Options) -> Result<(), VolumeError> {
        validate_name(name)?;
        validate_options(name, options)
    }

    /// `_data/` 0755; with `size`, a btrfs subvolume with that limit
    /// (crate::quota).
    fn create(&self, _name: &str, dir: &Path, options: &Options) -> Result<(), VolumeError> {
        use std::os::unix::fs::PermissionsExt;
        let data = self.path(dir);
        match options
            .get("size")
            .and_then(|s| crate::quota::size_option(s))
        {
            Some(bytes) => crate::quota::create_sized(&data, bytes)?,
            None => std::fs::create_dir(&data).map_err(|e| VolumeError::io(&data, e))?,
        }
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| VolumeError::io(&data, e))
    }

    fn path(&self, dir: &Path) -> PathBuf {
        dir.join("_data")
    }

    /// Plain volumes need nothing; a volume with options is mounted for its
    /// first holder.
    fn mount(
        &self,
        store: &Store,
        volume: &Volume,
        container_id: &str,
    ) -> Result<PathBuf, VolumeError> {
        if !volume.mounts_device() {
            return Ok(volume.mountpoint.clone());
        }
        let dir = crate::volume_dir(store, &volume.name);
        let _lock = FileLock::acquire(&dir.join("lock"))?;
        let holders_path = dir.join("holders");
        let mut holders = live_holders(store, &holders_path)?;
        if holders.is_empty() && !mounted(&volume.mountpoint)? {
            let opt = |k: &str| volume.options.get(k).cloned().unwrap_or_default();
            self.sys
                .mount(&device_mount(volume))
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
        Ok(volume.mountpoint.clone())
    }

    /// The last holder's unmount undoes the mount of a volume with options.
    fn unmount(
        &self,
        store: &Store,
        volume: &Volume,
        container_id: &str,
    ) -> Result<(), VolumeError> {
        if !volume.mounts_device() {
            return Ok(());
        }
        let dir = crate::volume_dir(store, &volume.name);
        let _lock = FileLock::acquire(&dir.join("lock"))?;
        let holders_path = dir.join("holders");
        let mut holders = live_holders(store, &holders_path)?;
        holders.retain(|h| h != container_id);
        if holders.is_empty() {
            // Lazy: a container that is still being torn down may hold it busy.
            self.sys.unmount(&volume.mountpoint, true)?;
        }
        write_holders(&holders_path, &holders)
    }

    /// Undoes a mount left on `_data` (by a crash) so deleting the directory
    /// never reaches into the mounted filesystem.
    fn remove(&self, _name: &str, dir: &Path) -> Result<(), VolumeError> {
        let data = self.path(dir);
        if mounted(&data)? {
            Linux.unmount(&data, true)?;
        }
        Ok(())
    }

    /// Every directory but the trash.
    fn list(&self, volumes_dir: &Path) -> Result<Vec<String>, VolumeError> {
        Ok(crate::read_dir_names(volumes_dir)?
            .into_iter()
            .filter(|n| n != TRASH_DIR)
            .collect())
    }
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
            "size" => {
                let value = &opts["size"];
                if crate::quota::size_option(value).is_none() {
                    return reject(format!("invalid size: '{value}'"));
                }
                if opts.contains_key("type") || opts.contains_key("device") {
                    return reject(
                        "size limits a volume's own data; it cannot be combined with \"type\" or \"device\""
                            .into(),
                    );
                }
            }
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

/// The mount the volume's options describe, onto its `_data`.
fn device_mount(volume: &Volume) -> Mount {
    let opt = |k: &str| volume.options.get(k).map(String::as_str).unwrap_or("");
    Mount::from_options(opt("device"), &volume.mountpoint, opt("type"), opt("o"))
}

fn mounted(path: &Path) -> Result<bool, VolumeError> {
    if !path.exists() {
        return Ok(false);
    }
    Ok(is_mountpoint(path)?)
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
