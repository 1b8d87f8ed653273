#![recursion_limit = "512"]
//! berth-api: the Docker Engine API (`berth serve`) over berth's library crates,
//! so that the real `docker` CLI, docker-py, bollard and friends drive berth.
//!
//! # Terms and lifecycle
//! * The **server** listens on one or more **hosts** (`unix:///run/berth.sock`,
//!   or `tcp://127.0.0.1:PORT`, which is unauthenticated) and answers HTTP/1.1.
//!   It keeps no state of its own: every request opens a
//!   [`berth_engine::Engine`] in a blocking thread, calls the same engine
//!   operations as the `berth` CLI and returns. Killing and restarting the server loses nothing; containers
//!   keep running under their monitors, and any number of clients are served
//!   at once.
//! * **Version negotiation** is dockerd's: `/_ping` and `/version` announce
//!   [`API_VERSION`] and [`MIN_API_VERSION`]; a path may carry a version
//!   (`/v1.41/containers/json`); a version above ours is served as ours, one
//!   below the minimum is refused. The effective version ([`ApiVersion`]) is
//!   available to handlers, which add the legacy fields older clients read.
//! * **Hijacked streams** (attach, exec start) answer `101 UPGRADED` to an
//!   `Upgrade: tcp` request and then speak raw bytes (with a tty) or Docker's
//!   multiplexed frames (without) — see [`streams`].
//! * **Errors** are mapped in one place ([`error`]) to Docker's status codes
//!   with `{"message": "..."}` bodies that carry the berth CLI's own text.
//! * **The server's log** ([`log`]): every request at debug, every error
//!   response at warn/error with its text, through `tracing`.
//! * **Events** (`/events`) are the engine's event log: what any process did
//!   (this server, the `berth` CLI, the containers' monitors), replayed from
//!   `since` and followed live (see [`system`]).
//!
//! Docker's quirks live here, in the API layer, each marked `Docker quirk:`.

mod build;
mod connection;
mod containers;
mod endpoints;
mod error;
mod exec;
mod images;
mod log;
mod networks;
mod query;
mod registry;
mod streams;
mod swarm;
mod system;
mod volume_data;
mod volumes;

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

pub use error::ApiError;

/// The API version this server speaks (Docker 26.1's).
pub const API_VERSION: &str = berth_engine::system::API_VERSION;
/// The oldest API version accepted, as dockerd's.
pub const MIN_API_VERSION: &str = berth_engine::system::MIN_API_VERSION;
/// The host `berth serve` listens on when no `-H` is given.
pub const DEFAULT_HOST: &str = "unix:///run/berth.sock";

/// What `berth serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The engine to serve (`--root`, `--runtime`).
    pub config: berth_engine::Config,
    /// `-H` values; [`DEFAULT_HOST`] when empty.
    pub hosts: Vec<String>,
    /// Group owning unix sockets (`--group`); root's group when `None`.
    pub group: Option<String>,
}

/// What every handler shares: the engine's configuration and the `/events`
/// clients being served.
pub(crate) struct Server {
    pub config: berth_engine::Config,
    pub events: system::EventsListeners,
}

pub(crate) type Shared = Arc<Server>;

impl Server {
    /// The engine's configuration for this server.
    pub fn config(&self) -> berth_engine::Config {
        self.config.clone()
    }

    /// Runs an engine operation (blocking: SQLite, the runtime, file
    /// systems) on the blocking pool, with an engine opened for this request.
    pub async fn with_engine<T, F>(self: &Arc<Self>, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut berth_engine::Engine) -> Result<T, ApiError> + Send + 'static,
    {
        let config = self.config();
        tokio::task::spawn_blocking(move || {
            let mut engine = berth_engine::Engine::open(config)?;
            f(&mut engine)
        })
        .await
        .map_err(|e| ApiError::engine(format!("request worker failed: {e}")))?
    }
}

/// The API version a request is served at (the path's, capped at ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (major, minor) = s.split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }

    pub fn current() -> ApiVersion {
        ApiVersion::parse(API_VERSION).unwrap_or(ApiVersion(1, 45))
    }

    pub fn min() -> ApiVersion {
        ApiVersion::parse(MIN_API_VERSION).unwrap_or(ApiVersion(1, 24))
    }

    /// True when the request's version is older than `major.minor`.
    pub fn before(self, major: u32, minor: u32) -> bool {
        self < ApiVersion(major, minor)
    }
}

/// Strips a `/vX.Y` path prefix and records the effective version.
async fn negotiate_version(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut version = ApiVersion::current();
    if let Some(rest) = path.strip_prefix("/v") {
        let (candidate, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(v) = ApiVersion::parse(candidate) {
            if v < ApiVersion::min() {
                return ApiError::bad_request(format!(
                    "client version {candidate} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
                ))
                .into_response();
            }
            // Docker quirk: a client newer than the server (bollard's default
            // /v1.53/) is served at the server's own version.
            version = v.min(ApiVersion::current());
            let query = req
                .uri()
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let tail = if tail.is_empty() { "/" } else { tail };
            if let Ok(uri) = format!("{tail}{query}").parse() {
                *req.uri_mut() = uri;
            }
        }
    }
    req.extensions_mut().insert(version);
    next.run(req).await
}

/// Docker's `Server` header on every response.
async fn server_header(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        axum::http::header::SERVER,
        axum::http::HeaderValue::from_static("Docker/26.1.0-berth (linux)"),
    );
    resp
}

pub(crate) fn router(server: Shared) -> Router {
    let api = Router::new()
        .merge(system::routes())
        .merge(build::routes())
        .merge(containers::routes())
        .merge(exec::routes())
        .merge(images::routes())
        .merge(volumes::routes())
        .merge(volume_data::routes())
        .merge(networks::routes())
        .merge(swarm::routes())
        .fallback(|req: Request| async move {
            ApiError::not_found(format!("page not found: {}", req.uri().path()))
        })
        .with_state(server);
    // The version prefix must be gone before the inner router matches paths,
    // so the rewrite wraps it as a whole.
    Router::new()
        .fallback_service(api)
        .layer(axum::middleware::from_fn(negotiate_version))
        .layer(axum::middleware::from_fn(serve::track_activity))
        .layer(axum::middleware::from_fn(server_header))
        .layer(axum::middleware::from_fn(log::log_request))
}

mod serve;
pub use serve::serve;
