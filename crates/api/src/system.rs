//! `/_ping`, `/version`, `/info`, `/system/df` and `/events`.
//!
//! Events are the engine's event log: what any process did (this server,
//! the `berth` CLI, the containers' monitors), recorded with the change it
//! reports; `/events` replays them from `since` and follows them live.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

use berth_engine::events::{EventFilter, EventsRequest, Next};
use berth_engine::Engine;

use crate::error::ApiError;
use crate::query::Query;
use crate::{streams, Shared, API_VERSION};

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
    Ok(Json(berth_docker::info::document(
        &i,
        &berth_docker::info::Answering {
            server_version: ENGINE_VERSION,
            debug: tracing::enabled!(tracing::Level::DEBUG),
            events_listeners: engine.events.receiver_count(),
        },
    )))
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

/// The `/events` clients being served (`/info`'s `NEventsListener`).
#[derive(Debug, Default)]
pub struct EventsListeners(AtomicUsize);

impl EventsListeners {
    pub fn receiver_count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// One `/events` client, counted while it is served.
struct Listening(Shared);

impl Listening {
    fn new(server: &Shared) -> Listening {
        server.events.0.fetch_add(1, Ordering::Relaxed);
        Listening(server.clone())
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.events.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An `/events` time: Unix seconds with an optional fraction (the docker
/// CLI's `SECONDS.NANOSECONDS`) or RFC 3339; in nanoseconds.
fn time_param(q: &Query, key: &str) -> Result<Option<i64>, ApiError> {
    let Some(v) = q.text(key) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(format!("invalid value for {key}: {v:?}"));
    let (secs, frac) = v.split_once('.').unwrap_or((&v, ""));
    if let Ok(secs) = secs.parse::<i64>() {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let nanos: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
        return Ok(Some(secs * 1_000_000_000 + nanos));
    }
    chrono::DateTime::parse_from_rfc3339(&v)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .map(Some)
        .ok_or_else(bad)
}

/// `GET /events`: the engine's event log, replayed from `since` and
/// followed until `until` (or until the client goes away), filtered as
/// dockerd filters.
async fn events(State(server): State<Shared>, q: Query) -> Result<Response, ApiError> {
    let filters = q.filters()?;
    let request = EventsRequest {
        since: time_param(&q, "since")?,
        until: time_param(&q, "until")?,
        filter: EventFilter::parse(filters.pairs()),
    };
    // Opened before answering: what happens once the client has the
    // answer is in the stream.
    let config = server.config();
    let mut stream = tokio::task::spawn_blocking(move || Engine::open(config)?.events(request))
        .await
        .map_err(|e| ApiError::engine(format!("request worker failed: {e}")))??;
    let listening = Listening::new(&server);
    let mut response = streams::blocking_body("application/json", move |tx| {
        let _listening = listening;
        loop {
            match stream.next_within(Duration::from_millis(500)) {
                Ok(Next::Event(e)) => {
                    let mut line = berth_docker::events::message(&e).to_string();
                    line.push('\n');
                    if tx.blocking_send(Bytes::from(line)).is_err() {
                        return;
                    }
                }
                Ok(Next::Idle) if !tx.is_closed() => {}
                Ok(Next::Idle | Next::End) | Err(_) => return,
            }
        }
    });
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
