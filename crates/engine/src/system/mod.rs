//! System-wide operations, one file each: df, prune, info, version.

mod df;
mod host;
mod info;
mod prune;
mod version;

pub use df::{ContainerUsage, DiskUsage, ImageUsage, VolumeUsage};
pub use info::SystemInfo;
pub use prune::{SystemPrune, SystemPruneReport};
pub use version::{VersionInfo, API_VERSION, MIN_API_VERSION};
