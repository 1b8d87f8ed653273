//! berth-archive: every tar stream and every untrusted path in berth goes through here.
//!
//! Terms:
//! - **root**: a host directory that stands for `/` of some filesystem tree we do not trust (a container's merged
//!   rootfs, an image rootfs, a volume). Paths *inside* a root come from containers, archives or users; they are
//!   always resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` so that `..` and symlinks (absolute or
//!   relative) are clamped to the root, exactly as if the root were `/` ([`open_in_root`], [`resolve_in_root`],
//!   [`mkdir_all_in_root`]).
//! - **layer**: an OCI layer tar (plain, gzip or zstd). [`unpack_layer`] turns one into a directory that later
//!   serves as an overlayfs *lowerdir*: OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) become overlayfs whiteouts
//!   (0/0 char devices, `trusted.overlay.opaque=y`). Its **diff_id** is the sha256 of the uncompressed tar stream.
//!   [`pack_layer`] is the inverse for `commit`: an overlay *upperdir* becomes a layer tar again.
//! - **tree tar**: a plain tar of a directory without whiteout translation ([`pack_tree`]), for `export` / `save`.
//! - **changes**: `docker diff` of an upperdir against its lowerdirs ([`changes`]).
//! - **cp**: Docker's `GET/PUT/HEAD /containers/{id}/archive` primitives ([`stat_in_root`], [`archive_path`],
//!   [`extract_to_dir`]) and the docker CLI's SRC/DEST rules on top of them ([`plan_copy_into_root`], [`copy_from_root`]),
//!   which report their progress to a [`CopyProgress`].
//! - **copy-up**: seeding a new volume with the image content at its mount point ([`copy_up`]).
//! - **volume tar**: a volume's backup ([`pack_volume`] / [`unpack_volume`]): a tree tar with its root, holes kept
//!   (GNU sparse entries), plain, gzip or zstd; **clone**: a tree copied file by file, reflinked where the
//!   filesystem can ([`clone_tree`]).
//! - **re-seeding**: a volume compared with a directory of an image ([`compare_trees`], `volume diff`) and the
//!   image's content copied in ([`seed_tree`], `volume seed`), copy-up's walk and extraction.
//! - **disk usage**: `du`-style byte count for `system df` ([`disk_usage`]).
//!
//! Lifecycle of a layer: blob → `unpack_layer` into an empty staging dir → (image crate renames it into the layer
//! store) → mounted read-only as a lowerdir; a container's upperdir → `pack_layer` → new blob on `commit`.
//!
//! Safety rules shared by everything here: a tar entry whose name escapes its destination (`..`), that would be
//! written through a symlink, or a hard link pointing outside, is an error — never silently skipped. Symlinks in
//! archives are stored as-is and never followed while writing.

mod clone;
mod copyup;
mod cp;
mod cp_paths;
mod cp_progress;
mod diff;
mod du;
mod error;
mod extract;
mod fsutil;
mod ids;
mod inroot;
mod pack;
mod reseed;
mod sparse;
mod unpack;
mod volume;

pub use clone::{clone_tree, CloneStats};
pub use copyup::copy_up;
pub use cp::{
    archive_path, copy_from_root, extract_to_dir, extract_to_dir_shifted, plan_copy_into_root,
    resolve_container_path, stat_in_root, CopyIn, PathStat,
};
pub use cp_paths::go_clean as clean_path;
pub use cp_progress::{CopyProgress, NoProgress};
pub use diff::{changes, Change, ChangeKind};
pub use du::disk_usage;
pub use error::ArchiveError;
pub use ids::IdShift;
pub use inroot::{mkdir_all_in_root, open_in_root, resolve_in_root};
pub use pack::{pack_layer, pack_tree, PackedLayer};
pub use reseed::{compare_trees, seed_tree, SeedPolicy};
pub use unpack::{unpack_layer, UnpackedLayer};
pub use volume::{dir_is_empty, empty_dir, pack_volume, unpack_volume, TarCompression};
