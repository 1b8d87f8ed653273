//! The default network's bridge as the daemon config sets it: dockerd's
//! `bridge` (the device) and `bip` (the bridge's address and subnet) in
//! `daemon.json`.
//!
//! dockerd reads them when it starts and recreates its default network
//! from them. berth has no daemon: every command (and every monitor, before
//! it wires a container) reads the daemon config and brings the `bridge`
//! row of its root in line ([`apply`]) — but only while no container of the
//! root has an endpoint on it, since their addresses lie in the old subnet.
//! Until they are stopped, the row stays as it is and a container that
//! would join the default network is refused ([`Applied::Pending`]).
//!
//! What the keys mean, as in dockerd:
//! * neither: device `berth0`, 10.87.0.0/16, gateway 10.87.0.1;
//! * `bip` (`GATEWAY/PREFIX`): `berth0` with that address and subnet;
//! * `bridge` alone: an existing device, whose IPv4 address gives the subnet
//!   and gateway (dockerd: "bridge device with non default name ... must be
//!   created manually"); once applied, the row keeps them, so netavark may
//!   delete the empty bridge and make it again;
//! * both: dockerd refuses the pair ("mutually exclusive options") because it
//!   never creates a bridge but its own; berth's netavark creates any bridge
//!   it is given, so berth takes the pair to mean that device with that
//!   address (how test roots get a bridge each).

use std::net::Ipv4Addr;
use std::path::Path;

use berth_store::Store;
use ipnet::{IpNet, Ipv4Net};
use serde::Deserialize;

use crate::ipam::{host_routes_by_device, overlaps};
use crate::networks::{self, Network, OPT_BRIDGE_NAME};
use crate::{bridges, NetworkError, Result, DEFAULT_NETWORK};

/// The default bridge's device when the daemon config names none.
const DEFAULT_BRIDGE: &str = "berth0";
/// Its address and subnet when the daemon config gives no `bip`: clear of
/// docker0's 172.17.0.0/16, podman's 10.88.0.0/16 and its user pool.
const DEFAULT_BIP: &str = "10.87.0.1/16";

/// What the daemon config asks of the default bridge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeConfig {
    /// `bridge`: the device ("" = berth0).
    pub device: String,
    /// `bip`: the bridge's address with the subnet's prefix length.
    pub bip: Option<Ipv4Net>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The row already was what the config asks.
    Unchanged,
    /// The row was changed to what the config asks.
    Changed,
    /// Containers have endpoints on the default network: the row keeps its
    /// device and subnet until they stop. The message says so.
    Pending(String),
}

impl BridgeConfig {
    /// The `bridge` and `bip` keys of a daemon config (`$BERTH_DAEMON_CONFIG`
    /// or /etc/berth/daemon.json); a missing file or key means the default.
    pub fn from_daemon_json(path: &Path) -> Result<BridgeConfig> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BridgeConfig::default())
            }
            Err(e) => return Err(NetworkError::io(path, e)),
        };
        #[derive(Deserialize)]
        struct Daemon {
            #[serde(default)]
            bridge: String,
            #[serde(default)]
            bip: String,
        }
        let invalid = |m: String| NetworkError::InvalidArgument(format!("{}: {m}", path.display()));
        let daemon: Daemon = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        BridgeConfig::parse(&daemon.bridge, &daemon.bip).map_err(invalid)
    }

    /// Checks the keys as dockerd does when it starts.
    pub fn parse(bridge: &str, bip: &str) -> Result<BridgeConfig, String> {
        if bridge == "none" {
            return Err(
                "bridge \"none\" (no default bridge network) is not supported by berth".into(),
            );
        }
        if !bridge.is_empty() && !networks::is_interface_name(bridge) {
            return Err(format!(
                "bridge {bridge:?}: not a valid interface name (at most 15 characters, no '/', ':' or spaces)"
            ));
        }
        let bip = match bip {
            "" => None,
            text => Some(parse_bip(text)?),
        };
        Ok(BridgeConfig {
            device: bridge.to_string(),
            bip,
        })
    }

    fn device(&self) -> &str {
        if self.device.is_empty() {
            DEFAULT_BRIDGE
        } else {
            &self.device
        }
    }
}

