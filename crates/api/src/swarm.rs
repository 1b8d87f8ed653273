//! Swarm mode, services, nodes, tasks, secrets, configs and managed plugins:
//! berth is a single engine that is never part of a swarm, and answers as a
//! dockerd outside a swarm does, so that clients which probe or clean up
//! swarm state (docker-py's tearDown calls `POST /swarm/leave` and tolerates
//! only 503 or 406) carry on.

use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::Shared;

/// Docker quirk: dockerd's answer to every swarm-manager request when the
/// node is not in a swarm (503, this text).
const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

pub fn routes() -> Router<Shared> {
    let mut router = Router::new()
        .route("/swarm/leave", post(not_in_swarm))
        .route("/swarm/init", post(no_swarm_mode))
        .route("/swarm/join", post(no_swarm_mode))
        .route("/plugins", get(no_plugins))
        .route("/plugins/privileges", get(no_plugin_store))
        .route("/plugins/pull", post(no_plugin_store))
        .route("/plugins/create", post(no_plugin_store))
        .route("/plugins/{name}/json", get(no_such_plugin));
    for base in [
        "/swarm",
        "/services",
        "/nodes",
        "/tasks",
        "/secrets",
        "/configs",
    ] {
        router = router
            .route(base, any(not_a_manager))
            .route(&format!("{base}/{{*rest}}"), any(not_a_manager));
    }
    router
}

async fn not_a_manager() -> ApiError {
    ApiError::unavailable(NOT_A_MANAGER)
}

/// Docker quirk: `POST /swarm/leave` outside a swarm is 503 with its own text.
async fn not_in_swarm() -> ApiError {
    ApiError::unavailable("This node is not part of a swarm")
}

async fn no_swarm_mode() -> ApiError {
    ApiError::not_implemented("berth does not implement swarm mode")
}

/// No managed (v2) plugins are installed; legacy volume plugins are not
/// listed here by dockerd either.
async fn no_plugins() -> Json<Value> {
    Json(json!([]))
}

async fn no_plugin_store() -> ApiError {
    ApiError::not_implemented("berth does not install managed plugins")
}

async fn no_such_plugin(axum::extract::Path(name): axum::extract::Path<String>) -> ApiError {
    ApiError::not_found(format!("plugin \"{name}\" not found"))
}
