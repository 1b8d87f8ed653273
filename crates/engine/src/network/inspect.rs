//! `network inspect`, and the Docker-shaped document both front ends show.

use berth_network::{Endpoint, Network};
use serde_json::{json, Value};

use crate::{Engine, Result};

/// A network and the endpoints of the running containers on it.
#[derive(Debug, Clone)]
pub struct NetworkDetails {
    pub network: Network,
    pub endpoints: Vec<Endpoint>,
}

impl Engine {
    /// A network by full ID, name or unique ID prefix.
    pub fn network_inspect(&self, reference: &str) -> Result<NetworkDetails> {
        let network = berth_network::find(self.store.db(), reference)?;
        self.network_details(network)
    }

    pub(crate) fn network_details(&self, network: Network) -> Result<NetworkDetails> {
        let endpoints = berth_network::endpoints_of_network(self.store.db(), &network.id)?;
        Ok(NetworkDetails { network, endpoints })
    }
}

/// `docker network inspect`'s object for one network.
pub fn inspect_json(details: &NetworkDetails) -> Value {
    let n = &details.network;
    let config: Vec<Value> = match (n.subnet, n.gateway) {
        (Some(s), Some(g)) => vec![json!({"Subnet": s.to_string(), "Gateway": g.to_string()})],
        (Some(s), None) => vec![json!({"Subnet": s.to_string()})],
        _ => Vec::new(),
    };
    let mut containers = serde_json::Map::new();
    for e in &details.endpoints {
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
