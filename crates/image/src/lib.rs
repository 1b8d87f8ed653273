//! berth-image: images as Docker has them — a stack of shared, read-only layers
//! plus a config — stored without a daemon.
//!
//! Terms and lifecycle:
//! * a **reference** (`busybox:latest`) names an image ([`reference`]); an image's
//!   **ID** is `sha256:` + the digest of its config JSON;
//! * **blobs** ([`blobs`]) hold the configs, manifests and layer blobs, by digest;
//! * **layers** ([`layers`]) are unpacked once per chain ID into `layers/<hex>/`
//!   and used as overlay lowerdirs by every container of every image that has
//!   them; they are reference-counted by `image_layers`, `container_layers`
//!   and `container_image_mounts` ([`mounts`]: image mounts) rows and removed by [`gc_layers`] when nothing refers to them;
//! * images come in through [`import`], [`load`] and [`commit`], go out through
//!   [`save`], and are listed, inspected, tagged and removed through [`images`].
//!
//! Every write stages content under `tmp/`, renames it into place and then
//! commits all its rows in one transaction; a failure removes what it staged, so
//! the store never holds half an image.

pub mod blobs;
mod changes;
mod check;
pub mod config;
mod create;
mod error;
mod events;
pub mod images;
pub mod layers;
mod load;
pub mod mounts;
pub mod pulled;
pub mod reference;
mod save;

pub use changes::{apply_changes, apply_to_docker_config};
pub use check::{check, remove_damaged, ContentFinding};
pub use config::{ContainerConfig, Empty, ImageConfigDoc};
pub use create::{commit, commit_build_step, import, BuildStep, CommitContainer, ImportOptions};
pub use error::ImageError;
pub use images::{
    history, inspect, inspect_json, list, prune, remove, resolve, resolve_id, size, tag,
    DeleteItem, HistoryItem, ImageInspect, ImageSummary, LayerRef, ResolvedImage,
};
pub use load::{load, LoadedImage};
pub use reference::Reference;
pub use save::save;

/// Deletes layers (rows, then dirs) and blobs that no image or container refers
/// to. The container crate calls it after removing containers.
pub fn gc_layers(store: &mut berth_store::Store) -> Result<(), ImageError> {
    layers::gc(store).map(|_| ())
}