/// `GATEWAY/PREFIX`: the bridge's own address, a host address of its subnet.
fn parse_bip(text: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = text.parse().map_err(|_| {
        format!("bip {text}: invalid CIDR address (GATEWAY/PREFIX expected, e.g. 10.200.0.1/24)")
    })?;
    if net.prefix_len() > 30 {
        return Err(format!(
            "bip {text}: the subnet is too small for containers"
        ));
    }
    if net.addr() == net.network() || net.addr() == net.broadcast() {
        return Err(format!(
            "bip {text}: {} is not a host address of {}: give the bridge's own address, e.g. {}/{}",
            net.addr(),
            net.trunc(),
            Ipv4Addr::from(u32::from(net.network()) + 1),
            net.prefix_len()
        ));
    }
    Ok(net)
}

/// Brings the root's default network in line with `config` unless
/// containers have endpoints on it. A device or subnet that cannot be used
/// (a subnet another network of the root or a host route on another device
/// covers, a device of its own with another address) is refused.
pub fn apply(store: &mut Store, config: &BridgeConfig) -> Result<Applied> {
    let current = networks::find(store.db(), DEFAULT_NETWORK)?;
    let device = config.device();
    let wanted = match config.bip {
        Some(bip) => bip,
        None if device == DEFAULT_BRIDGE => DEFAULT_BIP.parse().expect("default bip"),
        None if current.interface == device => match (current.gateway, current.subnet) {
            (Some(gateway), Some(subnet)) => {
                Ipv4Net::new(gateway, subnet.prefix_len()).expect("stored prefix")
            }
            _ => device_address(device)?,
        },
        None => device_address(device)?,
    };
    if current.interface == device
        && current.gateway == Some(wanted.addr())
        && current.subnet == Some(wanted.trunc())
    {
        return Ok(Applied::Unchanged);
    }
    store.write(|tx| {
        let current = networks::find(tx, DEFAULT_NETWORK)?;
        let running: i64 = tx.query_row(
            "SELECT count(*) FROM endpoints WHERE network_id = ?1",
            [&current.id],
            |r| r.get(0),
        )?;
        if running > 0 {
            return Ok(Applied::Pending(format!(
                "the default bridge network is still {} ({}) for {running} running container(s); the daemon config asks for {device} ({wanted}): stop them to apply it",
                current.interface,
                current.subnet.map(|s| s.to_string()).unwrap_or_default()
            )));
        }
        let subnet = IpNet::V4(wanted.trunc());
        for other in networks::list(tx)? {
            if other.id == current.id {
                continue;
            }
            if let Some(taken) = other.subnet.filter(|s| overlaps(&IpNet::V4(*s), &subnet)) {
                return Err(NetworkError::Conflict(format!(
                    "bip {wanted} overlaps network {} ({taken})",
                    other.name
                )));
            }
        }
        if config.bip.is_some() {
            release_stale(&current, device, wanted)?;
            check_host(device, wanted)?;
        }
        let mut settings = current.config.clone();
        settings
            .options
            .insert(OPT_BRIDGE_NAME.to_string(), device.to_string());
        tx.execute(
            "UPDATE networks SET interface = ?1, subnet = ?2, gateway = ?3, config = ?4 WHERE id = ?5",
            [
                device,
                &subnet.to_string(),
                &wanted.addr().to_string(),
                &serde_json::to_string(&settings).unwrap_or_else(|_| "{}".into()),
                &current.id,
            ],
        )?;
        Ok(Applied::Changed)
    })
}

