//! `volume export`: a volume's data as a tar (plain, gzip or zstd), taken
//! while nothing writes to it (see [`super::consistent`]).

use std::io::Write;

use berth_archive::TarCompression;

use super::consistent::plain;
use crate::{Engine, Result};

/// What `volume export` asks for.
#[derive(Debug, Clone, Default)]
pub struct VolumeExport {
    pub name: String,
    pub compression: TarCompression,
    /// Freeze the running containers that write to the volume meanwhile
    /// (otherwise they refuse the export).
    pub pause: bool,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeExported {
    /// Bytes of the tar stream (before compression).
    pub tar_bytes: u64,
    /// The containers frozen for the export (and thawed after it).
    pub paused: Vec<String>,
}

impl Engine {
    /// Everything [`Engine::volume_export`] would refuse, checked before a
    /// front end starts streaming (an error after the first byte can no
    /// longer be an error response).
    pub fn volume_export_check(&mut self, request: &VolumeExport) -> Result<()> {
        let volume = self.volume_inspect(&request.name)?;
        plain(&volume, "export")?;
        if !request.pause {
            self.volume_quiesce(&volume, "export", false)?;
        }
        Ok(())
    }

    /// Writes volume `request.name` to `out` as a tar.
    pub fn volume_export(
        &mut self,
        request: &VolumeExport,
        out: impl Write,
    ) -> Result<VolumeExported> {
        let volume = self.volume_inspect(&request.name)?;
        plain(&volume, "export")?;
        let paused = self.volume_quiesce(&volume, "export", request.pause)?;
        let packed = berth_archive::pack_volume(&volume.mountpoint, out, request.compression);
        berth_store::crash::point("volume-export", "after-pack");
        let ids = paused.iter().map(|f| f.container.id.clone()).collect();
        let thawed = self.volume_thaw(paused);
        let tar_bytes = packed?;
        thawed?;
        Ok(VolumeExported {
            tar_bytes,
            paused: ids,
        })
    }
}
