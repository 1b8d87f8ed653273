//! `volume seed VOL IMAGE:PATH [--only-missing | --overwrite]`: an image's
//! content at a path copied into an existing volume, so that a new image
//! version's defaults reach a volume that was seeded from an older one
//! (Docker only ever seeds an empty volume, at its first mount). The copy
//! is copy-up's: ownership, modes, xattrs and times from the image, nothing
//! written through a symlink of the volume. Running containers that write
//! to the volume refuse it, or are frozen meanwhile (`pause`), as for
//! `volume export` (see [`super::consistent`]).

use std::os::fd::AsFd;

use berth_archive::Change;
pub use berth_archive::SeedPolicy;

use super::consistent::plain;
use crate::{Engine, Result};

/// What `volume seed` asks for.
#[derive(Debug, Clone)]
pub struct VolumeSeed {
    pub name: String,
    /// `IMAGE:/PATH`.
    pub source: String,
    pub policy: SeedPolicy,
    /// Freeze the running containers that write to the volume meanwhile
    /// (otherwise they refuse the seed).
    pub pause: bool,
}

/// What a seed did.
#[derive(Debug, Clone)]
pub struct VolumeSeeded {
    /// The changes it applied (`D`: copied in, `C`: replaced), by path.
    pub applied: Vec<Change>,
    /// The containers frozen for the copy (and thawed after it).
    pub paused: Vec<String>,
}

impl Engine {
    pub fn volume_seed(&mut self, request: &VolumeSeed) -> Result<VolumeSeeded> {
        let volume = self.volume_inspect(&request.name)?;
        plain(&volume, "seed")?;
        let image = self.image_dir(&request.source)?;
        let paused = self.volume_quiesce(&volume, "seed", request.pause)?;
        let seeded = berth_archive::seed_tree(
            image.dir.as_fd(),
            &image.shown,
            &volume.mountpoint,
            request.policy,
        );
        let ids = paused.iter().map(|f| f.container.id.clone()).collect();
        let thawed = self.volume_thaw(paused);
        let applied = seeded?;
        thawed?;
        Ok(VolumeSeeded {
            applied,
            paused: ids,
        })
    }
}