/// A bridge berth keeps (see `bridges`) for no container, with another
/// address than the new `bip`: the one an earlier config gave the device.
/// It goes, as netavark removed it with its last container before bridges
/// were kept; one with containers on it is left to `check_host`.
fn release_stale(current: &Network, device: &str, wanted: Ipv4Net) -> Result<()> {
    let addresses = ipv4_addresses(device);
    let Some(old) = addresses.first() else {
        return Ok(());
    };
    if addresses.contains(&wanted) || !bridges::only_kept(device) {
        return Ok(());
    }
    let mut stale = current.clone();
    stale.interface = device.to_string();
    stale.subnet = Some(old.trunc());
    stale.gateway = Some(old.addr());
    stale.config.ipv6 = None;
    bridges::release(&stale)
}

/// Refuses a `bip` whose subnet a host route on another device covers (the
/// kernel would keep both routes and send the traffic to one of them), or
/// for a device that exists with another address (another engine uses it).
fn check_host(device: &str, wanted: Ipv4Net) -> Result<()> {
    let subnet = IpNet::V4(wanted.trunc());
    for (dev, route) in host_routes_by_device() {
        if dev != device && overlaps(&route, &subnet) {
            return Err(NetworkError::Conflict(format!(
                "bip {wanted} overlaps the host's route {route} on {dev}"
            )));
        }
    }
    let addresses = ipv4_addresses(device);
    if !addresses.is_empty() && !addresses.contains(&wanted) {
        let shown: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
        return Err(NetworkError::Conflict(format!(
            "bridge {device} exists with address {} (in use by another engine?), not bip {wanted}",
            shown.join(", ")
        )));
    }
    Ok(())
}

/// The IPv4 address of an existing device named by `bridge` without `bip`.
fn device_address(device: &str) -> Result<Ipv4Net> {
    if !Path::new("/sys/class/net").join(device).exists() {
        return Err(NetworkError::InvalidArgument(format!(
            "bridge device {device} not found: a bridge other than {DEFAULT_BRIDGE} without bip must be created first (ip link add {device} type bridge) with an address, or set bip too"
        )));
    }
    ipv4_addresses(device).into_iter().next().ok_or_else(|| {
        NetworkError::InvalidArgument(format!(
            "bridge device {device} has no IPv4 address: give it one (ip addr add GATEWAY/PREFIX dev {device}) or set bip"
        ))
    })
}

/// The IPv4 addresses of a device, with their prefix lengths.
fn ipv4_addresses(device: &str) -> Vec<Ipv4Net> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, which is walked read-only and freed once.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cursor = list;
        while let Some(entry) = cursor.as_ref() {
            cursor = entry.ifa_next;
            if entry.ifa_addr.is_null() || entry.ifa_netmask.is_null() {
                continue;
            }
            if i32::from((*entry.ifa_addr).sa_family) != libc::AF_INET {
                continue;
            }
            let name = std::ffi::CStr::from_ptr(entry.ifa_name).to_string_lossy();
            if name != device {
                continue;
            }
            let addr = &*(entry.ifa_addr as *const libc::sockaddr_in);
            let mask = &*(entry.ifa_netmask as *const libc::sockaddr_in);
            let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
            let prefix = u32::from_be(mask.sin_addr.s_addr).count_ones() as u8;
            if let Ok(net) = Ipv4Net::new(ip, prefix) {
                out.push(net);
            }
        }
        libc::freeifaddrs(list);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_as_dockerd_checks_them() {
        let ok = BridgeConfig::parse("bt7", "10.200.7.1/16").unwrap();
        assert_eq!(ok.device(), "bt7");
        assert_eq!(ok.bip.unwrap().to_string(), "10.200.7.1/16");
        assert_eq!(BridgeConfig::parse("", "").unwrap().device(), "berth0");
        for (bridge, bip) in [
            ("none", ""),
            ("a-very-long-bridge-name", ""),
            ("a/b", ""),
            ("", "10.1.2.3"),
            ("", "10.1.2.0/24"),
            ("", "10.1.2.255/24"),
            ("", "10.1.2.1/31"),
            ("", "fd00::1/64"),
        ] {
            assert!(BridgeConfig::parse(bridge, bip).is_err(), "{bridge} {bip}");
        }
    }

    #[test]
    fn loopback_has_its_address() {
        assert!(ipv4_addresses("lo").contains(&"127.0.0.1/8".parse().unwrap()));
    }
}
