//! The networking part of `create`, checked as Docker checks it before
//! anything is made: the network mode (the network or the container to share
//! with must exist), published ports, the endpoint settings of every network
//! the container will join (`NetworkingConfig`), legacy links and the MAC
//! address.

use std::collections::BTreeMap;

use berth_container::model::{self, HostSpec};
use berth_container::{ContainerError, Result};
use berth_network::{EndpointSettings, Mode, Network, DEFAULT_NETWORK};
use berth_store::rusqlite::Transaction;
use berth_store::Store;

/// The networks a container joins besides its mode's, recorded with it.
#[derive(Debug, Default)]
pub(super) struct NetworkPlan {
    /// Other networks of `NetworkingConfig`, joined at start after the mode's.
    extra: Vec<(Network, EndpointSettings)>,
}

impl NetworkPlan {
    /// Records the plan in the container's insert transaction.
    pub(super) fn record(&self, tx: &Transaction, container_id: &str) -> Result<()> {
        for (network, settings) in &self.extra {
            berth_network::join_at_create(tx, container_id, network, settings)?;
        }
        Ok(())
    }
}

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(ContainerError::InvalidArgument(message.into()))
}

/// A network or container the request names that does not exist is a bad
/// request, not a missing resource: the docker CLI takes any "not found" of
/// a create for a missing image and tries to pull it. (dockerd 20.10 creates
/// the container and fails its start with "network X not found"; berth
/// refuses with the same message and creates nothing.)
fn refused(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::InvalidArgument(e.to_string())
}

/// A network by name or ID; `default` (the network mode current docker
/// CLIs send, also as the key of its endpoint settings) is the default bridge.
fn find_network(store: &Store, name: &str) -> Result<Network> {
    let name = if name == "default" {
        DEFAULT_NETWORK
    } else {
        name
    };
    berth_network::find(store.db(), name).map_err(refused)
}

/// Checks the network mode, ports, `endpoints_config` (Docker's
/// `NetworkingConfig.EndpointsConfig`: when not empty, the networks the
/// container joins, as in Docker) and links; completes `host` with the mode
/// network's endpoint settings.
pub(super) fn validate(
    store: &Store,
    host: &mut HostSpec,
    endpoints_config: &BTreeMap<String, EndpointSettings>,
) -> Result<NetworkPlan> {
    let mode = Mode::parse(&host.network_mode);
    let ports = !host.port_bindings.is_empty() || host.publish_all_ports;
    let mut plan = NetworkPlan::default();
    match &mode {
        Mode::Host => {
            // Docker discards published ports with the host's network.
            host.port_bindings.clear();
            host.publish_all_ports = false;
        }
        Mode::Container(other) => {
            model::find(store, other).map_err(refused)?;
            if ports {
                return invalid(
                    "conflicting options: port publishing and the container type network mode",
                );
            }
        }
        Mode::None if ports => {
            return invalid(
                "conflicting options: port publishing and the container type network mode",
            );
        }
        Mode::None => {}
        Mode::Network(name) => {
            let network = find_network(store, name)?;
            plan = endpoints(store, host, &network, endpoints_config)?;
            berth_network::check_settings(&network, &host.endpoint)?;
        }
    }
    if !matches!(mode, Mode::Network(_)) {
        check_shared_namespace(store, host, &mode, endpoints_config)?;
    }
    links(store, host, &mode)?;
    Ok(plan)
}

/// Splits `NetworkingConfig` into the mode network's settings (into `host`)
/// and the other networks; every network named must exist (Docker refuses
/// an undeclared one). As in Docker, the container joins the mode's network
/// and every network named.
fn endpoints(
    store: &Store,
    host: &mut HostSpec,
    mode_network: &Network,
    endpoints_config: &BTreeMap<String, EndpointSettings>,
) -> Result<NetworkPlan> {
    let mut plan = NetworkPlan::default();
    for (name, settings) in endpoints_config {
        let network = find_network(store, name)?;
        if network.id == mode_network.id {
            host.endpoint = merged(settings, &host.endpoint);
            continue;
        }
        if !network.is_bridge() {
            return invalid(
                "container cannot be disconnected from host network or connected to host network",
            );
        }
        berth_network::check_settings(&network, settings)?;
        plan.extra.push((network, settings.clone()));
    }
    Ok(plan)
}

