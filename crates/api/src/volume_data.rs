//! berth's own volume endpoints (Docker has none): `GET
//! /volumes/{name}/export`, `POST /volumes/{name}/import`, `POST
//! /volumes/{name}/clone`, `POST /volumes/{name}/rename`, `GET
//! /volumes/{name}/diff` and `POST /volumes/{name}/seed`, over the engine's
//! operations of the same names. README documents them.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::volume::{
    inspect_json, SeedPolicy, TarCompression, VolumeClone, VolumeExport, VolumeSeed,
};
use berth_engine::Engine;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::streams::{self, BodyReader, ChannelWriter};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/volumes/{name}/export", get(export))
        .route("/volumes/{name}/import", post(import))
        .route("/volumes/{name}/clone", post(clone))
        .route("/volumes/{name}/rename", post(rename))
        .route("/volumes/{name}/diff", get(diff))
        .route("/volumes/{name}/seed", post(seed))
}

/// `?source=IMAGE:/PATH`, the image's directory; required.
fn source(q: &Query) -> Result<String, ApiError> {
    q.text("source").filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::bad_request("the image's directory is needed (?source=IMAGE:/PATH)")
    })
}

/// `?source=IMAGE:/PATH`; answers the changes (an empty list when none).
async fn diff(
    State(server): State<Shared>,
    Path(name): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let source = source(&q)?;
    let changes = server
        .with_engine(move |engine| Ok(engine.volume_diff(&name, &source)?))
        .await?;
    Ok(Json(Value::Array(crate::containers::changes_json(&changes))).into_response())
}

/// `?source=IMAGE:/PATH[&mode=only-missing|overwrite][&pause=1]`; answers
/// `{"Applied": [changes], "Paused": [container IDs]}`.
async fn seed(
    State(server): State<Shared>,
    Path(name): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let policy = match q.get("mode").unwrap_or("") {
        "" | "only-missing" => SeedPolicy::OnlyMissing,
        "overwrite" => SeedPolicy::Overwrite,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid mode {other:?}: only-missing or overwrite"
            )))
        }
    };
    let request = VolumeSeed {
        name,
        source: source(&q)?,
        policy,
        pause: q.bool("pause"),
    };
    let seeded = server
        .with_engine(move |engine| Ok(engine.volume_seed(&request)?))
        .await?;
    Ok(Json(json!({
        "Applied": crate::containers::changes_json(&seeded.applied),
        "Paused": seeded.paused,
    }))
    .into_response())
}

/// `?compression=none|gzip|zstd` (default none), `?pause=1`.
async fn export(
    State(server): State<Shared>,
    Path(name): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let compression = match q.get("compression").unwrap_or("none") {
        "" | "none" => TarCompression::None,
        "gzip" | "gz" => TarCompression::Gzip,
        "zstd" | "zst" => TarCompression::Zstd,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid compression {other:?}: none, gzip or zstd"
            )))
        }
    };
    let request = VolumeExport {
        name,
        compression,
        pause: q.bool("pause"),
    };
    // Refusals are error responses, not an empty tar.
    let checked = request.clone();
    server
        .with_engine(move |engine| Ok(engine.volume_export_check(&checked)?))
        .await?;
    let config = server.config();
    let content_type = match compression {
        TarCompression::None => "application/x-tar",
        TarCompression::Gzip => "application/gzip",
        TarCompression::Zstd => "application/zstd",
    };
    Ok(streams::blocking_body(content_type, move |tx| {
        // The body ends when the writer is dropped: only once the paused
        // containers are thawed, so a client that has the whole tar finds
        // them running again.
        let mut body = ChannelWriter(tx);
        let exported =
            Engine::open(config).and_then(|mut engine| engine.volume_export(&request, &mut body));
        if let Err(e) = exported {
            tracing::error!(
                "export of volume {} failed after its stream began: {e}",
                request.name
            );
        }
        drop(body);
    }))
}

/// The body is the tar; answers `{"Name", "Created", "Bytes"}`.
async fn import(
    State(server): State<Shared>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let mut reader = BodyReader::new(body);
    let n = name.clone();
    let imported = server
        .with_engine(move |engine| {
            let result = engine.volume_import(&n, &mut reader);
            reader.drain();
            Ok(result?)
        })
        .await?;
    Ok(Json(json!({
        "Name": name,
        "Created": imported.created,
        "Bytes": imported.bytes,
    }))
    .into_response())
}

/// `?name=TARGET[&pause=1]`; answers 201 with the new volume.
async fn clone(
    State(server): State<Shared>,
    Path(source): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let target = q
        .text("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("clone needs the new volume's name (?name=)"))?;
    let request = VolumeClone {
        source,
        target,
        pause: q.bool("pause"),
    };
    let cloned = server
        .with_engine(move |engine| Ok(engine.volume_clone(&request)?))
        .await?;
    Ok((StatusCode::CREATED, Json(inspect_json(&cloned.volume))).into_response())
}

/// `?name=NEW`; answers 204.
async fn rename(
    State(server): State<Shared>,
    Path(old): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let new = q
        .text("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("rename needs the new name (?name=)"))?;
    server
        .with_engine(move |engine| Ok(engine.volume_rename(&old, &new)?))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
