//! `POST /containers/create`: Docker's create body (bollard-stubs' model) as
//! the engine's `CreateRequest`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::container::create::CreateRequest;
use berth_engine::grammar;
use berth_engine::model::{
    BindOptions, DriverConfig, HealthConfig, HostSpec, ImageOptions, LogConfig, MountRequest,
    PortBinding, RestartPolicy, TmpfsOptions, Ulimit, VolumeOptions,
};
use bollard_stubs::models::ContainerCreateBody;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::Shared;

/// Docker quirk: old clients send `Cmd`/`Entrypoint` as a plain string (one
/// shell word list in newer ones); normalise to lists before decoding.
fn normalise_create_body(mut body: Value) -> Value {
    for key in ["Cmd", "Entrypoint"] {
        if let Some(Value::String(s)) = body.get(key) {
            let s = s.clone();
            body[key] = json!([s]);
        }
    }
    // Docker quirk: docker-py's `create_container(runtime=...)` sends
    // `Runtime` beside `Config`'s fields, not in `HostConfig`; dockerd's
    // decoder drops it there (its default runtime, runc, happens to be what
    // docker-py's own test asks for). berth honours what the client asked:
    // it becomes `HostConfig.Runtime` unless that names one already.
    if let Some(runtime) = body.as_object_mut().and_then(|b| b.remove("Runtime")) {
        if let Some(b) = body.as_object_mut() {
            let host = b.entry("HostConfig").or_insert(Value::Null);
            if host.is_null() {
                *host = json!({});
            }
            if let Some(host) = host.as_object_mut() {
                host.entry("Runtime").or_insert(runtime);
            }
        }
    }
    if let Some(host) = body.get_mut("HostConfig") {
        super::resources::normalise_host_config(host);
    }
    body
}

/// Destination of a `-v`-style bind string.
fn bind_destination(bind: &str) -> Option<String> {
    grammar::parse_volume_flag(bind)
        .ok()
        .map(|m| m.destination.trim_end_matches('/').to_string())
}

/// A `HostConfig.Mounts` entry, kept as the client sent it (dockerd shows it
/// back in inspect as given).
fn mount_request(m: &bollard_stubs::models::Mount) -> MountRequest {
    MountRequest {
        // Docker quirk: a mount without a type is a volume.
        kind: m
            .typ
            .map(|t| t.to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "volume".into()),
        source: m.source.clone().unwrap_or_default(),
        target: m.target.clone().unwrap_or_default(),
        read_only: m.read_only.unwrap_or(false),
        bind_options: m.bind_options.as_ref().map(|b| BindOptions {
            propagation: b
                .propagation
                .map(|p| p.to_string())
                .filter(|p| !p.is_empty()),
            non_recursive: b.non_recursive.unwrap_or(false),
            // Refused before (unsupported.rs).
            read_only_non_recursive: false,
        }),
        volume_options: m.volume_options.as_ref().map(|v| VolumeOptions {
            no_copy: v.no_copy.unwrap_or(false),
            labels: v.labels.clone().unwrap_or_default().into_iter().collect(),
            driver_config: v.driver_config.as_ref().map(|d| DriverConfig {
                name: d.name.clone().unwrap_or_default(),
                options: d.options.clone().unwrap_or_default().into_iter().collect(),
            }),
            subpath: v.subpath.clone().unwrap_or_default(),
        }),
        tmpfs_options: m.tmpfs_options.as_ref().map(|t| TmpfsOptions {
            size_bytes: t.size_bytes.filter(|s| *s > 0).map(|s| s as u64),
            mode: t.mode.filter(|m| *m > 0).map(|m| m as u32),
        }),
        // Image mounts (Docker 28, API 1.48): served at every version, a
        // berth extension above the version it announces.
        image_options: m.image_options.as_ref().map(|i| ImageOptions {
            subpath: i.subpath.clone().unwrap_or_default(),
        }),
    }
}

