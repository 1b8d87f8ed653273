//! The filters of `volume ls` and `volume prune`, as dockerd applies them.

use crate::filters::{Filters, Labels, PruneLabels};
use crate::Result;

/// `volume ls --filter`: `dangling`, `driver`, `label`, `name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeFilter {
    /// `true`: only volumes no container uses; `false`: only used ones.
    pub dangling: Option<bool>,
    pub drivers: Vec<String>,
    pub labels: Labels,
    /// Equal to the name, or a regular expression matching in it.
    pub names: Vec<String>,
}

impl VolumeFilter {
    pub fn new(filters: &Filters) -> Result<VolumeFilter> {
        filters.accept(&["dangling", "driver", "label", "name"])?;
        Ok(VolumeFilter {
            dangling: filters.boolean("dangling", (&["true", "1"], &["false", "0"]))?,
            drivers: filters.get("driver").to_vec(),
            labels: filters.labels("label"),
            names: filters.get("name").to_vec(),
        })
    }
}

/// `volume prune --filter`: `label`, `label!`, and `all` (every unused
/// volume, not only anonymous ones: the CLI's `-a`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumePruneFilter {
    pub all: bool,
    pub labels: PruneLabels,
}

impl VolumePruneFilter {
    pub fn new(filters: &Filters) -> Result<VolumePruneFilter> {
        filters.accept(&["label", "label!", "all"])?;
        // Go's strconv.ParseBool, as dockerd reads `all`.
        let truth = ["1", "t", "T", "TRUE", "true", "True"];
        let falsity = ["0", "f", "F", "FALSE", "false", "False"];
        Ok(VolumePruneFilter {
            all: filters.boolean("all", (&truth, &falsity))?.unwrap_or(false),
            labels: PruneLabels::of(filters),
        })
    }
}