/// The hostname and domain name of the container whose network namespace
/// `host` joins (`--network container:NAME`): Docker gives the joining
/// container the other's names, so both answer `hostname` alike. With
/// `--network host`, the host's hostname, as dockerd gives such a container
/// (`initializeNetworking`: `os.Hostname()` when none was asked for).
pub(super) fn joined_names(store: &Store, host: &HostSpec) -> Result<Option<(String, String)>> {
    let other = match Mode::parse(&host.network_mode) {
        Mode::Container(other) => other,
        Mode::Host => {
            let path = "/proc/sys/kernel/hostname";
            let name = std::fs::read_to_string(path)
                .map_err(|e| ContainerError::io(std::path::Path::new(path), e))?;
            return Ok(Some((name.trim().to_string(), String::new())));
        }
        _ => return Ok(None),
    };
    let other = model::find(store, &other).map_err(refused)?;
    Ok(Some((other.spec.hostname, other.spec.domainname)))
}

/// The mode network's settings from `NetworkingConfig`, completed by what
/// the request gave outside it (flags of the CLI, Docker's container-wide
/// fields of older API versions): each field the endpoint config leaves
/// empty keeps the other's value.
fn merged(endpoint: &EndpointSettings, outside: &EndpointSettings) -> EndpointSettings {
    let pick = |a: &String, b: &String| if a.is_empty() { b.clone() } else { a.clone() };
    let list = |a: &Vec<String>, b: &Vec<String>| if a.is_empty() { b.clone() } else { a.clone() };
    EndpointSettings {
        aliases: list(&endpoint.aliases, &outside.aliases),
        ipv4_address: pick(&endpoint.ipv4_address, &outside.ipv4_address),
        ipv6_address: pick(&endpoint.ipv6_address, &outside.ipv6_address),
        link_local_ips: list(&endpoint.link_local_ips, &outside.link_local_ips),
        mac_address: pick(&endpoint.mac_address, &outside.mac_address),
        links: list(&endpoint.links, &outside.links),
        driver_opts: if endpoint.driver_opts.is_empty() {
            outside.driver_opts.clone()
        } else {
            endpoint.driver_opts.clone()
        },
    }
}

/// `host`, `none` and `container:` modes: no other network, no aliases,
/// addresses or MAC address.
fn check_shared_namespace(
    store: &Store,
    host: &mut HostSpec,
    mode: &Mode,
    endpoints_config: &BTreeMap<String, EndpointSettings>,
) -> Result<()> {
    for (name, settings) in endpoints_config {
        let own = match (mode, find_network(store, name)) {
            (Mode::Host, Ok(n)) => n.name == "host",
            (Mode::None, Ok(n)) => n.name == "none",
            (_, Err(e)) => return Err(e),
            _ => false,
        };
        if !own {
            return invalid(match mode {
                Mode::Host => {
                    "container cannot be disconnected from host network or connected to host network"
                }
                _ => "container sharing network namespace with another container or host cannot be connected to any other network",
            });
        }
        host.endpoint = merged(settings, &host.endpoint);
    }
    let e = &host.endpoint;
    if !e.aliases.is_empty() {
        return invalid(
            "network-scoped alias is supported only for containers in user defined networks",
        );
    }
    if !e.ipv4_address.is_empty() || !e.ipv6_address.is_empty() {
        return invalid("user specified IP address is supported on user defined networks only");
    }
    if !e.mac_address.is_empty() {
        return invalid("conflicting options: mac-address and the network mode");
    }
    if !e.link_local_ips.is_empty() {
        return invalid("conflicting options: link-local IP addresses and the network mode");
    }
    Ok(())
}

/// Legacy links (`--link NAME:ALIAS`, HostConfig.Links): on the default
/// bridge they become /etc/hosts entries and environment variables at start,
/// and the linked container must exist (and have a network of its own); on
/// a user network they are the endpoint's links, resolved by name when the
/// other container runs (as the docker CLI sends them there); other modes
/// cannot have them.
fn links(store: &Store, host: &mut HostSpec, mode: &Mode) -> Result<()> {
    for link in &host.endpoint.links {
        berth_network::parse_link(link)?;
    }
    if host.links.is_empty() {
        return Ok(());
    }
    match mode {
        Mode::Network(name) if berth_network::find(store.db(), name)?.name == DEFAULT_NETWORK => {
            for link in &host.links {
                let (name, _) = berth_network::parse_link(link)?;
                let child = linked_container(store, &name)?;
                if Mode::parse(&child.spec.host.network_mode) == Mode::Host {
                    return invalid(HOST_LINKS);
                }
            }
            Ok(())
        }
        Mode::Network(_) => {
            for link in &host.links {
                berth_network::parse_link(link)?;
            }
            // The docker CLI sends them twice: in HostConfig.Links and in
            // the endpoint's settings.
            for link in std::mem::take(&mut host.links) {
                if !host.endpoint.links.contains(&link) {
                    host.endpoint.links.push(link);
                }
            }
            Ok(())
        }
        Mode::Host => invalid(HOST_LINKS),
        Mode::Container(_) => invalid(
            "conflicting options: container type network can't be used with links. This would result in undefined behavior",
        ),
        Mode::None => invalid(
            "conflicting options: none type networking can't be used with links: the container has no network",
        ),
    }
}

