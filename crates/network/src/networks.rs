//! The `networks` table: the three built-in networks (inserted by the store's
//! migration) and user networks, with their subnet allocation.

use crate::events;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use berth_store::rusqlite::{self, params, Connection, OptionalExtension, Row};
use berth_store::{new_id, now_rfc3339, Store};
use ipnet::Ipv4Net;

use crate::{NetworkError, Result};

/// Built-in networks, which can be neither created nor removed.
const BUILTIN: [&str; 3] = ["bridge", "host", "none"];

/// User networks get the next free /16 of 10.90.0.0/16 ..= 10.127.0.0/16.
const POOL_SECOND_OCTETS: std::ops::RangeInclusive<u8> = 90..=127;

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
}

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    /// "" means bridge.
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
}

pub(crate) const COLUMNS: &str =
    "id, name, driver, interface, subnet, gateway, internal, dns, labels, created_at";

fn from_row(row: &Row) -> rusqlite::Result<Network> {
    from_row_at(row, 0)
}

/// A network from the [`COLUMNS`] starting at column `at` of a (joined) row.
pub(crate) fn from_row_at(row: &Row, at: usize) -> rusqlite::Result<Network> {
    let subnet: String = row.get(at + 4)?;
    let gateway: String = row.get(at + 5)?;
    let labels: String = row.get(at + 8)?;
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

/// `network create`: validates the request, picks a subnet if none was given,
/// and inserts the row. Nothing exists on the host until a container joins.
pub fn create(store: &mut Store, opts: CreateOptions) -> Result<Network> {
    if !valid_name(&opts.name) {
        return Err(NetworkError::InvalidArgument(format!(
            "invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
            opts.name
        )));
    }
    match opts.driver.as_str() {
        "" | "bridge" => {}
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
    let requested_subnet = match &opts.subnet {
        Some(s) => Some(parse_subnet(s)?),
        None => None,
    };
    if opts.gateway.is_some() && requested_subnet.is_none() {
        return Err(NetworkError::InvalidArgument(
            "every ip-range or gateway must have a corresponding subnet".into(),
        ));
    }
    let id = new_id();
    let interface = format!("berth-{}", &id[..9]);
    let labels = serde_json::to_string(&opts.labels).unwrap_or_else(|_| "{}".into());
    let routes = host_routes();
    store.write(|tx| {
        if find(tx, &opts.name).is_ok_and(|n| n.name == opts.name) {
            return Err(NetworkError::NameExists(opts.name.clone()));
        }
        let taken: Vec<Ipv4Net> = list(tx)?.into_iter().filter_map(|n| n.subnet).collect();
        let subnet = match requested_subnet {
            Some(s) => {
                if taken.iter().any(|t| overlaps(t, &s)) {
                    return Err(NetworkError::Conflict(
                        "Pool overlaps with other one on this address space".into(),
                    ));
                }
                s
            }
            None => next_free_subnet(&taken, &routes)?,
        };
        let gateway = match &opts.gateway {
            Some(g) => {
                let g: Ipv4Addr = g.parse().map_err(|_| {
                    NetworkError::InvalidArgument(format!("invalid gateway address: {g}"))
                })?;
                if !subnet.contains(&g) || g == subnet.network() || g == subnet.broadcast() {
                    return Err(NetworkError::InvalidArgument(format!(
                        "no matching subnet for gateway {g}"
                    )));
                }
                g
            }
            None => first_host(&subnet)?,
        };
        tx.execute(
            "INSERT INTO networks (id, name, driver, interface, subnet, gateway, internal, dns, labels, created_at) \
             VALUES (?1, ?2, 'bridge', ?3, ?4, ?5, ?6, 1, ?7, ?8)",
            params![
                id,
                opts.name,
                interface,
                subnet.to_string(),
                gateway.to_string(),
                opts.internal,
                labels,
                now_rfc3339()
            ],
        )?;
        let n = find(tx, &id)?;
        events::network(tx, "create", n.about(), None)?;
        Ok(n)
    })
}

/// `network rm`: refused for built-in networks and while containers run on it.
pub fn remove(store: &mut Store, reference: &str) -> Result<Network> {
    store.write(|tx| {
        let n = find(tx, reference)?;
        if n.is_builtin() {
            return Err(NetworkError::Conflict(format!(
                "{} is a pre-defined network and cannot be removed",
                n.name
            )));
        }
        let active: i64 = tx.query_row(
            "SELECT count(*) FROM endpoints WHERE network_id = ?1",
            [&n.id],
            |r| r.get(0),
        )?;
        if active > 0 {
            return Err(NetworkError::Conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                n.name, n.id
            )));
        }
        tx.execute("DELETE FROM networks WHERE id = ?1", [&n.id])?;
        events::network(tx, "destroy", n.about(), None)?;
        forget_leases(&n.interface);
        Ok(n)
    })
}

