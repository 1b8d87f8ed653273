//! How this host confines containers, as `info` reports it: dockerd's
//! `SecurityOptions` (seccomp with Docker's builtin profile where the kernel
//! filters system calls, AppArmor where it is enabled, rootless, a private
//! cgroup namespace by default on cgroup v2) and warnings, in
//! dockerd's form, about what is missing and about container-escape CVEs of
//! the installed OCI runtime.

/// What `info` shows about confinement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSecurity {
    /// dockerd's `SecurityOptions` (`name=seccomp,profile=builtin`...).
    pub options: Vec<String>,
    /// `WARNING: ...` lines, as dockerd's `Warnings`.
    pub warnings: Vec<String>,
}

/// The confinement of this host with the OCI runtime `runtime`.
pub fn host_security(runtime: &str) -> HostSecurity {
    let mut warnings = berth_runtime::host_warnings();
    warnings.extend(berth_runtime::runtime_warnings(runtime));
    let mut options = berth_runtime::security_options();
    // dockerd's order after seccomp: `userns` (a daemon-wide remap, which
    // berth has not: `--userns` is per container), `rootless`, `cgroupns`
    // (containers get a private cgroup namespace by default, cgroup v2).
    if crate::rootless::active() {
        options.push("name=rootless".to_string());
    }
    if berth_runtime::cgroup_v2_unified() {
        options.push("name=cgroupns".to_string());
    }
    HostSecurity { options, warnings }
}

/// The paths an unprivileged container sees masked and read-only, as
/// `inspect` shows them in `HostConfig.MaskedPaths`/`ReadonlyPaths`.
pub fn confined_paths() -> (Vec<String>, Vec<String>) {
    (
        berth_runtime::masked_paths(),
        berth_runtime::readonly_paths(),
    )
}

/// A container's `HostConfig.CgroupnsMode` as dockerd shows it: the mode
/// recorded at create (dockerd's default for records made before berth
/// kept one).
pub fn cgroupns_mode(modes: &berth_container::HostModes) -> &str {
    modes.cgroupns(berth_runtime::cgroup_v2_unified())
}
