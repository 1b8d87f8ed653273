//! `/networks/...`: Docker's network endpoints over berth-network.


use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::network::{
    inspect_json, NetworkConnect, NetworkCreate, NetworkFilter, NetworkPruneFilter,
};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/prune", post(prune))
        .route("/networks/{id}", get(inspect).delete(remove))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
}

async fn list(State(engine): State<Shared>, q: Query) -> Result<Json<Vec<Value>>, ApiError> {
    let filter = NetworkFilter::new(&q.filters()?.to_engine())?;
    let networks = engine
        .with_engine(move |engine| Ok(engine.network_list(&filter)?))
        .await?;
    Ok(Json(networks.iter().map(inspect_json).collect()))
}

async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let details = engine
        .with_engine(move |engine| Ok(engine.network_inspect(&id)?))
        .await?;
    Ok(Json(inspect_json(&details)))
}

async fn create(State(engine): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkCreateRequest = serde_json::from_slice(&body)?;
    let ipam = req
        .ipam
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .and_then(|c| c.first().cloned());
    let request = NetworkCreate {
        name: req.name.clone(),
        driver: req.driver.clone().unwrap_or_default(),
        subnet: ipam
            .as_ref()
            .and_then(|c| c.subnet.clone())
            .filter(|s| !s.is_empty()),
        gateway: ipam
            .as_ref()
            .and_then(|c| c.gateway.clone())
            .filter(|s| !s.is_empty()),
        internal: req.internal.unwrap_or(false),
        labels: req.labels.clone().unwrap_or_default().into_iter().collect(),
    };
    let n = engine
        .with_engine(move |engine| Ok(engine.network_create(request)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"Id": n.id, "Warning": ""})),
    )
        .into_response())
}

async fn remove(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    engine
        .with_engine(move |engine| Ok(engine.network_remove(&id)?))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(engine): State<Shared>, q: Query) -> Result<Json<Value>, ApiError> {
    let filter = NetworkPruneFilter::new(&q.filters()?.to_engine())?;
    let names = engine
        .with_engine(move |engine| Ok(engine.network_prune(&filter)?))
        .await?;
    Ok(Json(json!({
        "NetworksDeleted": if names.is_empty() { Value::Null } else { json!(names) },
    })))
}

async fn connect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkConnectRequest = serde_json::from_slice(&body)?;
    let endpoint = req.endpoint_config.unwrap_or_default();
    let request = NetworkConnect {
        aliases: endpoint.aliases.unwrap_or_default(),
        ipv4: endpoint
            .ipam_config
            .and_then(|c| c.ipv4_address)
            .unwrap_or_default(),
    };
    let container = req.container;
    engine
        .with_engine(move |engine| Ok(engine.network_connect(&id, &container, &request)?))
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkDisconnectRequest = serde_json::from_slice(&body)?;
    let container = req.container;
    engine
        .with_engine(move |engine| Ok(engine.network_disconnect(&id, &container)?))
        .await?;
    Ok(StatusCode::OK.into_response())
}
