//! `POST /build`: the classic builder over the API. The request body is the
//! build context (a tar, compressed or not); the answer is Docker's JSON
//! message stream: `{"stream": "..."}` for each line of progress,
//! `{"aux": {"ID": "sha256:..."}}` for the image made, and
//! `{"errorDetail": {...}, "error": "..."}` when the build fails.
//! `POST /build/prune` removes the build cache.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use berth_engine::image::build::{BuildError, BuildOptions, ContextSource};
use berth_engine::image::DeleteItem;
use berth_engine::Error;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::query::Query;
use crate::streams::{self, BodyReader};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/build", post(build))
        .route("/build/prune", post(prune))
}

/// A JSON map parameter (`buildargs`, `labels`), `{}` when absent.
fn json_map(q: &Query, key: &str) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let Some(raw) = q.get(key).filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    let map: serde_json::Map<String, Value> = serde_json::from_str(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid {key}: {e}")))?;
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            };
            (k, value)
        })
        .collect())
}

/// The build options of the query, refusing what berth's classic builder
/// does not do rather than ignoring it.
fn options(q: &Query) -> Result<BuildOptions, ApiError> {
    // Docker quirk: `version=2` asks for BuildKit, which needs a session;
    // clients fall back to the classic builder when the ping says
    // Builder-Version 1, as berth's does.
    if q.get("version") == Some("2") {
        return Err(ApiError::bad_request(
            "BuildKit is not supported by berth: use the classic builder (DOCKER_BUILDKIT=0)",
        ));
    }
    if let Some(remote) = q.text("remote") {
        return Err(ApiError::bad_request(format!(
            "unable to prepare context: remote contexts ({remote}) are not supported; send the context as the request body"
        )));
    }
    for key in [
        "memory",
        "memswap",
        "cpushares",
        "cpusetcpus",
        "cpuperiod",
        "cpuquota",
        "squash",
        "outputs",
    ] {
        if let Some(v) = q
            .get(key)
            .filter(|v| !v.is_empty() && !matches!(*v, "0" | "false" | "[]" | "{}"))
        {
            return Err(ApiError::bad_request(format!(
                "build option {key}={v} is not supported by berth"
            )));
        }
    }
    // dockerd: only the default isolation exists on Linux.
    if let Some(i) = q.text("isolation").filter(|i| i != "default") {
        return Err(ApiError::bad_request(format!(
            "unsupported isolation: \"{i}\""
        )));
    }
    // Docker's `cachefrom` is a JSON list of image names.
    let cache_from = match q.get("cachefrom").filter(|v| !matches!(*v, "" | "null")) {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<Vec<String>>(text)
                .map_err(|e| ApiError::bad_request(format!("invalid cachefrom {text:?}: {e}")))?,
        )
        .filter(|list| !list.is_empty()),
    };
    let shm_size = match q.int("shmsize")? {
        Some(n) if n < 0 => return Err(ApiError::bad_request("shmsize must be positive")),
        n => n.unwrap_or(0) as u64,
    };
    if let Some(platform) = q.text("platform") {
        if !matches!(platform.as_str(), "linux" | "linux/amd64" | "linux/x86_64") {
            return Err(ApiError::bad_request(format!(
                "build platform {platform} is not supported: berth builds linux/amd64 images"
            )));
        }
    }
    Ok(BuildOptions {
        tags: q.all("t").into_iter().filter(|t| !t.is_empty()).collect(),
        dockerfile: q.text("dockerfile").map(Into::into),
        build_args: json_map(q, "buildargs")?,
        target: q.text("target"),
        no_cache: q.bool("nocache"),
        labels: json_map(q, "labels")?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
        // Docker quirk: "default" (and an empty value) is the default bridge.
        network: q.text("networkmode").unwrap_or_else(|| "default".into()),
        cache_from,
        shm_size,
        extra_hosts: q
            .all("extrahosts")
            .into_iter()
            .filter(|h| !h.is_empty())
            .collect(),
    })
}

/// Sends the builder's progress as `{"stream": text}` messages: whole lines,
/// and whatever was written before a flush (a RUN's output as it comes, its
/// stderr in one message, as dockerd sends each write).
struct StreamLines {
    tx: mpsc::Sender<Bytes>,
    partial: Vec<u8>,
}

impl StreamLines {
    fn send(&self, message: Value) -> std::io::Result<()> {
        let mut line = message.to_string();
        line.push('\n');
        self.tx
            .blocking_send(Bytes::from(line))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

impl Write for StreamLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        if self.partial.ends_with(b"\n") {
            let text = std::mem::take(&mut self.partial);
            self.send(json!({ "stream": String::from_utf8_lossy(&text) }))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.send(json!({ "stream": String::from_utf8_lossy(&rest) }))?;
        }
        Ok(())
    }
}

async fn build(State(engine): State<Shared>, q: Query, body: Body) -> Result<Response, ApiError> {
    let opts = options(&q)?;
    let quiet = q.bool("q");
    let config = engine.config();
    let reader = BodyReader::new(body);
    Ok(streams::blocking_body("application/json", move |tx| {
        let mut out = StreamLines {
            tx: tx.clone(),
            partial: Vec::new(),
        };
        let mut captured = Vec::new();
        // The builder reads the whole context; a request refused before that
        // is still read to its end by the BodyReader.
        let result = berth_engine::Engine::open(config).and_then(|mut engine| {
            let context = ContextSource::Stdin(Box::new(reader));
            if quiet {
                engine.image_build(context, &opts, &mut captured)
            } else {
                engine.image_build(context, &opts, &mut out)
            }
        });
        let _ = out.flush();
        match result {
            Ok(outcome) => {
                // dockerd's order: the image's aux message, then the
                // classic builder's `Successfully built`, then the tags.
                let _ = out.send(json!({"aux": {"ID": outcome.id}}));
                for line in berth_docker::build::closing_lines(&outcome, quiet) {
                    let _ = out.send(json!({ "stream": format!("{line}\n") }));
                }
            }
            Err(e) => {
                if quiet {
                    let _ = out.write_all(&captured).and_then(|()| out.flush());
                }
                let mut detail = json!({ "message": e.to_string() });
                // Docker quirk: a failing RUN carries its exit status.
                if let Error::Build(BuildError::RunFailed { code, .. }) = &e {
                    detail["code"] = json!(code);
                }
                let _ = out.send(json!({ "errorDetail": detail, "error": e.to_string() }));
            }
        }
    }))
}

/// `POST /build/prune`: the classic builder's cache (its steps' untagged
/// images). BuildKit's `filters`, `keep-storage` and `all` have no meaning
/// for it and are refused rather than ignored.
async fn prune(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    for key in [
        "filters",
        "keep-storage",
        "reserved-space",
        "max-used-space",
        "min-free-space",
    ] {
        if let Some(v) = q.get(key).filter(|v| !matches!(*v, "" | "0" | "{}")) {
            return Err(ApiError::bad_request(format!(
                "build cache prune option {key}={v} is not supported by berth (it prunes the classic builder's cache)"
            )));
        }
    }
    let report = engine
        .with_engine(|engine| Ok(engine.build_cache_prune()?))
        .await?;
    let deleted: Vec<Value> = report
        .deleted
        .iter()
        .filter_map(|item| match item {
            DeleteItem::Deleted(id) => Some(json!(id)),
            DeleteItem::Untagged(_) => None,
        })
        .collect();
    Ok(Json(json!({
        "CachesDeleted": if deleted.is_empty() { Value::Null } else { Value::Array(deleted) },
        "SpaceReclaimed": report.reclaimed,
    })))
}
