//! Volume drivers: what keeps a volume's data and makes it available to the
//! containers that use it. There are two kinds: `local` (the data is a
//! directory of berth's root, or a mount made from the volume's options) and
//! Docker's volume **plugins** ([`crate::plugin`]: a process on a socket that
//! keeps the data elsewhere, e.g. rclone on sftp/WebDAV/S3). Nothing but a
//! driver mounts a volume, and only the container's monitor (and the
//! teardown of a container whose monitor died) asks it to.
//!
//! # Lifecycle
//! The volume store (this crate's root) owns every volume's **row** (name,
//! driver, options, labels), its **directory** `<root>/volumes/NAME/` (0701,
//! created staged and renamed into place in the transaction that inserts the
//! row; removed through `volumes/.trash`), the **reference counting** (a volume
//! is in use while a `container_volumes` row names it) and **prune**. The
//! driver named in the row owns what is inside that directory and the data:
//!
//! 1. [`VolumeDriver::validate`] checks a create request (name rule, options)
//!    before anything exists (a plugin judges them at create);
//! 2. [`VolumeDriver::create`] makes the volume while its directory is still
//!    staged (not yet visible under the volume's name); if it fails, or the
//!    row cannot be inserted after it, nothing is left: no row, no directory,
//!    and a plugin's volume is removed again;
//! 3. [`VolumeDriver::mount`] is called by a container's monitor before the
//!    container starts, once per mount of the volume in that container, and
//!    returns the host path to bind into it. Each such mount has its own
//!    **mount id** for a plugin (`VolumeDriver.Mount {Name, ID}`); the local
//!    driver mounts a volume created with `type`/`device`/`o` options for its
//!    first holder;
//! 4. [`VolumeDriver::path`] is where the data is (what `Mountpoint` shows)
//!    for the local driver; a plugin volume's is the plugin's answer
//!    ([`crate::plugin::describe`]);
//! 5. [`VolumeDriver::unmount`] is called when the container has stopped,
//!    exited or is removed, with the same container id: exactly once per
//!    mount (a plugin gets `VolumeDriver.Unmount` with the mount's id once);
//!    the last unmount undoes what the first mount did;
//! 6. [`VolumeDriver::remove`] deletes the volume in the driver (a plugin's
//!    `VolumeDriver.Remove`; the local driver undoes a mount a crash left)
//!    before the store deletes the directory (only a volume no container
//!    uses is removed).
//!
//! [`VolumeDriver::list`] names the volume directories the driver finds on
//! disk; the store compares them with its rows to sweep what a crash left.
//! [`VolumeDriver::capabilities`] gives the driver's scope (`local`: the
//! volume exists on this machine only; `global`: wherever the plugin's
//! backend is reachable), shown as the volume's `Scope`.
//!
//! # What survives a crash
//! Rows and directories are made and removed together under the store's write
//! lock (see the crate docs), so after a crash a volume is either whole and
//! listed or gone; a directory without a row is an orphan that the next
//! create, remove or prune deletes (a local one after [`VolumeDriver::remove`];
//! a plugin's is only forgotten: the plugin keeps its volume, which `volume
//! ls` still shows from the plugin's list). Mounts a driver made survive the
//! crash of the process that made them (not a reboot): the local driver
//! records who holds a mount by container id and does not count a holder
//! whose container no longer runs; a plugin mount is recorded (container,
//! mount id) before the plugin is asked, so a crash between Mount and the
//! container's start is unmounted by the next command that tears the
//! container down (`start`, `rm`, `system check --repair`).

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
    /// The name volumes record (`local`, a plugin's name).
    fn name(&self) -> &str;

    fn capabilities(&self) -> Capabilities;

    /// Checks a create request: the volume's name and the driver's options.
    fn validate(&self, name: &str, options: &Options) -> Result<(), VolumeError>;

    /// Makes the new volume `name`, whose still-staged directory is `dir`.
    fn create(&self, name: &str, dir: &Path, options: &Options) -> Result<(), VolumeError>;

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

    /// Deletes the volume `name` (directory `dir`) in the driver before the
    /// store deletes the directory.
    fn remove(&self, name: &str, dir: &Path) -> Result<(), VolumeError>;

    /// Names of the volume directories under `volumes_dir` this driver keeps
    /// data in.
    fn list(&self, volumes_dir: &Path) -> Result<Vec<String>, VolumeError>;
}
