//! `network create`: every setting Docker's bridge driver and default IPAM
//! know is applied or refused here, before the row is inserted; the
//! network's bridge is made with the row (see `bridges`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_store::rusqlite::params;
use berth_store::{new_id, now_rfc3339, Store};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::ipam::{self, candidates_v4, candidates_v6};
use crate::networks::{
    self, Ipv6Pool, Network, NetworkConfig, OPT_BRIDGE_NAME, OPT_ENABLE_IPV6,
    OPT_HOST_BINDING_IPV4, OPT_IFACE_PREFIX, OPT_MTU,
};
use crate::{NetworkError, Result};

/// What `network create` asks for (Docker's `NetworkCreateRequest`).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    /// "" means bridge.
    pub driver: String,
    /// IPAM pools (`--subnet`, `--ip-range`, `--gateway`, `--aux-address`):
    /// at most one IPv4 and one IPv6 subnet.
    pub pools: Vec<PoolRequest>,
    /// `--ipam-driver` ("" or "default").
    pub ipam_driver: String,
    /// `--ipam-opt`; `None` when the request had none.
    pub ipam_options: Option<BTreeMap<String, String>>,
    /// `-o/--opt`: driver options.
    pub options: BTreeMap<String, String>,
    /// `--ipv6`.
    pub enable_ipv6: bool,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    /// Swarm-only settings, refused: `--ingress`, `--config-only`,
    /// `--config-from`, `--scope` other than local (see
    /// `refuse_swarm_settings`).
    pub ingress: bool,
    pub config_only: bool,
    pub config_from: String,
    pub scope: String,
}

/// One IPAM pool as asked; empty strings are unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolRequest {
    pub subnet: String,
    pub ip_range: String,
    pub gateway: String,
    pub aux_addresses: BTreeMap<String, String>,
}

/// A pool, parsed and checked against its subnet.
struct Pool {
    subnet: IpNet,
    ip_range: Option<IpNet>,
    gateway: Option<IpAddr>,
}

fn invalid(message: String) -> NetworkError {
    NetworkError::InvalidArgument(message)
}

