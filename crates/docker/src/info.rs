//! `info` as dockerd's `GET /info` document, built once from the engine's
//! [`SystemInfo`] for both front ends: `berth serve` sends it, `berth info`
//! formats it (`--format`) or prints it as `docker info` prints dockerd's.

use berth_engine::system::SystemInfo;
use serde_json::{json, Map, Value};

/// What only the process answering knows.
#[derive(Debug, Clone)]
pub struct Answering<'a> {
    /// `ServerVersion`.
    pub server_version: &'a str,
    /// Whether it logs at debug (`berth serve -D`).
    pub debug: bool,
    /// `/events` clients it serves.
    pub events_listeners: usize,
}

/// The number of open descriptors and threads of this process (dockerd's
/// `NFd` and `NGoroutines`: a Rust process has threads, not goroutines).
fn own_descriptors_and_threads() -> (usize, usize) {
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0);
    (fds, threads)
}

/// dockerd's `/info` document.
pub fn document(i: &SystemInfo, answering: &Answering) -> Value {
    let (nfd, threads) = own_descriptors_and_threads();
    let f = &i.cgroup_features;
    let mut names: Vec<&berth_engine::system::RuntimeFacts> = i.runtimes.iter().collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    let runtimes: Map<String, Value> = names
        .into_iter()
        .map(|r| (r.name.clone(), json!({ "path": r.path })))
        .collect();
    let runc_commit = i
        .runtimes
        .iter()
        .find(|r| r.name == "runc")
        .map_or("", |r| r.commit.as_str());
    let (cidrs, hosts): (Vec<&String>, Vec<&String>) =
        i.insecure_registries.iter().partition(|r| r.contains('/'));
    let mut index_configs = Map::new();
    // dockerd lists Docker Hub's mirrors twice: for the index and overall.
    index_configs.insert(
        "docker.io".into(),
        json!({"Name": "docker.io", "Mirrors": i.registry_mirrors, "Secure": true, "Official": true}),
    );
    for host in hosts {
        index_configs.insert(
            host.clone(),
            json!({"Name": host, "Mirrors": [], "Secure": false, "Official": false}),
        );
    }
    json!({
        "ID": i.id,
        "Containers": i.containers,
        "ContainersRunning": i.containers_running,
        "ContainersPaused": i.containers_paused,
        "ContainersStopped": i.containers_stopped,
        "Images": i.images,
        "Driver": "overlay2",
        // berth reads a layer's changes from its upper directory (dockerd's
        // "Native Overlay Diff") and, rootful, keeps overlay's xattrs in the
        // trusted namespace (no "userxattr").
        "DriverStatus": [
            ["Backing Filesystem", i.backing_filesystem],
            ["Supports d_type", i.supports_d_type.to_string()],
            ["Native Overlay Diff", "true"],
            ["userxattr", "false"],
        ],
        "Plugins": {
            "Volume": i.volume_drivers,
            "Network": ["bridge", "host", "null"],
            "Authorization": null,
            "Log": i.log_drivers,
        },
        "MemoryLimit": f.memory_limit,
        "SwapLimit": f.swap_limit,
        "KernelMemory": f.kernel_memory,
        "KernelMemoryTCP": f.kernel_memory_tcp,
        "CpuCfsPeriod": f.cpu_cfs_period,
        "CpuCfsQuota": f.cpu_cfs_quota,
        "CPUShares": f.cpu_shares,
        "CPUSet": f.cpuset,
        "PidsLimit": f.pids_limit,
        "OomKillDisable": f.oom_kill_disable,
        "IPv4Forwarding": i.ipv4_forwarding,
        "BridgeNfIptables": i.bridge_nf_iptables,
        "BridgeNfIp6tables": i.bridge_nf_ip6tables,
        "Debug": answering.debug,
        "NFd": nfd,
        "NGoroutines": threads,
        "SystemTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "LoggingDriver": i.logging_driver,
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": i.cgroup_version,
        "NEventsListener": answering.events_listeners,
        "KernelVersion": i.kernel_version,
        "OperatingSystem": i.operating_system,
        "OSVersion": i.os_version,
        "OSType": "linux",
        "Architecture": i.architecture,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": cidrs,
            "IndexConfigs": index_configs,
            "Mirrors": i.registry_mirrors,
        },
        "NCPU": i.ncpu,
        "MemTotal": i.mem_total,
        "GenericResources": null,
        "DockerRootDir": i.root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": i.hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": answering.server_version,
        "Runtimes": runtimes,
        "DefaultRuntime": i.default_runtime,
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        // Containers run under their own monitors, never under a server:
        // what dockerd's live-restore gives is berth's only mode.
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": i.init_binary.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        // No containerd: berth drives the OCI runtime itself.
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": runc_commit, "Expected": runc_commit},
        "InitCommit": {"ID": i.init_version.1, "Expected": i.init_version.1},
        "SecurityOptions": i.security_options,
        "Warnings": i.warnings,
    })
}

