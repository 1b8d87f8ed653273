//! `/_ping`, `/version`, `/info`, `/system/df` and `/events`.
//!
//! Events are what this server did (create, start, die, destroy, ... of
//! containers; image, volume and network changes), broadcast to every
//! `/events` client while the server runs. They are not persisted and do not
//! include actions taken with the `berth` CLI directly: berth has no daemon
//! that could see them. A container started through the API is watched (as an
//! attach client of its monitor) so that its `die` is reported wherever the
//! stop came from.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use berth_engine::model::Container;
use berth_engine::system::VersionInfo;
use berth_engine::units::unix_seconds;
use berth_engine::volume::inspect_json as volume_json;
use bollard_stubs::models::{SystemVersion, SystemVersionComponents, SystemVersionPlatform};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::{Shared, API_VERSION};

/// Docker quirk: clients compare the engine's version with Docker's, so the
/// API reports the Docker release whose API it speaks.
pub const ENGINE_VERSION: &str = "26.1.0-berth";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version))
        .route("/info", get(info))
        .route("/system/df", get(df))
        .route("/events", get(events))
}

fn ping_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("API-Version", HeaderValue::from_static(API_VERSION));
    h.insert("OSType", HeaderValue::from_static("linux"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h
}

async fn ping() -> Response {
    (ping_headers(), "OK").into_response()
}

async fn version(State(engine): State<Shared>) -> Result<Json<SystemVersion>, ApiError> {
    let v: VersionInfo = engine
        .with_engine(|engine| Ok(engine.system_version()))
        .await?;
    Ok(Json(SystemVersion {
        platform: Some(SystemVersionPlatform {
            name: "berth".into(),
        }),
        components: Some(vec![SystemVersionComponents {
            name: "Engine".into(),
            version: ENGINE_VERSION.into(),
            details: Some(
                [
                    ("ApiVersion", v.api_version.to_string()),
                    ("MinAPIVersion", v.min_api_version.to_string()),
                    ("GitCommit", v.version.to_string()),
                    ("GoVersion", "rust".to_string()),
                    ("Os", v.os.to_string()),
                    ("Arch", v.arch.to_string()),
                    ("KernelVersion", v.kernel_version.clone()),
                    ("Experimental", "false".to_string()),
                    ("BuildTime", String::new()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ),
        }]),
        version: Some(ENGINE_VERSION.into()),
        api_version: Some(v.api_version.into()),
        min_api_version: Some(v.min_api_version.into()),
        git_commit: Some(v.version.into()),
        go_version: Some("rust".into()),
        os: Some(v.os.into()),
        arch: Some(v.arch.into()),
        kernel_version: Some(v.kernel_version),
        experimental: None,
        build_time: None,
    }))
}

async fn info(State(engine): State<Shared>) -> Result<Json<Value>, ApiError> {
    let i = engine
        .with_engine(|engine| Ok(engine.system_info()?))
        .await?;
    Ok(Json(json!({
        "ID": "berth",
        "Containers": i.containers,
        "ContainersRunning": i.containers_running,
        "ContainersPaused": i.containers_paused,
        "ContainersStopped": i.containers_stopped,
        "Images": i.images,
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {"Volume": i.volume_drivers, "Network": ["bridge", "host", "null"], "Log": ["json-file"]},
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": true,
        "Debug": false,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": i.cgroup_version,
        "NEventsListener": engine.events.receiver_count(),
        "KernelVersion": i.kernel_version,
        "OperatingSystem": i.operating_system,
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": i.architecture,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": null, "AllowNondistributableArtifactsHostnames": null,
                           "InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": null},
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
        "ServerVersion": ENGINE_VERSION,
        "Runtimes": {i.default_runtime.clone(): {"path": i.default_runtime}},
        "DefaultRuntime": i.default_runtime,
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
                  "Error": "", "RemoteManagers": null},
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": "docker-init",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": i.security_options,
        "Warnings": i.warnings,
    })))
}

async fn df(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let version = q.api_version();
    let usage = engine.with_engine(|engine| Ok(engine.system_df()?)).await?;
    let images: Vec<Value> = usage
        .images
        .iter()
        .map(|u| {
            let i = &u.image;
            let mut v = json!({
                "Id": i.id, "ParentId": "", "RepoTags": i.repo_tags, "RepoDigests": i.repo_digests,
                "Created": unix_seconds(&i.created), "Size": u.size,
                "SharedSize": u.shared, "Labels": i.labels, "Containers": i.containers,
            });
            // Docker quirk: API < 1.44 clients read VirtualSize.
            if version.before(1, 44) {
                v["VirtualSize"] = json!(u.size);
            }
            v
        })
        .collect();
    let containers: Vec<Value> = usage
        .containers
        .iter()
        .map(|u| {
            let c: &Container = &u.container;
            json!({
                "Id": c.id, "Names": [c.slash_name()], "Image": c.image_ref, "ImageID": c.image_id,
                "Command": std::iter::once(c.spec.path.clone()).chain(c.spec.args.iter().cloned()).collect::<Vec<_>>().join(" "),
                "Created": unix_seconds(&c.created_at),
                "State": c.state.status.as_str(), "Status": c.state.status.as_str(),
                "SizeRw": u.size.rw, "SizeRootFs": u.size.root_fs, "Labels": c.spec.labels,
                "Mounts": crate::containers::mount_points(c),
            })
        })
        .collect();
    let volumes: Vec<Value> = usage
        .volumes
        .iter()
        .map(|u| {
            let mut v = volume_json(&u.volume);
            v["UsageData"] = json!({"Size": u.size, "RefCount": u.links});
            v
        })
        .collect();
    Ok(Json(json!({
        "LayersSize": usage.layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": volumes,
        "BuildCache": [],
    })))
}

// ---------------------------------------------------------------- events

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Container,
    Image,
    Volume,
    Network,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::Container => "container",
            EventKind::Image => "image",
            EventKind::Volume => "volume",
            EventKind::Network => "network",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    kind: EventKind,
    action: String,
    id: String,
    attributes: BTreeMap<String, String>,
    time_nano: i64,
}

