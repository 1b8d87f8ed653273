//! `/containers/...` and `/commit`: Docker's container endpoints over
//! berth-container. Request bodies are the Docker API's own models
//! (bollard-stubs); inspect documents come from `berth_container::inspect`,
//! the same JSON the `berth inspect` command prints.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use berth_engine::container::create::CreateRequest;
use berth_container::model::{self, Container, MountKind, Paths, Ulimit};
use berth_engine::container::{lifecycle, ops};
use berth_container::{ContainerError, HostSpec, RestartPolicy, Status};
use berth_engine::container::details::ContainerDetails;
use berth_engine::container::list::{ContainerFilter, ListRequest};
use berth_engine::container::logs::LogsRequest;
use berth_store::Store;
use berth_volume::spec::{BindOptions, DriverConfig, MountRequest, TmpfsOptions, VolumeOptions};
use bollard_stubs::models::{
    ContainerCreateBody, ContainerSummary, ContainerSummaryHostConfig, ContainerSummaryStateEnum,
    ContainerTopResponse, MountPoint, PortSummary, PortSummaryTypeEnum,
};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::{Filters, Query};
use crate::streams::{self, AttachOptions, ChannelWriter, Hijack, MonitorLink};
use crate::system::{self, EventKind};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/containers/create", post(create))
        .route("/containers/json", get(list))
        .route("/containers/prune", post(prune))
        .route("/containers/{id}/json", get(inspect_one))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}", delete(remove))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/attach", post(attach))
        .route("/containers/{id}/resize", post(resize))
        .route(
            "/containers/{id}/archive",
            get(archive_get).head(archive_head).put(archive_put),
        )
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/stats", get(stats))
        .route("/containers/{id}/rename", post(rename))
        .route("/commit", post(commit))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------- create

/// Docker quirk: old clients send `Cmd`/`Entrypoint` as a plain string (one
/// shell word list in newer ones); normalise to lists before decoding.
fn normalise_create_body(mut body: Value) -> Value {
    for key in ["Cmd", "Entrypoint"] {
        if let Some(Value::String(s)) = body.get(key) {
            let s = s.clone();
            body[key] = json!([s]);
        }
    }
    body
}

/// Destination of a `-v`-style bind string.
fn bind_destination(bind: &str) -> Option<String> {
    berth_volume::spec::parse_volume_flag(bind)
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
            propagation: b.propagation.map(|p| p.to_string()).filter(|p| !p.is_empty()),
            non_recursive: b.non_recursive.unwrap_or(false),
        }),
        volume_options: m.volume_options.as_ref().map(|v| VolumeOptions {
            no_copy: v.no_copy.unwrap_or(false),
            labels: v.labels.clone().unwrap_or_default().into_iter().collect(),
            driver_config: v.driver_config.as_ref().map(|d| DriverConfig {
                name: d.name.clone().unwrap_or_default(),
                options: d.options.clone().unwrap_or_default().into_iter().collect(),
            }),
        }),
        tmpfs_options: m.tmpfs_options.as_ref().map(|t| TmpfsOptions {
            size_bytes: t.size_bytes.filter(|s| *s > 0).map(|s| s as u64),
            mode: t.mode.filter(|m| *m > 0).map(|m| m as u32),
        }),
    }
}

