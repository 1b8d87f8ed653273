//! The kernel settings of a container's run: its IPC namespace and
//! `/dev/shm` (`--ipc`, Docker's rules: a `shareable` container's tmpfs is
//! mounted under its directory so that `container:NAME` can join it), and
//! its cgroup namespace, sysctls, devices and OOM killer as stored.

use std::path::PathBuf;

use berth_container::model::{self, Container};
use berth_container::{rootfs, ContainerError, IpcMode, Result};
use berth_mount::Linux;
use berth_runtime::{KernelSettings, Namespace, Shm};
use berth_store::Store;

pub(super) fn kernel_settings(store: &Store, c: &Container, sys: &Linux) -> Result<KernelSettings> {
    let modes = &c.spec.host.modes;
    let (ipc, shm) = match modes.ipc() {
        IpcMode::Private => (Namespace::New, Shm::Tmpfs),
        IpcMode::None => (Namespace::New, Shm::None),
        IpcMode::Host => (Namespace::Host, Shm::Bind(PathBuf::from("/dev/shm"))),
        IpcMode::Shareable => (
            Namespace::New,
            Shm::Bind(rootfs::mount_shm(store, &c.id, sys, c.spec.host.shm_size)?),
        ),
        IpcMode::Container(other) => donor(store, other)?,
    };
    Ok(KernelSettings {
        ipc,
        shm,
        sysctls: modes.sysctls.clone(),
        devices: modes.devices.clone(),
        oom_kill_disable: modes.oom_kill_disable,
        private_cgroupns: match modes.cgroupns_mode.as_str() {
            "private" => Some(true),
            "host" => Some(false),
            _ => None,
        },
    })
}

/// The IPC namespace and `/dev/shm` of the running, shareable container
/// `reference` (or of the host, when it shares the host's), with Docker's
/// errors.
fn donor(store: &Store, reference: &str) -> Result<(Namespace, Shm)> {
    let other = running_donor(store, reference, |id| {
        format!("cannot join IPC of a non running container: {id}")
    })?;
    match other.spec.host.modes.ipc() {
        IpcMode::Shareable => Ok((
            Namespace::Path(PathBuf::from(format!("/proc/{}/ns/ipc", other.state.pid))),
            Shm::Bind(model::Paths::of(store, &other.id).shm),
        )),
        IpcMode::Host => Ok((Namespace::Host, Shm::Bind(PathBuf::from("/dev/shm")))),
        _ => Err(ContainerError::Conflict(format!(
            "can't join IPC of container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
            other.id
        ))),
    }
}

/// The container `reference` whose namespaces another joins (`--ipc`,
/// `--pid container:NAME`): running (or paused) with a process, else a
/// conflict worded by `refusal` (given its id), as Docker's.
pub(super) fn running_donor(
    store: &Store,
    reference: &str,
    refusal: fn(&str) -> String,
) -> Result<Container> {
    let other = model::find(store, reference)?;
    if !matches!(
        other.state.status,
        model::Status::Running | model::Status::Paused
    ) || other.state.pid <= 0
    {
        return Err(ContainerError::Conflict(refusal(&other.id)));
    }
    Ok(other)
}
