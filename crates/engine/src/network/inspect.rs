//! `network inspect`, and the Docker-shaped document both front ends show.

use berth_network::{Endpoint, Network};
use serde_json::{json, Map, Value};

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

/// `docker network inspect`'s object for one network: the options, labels
/// and IPAM settings it was created with (the default bridge shows Docker's
/// own options, as dockerd shows them for docker0).
pub fn inspect_json(details: &NetworkDetails) -> Value {
    let n = &details.network;
    let c = &n.config;
    let mut config = Vec::new();
    if let Some(subnet) = n.subnet {
        let mut pool = json!({"Subnet": subnet.to_string()});
        if let Some(range) = c.ip_range {
            pool["IPRange"] = json!(range.to_string());
        }
        if let (Some(g), true) = (n.gateway, c.gateway_given) {
            pool["Gateway"] = json!(g.to_string());
        }
        let aux: Map<String, Value> = c
            .aux_addresses
            .iter()
            .filter(|(_, ip)| ip.is_ipv4())
            .map(|(k, ip)| (k.clone(), json!(ip.to_string())))
            .collect();
        if !aux.is_empty() {
            pool["AuxiliaryAddresses"] = Value::Object(aux);
        }
        config.push(pool);
    }
    if let Some(p) = n.ipv6() {
        let mut pool = json!({"Subnet": p.subnet.to_string()});
        if let Some(range) = p.ip_range {
            pool["IPRange"] = json!(range.to_string());
        }
        if p.gateway_given {
            pool["Gateway"] = json!(p.gateway.to_string());
        }
        let aux: Map<String, Value> = c
            .aux_addresses
            .iter()
            .filter(|(_, ip)| ip.is_ipv6())
            .map(|(k, ip)| (k.clone(), json!(ip.to_string())))
            .collect();
        if !aux.is_empty() {
            pool["AuxiliaryAddresses"] = Value::Object(aux);
        }
        config.push(pool);
    }
    let mut containers = Map::new();
    for e in &details.endpoints {
        containers.insert(
            e.container_id.clone(),
            json!({
                "Name": e.container_name,
                "EndpointID": e.id,
                "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.ipv4, e.prefix_len()),
                "IPv6Address": e.ipv6.map(|ip| format!("{ip}/{}", e.ipv6_prefix_len())).unwrap_or_default(),
            }),
        );
    }
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created_at,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv6": n.ipv6().is_some(),
        "IPAM": {"Driver": "default", "Options": c.ipam_options, "Config": config},
        "Internal": n.internal,
        "Attachable": c.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": c.options,
        "Labels": n.labels,
    })
}
