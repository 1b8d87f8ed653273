//! The networking part of container requests as the Engine API sends it:
//! Docker's `EndpointSettings` (create and `network connect`),
//! `NetworkingConfig` and the container-wide fields older API versions use.

use std::collections::BTreeMap;

use berth_engine::model::HostSpec;
use berth_engine::network::EndpointSettings;
use serde_json::{json, Value};

use crate::error::ApiError;

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
    let mode = body["HostConfig"]["NetworkMode"]
        .as_str()
        .unwrap_or_default();
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
    if endpoint["MacAddress"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
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
