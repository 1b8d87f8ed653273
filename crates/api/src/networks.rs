//! `/networks/...`: Docker's network endpoints over berth-network, and the
//! networking part of a container create request.


use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::model::HostSpec;
use berth_engine::network::{
    inspect_json, EndpointSettings, NetworkCreate, NetworkFilter, NetworkPruneFilter, PoolRequest,
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

/// Docker's `EndpointSettings` of a create or connect request as the
/// engine's. The read-only fields (addresses and IDs a response carries)
/// mean nothing in a request; `GwPriority` arrived with API 1.48, above the
/// version berth speaks, and Docker resets it below that version.
pub(crate) fn endpoint_settings(e: bollard_stubs::models::EndpointSettings) -> EndpointSettings {
    let ipam = e.ipam_config.unwrap_or_default();
    EndpointSettings {
        aliases: e.aliases.unwrap_or_default(),
        ipv4_address: ipam.ipv4_address.unwrap_or_default(),
        ipv6_address: ipam.ipv6_address.unwrap_or_default(),
        link_local_ips: ipam.link_local_ips.unwrap_or_default(),
        mac_address: e.mac_address.unwrap_or_default(),
        links: e.links.unwrap_or_default(),
        driver_opts: e.driver_opts.unwrap_or_default().into_iter().collect(),
    }
}

/// Docker quirk: before API 1.44, `docker run --mac-address` arrives as the
/// container-wide `Config.MacAddress`; dockerd moves it to the endpoint of
/// the network mode's network (as later clients send it), and refuses it
/// with a mode that has no endpoint of its own.
pub(crate) fn legacy_mac_address(mut body: Value) -> Result<Value, ApiError> {
    let Some(mac) = body
        .as_object_mut()
        .and_then(|b| b.remove("MacAddress"))
        .and_then(|m| m.as_str().map(str::to_string))
        .filter(|m| !m.is_empty())
    else {
        return Ok(body);
    };
    let mode = body["HostConfig"]["NetworkMode"].as_str().unwrap_or_default();
    let network = match mode {
        "" | "default" => "bridge".to_string(),
        "host" | "none" => {
            return Err(ApiError::bad_request(
                "conflicting options: mac-address and the network mode",
            ))
        }
        m if m.starts_with("container:") => {
            return Err(ApiError::bad_request(
                "conflicting options: mac-address and the network mode",
            ))
        }
        m => m.to_string(),
    };
    let endpoints = &mut body["NetworkingConfig"]["EndpointsConfig"];
    if !endpoints.is_object() {
        *endpoints = json!({});
    }
    let endpoint = &mut endpoints[network.as_str()];
    if !endpoint.is_object() {
        *endpoint = json!({});
    }
    if endpoint["MacAddress"].as_str().unwrap_or_default().is_empty() {
        endpoint["MacAddress"] = json!(mac);
    }
    Ok(body)
}

/// The networking part of a create request: `NetworkingConfig`'s endpoints
/// (returned; the engine refuses a network that does not exist, as Docker
/// does), and into `host` `HostConfig.Links`, `DnsSearch`, `DnsOptions` and
/// `Config.NetworkDisabled`.
pub(crate) fn create_networking(
    body: &bollard_stubs::models::ContainerCreateBody,
    host: &mut HostSpec,
) -> BTreeMap<String, EndpointSettings> {
    if let Some(h) = &body.host_config {
        host.links = h.links.clone().unwrap_or_default();
        host.dns_search = h.dns_search.clone().unwrap_or_default();
        host.dns_options = h.dns_options.clone().unwrap_or_default();
    }
    host.network_disabled = body.network_disabled.unwrap_or(false);
    body.networking_config
        .as_ref()
        .and_then(|n| n.endpoints_config.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, e)| (name, endpoint_settings(e)))
        .collect()
}

async fn connect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkConnectRequest = serde_json::from_slice(&body)?;
    let settings = endpoint_settings(req.endpoint_config.unwrap_or_default());
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
