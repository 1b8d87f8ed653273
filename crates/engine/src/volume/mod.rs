//! Volume operations, one file each: create, list, inspect, rm, prune.

mod create;
mod filter;
mod inspect;
mod list;
mod prune;
mod rm;

pub use berth_volume::{
    inspect_json, Capabilities, PruneReport as VolumePruneReport, Scope, Volume, VolumeDriver,
    DRIVERS, LOCAL_DRIVER,
};
pub use create::VolumeCreate;
pub use filter::{VolumeFilter, VolumePruneFilter};
