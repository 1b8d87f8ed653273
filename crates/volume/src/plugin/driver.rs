//! A plugin as a [`VolumeDriver`]. berth's directory of a plugin volume,
//! `volumes/NAME/`, holds `driver` (the plugin's name: an orphan directory is
//! recognised as a plugin volume's and never taken for local data) and
//! `mounts`, the record of the plugin mounts berth made: one entry per
//! container mount, `{container, id}`, written (under `volumes/NAME/lock`)
//! **before** `VolumeDriver.Mount` is called and removed once
//! `VolumeDriver.Unmount` got an answer for that id. So every Mount is
//! followed by exactly one Unmount of its id: after a crash the record is
//! still there and the next command that tears the container down (or
//! `system check --repair`) unmounts it; a plugin that is down when the
//! unmount is due keeps the record, and the unmount is retried when the
//! container is torn down again.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use berth_store::{FileLock, Store};
use serde::{Deserialize, Serialize};

use super::{Plugin, PluginVolume};
use crate::driver::{Capabilities, Options, Scope, VolumeDriver};
use crate::{Volume, VolumeError};

/// The file in a plugin volume's directory naming its driver.
pub const DRIVER_FILE: &str = "driver";
const MOUNTS_FILE: &str = "mounts";

/// The driver of the volumes of one (activated) plugin.
pub struct PluginDriver {
    plugin: Plugin,
    scope: OnceCell<Scope>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MountRecord {
    container: String,
    id: String,
}

impl PluginDriver {
    /// Finds and activates the plugin `name`.
    pub fn open(name: &str) -> Result<PluginDriver, VolumeError> {
        Ok(PluginDriver {
            plugin: Plugin::activate(name)?,
            scope: OnceCell::new(),
        })
    }

    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }
}

impl VolumeDriver for PluginDriver {
    fn name(&self) -> &str {
        &self.plugin.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: *self.scope.get_or_init(|| self.plugin.scope()),
        }
    }

    /// Names and options are the plugin's to judge (at create).
    fn validate(&self, _name: &str, _options: &Options) -> Result<(), VolumeError> {
        Ok(())
    }

    /// `VolumeDriver.Create`; `dir` keeps the driver's name.
    fn create(&self, name: &str, dir: &Path, options: &Options) -> Result<(), VolumeError> {
        let file = dir.join(DRIVER_FILE);
        std::fs::write(&file, &self.plugin.name).map_err(|e| VolumeError::io(&file, e))?;
        self.plugin.create(name, options)
    }

    /// berth's own directory of the volume; where the data is, is the
    /// plugin's answer ([`describe`]).
    fn path(&self, dir: &Path) -> PathBuf {
        dir.to_path_buf()
    }

    /// Records a new mount id for the container, then `VolumeDriver.Mount`.
    fn mount(
        &self,
        store: &Store,
        volume: &Volume,
        container_id: &str,
    ) -> Result<PathBuf, VolumeError> {
        let dir = crate::volume_dir(store, &volume.name);
        let _lock = FileLock::acquire(&dir.join("lock"))?;
        let mut records = read_records(&dir)?;
        let id = berth_store::new_id();
        records.push(MountRecord {
            container: container_id.to_string(),
            id: id.clone(),
        });
        write_records(&dir, &records)?;
        berth_store::crash::point("volume-plugin-mount", "before-call");
        match self.plugin.mount(&volume.name, &id) {
            Ok(path) if path.starts_with('/') => Ok(PathBuf::from(path)),
            result => {
                // Refused (or no usable path): nothing is mounted under this
                // id, so it is never unmounted either. A path-less answer
                // did mount: that mount is given back.
                if result.is_ok() {
                    let _ = self.plugin.unmount(&volume.name, &id);
                }
                records.retain(|r| r.id != id);
                write_records(&dir, &records)?;
                result.and_then(|path| {
                    Err(VolumeError::Plugin {
                        method: "VolumeDriver.Mount".into(),
                        reason: format!(
                            "plugin {} gave no absolute mountpoint ({path:?})",
                            self.plugin.name
                        ),
                        unavailable: false,
                    })
                })
            }
        }
    }

    /// `VolumeDriver.Unmount` of one of the container's mount ids, once.
    fn unmount(
        &self,
        store: &Store,
        volume: &Volume,
        container_id: &str,
    ) -> Result<(), VolumeError> {
        let dir = crate::volume_dir(store, &volume.name);
        let _lock = FileLock::acquire(&dir.join("lock"))?;
        let mut records = read_records(&dir)?;
        let Some(record) = records
            .iter()
            .find(|r| r.container == container_id)
            .cloned()
        else {
            return Ok(());
        };
        let result = self.plugin.unmount(&volume.name, &record.id);
        if matches!(
            result,
            Err(VolumeError::Plugin {
                unavailable: true,
                ..
            })
        ) {
            // Not heard: retried at the next teardown.
            return result;
        }
        records.retain(|r| r.id != record.id);
        write_records(&dir, &records)?;
        result
    }

    /// Unmounts what a crash left recorded, then `VolumeDriver.Remove`.
    fn remove(&self, name: &str, dir: &Path) -> Result<(), VolumeError> {
        for record in read_records(dir)? {
            let _ = self.plugin.unmount(name, &record.id);
        }
        self.plugin.remove(name)
    }

    /// Plugin volumes are listed by the store's rows and the plugin's
    /// `VolumeDriver.List` ([`foreign_volumes`]), not by directories.
    fn list(&self, _volumes_dir: &Path) -> Result<Vec<String>, VolumeError> {
        Ok(Vec::new())
    }
}

