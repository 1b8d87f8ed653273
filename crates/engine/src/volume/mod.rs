//! Volume operations, one file each: create, list, inspect, rm, prune, usage.

mod create;
mod filter;
mod inspect;
mod list;
mod prune;
mod rm;
mod usage;

pub use berth_volume::{
    inspect_json, Capabilities, PruneReport as VolumePruneReport, Scope, Usage as VolumeSize,
    Volume, VolumeDriver, DRIVERS, LOCAL_DRIVER,
};
pub use create::VolumeCreate;
pub use filter::{VolumeFilter, VolumePruneFilter};
