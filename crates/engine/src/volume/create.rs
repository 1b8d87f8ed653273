//! `volume create`.

use std::collections::BTreeMap;

use berth_volume::Volume;

use crate::{Engine, Result};

/// What `volume create` asks for.
#[derive(Debug, Clone, Default)]
pub struct VolumeCreate {
    /// `None`: a random 64-hex name.
    pub name: Option<String>,
    /// The driver's name: `local` or a volume plugin's.
    pub driver: String,
    /// The driver's options (`-o`).
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// Marked anonymous (pruned by a plain `volume prune`).
    pub anonymous: bool,
}

impl Engine {
    /// Creates a volume, or returns the existing one of that name (Docker's
    /// create is idempotent).
    /// A plugin volume is returned as its plugin describes it (or as stored
    /// when the plugin's `Get` fails right after its `Create` succeeded).
    pub fn volume_create(&mut self, request: VolumeCreate) -> Result<Volume> {
        let v = berth_volume::create(
            &mut self.store,
            request.name.as_deref(),
            &request.driver,
            request.options,
            request.labels,
            request.anonymous,
        )?;
        Ok(berth_volume::plugin::describe(v.clone()).unwrap_or(v))
    }
}
