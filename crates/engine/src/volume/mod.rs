//! Volume operations, one file each: create, list, inspect, rm, prune, usage, and
//! berth's own export, import, clone, rename, diff and seed (with
//! [`consistent`]: what keeps writers away from a volume being copied).

mod clone;
mod consistent;
mod create;
mod diff;
mod export;
mod filter;
mod import;
mod inspect;
mod list;
mod plugins;
mod prune;
mod rename;
mod rm;
mod seed;
mod usage;

pub use berth_archive::{CloneStats, TarCompression};
pub use berth_volume::{
    inspect_json, Capabilities, PruneReport as VolumePruneReport, Scope, Usage as VolumeSize,
    Volume, VolumeDriver, DRIVERS, LOCAL_DRIVER,
};
pub use clone::{VolumeClone, VolumeCloned};
pub use consistent::thaw_before_exit;
pub use create::VolumeCreate;
pub use export::{VolumeExport, VolumeExported};
pub use filter::{VolumeFilter, VolumePruneFilter};
pub use import::VolumeImported;
pub use list::VolumeList;
pub use plugins::PluginInfo;
pub use seed::{SeedPolicy, VolumeSeed, VolumeSeeded};
