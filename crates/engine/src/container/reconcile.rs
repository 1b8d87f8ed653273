//! Finding a container, and repairing the record of one whose monitor died
//! (SIGKILL, OOM, reboot).

use std::path::Path;
use std::time::Duration;

use berth_container::model::{self, Container, Paths, Status};
use berth_container::state::{self, Exit, Transition};
use berth_container::{ContainerError, Result};
use berth_store::{FileLock, Store};

use super::leftovers;
use super::removal::remove_stopped;
use crate::monitor::client;

/// How long a command waits for a monitor to finish tearing down a run
/// whose exit it has recorded (network, volumes, rootfs: well under a second).
const TEARDOWN_WAIT: Duration = Duration::from_secs(30);

/// Finds a container and repairs its state if its monitor died.
pub fn lookup(store: &mut Store, run_dir: &Path, reference: &str) -> Result<Container> {
    let mut c = model::find(store, reference)?;
    reconcile(store, run_dir, &mut c)?;
    Ok(c)
}

/// [`lookup`] for a command that needs the container torn down if it is
/// not running (`start`, `rm`, `cp`, `commit`...): a run whose exit is
/// recorded while its monitor still tears it down is waited for, as
/// dockerd's container lock makes such commands wait.
pub fn lookup_settled(store: &mut Store, run_dir: &Path, reference: &str) -> Result<Container> {
    let mut c = lookup(store, run_dir, reference)?;
    let paths = Paths::of(store, &c.id);
    if !c.state.status.has_monitor() && paths.teardown_pending.exists() {
        if !client::wait_exit(store, &c.id, TEARDOWN_WAIT) {
            return Err(ContainerError::Conflict(format!(
                "container {} is still being torn down",
                c.id
            )));
        }
        // It may be gone (`--rm`) or have been torn down by someone else.
        model::reload(store, &mut c)?;
        reconcile(store, run_dir, &mut c)?;
    }
    Ok(c)
}

/// Whether `c`'s last run has ended (its exit is recorded) and its monitor
/// is still tearing it down.
pub(crate) fn tearing_down(store: &Store, c: &Container) -> bool {
    let paths = Paths::of(store, &c.id);
    !c.state.status.has_monitor()
        && paths.teardown_pending.exists()
        && FileLock::is_held(&paths.monitor_lock)
}

/// If `c` claims a monitor but none holds its lock, the monitor died: kill
/// what is left of the container, release its mounts and mark it exited.
/// A container that claims none but whose run left something (a monitor
/// killed during setup, before `runc start`, or after recording the exit
/// and before its cleanup) has that torn down. A container left `removing`
/// by an interrupted `rm` is removed. `run_dir` is the root's run
/// directory (the runtime's state, the namespace).
pub fn reconcile(store: &mut Store, run_dir: &Path, c: &mut Container) -> Result<()> {
    if c.state.status == Status::Removing {
        // Another process may be removing it (or a monitor running it)
        // right now: leave it to that one.
        return match remove_stopped(store, run_dir, c, false) {
            Err(ContainerError::Conflict(_)) => Ok(()),
            other => other.map(|_| ()),
        };
    }
    let paths = Paths::of(store, &c.id);
    if FileLock::is_held(&paths.monitor_lock) {
        // A pause or unpause killed between the freezer and its record.
        return super::freezer::settle(store, run_dir, c);
    }
    if !c.state.status.has_monitor() && leftovers::find(store, run_dir, &c.id).is_empty() {
        return Ok(());
    }
    // Take the lock ourselves so a monitor being spawned right now cannot race us.
    let Ok(_lock) = FileLock::try_acquire(&paths.monitor_lock) else {
        return Ok(());
    };
    let latest = model::find(store, &c.id)?;
    // The monitor writes the reaped process's exit code into its teardown
    // mark just before it records the exit: a monitor killed in between
    // still leaves the run's own code.
    let reaped: Option<i32> = std::fs::read_to_string(&paths.teardown_pending)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if !latest.state.status.has_monitor() {
        *c = latest;
        leftovers::tear_down(store, run_dir, c)?;
        return forget_mark(&paths);
    }
    leftovers::tear_down(store, run_dir, c)?;
    let exit = match reaped {
        Some(code) => Exit {
            code,
            oom_killed: false,
            error: "",
        },
        None => Exit {
            code: 137,
            oom_killed: false,
            error: "monitor exited unexpectedly",
        },
    };
    store.write(|tx| state::transition(tx, &c.id, Transition::Die(exit)))?;
    forget_mark(&paths)?;
    model::reload(store, c)
}

/// Removes a dead monitor's teardown mark once its teardown is done.
fn forget_mark(paths: &Paths) -> Result<()> {
    match std::fs::remove_file(&paths.teardown_pending) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ContainerError::io(&paths.teardown_pending, e))
        }
        _ => Ok(()),
    }
}
