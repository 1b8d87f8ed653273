//! `inspect` of a container, in Docker's JSON shape. Docker's quirks are
//! kept deliberately: `null` for unset lists, `"no"` for an empty restart
//! policy, bind mounts without `Name`/`Driver` keys, `--tmpfs` mounts absent
//! from `Mounts` (they only appear in `HostConfig.Tmpfs`).

use serde_json::{json, Map, Value};

use berth_engine::container::details::{ContainerDetails, Networking};
use berth_engine::model::{
    Container, Endpoint, EndpointSettings, HealthStatus, MountKind, MountPoint, PortBinding,
    Status, DEFAULT_NETWORK,
};

fn list_or_null(items: &[String]) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        json!(items)
    }
}

pub fn mount_json(m: &MountPoint) -> Value {
    match m.kind {
        MountKind::Volume => json!({
            "Type": "volume",
            "Name": m.name,
            "Source": m.source,
            "Destination": m.destination,
            "Driver": m.driver,
            "Mode": m.mode,
            "RW": m.rw,
            "Propagation": m.propagation,
        }),
        MountKind::Bind => json!({
            "Type": "bind",
            "Source": m.source,
            "Destination": m.destination,
            "Mode": m.mode,
            "RW": m.rw,
            "Propagation": m.propagation,
        }),
        // dockerd 28's shape (Driver omitted when empty); Source is empty:
        // the image's overlay is mounted in the container's namespace only.
        MountKind::Image => json!({
            "Type": "image",
            "Name": m.name,
            "Source": "",
            "Destination": m.destination,
            "Mode": m.mode,
            "RW": false,
            "Propagation": m.propagation,
        }),
        MountKind::Tmpfs => json!({
            "Type": "tmpfs",
            "Source": "",
            "Destination": m.destination,
            "Mode": m.mode,
            "RW": m.rw,
            "Propagation": m.propagation,
        }),
    }
}

/// Mounts as `inspect` shows them (without `--tmpfs` ones, as Docker).
pub fn mounts_json(c: &Container) -> Value {
    Value::Array(
        c.spec
            .mounts
            .iter()
            .filter(|m| {
                !(m.kind == MountKind::Tmpfs && c.spec.host.tmpfs.contains_key(&m.destination))
            })
            .map(mount_json)
            .collect(),
    )
}

