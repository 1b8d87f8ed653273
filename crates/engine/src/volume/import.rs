//! `volume import`: a tar (plain, gzip or zstd) extracted into a new or
//! empty volume — never merged into data that is there. A failed import
//! leaves the volume as it was: empty, or not there at all.

use std::io::Read;

use super::consistent::{names, plain};
use crate::volume::VolumeCreate;
use crate::{Engine, Error, ErrorKind, Result};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeImported {
    /// The volume did not exist and was created (local driver).
    pub created: bool,
    /// Bytes of file content written.
    pub bytes: u64,
}

impl Engine {
    /// Everything [`Engine::volume_import`] would refuse for volume `name`
    /// before reading any input.
    pub fn volume_import_check(&mut self, name: &str) -> Result<()> {
        match self.volume_inspect(name) {
            Ok(volume) => {
                plain(&volume, "import")?;
                let writers = self.volume_writers(name)?;
                if !writers.is_empty() {
                    return Err(Error::refused(
                        ErrorKind::Conflict,
                        format!(
                            "volume {name} is mounted read-write by running containers [{}]: stop them first",
                            names(&writers)
                        ),
                    ));
                }
                if !berth_archive::dir_is_empty(&volume.mountpoint)? {
                    return Err(Error::refused(
                        ErrorKind::Conflict,
                        format!(
                            "volume {name} is not empty: import only fills a new or empty volume"
                        ),
                    ));
                }
                Ok(())
            }
            Err(e) if crate::HasKind::kind(&e) == ErrorKind::NotFound => {
                berth_volume::validate_name(name)?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Extracts the tar `input` into volume `name`, created if missing.
    pub fn volume_import(&mut self, name: &str, input: impl Read) -> Result<VolumeImported> {
        self.volume_import_check(name)?;
        let created = self.volume_inspect(name).is_err();
        let volume = self.volume_create(VolumeCreate {
            name: Some(name.to_string()),
            driver: berth_volume::LOCAL_DRIVER.to_string(),
            ..VolumeCreate::default()
        })?;
        match berth_archive::unpack_volume(input, &volume.mountpoint) {
            Ok(bytes) => Ok(VolumeImported { created, bytes }),
            Err(e) => {
                if created {
                    let _ = self.volume_remove(name, true);
                } else {
                    let _ = berth_archive::empty_dir(&volume.mountpoint);
                }
                Err(match e {
                    // tar's own words quote the bad bytes; say what it is.
                    berth_archive::ArchiveError::Stream { entry, .. } => Error::refused(
                        ErrorKind::InvalidArgument,
                        format!(
                            "import into volume {name}: not a complete tar archive (plain, gzip or zstd){}; nothing imported",
                            if entry.is_empty() || entry.starts_with("entry after \"\"") {
                                String::new()
                            } else {
                                format!(" at {entry}")
                            }
                        ),
                    ),
                    other => other.into(),
                })
            }
        }
    }
}
