//! `/volumes/...`: Docker's volume endpoints over the engine's volume
//! operations. The JSON of one volume is the engine's `inspect_json`, what
//! `berth volume inspect` prints.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::volume::{
    inspect_json, VolumeCreate, VolumeFilter, VolumePruneFilter, LOCAL_DRIVER,
};
use bollard_stubs::models::VolumeCreateRequest;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
}

async fn list(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filter = VolumeFilter::new(&q.filters()?.to_engine())?;
    let listed = engine
        .with_engine(move |engine| Ok(engine.volume_list(&filter)?))
        .await?;
    let volumes: Vec<Value> = listed.volumes.iter().map(inspect_json).collect();
    // dockerd: what went wrong asking a plugin, or null.
    let warnings = if listed.warnings.is_empty() {
        Value::Null
    } else {
        json!(listed.warnings)
    };
    Ok(Json(json!({"Volumes": volumes, "Warnings": warnings})))
}

async fn create(State(engine): State<Shared>, q: Query, body: Bytes) -> Result<Response, ApiError> {
    // Docker quirk: since API 1.42 a volume created without a name is an
    // anonymous one (and so pruned by a plain `volume prune`).
    let unnamed_is_anonymous = !q.api_version().before(1, 42);
    let req: VolumeCreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        VolumeCreateRequest::default()
    } else {
        serde_json::from_slice(&body)?
    };
    let name = req.name.filter(|n| !n.is_empty());
    let request = VolumeCreate {
        anonymous: name.is_none() && unnamed_is_anonymous,
        name,
        driver: req
            .driver
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| LOCAL_DRIVER.into()),
        options: req.driver_opts.unwrap_or_default().into_iter().collect(),
        labels: req.labels.unwrap_or_default().into_iter().collect(),
    };
    let v = engine
        .with_engine(move |engine| Ok(engine.volume_create(request)?))
        .await?;
    Ok((StatusCode::CREATED, Json(inspect_json(&v))).into_response())
}

async fn inspect(
    State(engine): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = engine
        .with_engine(move |engine| Ok(engine.volume_inspect(&name)?))
        .await?;
    Ok(Json(inspect_json(&v)))
}

async fn remove(
    State(engine): State<Shared>,
    Path(name): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let force = q.bool("force");
    let n = name.clone();
    engine
        .with_engine(move |engine| Ok(engine.volume_remove(&n, force)?))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let mut filters = q.filters()?.to_engine();
    // Docker quirk: since API 1.42 only anonymous volumes are pruned unless
    // `all=true`; older clients (docker 20.10) expect every unused volume.
    if q.api_version().before(1, 42) {
        filters.add("all", "true");
    }
    let filter = VolumePruneFilter::new(&filters)?;
    let report = engine
        .with_engine(move |engine| Ok(engine.volume_prune(&filter)?))
        .await?;
    Ok(Json(json!({
        "VolumesDeleted": if report.deleted.is_empty() { Value::Null } else { json!(report.deleted) },
        "SpaceReclaimed": report.reclaimed,
    })))
}
