//! A container's files: `archive` (`docker cp`: HEAD stat, GET a tar of a
//! path, PUT a tar into a directory), `changes` and `export`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use berth_engine::container::cp::{CopyOptions, PathStat};
use berth_engine::container::diff::{Change, ChangeKind};
use berth_engine::Engine;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::streams::{self, ChannelWriter};
use crate::Shared;

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn stat_header(stat: &PathStat) -> Result<HeaderValue, ApiError> {
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

pub(super) async fn archive_head(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let path = required_path(&q)?;
    let stat = server
        .with_engine(move |engine| Ok(engine.container_stat_path(&id, &path)?))
        .await?;
    let mut resp = StatusCode::OK.into_response();
    resp.headers_mut().insert(STAT_HEADER, stat_header(&stat)?);
    Ok(resp)
}

pub(super) async fn archive_get(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let path = required_path(&q)?;
    let (stat_id, stat_path) = (id.clone(), path.clone());
    let stat = server
        .with_engine(move |engine| Ok(engine.container_stat_path(&stat_id, &stat_path)?))
        .await?;
    let config = server.config();
    let mut resp = streams::blocking_body("application/x-tar", move |tx| {
        let opts = CopyOptions::default();
        let archived = Engine::open(config).and_then(|mut engine| {
            engine.container_archive_out(&id, &path, opts, ChannelWriter(tx))
        });
        if let Err(e) = archived {
            tracing::error!("archive of {id}:{path} failed after its stream began: {e}");
        }
    });
    resp.headers_mut().insert(STAT_HEADER, stat_header(&stat)?);
    Ok(resp)
}

pub(super) async fn archive_put(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
    body: Body,
) -> Result<Response, ApiError> {
    let path = required_path(&q)?;
    let opts = CopyOptions {
        follow_link: false,
        archive: q.bool("copyUIDGID"),
        no_overwrite_dir_non_dir: q.bool("noOverwriteDirNonDir"),
    };
    let mut reader = streams::BodyReader::new(body);
    server
        .with_engine(move |engine| {
            let result = engine.container_archive_in(&id, &path, opts, &mut reader);
            reader.drain();
            Ok(result?)
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn changes(
    State(server): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = server
        .with_engine(move |engine| Ok(engine.container_diff(&id)?))
        .await?;
    let items = changes_json(&list);
    Ok(Json(if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    }))
}

pub(super) async fn export(
    State(server): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // A missing container is an error response, not an empty tar.
    let id = server
        .with_engine(move |engine| Ok(engine.container_lookup(&id)?.id))
        .await?;
    let config = server.config();
    Ok(streams::blocking_body("application/x-tar", move |tx| {
        let exported = Engine::open(config)
            .and_then(|mut engine| engine.container_export(&id, ChannelWriter(tx)));
        if let Err(e) = exported {
            tracing::error!("export of {id} failed after its stream began: {e}");
        }
    }))
}

/// Changes as `GET /containers/{id}/changes` lists them (Kind 0 changed,
/// 1 added, 2 deleted); berth's `volume diff` answers in the same shape.
pub(crate) fn changes_json(changes: &[Change]) -> Vec<Value> {
    changes
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ChangeKind::Changed => 0,
                ChangeKind::Added => 1,
                ChangeKind::Deleted => 2,
            };
            json!({"Path": c.path, "Kind": kind})
        })
        .collect()
}
