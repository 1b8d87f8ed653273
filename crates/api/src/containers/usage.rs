//! What runs in a container and what it uses: `top`, `stats`; and
//! `commit`, an image of its changes.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::container::commit::CommitRequest;
use berth_engine::container::stats::Stats;
use berth_engine::model::Container;
use berth_engine::Engine;
use bollard_stubs::models::ContainerTopResponse;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::{streams, Shared};

pub(super) async fn top(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Json<ContainerTopResponse>, ApiError> {
    let args: Vec<String> = q
        .text("ps_args")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let top = server
        .with_engine(move |engine| Ok(engine.container_top(&id, &args)?))
        .await?;
    Ok(Json(ContainerTopResponse {
        titles: Some(top.titles),
        processes: Some(top.processes),
    }))
}

/// One stats document in Docker's shape, built so that the docker CLI's CPU
/// formula (cpu delta / system delta * online CPUs) gives berth's percentage.
fn stats_json(c: &Container, s: &Stats, read: &str) -> Value {
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

pub(super) async fn stats(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let stream = q.bool_or("stream", true) && !q.bool("one-shot");
    // A missing container is an error response, not an empty stream.
    let id = server
        .with_engine(move |engine| Ok(engine.container_lookup(&id)?.id))
        .await?;
    let config = server.config();
    Ok(streams::blocking_body("application/json", move |tx| {
        let Ok(mut engine) = Engine::open(config) else {
            return;
        };
        loop {
            let interval = Duration::from_millis(if stream { 1000 } else { 100 });
            let Ok(sample) = engine.container_stats(&id, interval) else {
                return;
            };
            let read = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            let mut doc = stats_json(&sample.container, &sample.usage, &read).to_string();
            doc.push('\n');
            if tx.blocking_send(Bytes::from(doc)).is_err() || !stream {
                return;
            }
        }
    }))
}

pub(super) async fn commit(State(server): State<Shared>, q: Query) -> Result<Response, ApiError> {
    let container = q
        .text("container")
        .ok_or_else(|| ApiError::bad_request("bad parameter: container is required"))?;
    let reference = match (q.text("repo"), q.text("tag")) {
        (Some(r), Some(t)) => Some(format!("{r}:{t}")),
        (Some(r), None) => Some(r),
        (None, _) => None,
    };
    let req = CommitRequest {
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
    let id = server
        .with_engine(move |engine| Ok(engine.container_commit(&container, &req)?))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}
