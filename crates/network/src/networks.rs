//! The `networks` table: the three built-in networks (inserted by the store's
//! migration) and user networks (`network create`, in `create.rs`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use berth_store::rusqlite::{self, Connection, OptionalExtension, Row};
use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::{NetworkError, Result};

/// Built-in networks, which can be neither created nor removed.
const BUILTIN: [&str; 3] = ["bridge", "host", "none"];

/// Docker's bridge driver options, as `-o` names them.
pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";
pub const OPT_HOST_BINDING_IPV4: &str = "com.docker.network.bridge.host_binding_ipv4";
pub const OPT_IFACE_PREFIX: &str = "com.docker.network.container_iface_prefix";
pub const OPT_ENABLE_IPV6: &str = "com.docker.network.enable_ipv6";

/// One network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub id: String,
    pub name: String,
    /// "bridge", "host" or "null" (Docker's driver names).
    pub driver: String,
    /// The bridge device ("" for host/null).
    pub interface: String,
    pub subnet: Option<Ipv4Net>,
    pub gateway: Option<Ipv4Addr>,
    pub internal: bool,
    /// Containers on it resolve each other's names and aliases (user networks).
    pub dns: bool,
    pub labels: BTreeMap<String, String>,
    pub created_at: String,
    /// What it was created with, beyond the columns above.
    pub config: NetworkConfig,
}

/// A network's creation settings as Docker reports them back in `network
/// inspect` (stored as JSON in `networks.config`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkConfig {
    /// Driver options (`-o`), exactly as given.
    pub options: BTreeMap<String, String>,
    /// IPAM driver options (`--ipam-opt`); `None` when none were sent.
    pub ipam_options: Option<BTreeMap<String, String>>,
    /// `--ip-range` of the IPv4 subnet: where containers get addresses.
    #[serde(rename = "IPRange")]
    pub ip_range: Option<Ipv4Net>,
    /// `--aux-address NAME=IP`: reserved, never given to a container.
    pub aux_addresses: BTreeMap<String, IpAddr>,
    /// Docker shows the IPv4 gateway when it was given or the subnet chosen.
    pub gateway_given: bool,
    /// The IPv6 pool: IPv6 is enabled (`--ipv6`, or an IPv6 subnet given).
    #[serde(rename = "IPv6")]
    pub ipv6: Option<Ipv6Pool>,
    /// `--attachable`: every local network is; Docker reports the flag.
    pub attachable: bool,
}

/// An IPv6 subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv6Pool {
    pub subnet: Ipv6Net,
    pub gateway: Ipv6Addr,
    #[serde(rename = "IPRange", default)]
    pub ip_range: Option<Ipv6Net>,
    /// Shown in inspect: given, or the subnet was chosen by berth.
    #[serde(default)]
    pub gateway_given: bool,
}

impl Network {
    /// What its events name.
    pub(crate) fn about(&self) -> crate::events::About<'_> {
        crate::events::About {
            id: &self.id,
            name: &self.name,
            driver: &self.driver,
        }
    }
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    pub fn is_builtin(&self) -> bool {
        BUILTIN.contains(&self.name.as_str())
    }

    /// Whether containers get an interface on it (bridge driver).
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    /// The IPv6 pool of a network with IPv6 enabled.
    pub fn ipv6(&self) -> Option<&Ipv6Pool> {
        self.config.ipv6.as_ref()
    }

    /// `com.docker.network.driver.mtu` (validated at create).
    pub fn mtu(&self) -> Option<u32> {
        self.config.options.get(OPT_MTU)?.parse().ok()
    }

    /// Where `-p PORT` without an address publishes on this network
    /// (`com.docker.network.bridge.host_binding_ipv4`; "" = every address).
    pub fn host_binding_ip(&self) -> &str {
        match self
            .config
            .options
            .get(OPT_HOST_BINDING_IPV4)
            .map(String::as_str)
        {
            None | Some("0.0.0.0") => "",
            Some(ip) => ip,
        }
    }

    /// The name containers' interfaces on it start with (`eth`, or
    /// `com.docker.network.container_iface_prefix`).
    pub fn interface_prefix(&self) -> &str {
        self.config
            .options
            .get(OPT_IFACE_PREFIX)
            .map_or("eth", String::as_str)
    }
}

/// Whether `name` can name a network interface (a bridge device): 1 to 15
/// bytes, no '/', ':' or white space, not "." or "..".
pub(crate) fn is_interface_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

pub(crate) const COLUMNS: &str =
    "id, name, driver, interface, subnet, gateway, internal, dns, labels, created_at, config";

fn from_row(row: &Row) -> rusqlite::Result<Network> {
    from_row_at(row, 0)
}

/// A network from the [`COLUMNS`] starting at column `at` of a (joined) row.
pub(crate) fn from_row_at(row: &Row, at: usize) -> rusqlite::Result<Network> {
    let subnet: String = row.get(at + 4)?;
    let gateway: String = row.get(at + 5)?;
    let labels: String = row.get(at + 8)?;
    let config: String = row.get(at + 10)?;
    Ok(Network {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        driver: row.get(at + 2)?,
        interface: row.get(at + 3)?,
        subnet: subnet.parse().ok(),
        gateway: gateway.parse().ok(),
        internal: row.get(at + 6)?,
        dns: row.get(at + 7)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created_at: row.get(at + 9)?,
        config: serde_json::from_str(&config).unwrap_or_default(),
    })
}

/// Every network, by name.
pub fn list(db: &Connection) -> Result<Vec<Network>> {
    let mut stmt = db.prepare_cached(&format!("SELECT {COLUMNS} FROM networks ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Looks a network up as Docker does: full ID, exact name, then a unique ID prefix.
pub fn find(db: &Connection, reference: &str) -> Result<Network> {
    let exact = db
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM networks WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1"
            ),
            [reference],
            from_row,
        )
        .optional()?;
    if let Some(n) = exact {
        return Ok(n);
    }
    if !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut stmt = db.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM networks WHERE id >= ?1 AND id < ?1 || 'g' LIMIT 2"
        ))?;
        let mut found: Vec<Network> = stmt
            .query_map([reference.to_ascii_lowercase()], from_row)?
            .collect::<Result<_, _>>()?;
        match found.len() {
            1 => return Ok(found.remove(0)),
            0 => {}
            _ => {
                return Err(NetworkError::InvalidArgument(format!(
                    "network {reference} is ambiguous ({} matches found based on ID prefix)",
                    found.len()
                )))
            }
        }
    }
    Err(NetworkError::NotFound(reference.to_string()))
}
