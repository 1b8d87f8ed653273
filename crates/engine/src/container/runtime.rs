//! A container's OCI runtime: the one it was created with, whatever runtime
//! the current command was given.

use std::path::{Path, PathBuf};

use berth_container::model::Container;
use berth_container::Result;
use berth_error::{ErrorKind, HasKind};
use berth_runtime::{OciRuntime, RuntimeError};

/// Where runtimes keep their state, in the run directory (tmpfs: gone after
/// a reboot, as are the containers it describes).
pub(crate) fn runtime_state_root(run_dir: &Path) -> PathBuf {
    run_dir.join("runtime")
}

/// The runtime `c` was created with, keeping its state in `run_dir`.
pub(crate) fn runtime_of(c: &Container, run_dir: &Path) -> Result<Box<dyn OciRuntime>> {
    Ok(berth_runtime::open(
        &c.spec.host.runtime,
        &runtime_state_root(run_dir),
    )?)
}

/// Docker's exit status for a runtime failure that kept a process from
/// running: 127 when its command does not exist, 126 when it cannot be run.
pub(crate) fn docker_exit_status(e: &RuntimeError) -> Option<i32> {
    match e.kind() {
        ErrorKind::CommandNotFound => Some(127),
        ErrorKind::CannotExecute => Some(126),
        _ => None,
    }
}