/// A container's `inspect` document.
pub fn container(d: &ContainerDetails) -> Value {
    let c = &d.container;
    let paths = &d.paths;
    let spec = &c.spec;
    let host = &spec.host;
    let s = &c.state;
    let lowers = d
        .lower_dirs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let labels: Map<String, Value> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    // The docker CLI sends `-v /dst` (no host part) as Config.Volumes, not as
    // a bind; the daemon adds the image's VOLUMEs.
    let (binds, anonymous): (Vec<String>, Vec<String>) =
        host.binds.iter().cloned().partition(|b| b.contains(':'));
    let volume_paths: Map<String, Value> = spec
        .image_volumes
        .iter()
        .chain(anonymous.iter())
        .map(|v| (v.clone(), json!({})))
        .collect();
    let volumes = if volume_paths.is_empty() {
        Value::Null
    } else {
        Value::Object(volume_paths)
    };
    let exposed = if spec.exposed_ports.is_empty() {
        Value::Null
    } else {
        Value::Object(
            spec.exposed_ports
                .iter()
                .map(|p| (p.clone(), json!({})))
                .collect(),
        )
    };
    let mut v = json!({
        "Id": c.id,
        "Created": c.created_at,
        "Path": spec.path,
        "Args": spec.args,
        "State": {
            "Status": s.status.as_str(),
            "Running": matches!(s.status, Status::Running | Status::Paused | Status::Restarting),
            "Paused": s.status == Status::Paused,
            "Restarting": s.status == Status::Restarting,
            "OOMKilled": s.oom_killed,
            "Dead": s.status == Status::Dead,
            "Pid": s.pid,
            "ExitCode": s.exit_code,
            "Error": s.error,
            "StartedAt": s.started_at,
            "FinishedAt": s.finished_at,
        },
        "Image": c.image_id,
        "ResolvConfPath": paths.resolv_conf,
        "HostnamePath": paths.hostname,
        "HostsPath": paths.hosts,
        // Docker shows only json-file's path (not local's, nor none's).
        "LogPath": if host.log_config.driver == "json-file" {
            json!(paths.log)
        } else {
            json!("")
        },
        "Name": c.slash_name(),
        "RestartCount": s.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        "HostConfig": host_config(c, &binds),
        "GraphDriver": {
            "Data": {
                "LowerDir": lowers,
                "MergedDir": paths.rootfs,
                "UpperDir": paths.upper,
                "WorkDir": paths.work,
            },
            "Name": "overlay2",
        },
        "Mounts": mounts_json(c),
        "Config": {
            "Hostname": spec.hostname,
            "Domainname": spec.domainname,
            "User": spec.user,
            "AttachStdin": spec.attach_stdin,
            "AttachStdout": spec.attach_stdout,
            "AttachStderr": spec.attach_stderr,
            "ExposedPorts": exposed,
            "Tty": spec.tty,
            "OpenStdin": spec.open_stdin,
            "StdinOnce": spec.stdin_once,
            "Env": list_or_null(&spec.env),
            "Cmd": list_or_null(&spec.cmd),
            "Healthcheck": spec.healthcheck,
            "Image": c.image_ref,
            "Volumes": volumes,
            "WorkingDir": spec.working_dir,
            "Entrypoint": list_or_null(&spec.entrypoint),
            "OnBuild": Value::Null,
            "Labels": labels,
        },
        "NetworkSettings": network_settings(c, &d.networking),
    });
    // Docker leaves both out when there is no healthcheck.
    if let Some(health) = &s.health {
        v["State"]["Health"] = json!(health);
    }
    // Docker's `omitempty` Config fields, in its order.
    if let Some(config) = v["Config"].as_object_mut() {
        config
            .retain(|k, v| !(matches!(k.as_str(), "Healthcheck" | "ExposedPorts") && v.is_null()));
        let host = &spec.host;
        let mut ordered = Map::new();
        for (key, value) in std::mem::take(config) {
            let after_entrypoint = key == "Entrypoint";
            ordered.insert(key, value);
            if after_entrypoint && host.network_disabled {
                ordered.insert("NetworkDisabled".into(), json!(true));
            }
            if after_entrypoint && !host.endpoint.mac_address.is_empty() {
                ordered.insert("MacAddress".into(), json!(host.endpoint.mac_address));
            }
        }
        *config = ordered;
        if !spec.stop_signal.is_empty() {
            config.insert("StopSignal".into(), json!(spec.stop_signal));
        }
        if let Some(t) = spec.stop_timeout {
            config.insert("StopTimeout".into(), json!(t));
        }
        if !spec.shell.is_empty() {
            config.insert("Shell".into(), json!(spec.shell));
        }
    }
    v["ExecIDs"] = if d.exec_ids.is_empty() {
        Value::Null
    } else {
        json!(d.exec_ids)
    };
    if let Some(size) = d.size {
        v["SizeRw"] = json!(size.rw);
        v["SizeRootFs"] = json!(size.root_fs);
    }
    v
}