/// `network create`: validates the request, picks the subnets not given,
/// and inserts the row.
pub fn create(store: &mut Store, opts: CreateOptions) -> Result<Network> {
    if opts.name.is_empty() {
        return Err(invalid("invalid name: name is empty".into()));
    }
    match opts.driver.as_str() {
        // overlay is known (Docker's multi-host driver) only to be refused
        // below as Docker refuses it outside a swarm.
        "" | "bridge" | "overlay" => {}
        "host" | "null" => {
            return Err(NetworkError::Conflict(format!(
                "only one instance of \"{}\" network is allowed",
                opts.driver
            )))
        }
        other => {
            return Err(NetworkError::NotFound(format!(
                "plugin \"{other}\" not found (berth supports the bridge driver)"
            )))
        }
    }
    refuse_swarm_settings(&opts)?;
    if crate::pasta::applies() {
        crate::pasta::check_network(&opts.name)?;
    }
    if !matches!(opts.ipam_driver.as_str(), "" | "default") {
        return Err(NetworkError::NotFound(format!(
            "plugin \"{}\" not found (berth supports the default IPAM driver)",
            opts.ipam_driver
        )));
    }
    for key in opts.ipam_options.iter().flatten().map(|(k, _)| k) {
        if key.starts_with("com.docker.") {
            return Err(invalid(format!(
                "IPAM option {key} is not supported by berth's default IPAM"
            )));
        }
    }
    let enable_ipv6 = check_options(&opts.options)? || opts.enable_ipv6;
    let (v4, v6, aux) = pools(&opts.pools)?;
    let enable_ipv6 = enable_ipv6 || v6.is_some();
    let id = new_id();
    let interface = opts
        .options
        .get(OPT_BRIDGE_NAME)
        .cloned()
        .unwrap_or_else(|| format!("berth-{}", &id[..9]));
    let labels = serde_json::to_string(&opts.labels).unwrap_or_else(|_| "{}".into());
    // Subnets are chosen host-wide: another berth root may be creating a
    // network at this instant. Under this lock, the routes of every bridge
    // that exists tell which subnets are taken, and this network's bridge
    // (its route) exists before the lock goes.
    let _lock = host_lock()?;
    let routes = ipam::host_routes();
    let created = store.write(|tx| {
        let existing = networks::list(tx)?;
        if existing.iter().any(|n| n.name == opts.name) {
            return Err(NetworkError::NameExists(opts.name.clone()));
        }
        if let Some(other) = existing.iter().find(|n| n.interface == interface) {
            return Err(NetworkError::Conflict(format!(
                "cannot create network {id} ({interface}): conflicts with network {} ({}): networks have same bridge name",
                other.id, other.interface
            )));
        }
        let taken: Vec<IpNet> = existing
            .iter()
            .flat_map(|n| {
                n.subnet
                    .map(IpNet::V4)
                    .into_iter()
                    .chain(n.ipv6().map(|p| IpNet::V6(p.subnet)))
            })
            .collect();
        let overlap = |s: &IpNet| taken.iter().any(|t| ipam::overlaps(t, s));
        let mut config = NetworkConfig {
            options: opts.options.clone(),
            ipam_options: opts.ipam_options.clone(),
            aux_addresses: aux.clone(),
            attachable: opts.attachable,
            ..Default::default()
        };
        let (subnet, gateway) = match &v4 {
            Some(p) => {
                if overlap(&p.subnet) {
                    return Err(NetworkError::Conflict(
                        "Pool overlaps with other one on this address space".into(),
                    ));
                }
                let (IpNet::V4(subnet), range) = (p.subnet, p.ip_range.map(v4_of)) else {
                    unreachable!("pools() sorts by family")
                };
                config.ip_range = range;
                config.gateway_given = p.gateway.is_some();
                let gateway = match p.gateway {
                    Some(IpAddr::V4(g)) => g,
                    _ => candidates_v4(subnet, range)
                        .find(|ip| !aux.values().any(|a| *a == IpAddr::V4(*ip)))
                        .ok_or_else(|| invalid(format!("subnet {subnet} has no addresses")))?,
                };
                (subnet, gateway)
            }
            None => {
                let subnet = ipam::next_free_subnet(&taken, &routes)?;
                config.gateway_given = true;
                (subnet, candidates_v4(subnet, None).next().unwrap_or(subnet.addr()))
            }
        };
        if enable_ipv6 {
            config.ipv6 = Some(match &v6 {
                Some(p) => {
                    if overlap(&p.subnet) {
                        return Err(NetworkError::Conflict(
                            "Pool overlaps with other one on this address space".into(),
                        ));
                    }
                    let (IpNet::V6(subnet), range) = (p.subnet, p.ip_range.map(v6_of)) else {
                        unreachable!("pools() sorts by family")
                    };
                    let gateway = match p.gateway {
                        Some(IpAddr::V6(g)) => g,
                        _ => candidates_v6(subnet, range)
                            .find(|ip| !aux.values().any(|a| *a == IpAddr::V6(*ip)))
                            .ok_or_else(|| invalid(format!("subnet {subnet} has no addresses")))?,
                    };
                    Ipv6Pool {
                        subnet,
                        gateway,
                        ip_range: range,
                        gateway_given: p.gateway.is_some(),
                    }
                }
                None => {
                    let subnet = ipam::random_ula(&taken)?;
                    Ipv6Pool {
                        subnet,
                        gateway: candidates_v6(subnet, None).next().unwrap_or(subnet.addr()),
                        ip_range: None,
                        gateway_given: true,
                    }
                }
            });
        }
        let config_json = serde_json::to_string(&config).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO networks (id, name, driver, interface, subnet, gateway, internal, dns, labels, created_at, config) \
             VALUES (?1, ?2, 'bridge', ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9)",
            params![
                id,
                opts.name,
                interface,
                subnet.to_string(),
                gateway.to_string(),
                opts.internal,
                labels,
                now_rfc3339(),
                config_json,
            ],
        )?;
        let n = networks::find(tx, &id)?;
        crate::events::network(tx, "create", n.about(), None)?;
        berth_store::crash::point("network-create", "before-commit");
        Ok(n)
    })?;
    // After the commit (a crash before it leaves no bridge behind), still
    // under the lock. A bridge that cannot be made takes the network back.
    if let Err(e) = crate::bridges::ensure(&created) {
        let _ = crate::remove::remove(store, &created.id);
        return Err(e);
    }
    Ok(created)
}

/// Serialises `network create` across every berth root of the host.
fn host_lock() -> Result<berth_store::FileLock> {
    let dir = crate::host_dir();
    std::fs::create_dir_all(&dir).map_err(|e| NetworkError::io(&dir, e))?;
    Ok(berth_store::FileLock::acquire(&dir.join("networks.lock"))?)
}

fn v4_of(n: IpNet) -> Ipv4Net {
    match n {
        IpNet::V4(n) => n,
        IpNet::V6(_) => unreachable!("checked by pools()"),
    }
}

fn v6_of(n: IpNet) -> Ipv6Net {
    match n {
        IpNet::V6(n) => n,
        IpNet::V4(_) => unreachable!("checked by pools()"),
    }
}

/// Docker's answer to a request that needs a swarm manager, from a dockerd
/// outside a swarm (berth is never in one).
pub const NOT_A_SWARM_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

