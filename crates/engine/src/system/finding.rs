//! What `system check` finds (see `check.rs`), one typed finding per
//! inconsistency, each printed as one line.

use std::path::PathBuf;

use berth_image::ContentFinding;
use berth_store::staging::DeadStaging;

use crate::container::leftovers::Leftover;

/// One inconsistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A line of SQLite's integrity or foreign-key check (not repairable here).
    Database(String),
    /// A container row whose directory is missing (repair: the row goes).
    ContainerWithoutDir { id: String },
    /// `containers/ID` without a row and not being created (repair: removed).
    ContainerDirWithoutRow { id: String },
    /// A container said to run whose monitor is gone (repair: marked exited,
    /// what it left torn down).
    MonitorGone { id: String },
    /// A running container's `pause` or `unpause` killed between the
    /// runtime's freezer and its record (repair: recorded as the runtime says).
    FreezerUnrecorded { id: String },
    /// Something a run of a container that does not run left (repair: torn down).
    Leftover { id: String, what: Leftover },
    /// The content store (repair: gc for garbage; a damaged image is
    /// removed, its containers kept; damage only containers use stays).
    Content(ContentFinding),
    /// A volume removal or rename a crash interrupted (repair: finished or
    /// rolled back).
    VolumeRemoval(PathBuf),
    /// A volume directory without a row (repair: registered again when it
    /// holds data, removed when empty).
    VolumeDirWithoutRow { name: String, holds_data: bool },
    /// A volume row without its directory (repair: made again, empty).
    VolumeWithoutDir { name: String },
    /// A mount under the root that no running container owns (repair: unmounted).
    StrayMount(PathBuf),
    /// A lease file naming the network namespace of a container of this
    /// root, which is not mounted (repair: removed).
    StaleLease { path: PathBuf, owner: PathBuf },
    /// Staging of a process that died (repair: removed).
    DeadStaging(DeadStaging),
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Database(line) => write!(f, "database: {line}"),
            Finding::ContainerWithoutDir { id } => {
                write!(f, "container {id}: record without a directory")
            }
            Finding::ContainerDirWithoutRow { id } => {
                write!(f, "container {id}: directory without a record")
            }
            Finding::MonitorGone { id } => {
                write!(
                    f,
                    "container {id}: recorded as running but its monitor is gone"
                )
            }
            Finding::FreezerUnrecorded { id } => write!(
                f,
                "container {id}: a pause or unpause was killed before its record"
            ),
            Finding::Leftover { id, what } => {
                write!(f, "container {id}: not running but {what} left")
            }
            Finding::Content(c) => write!(f, "image store: {c}"),
            Finding::VolumeRemoval(p) => {
                write!(f, "volume: interrupted removal or rename {}", p.display())
            }
            Finding::VolumeDirWithoutRow { name, holds_data } => write!(
                f,
                "volume {name}: directory without a record ({})",
                if *holds_data { "holds data" } else { "empty" }
            ),
            Finding::VolumeWithoutDir { name } => {
                write!(f, "volume {name}: record without a directory")
            }
            Finding::StrayMount(p) => {
                write!(f, "mount {}: owned by no running container", p.display())
            }
            Finding::StaleLease { path, owner } => write!(
                f,
                "address lease {}: its namespace {} is gone",
                path.display(),
                owner.display()
            ),
            Finding::DeadStaging(DeadStaging::Owner(p)) => {
                write!(f, "staging {}: its process is gone", p.display())
            }
            Finding::DeadStaging(DeadStaging::Container(p)) => write!(
                f,
                "container directory {}: made by a process that died before its record",
                p.display()
            ),
        }
    }
}

/// A finding and, when repair was asked, whether it is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub finding: Finding,
    pub repaired: bool,
}
