//! `/networks/...`: Docker's network endpoints over berth-network.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::network::{
    inspect_json, NetworkCreate, NetworkFilter, NetworkPruneFilter, PoolRequest,
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
    q: Query,
) -> Result<Json<Value>, ApiError> {
    // Docker quirk: `?scope=` restricts the lookup to networks of that
    // scope; every berth network is local, so a lookup in any other scope
    // (swarm, global or unknown) finds nothing, with dockerd's 404.
    if q.get("scope")
        .is_some_and(|s| !s.is_empty() && s != "local")
    {
        return Err(ApiError::not_found(format!("network {id} not found")));
    }
    let details = engine
        .with_engine(move |engine| Ok(engine.network_inspect(&id)?))
        .await?;
    Ok(Json(inspect_json(&details)))
}

async fn create(State(engine): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkCreateRequest = serde_json::from_slice(&body)?;
    if req.enable_ipv4 == Some(false) {
        return Err(ApiError::bad_request(
            "EnableIPv4=false is not supported: berth networks always have IPv4",
        ));
    }
    let ipam = req.ipam.clone().unwrap_or_default();
    let text = |s: Option<String>| s.unwrap_or_default();
    let pools = ipam
        .config
        .unwrap_or_default()
        .into_iter()
        .map(|c| PoolRequest {
            subnet: text(c.subnet),
            ip_range: text(c.ip_range),
            gateway: text(c.gateway),
            aux_addresses: c
                .auxiliary_addresses
                .unwrap_or_default()
                .into_iter()
                .collect(),
        })
        .collect();
    let request = NetworkCreate {
        name: req.name.clone(),
        driver: text(req.driver),
        pools,
        ipam_driver: text(ipam.driver),
        // Docker reports IPAM.Options as it arrived: null when absent.
        ipam_options: ipam.options.map(|o| o.into_iter().collect()),
        options: req.options.unwrap_or_default().into_iter().collect(),
        enable_ipv6: req.enable_ipv6.unwrap_or(false),
        internal: req.internal.unwrap_or(false),
        attachable: req.attachable.unwrap_or(false),
        labels: req.labels.clone().unwrap_or_default().into_iter().collect(),
        ingress: req.ingress.unwrap_or(false),
        config_only: req.config_only.unwrap_or(false),
        config_from: req.config_from.and_then(|c| c.network).unwrap_or_default(),
        scope: text(req.scope),
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
    let settings = crate::endpoints::endpoint_settings(req.endpoint_config.unwrap_or_default());
    let container = req.container;
    engine
        .with_engine(move |engine| Ok(engine.network_connect(&id, &container, &settings)?))
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
    let force = req.force.unwrap_or(false);
    engine
        .with_engine(move |engine| Ok(engine.network_disconnect(&id, &container, force)?))
        .await?;
    Ok(StatusCode::OK.into_response())
}