/// HostConfig in Docker's key order (the Go struct's field order, which
/// clients and people read). Docker quirk: every resource field is present,
/// zero when unset, while `Tmpfs`, `Init` and `Mounts` are `omitempty`.
fn host_config(c: &Container, binds: &[String]) -> Value {
    let host = &c.spec.host;
    let (r, modes) = (&host.resources, &host.modes);
    let ulimits: Vec<Value> = host
        .ulimits
        .iter()
        .map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard}))
        .collect();
    // Docker shows the container's masked and read-only paths (the
    // daemon's unless it was given its own), none when privileged.
    let (masked, readonly) = if host.privileged {
        (Value::Null, Value::Null)
    } else {
        let (masked, readonly) = berth_engine::security::confined_paths();
        (
            json!(host.masked_paths.as_ref().unwrap_or(&masked)),
            json!(host.readonly_paths.as_ref().unwrap_or(&readonly)),
        )
    };
    let mut v = json!({
        "Binds": list_or_null(binds),
        "ContainerIDFile": "",
        "LogConfig": host.log_config,
        "NetworkMode": host.network_mode,
        "PortBindings": port_bindings_json(&host.port_bindings),
        "RestartPolicy": {
            "Name": host.restart_policy.name(),
            "MaximumRetryCount": host.restart_policy.maximum_retry_count(),
        },
        "AutoRemove": host.auto_remove,
        "VolumeDriver": modes.volume_driver,
        "VolumesFrom": list_or_null(&host.volumes_from),
        "CapAdd": list_or_null(&host.cap_add),
        "CapDrop": list_or_null(&host.cap_drop),
        "CgroupnsMode": berth_engine::security::cgroupns_mode(modes),
        "Dns": host.dns,
        "DnsOptions": host.dns_options,
        "DnsSearch": host.dns_search,
        "ExtraHosts": list_or_null(&host.extra_hosts),
        "GroupAdd": list_or_null(&modes.group_add),
        // Docker's daemon default IPC mode is `private`.
        "IpcMode": if modes.ipc_mode.is_empty() { "private" } else { modes.ipc_mode.as_str() },
        "Cgroup": "",
        "Links": links_json(c),
        "OomScoreAdj": modes.oom_score_adj,
        "PidMode": modes.pid_mode,
        "Privileged": host.privileged,
        "PublishAllPorts": host.publish_all_ports,
        "ReadonlyRootfs": host.read_only_rootfs,
        "SecurityOpt": list_or_null(&host.security_opt),
        "Tmpfs": if host.tmpfs.is_empty() { Value::Null } else { json!(host.tmpfs) },
        "UTSMode": modes.uts_mode,
        "UsernsMode": modes.userns_mode,
        "ShmSize": host.shm_size,
        "Sysctls": if modes.sysctls.is_empty() { Value::Null } else { json!(modes.sysctls) },
        "Runtime": host.runtime,
        "ConsoleSize": [0, 0],
        "Isolation": modes.isolation,
        "CpuShares": r.cpu_shares,
        "Memory": host.memory,
        "NanoCpus": host.nano_cpus,
        "CgroupParent": "",
        "BlkioWeight": r.blkio_weight,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": r.cpu_period,
        "CpuQuota": r.cpu_quota,
        "CpuRealtimePeriod": r.cpu_realtime_period,
        "CpuRealtimeRuntime": r.cpu_realtime_runtime,
        "CpusetCpus": r.cpuset_cpus,
        "CpusetMems": r.cpuset_mems,
        "Devices": modes.devices,
        "DeviceCgroupRules": list_or_null(&r.device_cgroup_rules),
        "DeviceRequests": Value::Null,
        "KernelMemory": 0,
        "KernelMemoryTCP": 0,
        "MemoryReservation": r.memory_reservation,
        "MemorySwap": r.memory_swap,
        "MemorySwappiness": r.memory_swappiness,
        "OomKillDisable": modes.oom_kill_disable,
        "PidsLimit": host.pids_limit,
        "Ulimits": ulimits,
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "Mounts": if host.mounts.is_empty() { Value::Null } else { json!(host.mounts) },
        "MaskedPaths": masked,
        "ReadonlyPaths": readonly,
        "Init": if host.init { json!(true) } else { Value::Null },
    });
    if let Some(map) = v.as_object_mut() {
        map.retain(|k, v| !(OMITTED_WHEN_EMPTY.contains(&k.as_str()) && v.is_null()));
    }
    v
}

/// HostConfig fields Docker leaves out when unset (`omitempty`).
const OMITTED_WHEN_EMPTY: &[&str] = &["Tmpfs", "Sysctls", "Mounts", "Init"];

/// HostConfig.PortBindings: {"80/tcp": [{"HostIp": "", "HostPort": "8000"}]}.
fn port_bindings_json(bindings: &[PortBinding]) -> Value {
    let mut out = Map::new();
    for b in bindings {
        let entry = json!({
            "HostIp": b.host_ip,
            "HostPort": if b.host_port == 0 { String::new() } else { b.host_port.to_string() },
        });
        if let Value::Array(list) = out.entry(b.port_key()).or_insert_with(|| json!([])) {
            list.push(entry);
        }
    }
    Value::Object(out)
}

/// HostConfig.Links as Docker shows them: `/CHILD:/PARENT/ALIAS`.
fn links_json(c: &Container) -> Value {
    let links: Vec<String> = c
        .spec
        .host
        .links
        .iter()
        .map(|l| {
            let (name, alias) = l.split_once(':').unwrap_or((l, l));
            let (name, alias) = (
                name.trim_start_matches('/'),
                alias.rsplit('/').next().unwrap_or(alias),
            );
            format!("/{name}:/{}/{alias}", c.name)
        })
        .collect();
    list_or_null(&links)
}

