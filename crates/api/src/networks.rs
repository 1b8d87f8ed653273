//! `/networks/...`: Docker's network endpoints over berth-network.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_network::{Network, NetworkError};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::system::{self, EventKind};
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

fn network_json(store: &berth_store::Store, n: &Network) -> Value {
    let config: Vec<Value> = match (n.subnet, n.gateway) {
        (Some(s), Some(g)) => vec![json!({"Subnet": s.to_string(), "Gateway": g.to_string()})],
        (Some(s), None) => vec![json!({"Subnet": s.to_string()})],
        _ => Vec::new(),
    };
    let mut containers = serde_json::Map::new();
    for e in berth_network::endpoints_of_network(store.db(), &n.id).unwrap_or_default() {
        containers.insert(
            e.container_id.clone(),
            json!({
                "Name": e.container_name,
                "EndpointID": e.id,
                "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.ipv4, e.prefix_len()),
                "IPv6Address": "",
            }),
        );
    }
    let mut options = serde_json::Map::new();
    if n.is_bridge() && !n.interface.is_empty() {
        options.insert("com.docker.network.bridge.name".into(), json!(n.interface));
    }
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created_at,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": config},
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
    })
}

async fn list(State(engine): State<Shared>, q: Query) -> Result<Json<Vec<Value>>, ApiError> {
    let filters = q.filters()?;
    filters.check(&["name", "id", "driver", "label", "type", "scope", "dangling"])?;
    let rows = engine
        .with_store(move |store, _| {
            let mut out = Vec::new();
            for n in berth_network::list(store.db())? {
                let keep = filters.matches(|k, v| match k {
                    "name" => n.name.contains(v),
                    "id" => n.id.starts_with(v),
                    "driver" => n.driver == v,
                    "label" => filters.labels_match("label", &n.labels),
                    "type" => (v == "builtin") == n.is_builtin(),
                    "scope" => v == "local",
                    _ => true,
                });
                if keep {
                    out.push(network_json(store, &n));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(rows))
}

async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = engine
        .with_store(move |store, _| {
            let n = berth_network::find(store.db(), &id)?;
            Ok(network_json(store, &n))
        })
        .await?;
    Ok(Json(v))
}

async fn create(State(engine): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkCreateRequest = serde_json::from_slice(&body)?;
    let ipam = req
        .ipam
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .and_then(|c| c.first().cloned());
    let opts = berth_network::CreateOptions {
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
        .with_store(move |store, _| Ok(berth_network::create(store, opts)?))
        .await?;
    system::emit(
        &engine,
        EventKind::Network,
        "create",
        &n.id,
        &BTreeMap::from([("name".to_string(), n.name.clone())]),
    );
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
    let n = engine
        .with_store(move |store, _| Ok(berth_network::remove(store, &id)?))
        .await?;
    system::emit(
        &engine,
        EventKind::Network,
        "destroy",
        &n.id,
        &BTreeMap::from([("name".to_string(), n.name.clone())]),
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn prune(State(engine): State<Shared>) -> Result<Json<Value>, ApiError> {
    let names = engine
        .with_store(move |store, _| Ok(berth_network::prune(store)?))
        .await?;
    Ok(Json(json!({
        "NetworksDeleted": if names.is_empty() { Value::Null } else { json!(names) },
    })))
}

/// The container side of connect/disconnect.
fn member_call<T>(
    store: &mut berth_store::Store,
    container: &str,
    f: impl FnOnce(&mut berth_store::Store, &berth_network::Member) -> Result<T, NetworkError>,
) -> Result<T, ApiError> {
    let c = berth_engine::container::lifecycle::lookup(store, container)?;
    let member = berth_network::Member {
        container_id: &c.id,
        container_name: &c.name,
        network_mode: &c.spec.host.network_mode,
        aliases: &[],
        ipv4: "",
        dns_servers: &c.spec.host.dns,
    };
    Ok(f(store, &member)?)
}

async fn connect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkConnectRequest = serde_json::from_slice(&body)?;
    let container = req.container.clone();
    let endpoint = req.endpoint_config.clone().unwrap_or_default();
    let aliases = endpoint.aliases.clone().unwrap_or_default();
    let ipv4 = endpoint
        .ipam_config
        .as_ref()
        .and_then(|c| c.ipv4_address.clone())
        .unwrap_or_default();
    engine
        .with_store(move |store, _| {
            member_call(store, &container, |store, member| {
                berth_network::connect(store, &id, member, &aliases, &ipv4)
            })
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: bollard_stubs::models::NetworkDisconnectRequest = serde_json::from_slice(&body)?;
    let container = req.container.clone();
    engine
        .with_store(move |store, _| {
            member_call(store, &container, |store, member| {
                berth_network::disconnect(store, &id, member)
            })
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}
