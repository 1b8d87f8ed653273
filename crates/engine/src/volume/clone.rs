//! `volume clone`: a new volume with a copy of another's data — reflinked
//! where the filesystem can (btrfs, XFS with reflink), copied otherwise —
//! taken while nothing writes to the source (see [`super::consistent`]).
//! The copy is made in the store's staging area and the new volume appears
//! with its row, complete, or not at all.

use berth_archive::CloneStats;
use berth_volume::Volume;

use super::consistent::plain;
use crate::{Engine, Error, ErrorKind, Result};

/// What `volume clone` asks for.
#[derive(Debug, Clone, Default)]
pub struct VolumeClone {
    pub source: String,
    /// The new volume's name; no volume may have it.
    pub target: String,
    /// Freeze the running containers that write to the source meanwhile.
    pub pause: bool,
}

/// What a clone made.
#[derive(Debug, Clone)]
pub struct VolumeCloned {
    pub volume: Volume,
    pub stats: CloneStats,
    /// The containers frozen for the copy (and thawed after it).
    pub paused: Vec<String>,
}

impl Engine {
    pub fn volume_clone(&mut self, request: &VolumeClone) -> Result<VolumeCloned> {
        let source = self.volume_inspect(&request.source)?;
        plain(&source, "clone")?;
        berth_volume::validate_name(&request.target)?;
        if self.volume_inspect(&request.target).is_ok() {
            return Err(Error::refused(
                ErrorKind::Conflict,
                format!("volume {} already exists", request.target),
            ));
        }
        let paused = self.volume_quiesce(&source, "clone", request.pause)?;
        let mut stats = CloneStats::default();
        let made = berth_volume::create_filled(
            &mut self.store,
            &request.target,
            &source.labels,
            &mut |data| {
                stats = berth_archive::clone_tree(&source.mountpoint, data)?;
                Ok(())
            },
        );
        let ids = paused.iter().map(|f| f.container.id.clone()).collect();
        let thawed = self.volume_thaw(paused);
        let volume = made?;
        thawed?;
        Ok(VolumeCloned {
            volume,
            stats,
            paused: ids,
        })
    }
}