/// `HostConfig.PortBindings` (`{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`)
/// as berth's bindings; an empty host port means any free port.
fn port_bindings(
    host: &bollard_stubs::models::HostConfig,
) -> Result<Vec<berth_network::PortBinding>, ApiError> {
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
            out.push(berth_network::PortBinding {
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

/// `--network-alias` arrives as the aliases of the network-mode's endpoint.
fn network_aliases(
    networking: &Option<bollard_stubs::models::NetworkingConfig>,
    host: &bollard_stubs::models::HostConfig,
) -> Vec<String> {
    let mode = host.network_mode.clone().unwrap_or_default();
    networking
        .as_ref()
        .and_then(|n| n.endpoints_config.as_ref())
        .and_then(|e| e.get(&mode))
        .and_then(|e| e.aliases.clone())
        .unwrap_or_default()
}

fn create_request(
    name: Option<String>,
    body: ContainerCreateBody,
) -> Result<CreateRequest, ApiError> {
    let host = body.host_config.clone().unwrap_or_default();
    // berth logs with json-file; "none" is accepted (and still logged).
    if let Some(driver) = host.log_config.as_ref().and_then(|l| l.typ.clone()) {
        if !matches!(driver.as_str(), "" | "json-file" | "none") {
            return Err(ApiError::bad_request(format!(
                "logger: no log driver named '{driver}' is registered"
            )));
        }
    }
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
    covered.extend(
        mounts
            .iter()
            .map(|m| berth_archive::clean_path(&m.target).trim_end_matches('/').to_string()),
    );
    covered.extend(tmpfs.keys().map(|k| k.trim_end_matches('/').to_string()));
    let mut all_binds = binds.clone();
    for v in body.volumes.iter().flatten() {
        if !covered.contains(&v.trim_end_matches('/').to_string()) {
            all_binds.push(v.clone());
        }
    }
    let restart = host.restart_policy.clone().unwrap_or_default();
    let host_spec = HostSpec {
        auto_remove: host.auto_remove.unwrap_or(false),
        restart_policy: RestartPolicy::from_parts(
            &restart.name.map(|n| n.to_string()).unwrap_or_default(),
            restart.maximum_retry_count.unwrap_or(0),
        )?,
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
        network_aliases: network_aliases(&body.networking_config, &host),
        ..Default::default()
    };
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
        stop_signal: body.stop_signal.filter(|s| !s.is_empty()),
        stop_timeout: body.stop_timeout,
        expose: body.exposed_ports.unwrap_or_default(),
        host: host_spec,
    })
}

async fn create(State(engine): State<Shared>, q: Query, body: Bytes) -> Result<Response, ApiError> {
    let value: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)?
    };
    let decoded: ContainerCreateBody = serde_json::from_value(normalise_create_body(value))?;
    let req = create_request(q.text("name"), decoded)?;
    let c = engine
        .with_engine(move |engine| Ok(engine.container_create(req)?))
        .await?;
    emit_container(&engine, "create", &c);
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": c.id, "Warnings": []})),
    )
        .into_response())
}

pub fn container_attributes(c: &Container) -> BTreeMap<String, String> {
    let mut attrs: BTreeMap<String, String> = c.spec.labels.clone();
    attrs.insert("name".into(), c.name.clone());
    attrs.insert("image".into(), c.image_ref.clone());
    attrs
}

// ---------------------------------------------------------------- list

pub use berth_engine::units::{human_duration, unix_seconds};

fn seconds_since(rfc3339: &str) -> i64 {
    (chrono::Utc::now().timestamp() - unix_seconds(rfc3339)).max(0)
}

pub fn mount_points(c: &Container) -> Vec<MountPoint> {
    c.spec
        .mounts
        .iter()
        .filter(|m| !(m.kind == MountKind::Tmpfs && c.spec.host.tmpfs.contains_key(&m.destination)))
        .map(|m| MountPoint {
            typ: Some(
                match m.kind {
                    MountKind::Volume => "volume",
                    MountKind::Bind => "bind",
                    MountKind::Tmpfs => "tmpfs",
                }
                .to_string(),
            ),
            name: (!m.name.is_empty()).then(|| m.name.clone()),
            source: Some(m.source.display().to_string()),
            destination: Some(m.destination.clone()),
            driver: (!m.driver.is_empty()).then(|| m.driver.clone()),
            mode: Some(m.mode.clone()),
            rw: Some(m.rw),
            propagation: Some(m.propagation.clone()),
        })
        .collect()
}

