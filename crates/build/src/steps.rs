//! What a build needs from the engine: containers to run its steps in.
//!
//! berth-build sits below the engine and cannot create or start containers
//! itself; the engine hands the builder a [`StepContainers`] implementation.

use std::io::Write;
use std::path::PathBuf;

use berth_store::Store;

use crate::BuildError;

/// A container for one build step.
#[derive(Debug, Clone, Default)]
pub struct StepContainer {
    /// The image (an ID) the step runs on.
    pub image: String,
    /// The command (RUN), or a `#(nop)` comment for a container that is never
    /// started.
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    /// The network mode of a RUN container.
    pub network: String,
    /// `/dev/shm`'s size in bytes for a RUN container (0: Docker's 64 MiB).
    pub shm_size: u64,
    /// `host:ip` lines added to a RUN container's `/etc/hosts`.
    pub extra_hosts: Vec<String>,
}

/// The containers of a build's steps.
///
/// Lifecycle: [`create`](StepContainers::create) makes a container of an image
/// (status `created`); a RUN step then [`run`](StepContainers::run)s it once
/// to completion, while COPY/ADD/WORKDIR steps and `COPY --from` sources only
/// [`mount_root`](StepContainers::mount_root) it (and
/// [`unmount_root`](StepContainers::unmount_root) it afterwards); what a step
/// wrote is read from [`upper_dir`](StepContainers::upper_dir); the build
/// [`remove`](StepContainers::remove)s every container it created, whether
/// the step succeeded or not.
pub trait StepContainers {
    /// Creates a container; returns its ID.
    fn create(&mut self, store: &mut Store, spec: StepContainer) -> Result<String, BuildError>;
    /// Starts the container, copies its output to `out` and waits for it to
    /// exit; returns its exit status (126/127, after the reason was written to
    /// `out`, when the command cannot run).
    fn run(&mut self, store: &mut Store, id: &str, out: &mut dyn Write) -> Result<i32, BuildError>;
    /// Mounts the container's root filesystem (if it is not) and returns
    /// where it is.
    fn mount_root(&mut self, store: &mut Store, id: &str) -> Result<PathBuf, BuildError>;
    fn unmount_root(&mut self, store: &mut Store, id: &str) -> Result<(), BuildError>;
    /// The container's writable layer: what its steps changed.
    fn upper_dir(&self, store: &Store, id: &str) -> PathBuf;
    /// Removes the container (unmounting its root if needed).
    fn remove(&mut self, store: &mut Store, id: &str) -> Result<(), BuildError>;
}
