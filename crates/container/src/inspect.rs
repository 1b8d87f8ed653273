//! `inspect` and `ps` views of a container, in Docker's JSON shapes. Docker's
//! quirks are kept deliberately: `null` for unset lists, `"no"` for an empty
//! restart policy, bind mounts without `Name`/`Driver` keys, `--tmpfs` mounts
//! absent from `Mounts` (they only appear in `HostConfig.Tmpfs`).

use serde_json::{json, Map, Value};

use berth_store::Store;

use crate::model::{self, Container, MountKind, MountPoint, Paths, Status};

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

pub fn inspect(store: &Store, c: &Container) -> Value {
    let paths = Paths::of(store, &c.id);
    let spec = &c.spec;
    let host = &spec.host;
    let s = &c.state;
    let lowers = model::lower_dirs(store, &c.id)
        .unwrap_or_default()
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let labels: Map<String, Value> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let volumes = if spec.image_volumes.is_empty() {
        Value::Null
    } else {
        Value::Object(
            spec.image_volumes
                .iter()
                .map(|v| (v.clone(), json!({})))
                .collect(),
        )
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
    let tmpfs = if host.tmpfs.is_empty() {
        Value::Null
    } else {
        json!(host.tmpfs)
    };
    let host_mounts: Vec<Value> = host
        .mount_flags
        .iter()
        .filter_map(|flag| berth_volume::spec::parse_mount_flag(flag).ok())
        .map(|m| {
            let (kind, source) = match &m.source {
                berth_volume::spec::MountSource::Volume { name, .. } => {
                    ("volume", name.clone().unwrap_or_default())
                }
                berth_volume::spec::MountSource::Bind { host, .. } => {
                    ("bind", host.display().to_string())
                }
                berth_volume::spec::MountSource::Tmpfs { .. } => ("tmpfs", String::new()),
            };
            let mut v = json!({"Type": kind, "Target": m.destination});
            if !source.is_empty() {
                v["Source"] = json!(source);
            }
            if m.read_only {
                v["ReadOnly"] = json!(true);
            }
            v
        })
        .collect();
    let ulimits: Vec<Value> = host
        .ulimits
        .iter()
        .map(|u| json!({"Name": u.name, "Soft": u.soft, "Hard": u.hard}))
        .collect();
    json!({
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
        "LogPath": paths.log,
        "Name": c.slash_name(),
        "RestartCount": s.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        "HostConfig": {
            "Binds": list_or_null(&host.binds),
            "ContainerIDFile": "",
            "LogConfig": {"Type": "json-file", "Config": {}},
            "NetworkMode": host.network_mode,
            "PortBindings": {},
            "RestartPolicy": {
                "Name": if host.restart_policy.name.is_empty() { "no" } else { host.restart_policy.name.as_str() },
                "MaximumRetryCount": host.restart_policy.maximum_retry_count,
            },
            "AutoRemove": host.auto_remove,
            "VolumeDriver": "",
            "VolumesFrom": list_or_null(&host.volumes_from),
            "CapAdd": list_or_null(&host.cap_add),
            "CapDrop": list_or_null(&host.cap_drop),
            "Dns": host.dns,
            "ExtraHosts": list_or_null(&host.extra_hosts),
            "Privileged": host.privileged,
            "PublishAllPorts": false,
            "ReadonlyRootfs": host.read_only_rootfs,
            "SecurityOpt": list_or_null(&host.security_opt),
            "Tmpfs": tmpfs,
            "ShmSize": host.shm_size,
            "Memory": host.memory,
            "NanoCpus": host.nano_cpus,
            "PidsLimit": host.pids_limit,
            "Ulimits": if ulimits.is_empty() { Value::Null } else { json!(ulimits) },
            "Init": if host.init { json!(true) } else { Value::Null },
            "Mounts": if host_mounts.is_empty() { Value::Null } else { json!(host_mounts) },
        },
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
            "AttachStdin": false,
            "AttachStdout": true,
            "AttachStderr": true,
            "ExposedPorts": exposed,
            "Tty": spec.tty,
            "OpenStdin": spec.open_stdin,
            "StdinOnce": false,
            "Env": spec.env,
            "Cmd": list_or_null(&spec.cmd),
            "Image": c.image_ref,
            "Volumes": volumes,
            "WorkingDir": spec.working_dir,
            "Entrypoint": list_or_null(&spec.entrypoint),
            "OnBuild": Value::Null,
            "Labels": labels,
            "StopSignal": if spec.stop_signal.is_empty() { Value::Null } else { json!(spec.stop_signal) },
        },
        "NetworkSettings": network_settings(c),
    })
}

fn network_settings(c: &Container) -> Value {
    let networks = match c.spec.host.network_mode.as_str() {
        "none" | "host" => {
            json!({ c.spec.host.network_mode.clone(): endpoint_json() })
        }
        _ => json!({ "bridge": endpoint_json() }),
    };
    json!({
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": {},
        "SandboxKey": "",
        "SecondaryIPAddresses": Value::Null,
        "SecondaryIPv6Addresses": Value::Null,
        "EndpointID": "",
        "Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "MacAddress": "",
        "Networks": networks,
    })
}

fn endpoint_json() -> Value {
    json!({
        "IPAMConfig": Value::Null,
        "Links": Value::Null,
        "Aliases": Value::Null,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
    })
}

/// Docker's `ps` STATUS column: "Up 3 minutes", "Exited (0) 2 seconds ago",
/// "Created", "Up 5 seconds (Paused)", "Restarting (1) 2 seconds ago".
pub fn status_text(
    c: &Container,
    human_duration: impl Fn(i64) -> String,
    since: impl Fn(&str) -> i64,
) -> String {
    let s = &c.state;
    match s.status {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}", human_duration(since(&s.started_at))),
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