/// NetworkSettings as Docker shows it: the endpoints while the container runs
/// (addresses, published ports, exposed-only ports as null), the networks it
/// will join otherwise. The top-level address fields describe the default
/// bridge only, as Docker's legacy fields do.
fn network_settings(c: &Container, n: &Networking) -> Value {
    let running = c.state.status.has_monitor();
    let endpoints = &n.endpoints;
    let mut networks = Map::new();
    let mut ports = Map::new();
    let sandbox_key = n
        .sandbox_key
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if running {
        for e in endpoints {
            networks.insert(
                e.network.name.clone(),
                endpoint_json(&e.network.id, &e.settings, Some(e)),
            );
        }
        for exposed in &c.spec.exposed_ports {
            ports.insert(exposed.clone(), Value::Null);
        }
        for p in &n.published {
            let entry = json!({"HostIp": p.shown_host_ip(), "HostPort": p.host_port.to_string()});
            match ports.entry(p.port_key()).or_insert(Value::Null) {
                Value::Array(list) => list.push(entry),
                slot => *slot = json!([entry]),
            }
        }
    }
    if networks.is_empty() {
        for a in &n.attached {
            networks.insert(a.name.clone(), endpoint_json(&a.id, &a.settings, None));
        }
    }
    let legacy = endpoints
        .iter()
        .find(|e| running && e.network.name == DEFAULT_NETWORK);
    let v6 = legacy.and_then(|e| e.ipv6);
    json!({
        "Bridge": "",
        "SandboxID": if sandbox_key.is_empty() { String::new() } else { c.id.clone() },
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SandboxKey": sandbox_key,
        "SecondaryIPAddresses": Value::Null,
        "SecondaryIPv6Addresses": Value::Null,
        "EndpointID": legacy.map(|e| e.id.clone()).unwrap_or_default(),
        "Gateway": legacy.and_then(|e| e.gateway()).map(|g| g.to_string()).unwrap_or_default(),
        "GlobalIPv6Address": v6.map(|ip| ip.to_string()).unwrap_or_default(),
        "GlobalIPv6PrefixLen": if v6.is_some() { legacy.map_or(0, |e| e.ipv6_prefix_len()) } else { 0 },
        "IPAddress": legacy.map(|e| e.ipv4.to_string()).unwrap_or_default(),
        "IPPrefixLen": legacy.map(|e| e.prefix_len()).unwrap_or(0),
        "IPv6Gateway": legacy.and_then(|e| e.ipv6_gateway()).map(|g| g.to_string()).unwrap_or_default(),
        "MacAddress": legacy.map(|e| e.mac.clone()).unwrap_or_default(),
        "Networks": networks,
    })
}

/// One network of `NetworkSettings.Networks`: what was asked (`settings`)
/// and, while the container runs, its live endpoint.
fn endpoint_json(network_id: &str, settings: &EndpointSettings, live: Option<&Endpoint>) -> Value {
    let mut ipam = Map::new();
    if !settings.ipv4_address.is_empty() {
        ipam.insert("IPv4Address".into(), json!(settings.ipv4_address));
    }
    if !settings.ipv6_address.is_empty() {
        ipam.insert("IPv6Address".into(), json!(settings.ipv6_address));
    }
    if !settings.link_local_ips.is_empty() {
        ipam.insert("LinkLocalIPs".into(), json!(settings.link_local_ips));
    }
    let aliases = live.map_or(&settings.aliases, |e| &e.aliases);
    let v6 = live.and_then(|e| e.ipv6);
    json!({
        "IPAMConfig": if ipam.is_empty() { Value::Null } else { Value::Object(ipam) },
        "Links": list_or_null(&settings.links),
        "Aliases": list_or_null(aliases),
        "NetworkID": network_id,
        "EndpointID": live.map(|e| e.id.clone()).unwrap_or_default(),
        "Gateway": live.and_then(|e| e.gateway()).map(|g| g.to_string()).unwrap_or_default(),
        "IPAddress": live.map(|e| e.ipv4.to_string()).unwrap_or_default(),
        "IPPrefixLen": live.map_or(0, |e| e.prefix_len()),
        "IPv6Gateway": live.and_then(|e| e.ipv6_gateway()).map(|g| g.to_string()).unwrap_or_default(),
        "GlobalIPv6Address": v6.map(|ip| ip.to_string()).unwrap_or_default(),
        "GlobalIPv6PrefixLen": if v6.is_some() { live.map_or(0, |e| e.ipv6_prefix_len()) } else { 0 },
        "MacAddress": live.map_or_else(|| settings.mac_address.clone(), |e| e.mac.clone()),
        "DriverOpts": if settings.driver_opts.is_empty() { Value::Null } else { json!(settings.driver_opts) },
    })
}

/// Docker's `ps` STATUS column: "Up 3 minutes", "Exited (0) 2 seconds ago",
/// "Created", "Up 5 seconds (Paused)", "Restarting (1) 2 seconds ago",
/// "Up 3 seconds (healthy)", "Up 1 second (health: starting)".
pub fn status_text(
    c: &Container,
    human_duration: impl Fn(i64) -> String,
    since: impl Fn(&str) -> i64,
) -> String {
    let s = &c.state;
    match s.status {
        Status::Created => "Created".into(),
        Status::Running => {
            let up = human_duration(since(&s.started_at));
            match &s.health {
                Some(h) if h.status == HealthStatus::Starting => {
                    format!("Up {up} (health: starting)")
                }
                Some(h) => format!("Up {up} ({})", h.status.as_str()),
                None => format!("Up {up}"),
            }
        }
        Status::Paused => format!("Up {} (Paused)", human_duration(since(&s.started_at))),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            s.exit_code,
            human_duration(since(&s.finished_at))
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            s.exit_code,
            human_duration(since(&s.finished_at))
        ),
    }
}
