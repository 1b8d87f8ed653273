//! Volume drivers: what keeps a volume's data and makes it available to the
//! containers that use it.
//!
//! # Lifecycle
//! The volume store (this crate's root) owns every volume's **row** (name,
//! driver, options, labels), its **directory** `<root>/volumes/NAME/` (0701,
//! created staged and renamed into place in the transaction that inserts the
//! row; removed through `volumes/.trash`), the **reference counting** (a volume
//! is in use while a `container_volumes` row names it) and **prune**. The
//! driver named in the row owns what is inside that directory:
//!
//! 1. [`VolumeDriver::validate`] checks a create request (name rule, options)
//!    before anything exists;
//! 2. [`VolumeDriver::create`] prepares the data in the volume's directory
//!    while it is still staged (not yet visible under the volume's name);
//! 3. [`VolumeDriver::mount`] is called by each container's monitor before
//!    the container starts, with the container's id, and returns the host path
//!    to bind into it; a driver may do work on the first mount (the local
//!    driver mounts a volume created with `type`/`device`/`o` options);
//! 4. [`VolumeDriver::path`] is where the data is (what `Mountpoint` shows),
//!    whether mounted or not;
//! 5. [`VolumeDriver::unmount`] is called once the container has exited, with
//!    the same id; the last unmount undoes what the first mount did;
//! 6. [`VolumeDriver::remove`] undoes anything the driver still has active on
//!    the directory before the store deletes it (only a volume no container
//!    uses is removed).
//!
//! [`VolumeDriver::list`] names the volume directories the driver finds on
//! disk; the store compares them with its rows to sweep what a crash left.
//! [`VolumeDriver::capabilities`] gives the driver's scope (`local`: the
//! volume exists on this machine only), shown as the volume's `Scope`.
//!
//! # What survives a crash
//! Rows and directories are made and removed together under the store's write
//! lock (see the crate docs), so after a crash a volume is either whole and
//! listed or gone; a directory without a row is an orphan that the next
//! create, remove or prune deletes (after [`VolumeDriver::remove`]). Mounts a
//! driver made survive the crash of the process that made them (not a
//! reboot); a driver records who holds them by container id and must not
//! count a holder whose container no longer runs, so a crashed container
//! cannot pin a mount forever.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_store::Store;

use crate::{Volume, VolumeError};

/// A driver's options (`--opt KEY=VALUE`).
pub type Options = BTreeMap<String, String>;

/// Where a driver's volumes exist (Docker's `Capabilities.Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On this machine only.
    Local,
    /// Everywhere the driver's backend is reachable.
    Global,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Local => "local",
            Scope::Global => "global",
        }
    }
}

/// What a driver can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub scope: Scope,
}

/// A volume driver; see the module documentation for the lifecycle.
pub trait VolumeDriver {
    /// The name volumes record (`local`).
    fn name(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Checks a create request: the volume's name and the driver's options.
    fn validate(&self, name: &str, options: &Options) -> Result<(), VolumeError>;

    /// Prepares the data of a new volume in `dir`, its still-staged directory.
    fn create(&self, dir: &Path, options: &Options) -> Result<(), VolumeError>;

    /// Where the data of the volume in `dir` is, on the host.
    fn path(&self, dir: &Path) -> PathBuf;

    /// Makes `volume` ready for the container `container_id` and returns the
    /// host path to bind into it.
    fn mount(
        &self,
        store: &Store,
        volume: &Volume,
        container_id: &str,
    ) -> Result<PathBuf, VolumeError>;

    /// `container_id` (which has exited) no longer uses `volume`.
    fn unmount(
        &self,
        store: &Store,
        volume: &Volume,
        container_id: &str,
    ) -> Result<(), VolumeError>;

    /// Undoes what the driver still has active on the volume in `dir` before
    /// the store deletes the directory.
    fn remove(&self, dir: &Path) -> Result<(), VolumeError>;

    /// Names of the volume directories under `volumes_dir` this driver keeps
    /// data in.
    fn list(&self, volumes_dir: &Path) -> Result<Vec<String>, VolumeError>;
}