fn read_records(dir: &Path) -> Result<Vec<MountRecord>, VolumeError> {
    let path = dir.join(MOUNTS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| VolumeError::Corrupt {
            name: path.display().to_string(),
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(VolumeError::io(&path, e)),
    }
}

fn write_records(dir: &Path, records: &[MountRecord]) -> Result<(), VolumeError> {
    let path = dir.join(MOUNTS_FILE);
    let tmp = dir.join("mounts.new");
    let json = serde_json::to_vec(records).map_err(|e| VolumeError::Corrupt {
        name: path.display().to_string(),
        detail: e.to_string(),
    })?;
    std::fs::write(&tmp, json).map_err(|e| VolumeError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| VolumeError::io(&path, e))
}

/// Fills in what the plugin says of a plugin volume: `Mountpoint` (from
/// `VolumeDriver.Get`), `Status` and `Scope`. A local volume is returned as is.
pub fn describe(volume: Volume) -> Result<Volume, VolumeError> {
    if volume.driver == crate::LOCAL_DRIVER {
        return Ok(volume);
    }
    describe_with(&PluginDriver::open(&volume.driver)?, volume)
}

/// [`describe`] through a plugin already activated.
pub fn describe_with(driver: &PluginDriver, mut volume: Volume) -> Result<Volume, VolumeError> {
    let got = driver.plugin.get(&volume.name)?;
    fill(&mut volume, &got, driver.capabilities().scope);
    Ok(volume)
}

fn fill(volume: &mut Volume, got: &PluginVolume, scope: Scope) {
    volume.mountpoint = PathBuf::from(&got.mountpoint);
    volume.status = got.status.clone();
    volume.scope = scope;
}

/// The volumes the plugin lists that `known` (the store's names) does not
/// have: volumes made through another host or daemon, shown by `volume ls`
/// as dockerd shows every driver's list.
pub fn foreign_volumes(
    driver: &PluginDriver,
    known: &[String],
) -> Result<Vec<Volume>, VolumeError> {
    let scope = driver.capabilities().scope;
    let mut out = Vec::new();
    for got in driver.plugin.list()? {
        if got.name.is_empty() || known.contains(&got.name) {
            continue;
        }
        out.push(foreign(driver, &got, scope));
    }
    Ok(out)
}

/// The volume `name` as the plugin has it, though the store does not.
pub fn foreign_volume(driver: &PluginDriver, name: &str) -> Result<Volume, VolumeError> {
    let got = driver.plugin.get(name)?;
    Ok(foreign(driver, &got, driver.capabilities().scope))
}

fn foreign(driver: &PluginDriver, got: &PluginVolume, scope: Scope) -> Volume {
    let mut volume = Volume {
        name: got.name.clone(),
        driver: driver.plugin.name.clone(),
        labels: Default::default(),
        options: Default::default(),
        anonymous: false,
        created_at: got.created_at.clone(),
        mountpoint: PathBuf::new(),
        scope,
        status: None,
    };
    fill(&mut volume, got, scope);
    volume
}
