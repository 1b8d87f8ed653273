//! The create-time checks of namespace modes, groups and cgroup resources
//! (Docker's `verifyContainerSettings` for them), kept apart from `create`'s
//! other checks.

use berth_container::model::{self, HostSpec};
use berth_container::{ContainerError, IpcMode, Result, SharedNamespace};
use berth_runtime::Limits;
use berth_store::Store;

/// The limits stored in `host`, as the runtime takes them.
pub(crate) fn limits(host: &HostSpec) -> Limits {
    Limits {
        memory_bytes: (host.memory > 0).then_some(host.memory),
        nano_cpus: (host.nano_cpus > 0).then_some(host.nano_cpus),
        pids_limit: host.pids_limit,
    }
}

/// Checks `host`'s modes, kernel settings (sysctls, devices, OOM) and
/// resources; `--pid`/`--ipc container:NAME` must name an existing container. Docker's default swap (2 × memory) is filled in. A
/// setting Docker would discard with a warning (block I/O weight on a kernel
/// without it) is refused here, with Docker's warning as the reason.
pub(super) fn validate(store: &Store, host: &mut HostSpec, hostname_given: bool) -> Result<()> {
    host.modes.validate(hostname_given)?;
    // dockerd records its default mode in the container.
    host.modes.cgroupns_mode = host
        .modes
        .cgroupns(berth_runtime::cgroup_v2_unified())
        .to_string();
    if let SharedNamespace::Container(other) = host.modes.pid() {
        model::find(store, other)?;
    }
    if let IpcMode::Container(other) = host.modes.ipc() {
        model::find(store, other)?;
    }
    let host_network = host.network_mode == "host";
    let host_ipc = host.modes.ipc() == IpcMode::Host;
    for name in host.modes.sysctls.keys() {
        berth_runtime::check_sysctl(name, host_network, host_ipc)?;
    }
    berth_runtime::check_devices(&host.modes.devices)?;
    berth_runtime::check_oom(host.modes.oom_score_adj, host.modes.oom_kill_disable)?;
    crate::rootless::check_no_limits(&limits(host), &host.resources)?;
    let asked_swappiness = host.resources.memory_swappiness.is_some();
    let warnings = berth_runtime::check_resources(limits(host), &mut host.resources, false)?;
    // Docker discards these settings with a warning (the block I/O weight,
    // memory swappiness where the kernel has no such knob); berth refuses.
    if let Some(warning) = warnings.first() {
        let flag = if asked_swappiness && host.resources.memory_swappiness.is_none() {
            "--memory-swappiness (HostConfig.MemorySwappiness)"
        } else {
            "--blkio-weight (HostConfig.BlkioWeight)"
        };
        return Err(ContainerError::InvalidArgument(format!(
            "{flag} refused: {warning} (dockerd creates the container without it; berth \
             refuses a setting it cannot apply)"
        )));
    }
    Ok(())
}