/// `HostConfig.PortBindings` (`{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`)
/// as berth's bindings; an empty host port means any free port.
fn port_bindings(host: &bollard_stubs::models::HostConfig) -> Result<Vec<PortBinding>, ApiError> {
    let mut out = Vec::new();
    for (key, bindings) in host.port_bindings.iter().flatten() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let bad = || ApiError::bad_request(format!("invalid port specification: \"{key}\""));
        let container_port: u16 = port.parse().map_err(|_| bad())?;
        let list = bindings.clone().unwrap_or_default();
        let list = if list.is_empty() {
            vec![Default::default()]
        } else {
            list
        };
        for b in list {
            let b: bollard_stubs::models::PortBinding = b;
            let host_port = match b.host_port.as_deref().unwrap_or("") {
                "" => 0,
                p => p
                    .parse::<u16>()
                    .map_err(|_| ApiError::bad_request(format!("invalid host port: \"{p}\"")))?,
            };
            out.push(PortBinding {
                host_ip: b.host_ip.unwrap_or_default(),
                host_port,
                container_port,
                protocol: protocol.to_ascii_lowercase(),
            });
        }
    }
    out.sort_by(|a, b| {
        (a.container_port, &a.protocol, a.host_port).cmp(&(
            b.container_port,
            &b.protocol,
            b.host_port,
        ))
    });
    Ok(out)
}

/// HostConfig.LogConfig as given (an empty type is the daemon's driver).
fn log_config(host: &bollard_stubs::models::HostConfig) -> LogConfig {
    let config = host.log_config.clone().unwrap_or_default();
    LogConfig {
        driver: config.typ.unwrap_or_default(),
        options: config.config.unwrap_or_default().into_iter().collect(),
    }
}

fn create_request(
    name: Option<String>,
    body: ContainerCreateBody,
) -> Result<CreateRequest, ApiError> {
    let host = body.host_config.clone().unwrap_or_default();
    let image = body
        .image
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("Config cannot be empty in order to create a container")
        })?;
    let binds = host.binds.clone().unwrap_or_default();
    let mounts: Vec<MountRequest> = host.mounts.iter().flatten().map(mount_request).collect();
    let tmpfs: BTreeMap<String, String> =
        host.tmpfs.clone().unwrap_or_default().into_iter().collect();
    // Docker quirk: `-v /dst` (an anonymous volume) arrives as Config.Volumes,
    // and docker-py repeats every bind's destination there too: only paths no
    // bind, mount or tmpfs covers become anonymous volumes.
    let mut covered: Vec<String> = binds.iter().filter_map(|b| bind_destination(b)).collect();
    covered.extend(mounts.iter().map(|m| {
        grammar::clean_path(&m.target)
            .trim_end_matches('/')
            .to_string()
    }));
    covered.extend(tmpfs.keys().map(|k| k.trim_end_matches('/').to_string()));
    let mut all_binds = binds.clone();
    for v in body.volumes.iter().flatten() {
        if !covered.contains(&v.trim_end_matches('/').to_string()) {
            all_binds.push(v.clone());
        }
    }
    let restart = host.restart_policy.clone().unwrap_or_default();
    let mut host_spec = HostSpec {
        auto_remove: host.auto_remove.unwrap_or(false),
        restart_policy: RestartPolicy::from_parts(
            &restart.name.map(|n| n.to_string()).unwrap_or_default(),
            restart.maximum_retry_count.unwrap_or(0),
        )
        .map_err(berth_engine::Error::from)?,
        privileged: host.privileged.unwrap_or(false),
        read_only_rootfs: host.readonly_rootfs.unwrap_or(false),
        cap_add: host.cap_add.clone().unwrap_or_default(),
        cap_drop: host.cap_drop.clone().unwrap_or_default(),
        security_opt: host.security_opt.clone().unwrap_or_default(),
        memory: host.memory.unwrap_or(0),
        nano_cpus: host.nano_cpus.unwrap_or(0),
        // Docker quirk: PidsLimit 0 (docker-py's default) means "no limit".
        pids_limit: host.pids_limit.filter(|p| *p != 0),
        ulimits: host
            .ulimits
            .iter()
            .flatten()
            .map(|u| Ulimit {
                name: u.name.clone().unwrap_or_default(),
                soft: u.soft.unwrap_or(0).max(0) as u64,
                hard: u.hard.unwrap_or(0).max(0) as u64,
            })
            .collect(),
        init: host.init.unwrap_or(false),
        network_mode: host.network_mode.clone().unwrap_or_default(),
        shm_size: host.shm_size.unwrap_or(0).max(0) as u64,
        binds: all_binds,
        mounts,
        tmpfs,
        volumes_from: host.volumes_from.clone().unwrap_or_default(),
        dns: host.dns.clone().unwrap_or_default(),
        extra_hosts: host.extra_hosts.clone().unwrap_or_default(),
        port_bindings: port_bindings(&host)?,
        publish_all_ports: host.publish_all_ports.unwrap_or(false),
        log_config: log_config(&host),
        runtime: host.runtime.clone().unwrap_or_default(),
        resources: super::resources::create_resources(&host),
        modes: super::resources::create_modes(&host),
        ..Default::default()
    };
    let endpoints_config = crate::endpoints::create_networking(&body, &mut host_spec);
    // Docker quirk: `--entrypoint ""` arrives as [""] and resets the image's.
    let entrypoint = body.entrypoint.map(|e| {
        if e.len() == 1 && e[0].is_empty() {
            Vec::new()
        } else {
            e
        }
    });
    Ok(CreateRequest {
        name: name.filter(|n| !n.is_empty()),
        image,
        cmd: body.cmd.filter(|c| !c.is_empty()),
        entrypoint,
        env: body.env.unwrap_or_default(),
        working_dir: body.working_dir.filter(|w| !w.is_empty()),
        user: body.user.filter(|u| !u.is_empty()),
        hostname: body.hostname.filter(|h| !h.is_empty()),
        domainname: body.domainname.unwrap_or_default(),
        labels: body.labels.unwrap_or_default().into_iter().collect(),
        tty: body.tty.unwrap_or(false),
        open_stdin: body.open_stdin.unwrap_or(false),
        stdin_once: body.stdin_once.unwrap_or(false),
        attach_stdin: body.attach_stdin.unwrap_or(false),
        attach_stdout: body.attach_stdout.unwrap_or(false),
        attach_stderr: body.attach_stderr.unwrap_or(false),
        stop_signal: body.stop_signal.filter(|s| !s.is_empty()),
        stop_timeout: body.stop_timeout,
        expose: body.exposed_ports.unwrap_or_default(),
        // The same fields, names and units (nanoseconds) as Docker's.
        healthcheck: body.healthcheck.map(|h| HealthConfig {
            test: h.test.unwrap_or_default(),
            interval: h.interval.unwrap_or(0),
            timeout: h.timeout.unwrap_or(0),
            start_period: h.start_period.unwrap_or(0),
            start_interval: h.start_interval.unwrap_or(0),
            retries: h.retries.unwrap_or(0),
        }),
        shell: body.shell.filter(|s| !s.is_empty()),
        // [rows, columns], as Docker's.
        console_size: match host.console_size.as_deref() {
            Some([rows, cols]) => [*rows as u16, *cols as u16],
            _ => [0, 0],
        },
        host: host_spec,
        endpoints_config,
    })
}