/// The container a link names, following `container:` network modes to the
/// one that owns the namespace (Docker's wording when one is missing).
pub(crate) fn linked_container(store: &Store, name: &str) -> Result<model::Container> {
    let missing = |name: &str, e: ContainerError| {
        ContainerError::InvalidArgument(format!("could not get container for {name}: {e}"))
    };
    let mut child = model::find(store, name).map_err(|e| missing(name, e))?;
    for _ in 0..8 {
        let Mode::Container(next) = Mode::parse(&child.spec.host.network_mode) else {
            break;
        };
        child = model::find(store, &next).map_err(|e| missing(&next, e))?;
    }
    Ok(child)
}

const HOST_LINKS: &str = "conflicting options: host type networking can't be used with links. This would result in undefined behavior";

#[cfg(test)]
mod tests {
    use super::*;
    use berth_error::HasKind;

    fn check(store: &Store, mode: &str, f: &dyn Fn(&mut HostSpec)) -> Result<HostSpec> {
        let mut h = HostSpec {
            network_mode: mode.into(),
            ..Default::default()
        };
        f(&mut h);
        validate(store, &mut h, &BTreeMap::new()).map(|_| h)
    }

    #[test]
    fn network_modes_are_checked_at_create() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(check(&store, "none", &|_| {}).is_ok());
        let err = check(&store, "nosuchnet", &|_| {}).unwrap_err();
        assert_eq!(err.to_string(), "network nosuchnet not found");
        assert_eq!(err.kind(), berth_error::ErrorKind::InvalidArgument);
        let err = check(&store, "bridge", &|h| h.endpoint.aliases = vec!["a".into()]).unwrap_err();
        assert!(err.to_string().contains("user defined networks"), "{err}");
        let err = check(&store, "bridge", &|h| {
            h.endpoint.ipv4_address = "10.87.0.9".into()
        })
        .unwrap_err();
        assert!(err.to_string().contains("user defined networks"), "{err}");
        let none_with_ports = check(&store, "none", &|h| h.publish_all_ports = true).unwrap_err();
        assert!(none_with_ports.to_string().contains("port publishing"));
        let host = check(&store, "host", &|h| h.publish_all_ports = true).unwrap();
        assert!(
            !host.publish_all_ports,
            "ports are discarded with the host network"
        );
        assert_eq!(
            check(&store, "container:nosuch", &|_| {})
                .unwrap_err()
                .kind(),
            berth_error::ErrorKind::InvalidArgument
        );
        let err = check(&store, "host", &|h| {
            h.endpoint.mac_address = "02:42:ac:11:00:02".into()
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "conflicting options: mac-address and the network mode"
        );
        let err = check(&store, "bridge", &|h| h.endpoint.mac_address = "zz".into()).unwrap_err();
        assert_eq!(err.to_string(), "invalid MAC address: zz");
        let err = check(&store, "bridge", &|h| h.links = vec!["nosuch:db".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not get container for nosuch: No such container: nosuch"
        );
    }

    #[test]
    fn networking_config_names_existing_networks_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut h = HostSpec {
            network_mode: "bridge".into(),
            ..Default::default()
        };
        let config = BTreeMap::from([("bar".to_string(), EndpointSettings::default())]);
        let err = validate(&store, &mut h, &config).unwrap_err();
        assert_eq!(err.to_string(), "network bar not found");
        let config = BTreeMap::from([(
            "bridge".to_string(),
            EndpointSettings {
                link_local_ips: vec!["169.254.8.8".into()],
                ..Default::default()
            },
        )]);
        let plan = validate(&store, &mut h, &config).unwrap();
        assert_eq!(h.endpoint.link_local_ips, ["169.254.8.8"]);
        assert!(plan.extra.is_empty());
        let mut h = HostSpec {
            network_mode: "host".into(),
            ..Default::default()
        };
        let config = BTreeMap::from([("bridge".to_string(), EndpointSettings::default())]);
        assert!(validate(&store, &mut h, &config).is_err());
    }
}