/// The server half of `docker info`'s text, from a [`document`], as the
/// docker CLI prints dockerd's (its labels, indents and units).
pub fn write_text(out: &mut impl std::io::Write, d: &Value) -> std::io::Result<()> {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let words = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    writeln!(out, "Server:")?;
    writeln!(out, " Containers: {}", s(&d["Containers"]))?;
    writeln!(out, "  Running: {}", s(&d["ContainersRunning"]))?;
    writeln!(out, "  Paused: {}", s(&d["ContainersPaused"]))?;
    writeln!(out, "  Stopped: {}", s(&d["ContainersStopped"]))?;
    writeln!(out, " Images: {}", s(&d["Images"]))?;
    writeln!(out, " Server Version: {}", s(&d["ServerVersion"]))?;
    writeln!(out, " Storage Driver: {}", s(&d["Driver"]))?;
    for pair in d["DriverStatus"].as_array().into_iter().flatten() {
        writeln!(out, "  {}: {}", s(&pair[0]), s(&pair[1]))?;
    }
    writeln!(out, " Logging Driver: {}", s(&d["LoggingDriver"]))?;
    writeln!(out, " Cgroup Driver: {}", s(&d["CgroupDriver"]))?;
    writeln!(out, " Cgroup Version: {}", s(&d["CgroupVersion"]))?;
    writeln!(out, " Plugins:")?;
    for kind in ["Volume", "Network", "Log"] {
        writeln!(out, "  {kind}: {}", words(&d["Plugins"][kind]))?;
    }
    writeln!(out, " Swarm: {}", s(&d["Swarm"]["LocalNodeState"]))?;
    let runtimes: Vec<&String> = d["Runtimes"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    writeln!(
        out,
        " Runtimes: {}",
        runtimes
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    writeln!(out, " Default Runtime: {}", s(&d["DefaultRuntime"]))?;
    writeln!(out, " Init Binary: {}", s(&d["InitBinary"]))?;
    writeln!(
        out,
        " containerd version: {}",
        s(&d["ContainerdCommit"]["ID"])
    )?;
    writeln!(out, " runc version: {}", s(&d["RuncCommit"]["ID"]))?;
    writeln!(out, " init version: {}", s(&d["InitCommit"]["ID"]))?;
    let options: Vec<String> = d["SecurityOptions"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    write_security_options(out, &options)?;
    writeln!(out, " Kernel Version: {}", s(&d["KernelVersion"]))?;
    writeln!(out, " Operating System: {}", s(&d["OperatingSystem"]))?;
    writeln!(out, " OSType: {}", s(&d["OSType"]))?;
    writeln!(out, " Architecture: {}", s(&d["Architecture"]))?;
    writeln!(out, " CPUs: {}", s(&d["NCPU"]))?;
    let memory = d["MemTotal"].as_u64().unwrap_or(0);
    writeln!(
        out,
        " Total Memory: {:.2}GiB",
        memory as f64 / (1u64 << 30) as f64
    )?;
    writeln!(out, " Name: {}", s(&d["Name"]))?;
    writeln!(out, " ID: {}", s(&d["ID"]))?;
    writeln!(out, " Docker Root Dir: {}", s(&d["DockerRootDir"]))?;
    writeln!(out, " Debug Mode: {}", s(&d["Debug"]))?;
    writeln!(out, " Experimental: {}", s(&d["ExperimentalBuild"]))?;
    writeln!(out, " Insecure Registries:")?;
    for cidr in d["RegistryConfig"]["InsecureRegistryCIDRs"]
        .as_array()
        .into_iter()
        .flatten()
    {
        writeln!(out, "  {}", s(cidr))?;
    }
    for (name, index) in d["RegistryConfig"]["IndexConfigs"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if index["Secure"] == false {
            writeln!(out, "  {name}")?;
        }
    }
    // The docker CLI prints the block only when there are mirrors.
    let mirrors = d["RegistryConfig"]["Mirrors"].as_array();
    if mirrors.is_some_and(|m| !m.is_empty()) {
        writeln!(out, " Registry Mirrors:")?;
        for mirror in mirrors.into_iter().flatten() {
            writeln!(out, "  {}", s(mirror))?;
        }
    }
    writeln!(
        out,
        " Live Restore Enabled: {}",
        s(&d["LiveRestoreEnabled"])
    )?;
    Ok(())
}

/// The " Security Options:" block, as the docker CLI prints dockerd's
/// `SecurityOptions` (`name=seccomp,profile=builtin` → `seccomp` and
/// `Profile: builtin` under it).
pub fn write_security_options(
    out: &mut impl std::io::Write,
    options: &[String],
) -> std::io::Result<()> {
    if options.is_empty() {
        return Ok(());
    }
    writeln!(out, " Security Options:")?;
    for option in options {
        for (i, field) in option.split(',').enumerate() {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            match (i, key) {
                (0, "name") => writeln!(out, "  {value}")?,
                _ => {
                    let mut label = key.to_string();
                    if let Some(first) = label.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    writeln!(out, "   {label}: {value}")?
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_options_print_as_dockers_cli_prints_them() {
        let mut out = Vec::new();
        let options = ["name=apparmor", "name=seccomp,profile=builtin"].map(String::from);
        write_security_options(&mut out, &options).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            " Security Options:\n  apparmor\n  seccomp\n   Profile: builtin\n"
        );
    }
}