fn summary(d: &ContainerDetails) -> Value {
    let c = &d.container;
    let command = std::iter::once(c.spec.path.clone())
        .chain(c.spec.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let network = c.spec.host.network_mode.clone();
    let s = ContainerSummary {
        id: Some(c.id.clone()),
        names: Some(vec![c.slash_name()]),
        image: Some(c.image_ref.clone()),
        image_id: Some(c.image_id.clone()),
        command: Some(command),
        created: Some(unix_seconds(&c.created_at)),
        ports: Some(
            d.networking
                .published
                .iter()
                .map(|p| PortSummary {
                    ip: Some(p.shown_host_ip().to_string()),
                    private_port: p.container_port,
                    public_port: Some(p.host_port),
                    typ: p.protocol.parse::<PortSummaryTypeEnum>().ok(),
                })
                .collect(),
        ),
        size_rw: d.size.map(|s| s.rw as i64),
        size_root_fs: d.size.map(|s| s.root_fs as i64),
        labels: Some(c.spec.labels.clone().into_iter().collect()),
        state: c
            .state
            .status
            .as_str()
            .parse::<ContainerSummaryStateEnum>()
            .ok(),
        status: Some(berth_docker::inspect::status_text(c, human_duration, seconds_since)),
        host_config: Some(ContainerSummaryHostConfig {
            network_mode: Some(network.clone()),
            annotations: None,
        }),
        mounts: Some(mount_points(c)),
        ..Default::default()
    };
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    // The endpoints as inspect shows them (`docker ps --format '{{.Networks}}'`).
    let networks = berth_docker::inspect::container(d)["NetworkSettings"]["Networks"].take();
    v["NetworkSettings"] = json!({ "Networks": networks });
    v
}

async fn list(State(engine): State<Shared>, q: Query) -> Result<Json<Vec<Value>>, ApiError> {
    let filters = q.filters()?;
    let request = ListRequest {
        all: q.bool("all"),
        limit: q.int("limit")?.filter(|l| *l > 0).map(|l| l as usize),
        size: q.bool("size"),
        filter: ContainerFilter::parse(filters.pairs())?,
    };
    let rows = engine
        .with_engine(move |engine| Ok(engine.container_list(&request)?))
        .await?;
    Ok(Json(rows.iter().map(summary).collect()))
}

// ---------------------------------------------------------------- inspect

async fn inspect_one(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<Value>, ApiError> {
    let size = q.bool("size");
    let d = engine
        .with_engine(move |engine| Ok(engine.container_inspect(&id, size)?))
        .await?;
    Ok(Json(berth_docker::inspect::container(&d)))
}

// ---------------------------------------------------------------- lifecycle

async fn start(State(engine): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let started = engine
        .with_store(move |store, _| {
            let c = lifecycle::lookup(store, &id)?;
            // Docker quirk: starting a running container is 304, not an error.
            if matches!(c.state.status, Status::Running | Status::Restarting) {
                return Ok(None);
            }
            // Registered before the start, so even an instant exit is seen.
            let watcher = exit_watcher(store, &c)?;
            lifecycle::start(store, &c.id, None)?;
            Ok(Some((c, watcher)))
        })
        .await?;
    match started {
        None => Ok(StatusCode::NOT_MODIFIED.into_response()),
        Some((c, watcher)) => {
            emit_container(&engine, "start", &c);
            system::watch_exit(&engine, &c, watcher);
            Ok(no_content())
        }
    }
}

/// A link to the container's next run, for its `die` event.
fn exit_watcher(store: &Store, c: &Container) -> Result<MonitorLink, ApiError> {
    let paths = Paths::of(store, &c.id);
    Ok(MonitorLink::AtStart {
        waiter: berth_engine::monitor::client::AttachWaiter::register(&paths.dir)?,
        container_dir: paths.dir,
    })
}

async fn stop(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let timeout = q.int("t")?.or(q.int("timeout")?);
    let stopped = engine
        .with_store(move |store, _| {
            let c = lifecycle::lookup(store, &id)?;
            // Docker quirk: stopping a stopped container is 304.
            if !c.state.status.has_monitor() {
                return Ok(None);
            }
            lifecycle::stop(store, &c.id, timeout)?;
            Ok(Some(c))
        })
        .await?;
    match stopped {
        None => Ok(StatusCode::NOT_MODIFIED.into_response()),
        Some(c) => {
            emit_container(&engine, "stop", &c);
            Ok(no_content())
        }
    }
}

async fn restart(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let timeout = q.int("t")?.or(q.int("timeout")?);
    let (c, watcher) = engine
        .with_store(move |store, _| {
            let c = lifecycle::stop(store, &id, timeout)?;
            let watcher = exit_watcher(store, &c)?;
            lifecycle::start(store, &c.id, None)?;
            Ok((c, watcher))
        })
        .await?;
    emit_container(&engine, "restart", &c);
    system::watch_exit(&engine, &c, watcher);
    Ok(no_content())
}

async fn kill(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let signal = q.text("signal").unwrap_or_else(|| "KILL".into());
    let c = engine
        .with_store(move |store, _| Ok(lifecycle::kill(store, &id, &signal)?))
        .await?;
    emit_container(&engine, "kill", &c);
    Ok(no_content())
}

async fn pause(State(engine): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let c = engine
        .with_store(move |store, _| Ok(lifecycle::pause(store, &id)?))
        .await?;
    emit_container(&engine, "pause", &c);
    Ok(no_content())
}

async fn unpause(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = engine
        .with_store(move |store, _| Ok(lifecycle::unpause(store, &id)?))
        .await?;
    emit_container(&engine, "unpause", &c);
    Ok(no_content())
}

async fn remove(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let force = q.bool("force");
    let volumes = q.bool("v");
    let c = engine
        .with_store(move |store, _| {
            let c = lifecycle::lookup(store, &id)?;
            lifecycle::remove(store, &c.id, force, volumes)?;
            Ok(c)
        })
        .await?;
    emit_container(&engine, "destroy", &c);
    Ok(no_content())
}

async fn rename(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let name = q
        .text("name")
        .ok_or_else(|| ApiError::bad_request("Neither old nor new names may be empty"))?;
    let c = engine
        .with_store(move |store, _| {
            lifecycle::rename(store, &id, &name)?;
            Ok(model::find(store, &name)?)
        })
        .await?;
    emit_container(&engine, "rename", &c);
    Ok(no_content())
}

async fn prune(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filters = q.filters()?;
    filters.check(&["label", "label!", "until"])?;
    let (deleted, reclaimed) = engine
        .with_store(move |store, _| {
            let mut deleted = Vec::new();
            let mut reclaimed = 0u64;
            let mut containers = model::list(store)?;
            for c in containers.iter_mut() {
                lifecycle::reconcile(store, c)?;
                if c.state.status.has_monitor() || !filters.labels_match("label", &c.spec.labels) {
                    continue;
                }
                if filters.get("label!").iter().any(|l| {
                    Filters(BTreeMap::from([("l".to_string(), vec![l.clone()])]))
                        .labels_match("l", &c.spec.labels)
                }) {
                    continue;
                }
                reclaimed += berth_archive::disk_usage(&Paths::of(store, &c.id).upper).unwrap_or(0);
                lifecycle::remove(store, &c.id, false, false)?;
                deleted.push(c.id.clone());
            }
            Ok((deleted, reclaimed))
        })
        .await?;
    for id in &deleted {
        system::emit(
            &engine,
            EventKind::Container,
            "destroy",
            id,
            &BTreeMap::new(),
        );
    }
    Ok(Json(json!({
        "ContainersDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": reclaimed,
    })))
}

// ---------------------------------------------------------------- wait

/// How a wait or attach reaches the container: the current run, or the next.
fn monitor_link(store: &Store, c: &Container) -> Result<MonitorLink, ApiError> {
    let paths = Paths::of(store, &c.id);
    if c.state.status.has_monitor() {
        if let Ok(s) = berth_engine::monitor::client::connect(&paths.attach_socket) {
            return Ok(MonitorLink::Now(s));
        }
    }
    let waiter = berth_engine::monitor::client::AttachWaiter::register(&paths.dir)?;
    Ok(MonitorLink::AtStart {
        waiter,
        container_dir: paths.dir,
    })
}

async fn wait(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let condition = q.text("condition").unwrap_or_else(|| "not-running".into());
    if !matches!(condition.as_str(), "not-running" | "next-exit" | "removed") {
        return Err(ApiError::bad_request(format!(
            "invalid condition: \"{condition}\""
        )));
    }
    let cond = condition.clone();
    let (c, link) = engine
        .with_store(move |store, _| {
            let c = lifecycle::lookup(store, &id)?;
            if cond == "not-running" && !c.state.status.has_monitor() {
                return Ok((c, None));
            }
            let link = monitor_link(store, &c)?;
            Ok((c, Some(link)))
        })
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let engine2 = engine.clone();
    tokio::spawn(async move {
        let code = match link {
            None => c.state.exit_code,
            Some(link) => {
                let told = match link.open().await {
                    Some(monitor) => streams::exit_code(monitor).await,
                    None => None,
                };
                let id = c.id.clone();
                let removed = condition == "removed";
                let latest = engine2
                    .with_store(move |store, _| {
                        if removed {
                            // The monitor tells the exit after removal; a
                            // crashed one leaves the row to reconcile.
                            for _ in 0..100 {
                                if model::find(store, &id).is_err() {
                                    return Ok(None);
                                }
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                        match lifecycle::lookup(store, &id) {
                            Ok(c) => Ok(Some(c.state.exit_code)),
                            Err(ContainerError::NotFound(_)) => Ok(None),
                            Err(e) => Err(e.into()),
                        }
                    })
                    .await
                    .ok()
                    .flatten();
                told.or(latest).unwrap_or(0)
            }
        };
        let body = json!({"StatusCode": code, "Error": null}).to_string();
        let _ = tx.send(Bytes::from(body)).await;
    });
    // Docker quirk: the headers go out at once (the CLI sends `start` only
    // after the wait is acknowledged); the body follows at the exit.
    let mut response = Response::new(streams::channel_body(rx));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

// ---------------------------------------------------------------- attach

async fn attach(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
    mut req: Request,
) -> Result<Response, ApiError> {
    let opts_stream = q.bool("stream");
    let logs = q.bool("logs");
    let (stdin, stdout, stderr) = (q.bool("stdin"), q.bool("stdout"), q.bool("stderr"));
    let detach_keys = streams::DetachKeys::parse(q.get("detachKeys").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let (c, link, past) = engine
        .with_store(move |store, _| {
            let c = lifecycle::lookup(store, &id)?;
            let past = if logs {
                let log = Paths::of(store, &c.id).log;
                berth_container::logs::read(&log, &Default::default())
                    .map(|(entries, _)| entries)
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let link = if opts_stream {
                Some(monitor_link(store, &c)?)
            } else {
                None
            };
            Ok((c, link, past))
        })
        .await?;
    let tty = c.spec.tty;
    let (response, connect) = Hijack::new(&mut req, tty).into_parts();
    let opts = AttachOptions {
        tty,
        stdin,
        stdout,
        stderr,
        detach_keys,
    };
    tokio::spawn(async move {
        let Some((source, mut sink)) = connect.connect().await else {
            return;
        };
        for e in past {
            let kind = if e.stream == "stderr" { 2 } else { 1 };
            let wanted = if kind == 2 { stderr } else { stdout };
            if wanted && sink.output(tty, kind, e.log.as_bytes()).await.is_err() {
                return;
            }
        }
        match link {
            Some(link) => match link.open().await {
                Some(monitor) => {
                    streams::relay(monitor, source, &mut sink, opts).await;
                }
                None => sink.close().await,
            },
            None => sink.close().await,
        }
    });
    Ok(response)
}

async fn resize(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let h = q.int("h")?.unwrap_or(0);
    let w = q.int("w")?.unwrap_or(0);
    engine
        .with_store(move |store, _| {
            let c = lifecycle::lookup(store, &id)?;
            send_resize(store, &c, h, w)
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// Tells a running container's monitor the new tty size.
fn send_resize(store: &Store, c: &Container, h: i64, w: i64) -> Result<(), ApiError> {
    if !c.state.status.has_monitor() {
        return Err(ApiError::conflict(format!(
            "Container {} is not running",
            c.id
        )));
    }
    let socket = Paths::of(store, &c.id).attach_socket;
    let size = |n: i64| n.clamp(0, u16::MAX as i64) as u16;
    berth_engine::monitor::client::resize(&socket, size(h), size(w))
        .map_err(|e| ApiError::conflict(format!("Container {} is not running: {e}", c.id)))
}

// ---------------------------------------------------------------- logs

fn parse_time_param(v: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    if v.is_empty() || v == "0" {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&chrono::Utc)));
    }
    // Docker quirk: the CLI sends "SECONDS.NANOSECONDS".
    let (secs, nanos) = v.split_once('.').unwrap_or((v, "0"));
    let secs: i64 = secs
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid timestamp: {v}")))?;
    let nanos: u32 = format!("{nanos:0<9}")[..9].parse().unwrap_or(0);
    Ok(chrono::DateTime::from_timestamp(secs, nanos))
}

async fn logs(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let follow = q.bool("follow");
    let timestamps = q.bool("timestamps");
    let tail = match q.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid value for tail: {n}")))?
                .max(0) as usize,
        ),
    };
    let request = LogsRequest {
        tail,
        since: parse_time_param(q.get("since").unwrap_or(""))?,
        until: parse_time_param(q.get("until").unwrap_or(""))?,
        follow,
    };
    // The log is opened before answering: a client may remove the container
    // as soon as it exits (docker-py's `containers.run(remove=True)` follows
    // the logs, waits, removes, and only then reads the stream).
    let mut reader = engine
        .with_engine(move |engine| Ok(engine.container_logs(&id, &request)?))
        .await?;
    let tty = reader.tty;
    let content_type = if tty {
        streams::RAW_STREAM
    } else {
        streams::MULTIPLEXED_STREAM
    };
    Ok(streams::blocking_body(content_type, move |tx| {
        while let Ok(Some(entries)) = reader.next_batch() {
            for e in entries {
                let kind = if e.stream == "stderr" { 2u8 } else { 1u8 };
                if (kind == 1 && !stdout) || (kind == 2 && !stderr) {
                    continue;
                }
                let line = if timestamps {
                    format!("{} {}", e.time, e.log)
                } else {
                    e.log
                };
                let mut out = Vec::with_capacity(line.len() + 8);
                if tty {
                    out.extend_from_slice(line.as_bytes());
                } else if berth_engine::monitor::protocol::write_frame(&mut out, kind, line.as_bytes())
                    .is_err()
                {
                    return;
                }
                if tx.blocking_send(Bytes::from(out)).is_err() {
                    return;
                }
            }
            if tx.is_closed() {
                return;
            }
        }
    }))
}

// ---------------------------------------------------------------- archive (cp)

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn stat_header(stat: &berth_archive::PathStat) -> Result<HeaderValue, ApiError> {
    let doc = json!({
        "name": stat.name,
        "size": stat.size,
        "mode": stat.mode,
        "mtime": stat.mtime,
        "linkTarget": stat.link_target,
    });
    let encoded = base64::engine::general_purpose::STANDARD.encode(doc.to_string());
    HeaderValue::from_str(&encoded).map_err(|e| ApiError::engine(e.to_string()))
}

fn required_path(q: &Query) -> Result<String, ApiError> {
    q.text("path")
        .ok_or_else(|| ApiError::bad_request("bad parameter: path cannot be empty"))
}

async fn archive_head(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let path = required_path(&q)?;
    let stat = engine
        .with_store(move |store, _| Ok(ops::stat(store, &id, &path)?))
        .await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(STAT_HEADER, stat_header(&stat)?);
    Ok(resp)
}

async fn archive_get(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let path = required_path(&q)?;
    let (stat_id, stat_path) = (id.clone(), path.clone());
    let stat = engine
        .with_store(move |store, _| Ok(ops::stat(store, &stat_id, &stat_path)?))
        .await?;
    let root = engine.root.clone();
    let mut resp = streams::blocking_body("application/x-tar", move |tx| {
        let Ok(mut store) = Store::open(&root) else {
            return;
        };
        if let Err(e) = ops::archive_out(&mut store, &id, &path, false, ChannelWriter(tx))
        {
            eprintln!("berth serve: archive of {id}:{path}: {e}");
        }
    });
    resp.headers_mut().insert(STAT_HEADER, stat_header(&stat)?);
    Ok(resp)
}

async fn archive_put(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
    body: Body,
) -> Result<Response, ApiError> {
    let path = required_path(&q)?;
    let no_overwrite = q.bool("noOverwriteDirNonDir");
    let copy_uid_gid = q.bool("copyUIDGID");
    let mut reader = streams::BodyReader::new(body);
    engine
        .with_store(move |store, _| {
            let result = ops::archive_in(
                store,
                &id,
                &path,
                &mut reader,
                no_overwrite,
                copy_uid_gid,
            );
            reader.drain();
            Ok(result?)
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

// ---------------------------------------------------------------- changes, export, top, stats

async fn changes(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = engine
        .with_store(move |store, _| Ok(ops::diff(store, &id)?))
        .await?;
    let items: Vec<Value> = list
        .iter()
        .map(|c| {
            let kind = match c.kind {
                berth_archive::ChangeKind::Changed => 0,
                berth_archive::ChangeKind::Added => 1,
                berth_archive::ChangeKind::Deleted => 2,
            };
            json!({"Path": c.path, "Kind": kind})
        })
        .collect();
    Ok(Json(if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    }))
}

async fn export(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let check_id = id.clone();
    engine
        .with_store(move |store, _| {
            Ok(lifecycle::lookup(store, &check_id).map(drop)?)
        })
        .await?;
    let root = engine.root.clone();
    Ok(streams::blocking_body("application/x-tar", move |tx| {
        let Ok(mut store) = Store::open(&root) else {
            return;
        };
        if let Err(e) = ops::export(&mut store, &id, ChannelWriter(tx)) {
            eprintln!("berth serve: export of {id}: {e}");
        }
    }))
}

async fn top(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<ContainerTopResponse>, ApiError> {
    let args: Vec<String> = q
        .text("ps_args")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let (titles, processes) = engine
        .with_store(move |store, _| Ok(ops::top(store, &id, &args)?))
        .await?;
    Ok(Json(ContainerTopResponse {
        titles: Some(titles),
        processes: Some(processes),
    }))
}

/// One stats document in Docker's shape, built so that the docker CLI's CPU
/// formula (cpu delta / system delta * online CPUs) gives berth's percentage.
fn stats_json(c: &Container, s: &ops::Stats, read: &str) -> Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as u64;
    let system_delta = cpus * 1_000_000_000;
    let cpu_delta = (s.cpu_percent / 100.0 * 1e9) as u64;
    json!({
        "read": read,
        "preread": "0001-01-01T00:00:00Z",
        "id": c.id,
        "name": c.slash_name(),
        "num_procs": 0,
        "pids_stats": {"current": s.pids},
        "cpu_stats": {
            "cpu_usage": {"total_usage": cpu_delta, "usage_in_kernelmode": 0, "usage_in_usermode": cpu_delta},
            "system_cpu_usage": system_delta,
            "online_cpus": cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": 0,
            "online_cpus": cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        },
        "memory_stats": {"usage": s.memory_usage, "limit": s.memory_limit, "stats": {}},
        "blkio_stats": {
            "io_service_bytes_recursive": [
                {"major": 0, "minor": 0, "op": "read", "value": s.block_read},
                {"major": 0, "minor": 0, "op": "write", "value": s.block_write},
            ],
        },
        "networks": {"eth0": {"rx_bytes": s.net_rx, "tx_bytes": s.net_tx, "rx_packets": 0, "tx_packets": 0,
                              "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0}},
    })
}

async fn stats(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let stream = q.bool_or("stream", true) && !q.bool("one-shot");
    let check_id = id.clone();
    engine
        .with_store(move |store, _| {
            Ok(lifecycle::lookup(store, &check_id).map(drop)?)
        })
        .await?;
    let root = engine.root.clone();
    Ok(streams::blocking_body("application/json", move |tx| {
        let Ok(mut store) = Store::open(&root) else {
            return;
        };
        loop {
            let interval = Duration::from_millis(if stream { 1000 } else { 100 });
            let Ok((c, s)) = ops::stats(&mut store, &id, interval) else {
                return;
            };
            let read = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            let mut doc = stats_json(&c, &s, &read).to_string();
            doc.push('\n');
            if tx.blocking_send(Bytes::from(doc)).is_err() || !stream {
                return;
            }
        }
    }))
}

// ---------------------------------------------------------------- commit

async fn commit(State(engine): State<Shared>, q: Query) -> Result<Response, ApiError> {
    let container = q
        .text("container")
        .ok_or_else(|| ApiError::bad_request("bad parameter: container is required"))?;
    let reference = match (q.text("repo"), q.text("tag")) {
        (Some(r), Some(t)) => Some(format!("{r}:{t}")),
        (Some(r), None) => Some(r),
        (None, _) => None,
    };
    let req = ops::CommitRequest {
        reference,
        changes: q
            .all("changes")
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
        message: q.text("comment").unwrap_or_default(),
        author: q.text("author").unwrap_or_default(),
        pause: q.bool_or("pause", true),
    };
    let id = engine
        .with_store(move |store, _| Ok(ops::commit(store, &container, &req)?))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
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

    #[test]
    fn docker_cli_time_parameters() {
        let t = parse_time_param("1700000000.500000000").unwrap().unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_millis(), 500);
        assert!(parse_time_param("0").unwrap().is_none());
        assert!(parse_time_param("2024-01-02T03:04:05Z").unwrap().is_some());
        assert!(parse_time_param("yesterday").is_err());
    }
}

/// Emits a container event with the container's attributes, as dockerd does.
fn emit_container(engine: &Shared, action: &str, c: &Container) {
    system::emit(
        engine,
        EventKind::Container,
        action,
        &c.id,
        &container_attributes(c),
    );
}
