//! Signalling a container's processes, as `kill`, `stop` and `rm -f` do:
//! the signal with its event, and the mark that the user stopped it.

use berth_container::model::{Container, Paths, Status};
use berth_container::state;
use berth_container::Result;
use berth_runtime::OciRuntime;
use berth_store::Store;

use crate::monitor::client;

/// Sends `signal` (to every process of the container with `all`) and
/// records Docker's `kill` event, in one write transaction: the monitor's
/// `die` that the signal causes waits for it, so the events come in order.
pub(super) fn kill(
    store: &mut Store,
    rt: &dyn OciRuntime,
    id: &str,
    signal: i32,
    all: bool,
) -> Result<()> {
    // A rootless berth's container has no cgroup of its own, through which
    // the runtime finds "every process": its init is signalled (SIGKILL to
    // a PID namespace's init ends everything in it).
    let all = all && !crate::rootless::active();
    store.write(|tx| {
        state::record(tx, id, "kill", vec![("signal", signal.to_string())])?;
        Ok(rt.kill(id, signal, all)?)
    })
}

/// Marks `c` as stopped by the user, so that its restart policy does not
/// start it again; a monitor waiting out a restart back-off is told at once.
pub(super) fn mark_stopped_by_user(store: &mut Store, c: &Container) -> Result<()> {
    store.write(|tx| state::set_stopped_by_user(tx, &c.id))?;
    if c.state.status == Status::Restarting {
        client::cancel_restart(&Paths::of(store, &c.id).attach_socket);
    }
    Ok(())
}