/// Swarm's network kinds do not exist on a single engine: they are refused
/// as dockerd 20.10 outside a swarm refuses them, with its messages and in
/// its order (libnetwork's `NewNetwork`, then the manager redirect):
/// overlay asked to be local, ingress on a local driver, the `swarm` scope,
/// then anything global (overlay, or a scope other than local). `--scope
/// local` and `--attachable` are kept and shown back.
fn refuse_swarm_settings(opts: &CreateOptions) -> Result<()> {
    let overlay = opts.driver == "overlay";
    if overlay && opts.scope == "local" {
        return Err(NetworkError::Forbidden(
            "cannot downgrade network scope for overlay networks".into(),
        ));
    }
    if opts.ingress && !overlay {
        return Err(NetworkError::Forbidden(
            "Ingress network can only be global scope network".into(),
        ));
    }
    if opts.scope == "swarm" {
        return Err(NetworkError::Forbidden(
            "cannot create a swarm scoped network when swarm is not active".into(),
        ));
    }
    if overlay || !matches!(opts.scope.as_str(), "" | "local") {
        return Err(NetworkError::NotSwarmManager(NOT_A_SWARM_MANAGER.into()));
    }
    if opts.config_only || !opts.config_from.is_empty() {
        return Err(invalid(
            "configuration-only networks (--config-only, --config-from) are a swarm feature berth does not have".into(),
        ));
    }
    Ok(())
}

/// Checks each driver option Docker's bridge driver knows: the ones berth
/// applies are validated, those it cannot apply are refused; options outside
/// Docker's `com.docker.network.` namespace mean nothing to any driver and
/// are kept and shown, as Docker does. Returns whether the options enable
/// IPv6.
fn check_options(options: &BTreeMap<String, String>) -> Result<bool> {
    let mut ipv6 = false;
    let parse_error = |key: &str, value: &str, why: &str| {
        invalid(format!("failed to parse {key} value: {value} ({why})"))
    };
    let boolean = |key: &str, value: &str| -> Result<bool> {
        match value.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => Ok(true),
            "0" | "f" | "false" => Ok(false),
            _ => Err(parse_error(key, value, "invalid syntax")),
        }
    };
    for (key, value) in options {
        match key.as_str() {
            OPT_BRIDGE_NAME => {
                if !crate::networks::is_interface_name(value) {
                    return Err(invalid(format!(
                        "invalid bridge name {value:?}: an interface name has 1 to 15 characters, without '/', ':' or spaces"
                    )));
                }
            }
            OPT_MTU => match value.parse::<u32>() {
                Ok(mtu) if (68..=65535).contains(&mtu) => {}
                Ok(mtu) => return Err(invalid(format!("invalid MTU number: {mtu}"))),
                Err(_) => return Err(parse_error(key, value, "invalid syntax")),
            },
            OPT_HOST_BINDING_IPV4 => {
                if value.parse::<std::net::Ipv4Addr>().is_err() {
                    return Err(parse_error(key, value, "not an IPv4 address"));
                }
            }
            OPT_IFACE_PREFIX => {
                if value.is_empty()
                    || value.len() > 10
                    || !value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(invalid(format!(
                        "invalid interface prefix {value:?}: 1 to 10 letters, digits, '_' or '-'"
                    )));
                }
            }
            OPT_ENABLE_IPV6 => ipv6 = boolean(key, value)?,
            "com.docker.network.bridge.enable_icc" => {
                if !boolean(key, value)? {
                    return Err(invalid(format!(
                        "{key}=false is not supported: netavark 1.4 cannot isolate containers on one bridge"
                    )));
                }
            }
            "com.docker.network.bridge.enable_ip_masquerade" => {
                if !boolean(key, value)? {
                    return Err(invalid(format!(
                        "{key}=false is not supported: netavark 1.4 always masquerades (use --internal for a network without outside access)"
                    )));
                }
            }
            "com.docker.network.bridge.default_bridge" => {
                if boolean(key, value)? {
                    return Err(invalid(format!(
                        "{key}=true is reserved for the default bridge network"
                    )));
                }
            }
            other if other.starts_with("com.docker.network.") => {
                return Err(invalid(format!(
                    "network option {other} is not supported by berth's bridge driver"
                )))
            }
            _ => {}
        }
    }
    Ok(ipv6)
}

