//! `/volumes/...`: Docker's volume endpoints over berth-volume. The JSON of
//! one volume is `berth_volume::inspect_json`, what `berth volume inspect`
//! prints.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard_stubs::models::VolumeCreateRequest;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::system::{self, EventKind};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/create", post(create))
        .route("/volumes/prune", post(prune))
        .route("/volumes/{name}", get(inspect).delete(remove))
}

async fn list(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filters = q.filters()?;
    filters.check(&["dangling", "name", "label", "driver"])?;
    let volumes = engine
        .with_store(move |store, _| {
            let mut out = Vec::new();
            for v in berth_volume::list(store)? {
                let mut keep = true;
                for (key, values) in &filters.0 {
                    keep &= match key.as_str() {
                        "dangling" => {
                            let unused = berth_volume::users(store, &v.name)?.is_empty();
                            values.iter().any(|d| crate::query::parse_bool(d) == unused)
                        }
                        "name" => values.iter().any(|n| v.name.contains(n.as_str())),
                        "driver" => values.contains(&v.driver),
                        "label" => filters.labels_match("label", &v.labels),
                        _ => true,
                    };
                }
                if keep {
                    out.push(berth_volume::inspect_json(&v));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(json!({"Volumes": volumes, "Warnings": null})))
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
    let v = engine
        .with_store(move |store, _| {
            let driver = req
                .driver
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "local".into());
            let opts: BTreeMap<String, String> = req
                .driver_opts
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect();
            let labels: BTreeMap<String, String> =
                req.labels.clone().unwrap_or_default().into_iter().collect();
            let name = req.name.clone().filter(|n| !n.is_empty());
            let anonymous = name.is_none() && unnamed_is_anonymous;
            Ok(berth_volume::create(
                store,
                name.as_deref(),
                &driver,
                opts,
                labels,
                anonymous,
            )?)
        })
        .await?;
    system::emit(
        &engine,
        EventKind::Volume,
        "create",
        &v.name,
        &BTreeMap::new(),
    );
    Ok((StatusCode::CREATED, Json(berth_volume::inspect_json(&v))).into_response())
}

async fn inspect(
    State(engine): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = engine
        .with_store(move |store, _| Ok(berth_volume::get(store, &name)?))
        .await?;
    Ok(Json(berth_volume::inspect_json(&v)))
}

async fn remove(
    State(engine): State<Shared>,
    Path(name): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let force = q.bool("force");
    let n = name.clone();
    engine
        .with_store(move |store, _| Ok(berth_volume::remove(store, &n, force)?))
        .await?;
    system::emit(
        &engine,
        EventKind::Volume,
        "destroy",
        &name,
        &BTreeMap::new(),
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filters = q.filters()?;
    filters.check(&["label", "label!", "all"])?;
    // Docker quirk: since API 1.42 only anonymous volumes are pruned unless
    // `all=true`; older clients (docker 20.10) expect every unused volume.
    let all = filters
        .get("all")
        .iter()
        .any(|v| crate::query::parse_bool(v))
        || q.api_version().before(1, 42);
    let mut labels: Vec<berth_volume::LabelFilter> = filters
        .get("label")
        .iter()
        .map(|l| berth_volume::LabelFilter::new(l, false))
        .collect();
    labels.extend(
        filters
            .get("label!")
            .iter()
            .map(|l| berth_volume::LabelFilter::new(l, true)),
    );
    let report = engine
        .with_store(move |store, _| Ok(berth_volume::prune(store, all, &labels)?))
        .await?;
    for name in &report.deleted {
        system::emit(
            &engine,
            EventKind::Volume,
            "destroy",
            name,
            &BTreeMap::new(),
        );
    }
    Ok(Json(json!({
        "VolumesDeleted": if report.deleted.is_empty() { Value::Null } else { json!(report.deleted) },
        "SpaceReclaimed": report.reclaimed,
    })))
}