pub(super) async fn create(
    State(server): State<Shared>,
    q: Query,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)?
    };
    let value = crate::endpoints::legacy_mac_address(normalise_create_body(value))?;
    super::unsupported::check(&value)?;
    let decoded: ContainerCreateBody = serde_json::from_value(value)?;
    let req = create_request(q.text("name"), decoded)?;
    let c = server
        .with_engine(move |engine| Ok(engine.container_create(req)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": c.id, "Warnings": []})),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_maps_to_request() {
        let body: ContainerCreateBody = serde_json::from_value(normalise_create_body(json!({
            "Image": "busybox",
            "Cmd": "echo",
            "Entrypoint": [""],
            "Volumes": {"/data": {}, "/bound": {}},
            "Labels": {"a": "b"},
            "HostConfig": {
                "Binds": ["/tmp:/bound:ro"],
                "Mounts": [{"Type": "volume", "Source": "v1", "Target": "/v", "ReadOnly": true,
                            "VolumeOptions": {"NoCopy": true}}],
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "PidsLimit": 0,
                "Tmpfs": {"/run": "size=1m"}
            }
        })))
        .unwrap();
        let req = create_request(Some("n".into()), body).unwrap();
        assert_eq!(req.cmd, Some(vec!["echo".to_string()]));
        assert_eq!(req.entrypoint, Some(vec![]));
        assert_eq!(req.host.binds, vec!["/tmp:/bound:ro", "/data"]);
        assert_eq!(
            serde_json::to_value(&req.host.mounts).unwrap(),
            json!([{"Type": "volume", "Source": "v1", "Target": "/v", "ReadOnly": true,
                    "VolumeOptions": {"NoCopy": true}}])
        );
        assert_eq!(
            req.host.restart_policy,
            RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(req.host.pids_limit, None);
        assert_eq!(
            req.host.tmpfs.get("/run").map(String::as_str),
            Some("size=1m")
        );
        assert_eq!(req.labels.get("a").map(String::as_str), Some("b"));
        assert!(create_request(None, ContainerCreateBody::default()).is_err());
    }
}