/// Parses the pools: at most one per family, each range, gateway and
/// auxiliary address inside its subnet. Returns the IPv4 and IPv6 pools and
/// every auxiliary address.
fn pools(
    requests: &[PoolRequest],
) -> Result<(Option<Pool>, Option<Pool>, BTreeMap<String, IpAddr>)> {
    let (mut v4, mut v6) = (None, None);
    let mut aux = BTreeMap::new();
    for r in requests {
        if r.subnet.is_empty() {
            return Err(invalid(
                "every ip-range or gateway must have a corresponding subnet".into(),
            ));
        }
        let subnet = ipam::parse_subnet(&r.subnet)?;
        let family = |n: &IpNet| matches!(n, IpNet::V4(_));
        let ip_range = if r.ip_range.is_empty() {
            None
        } else {
            let range: IpNet = r
                .ip_range
                .parse()
                .map_err(|_| invalid(format!("invalid ip-range {}: not a CIDR", r.ip_range)))?;
            if family(&range) != family(&subnet) {
                return Err(invalid(format!(
                    "invalid ip-range {range}: parent subnet is an IPv{} block",
                    if family(&subnet) { 4 } else { 6 }
                )));
            }
            if range.prefix_len() < subnet.prefix_len() {
                return Err(invalid(format!(
                    "invalid ip-range {range}: CIDR block is bigger than its parent subnet {subnet}"
                )));
            }
            if !subnet.contains(&range.network()) {
                return Err(invalid(format!(
                    "invalid ip-range {range}: parent subnet {subnet} doesn't contain ip-range"
                )));
            }
            Some(range.trunc())
        };
        let in_subnet = |what: &str, text: &str| -> Result<IpAddr> {
            let ip: IpAddr = text
                .parse()
                .map_err(|_| invalid(format!("invalid {what} address: {text}")))?;
            if !subnet.contains(&ip) || ip == subnet.network() {
                return Err(invalid(format!("no matching subnet for {what} {ip}")));
            }
            Ok(ip)
        };
        let gateway = if r.gateway.is_empty() {
            None
        } else {
            Some(in_subnet("gateway", &r.gateway)?)
        };
        for (name, address) in &r.aux_addresses {
            aux.insert(name.clone(), in_subnet("aux-address", address)?);
        }
        let slot = if family(&subnet) { &mut v4 } else { &mut v6 };
        if slot.is_some() {
            return Err(invalid(
                "berth supports one IPv4 and one IPv6 subnet per network".into(),
            ));
        }
        *slot = Some(Pool {
            subnet,
            ip_range,
            gateway,
        });
    }
    Ok((v4, v6, aux))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn dockers_bridge_options_are_applied_or_refused() {
        assert!(check_options(&opts(&[
            (OPT_BRIDGE_NAME, "br-x"),
            (OPT_MTU, "1400"),
            (OPT_HOST_BINDING_IPV4, "127.0.0.1"),
            (OPT_IFACE_PREFIX, "foo"),
            ("com.docker.network.bridge.enable_icc", "true"),
            ("my.own.key", "anything"),
        ]))
        .is_ok_and(|ipv6| !ipv6));
        assert!(check_options(&opts(&[(OPT_ENABLE_IPV6, "true")])).unwrap());
        for refused in [
            (OPT_MTU, "abc"),
            (OPT_MTU, "10"),
            (OPT_BRIDGE_NAME, "a-name-longer-than-15"),
            (OPT_HOST_BINDING_IPV4, "::1"),
            ("com.docker.network.bridge.enable_icc", "false"),
            ("com.docker.network.bridge.enable_ip_masquerade", "false"),
            ("com.docker.network.bridge.default_bridge", "true"),
            ("com.docker.network.bridge.inhibit_ipv4", "true"),
        ] {
            assert!(check_options(&opts(&[refused])).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn pools_are_checked_as_docker_checks_them() {
        let pool = |subnet: &str, range: &str, gateway: &str| PoolRequest {
            subnet: subnet.into(),
            ip_range: range.into(),
            gateway: gateway.into(),
            aux_addresses: BTreeMap::new(),
        };
        let ok = pools(&[
            pool("172.28.0.0/16", "172.28.5.0/24", "172.28.5.254"),
            pool("2001:389::/64", "2001:389::/96", "2001:389::ffff"),
        ])
        .unwrap();
        assert!(ok.0.is_some() && ok.1.is_some());
        let err = |p: PoolRequest| pools(&[p]).err().unwrap().to_string();
        assert_eq!(
            err(pool("", "", "10.1.0.1")),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(pool("10.1.0.0/16", "", "10.2.0.1")),
            "no matching subnet for gateway 10.2.0.1"
        );
        assert!(err(pool("10.1.0.0/16", "10.2.0.0/24", "")).contains("doesn't contain ip-range"));
        assert!(err(pool("10.1.0.0/24", "10.1.0.0/16", "")).contains("bigger than its parent"));
        assert!(pools(&[pool("10.1.0.0/16", "", ""), pool("10.2.0.0/16", "", "")]).is_err());
    }
}