impl Event {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "Type": self.kind.as_str(),
            "Action": self.action,
            "Actor": {"ID": self.id, "Attributes": self.attributes},
            "scope": "local",
            "time": self.time_nano / 1_000_000_000,
            "timeNano": self.time_nano,
        });
        // Docker quirk: container (and image) events keep the pre-1.22 fields
        // `status`, `id` and `from`, which the docker CLI still prints.
        if matches!(self.kind, EventKind::Container | EventKind::Image) {
            v["status"] = json!(self.action);
            v["id"] = json!(self.id);
            if let Some(image) = self.attributes.get("image") {
                v["from"] = json!(image);
            }
        }
        v
    }

    fn matches(&self, filters: &crate::query::Filters) -> bool {
        filters.matches(|k, v| match k {
            "type" => self.kind.as_str() == v,
            "event" => self.action == v || self.action.starts_with(&format!("{v}:")),
            "container" => {
                self.kind == EventKind::Container
                    && (self.id.starts_with(v)
                        || self.attributes.get("name").is_some_and(|n| n == v))
            }
            "image" => self.attributes.get("image").is_some_and(|i| i == v) || self.id == v,
            "volume" => self.kind == EventKind::Volume && self.id == v,
            "network" => self.kind == EventKind::Network && self.id == v,
            "label" => match v.split_once('=') {
                Some((k, val)) => self.attributes.get(k).is_some_and(|x| x == val),
                None => self.attributes.contains_key(v),
            },
            _ => true,
        })
    }
}

/// Publishes an event to the `/events` clients.
pub fn emit(
    engine: &Shared,
    kind: EventKind,
    action: &str,
    id: &str,
    attributes: &BTreeMap<String, String>,
) {
    let time_nano = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let _ = engine.events.send(Event {
        kind,
        action: action.to_string(),
        id: id.to_string(),
        attributes: attributes.clone(),
        time_nano,
    });
}

/// Reports the `die` (and, for `--rm`, `destroy`) of a container this server
/// started, by listening on its monitor like an attach client.
pub fn watch_exit(engine: &Shared, c: &Container, link: crate::streams::MonitorLink) {
    let engine = engine.clone();
    let c = c.clone();
    tokio::spawn(async move {
        let Some(stream) = link.open().await else {
            return;
        };
        let code = crate::streams::exit_code(stream).await;
        let mut attrs = crate::containers::container_attributes(&c);
        attrs.insert("exitCode".into(), code.unwrap_or(-1).to_string());
        emit(&engine, EventKind::Container, "die", &c.id, &attrs);
        if c.spec.host.auto_remove {
            emit(
                &engine,
                EventKind::Container,
                "destroy",
                &c.id,
                &crate::containers::container_attributes(&c),
            );
        }
    });
}

fn time_param(q: &Query, key: &str) -> Option<i64> {
    let v = q.get(key)?;
    let secs = v.split('.').next()?.parse::<i64>().ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(v)
            .ok()
            .map(|t| t.timestamp())
    })?;
    Some(secs)
}

async fn events(State(engine): State<Shared>, q: Query) -> Result<Response, ApiError> {
    let filters = q.filters()?;
    let until = time_param(&q, "until");
    let mut rx = engine.events.subscribe();
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        loop {
            let timeout = match until {
                Some(u) => {
                    let left = u - chrono::Utc::now().timestamp();
                    if left <= 0 {
                        return;
                    }
                    std::time::Duration::from_secs(left as u64)
                }
                None => std::time::Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tx.closed() => return,
                got = tokio::time::timeout(timeout, rx.recv()) => match got {
                    Ok(Ok(event)) => {
                        if !event.matches(&filters) {
                            continue;
                        }
                        let mut line = event.to_json().to_string();
                        line.push('\n');
                        if tx.send(Bytes::from(line)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(_)) => return,
                    Err(_) => continue,
                },
            }
        }
    });
    let mut response = Response::new(crate::streams::channel_body(body_rx));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