/// Removes a removed network's (empty) host-wide lease directory.
fn forget_leases(interface: &str) {
    let _ = std::fs::remove_dir(crate::run_dir().join("leases").join(interface));
}

/// `network prune`: removes the user networks no container refers to (by its
/// network mode or a `network connect`) and none runs on, of those `select`
/// accepts. Returns their names.
pub fn prune(store: &mut Store, select: &dyn Fn(&Network) -> bool) -> Result<Vec<String>> {
    store.write(|tx| {
        let mut stmt = tx.prepare(
            "SELECT n.id FROM networks n \
             WHERE n.name NOT IN ('bridge', 'host', 'none') \
             AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.network_id = n.id) \
             AND NOT EXISTS (SELECT 1 FROM container_networks c WHERE c.network_id = n.id AND c.connected) \
             AND NOT EXISTS (SELECT 1 FROM containers c \
                 WHERE json_extract(c.config, '$.Host.NetworkMode') IN (n.name, n.id)) \
             ORDER BY n.name",
        )?;
        let unused: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut pruned = Vec::new();
        for id in &unused {
            let n = find(tx, id)?;
            if !select(&n) {
                continue;
            }
            tx.execute("DELETE FROM networks WHERE id = ?1", [id])?;
            events::network(tx, "destroy", n.about(), None)?;
            forget_leases(&n.interface);
            pruned.push(n.name);
        }
        Ok(pruned)
    })
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn parse_subnet(s: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = s.parse().map_err(|_| {
        NetworkError::InvalidArgument(format!("invalid subnet {s}: not an IPv4 CIDR"))
    })?;
    if net.prefix_len() > 30 {
        return Err(NetworkError::InvalidArgument(format!(
            "invalid subnet {s}: too small for containers"
        )));
    }
    Ok(net.trunc())
}

pub(crate) fn first_host(net: &Ipv4Net) -> Result<Ipv4Addr> {
    net.hosts()
        .next()
        .ok_or_else(|| NetworkError::InvalidArgument(format!("subnet {net} has no addresses")))
}

fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn next_free_subnet(taken: &[Ipv4Net], routes: &[Ipv4Net]) -> Result<Ipv4Net> {
    POOL_SECOND_OCTETS
        .filter_map(|octet| Ipv4Net::new(Ipv4Addr::new(10, octet, 0, 0), 16).ok())
        .find(|candidate| !taken.iter().chain(routes).any(|t| overlaps(t, candidate)))
        .ok_or_else(|| {
            NetworkError::Conflict(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
            )
        })
}

/// The host's IPv4 routes other than the default one (from /proc/net/route),
/// so a new network never shadows a network the host already reaches.
fn host_routes() -> Vec<Ipv4Net> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(fields.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            // The kernel prints the network-order bytes as a native integer.
            let dest = Ipv4Addr::from(dest.to_ne_bytes());
            let prefix = mask.count_ones() as u8;
            Ipv4Net::new(dest, prefix).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_skips_taken_and_routed_subnets() {
        let taken: Vec<Ipv4Net> = vec!["10.90.0.0/16".parse().unwrap()];
        let routes: Vec<Ipv4Net> = vec!["10.91.3.0/24".parse().unwrap()];
        assert_eq!(
            next_free_subnet(&taken, &routes).unwrap().to_string(),
            "10.92.0.0/16"
        );
    }

    #[test]
    fn names_follow_docker() {
        assert!(valid_name("my-net_1.x"));
        assert!(!valid_name("-x"));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
    }

    #[test]
    fn host_routes_parse_proc() {
        // Every host has at least its own link routes (or none at all in an
        // isolated namespace); whatever is listed must be a proper network.
        for r in host_routes() {
            assert_eq!(r, r.trunc(), "{r}");
        }
    }
}
