//! System-wide operations, one file each: df, prune, info, version,
//! check (`check.rs`, with `check_state.rs` and `finding.rs`).

mod check;
mod check_state;
mod df;
mod finding;
mod host;
mod info;
mod prune;
mod version;

pub use check::CheckRequest;
pub use df::{ContainerUsage, DiskUsage, ImageUsage, VolumeUsage};
pub use finding::{Checked, Finding};
pub use host::RuntimeFacts;
pub use info::SystemInfo;
pub use prune::{SystemPrune, SystemPruneReport};
pub use version::{VersionInfo, API_VERSION, MIN_API_VERSION};
