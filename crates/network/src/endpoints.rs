//! Endpoints: a container's attachments to networks (the `container_networks`
//! rows it joins when it starts) and, while it runs, its live endpoints (one
//! `endpoints` row per network, holding the address lease) and published ports.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use berth_store::rusqlite::{params, Connection, Row, Transaction};
use berth_store::{new_id, now_rfc3339};

use crate::mode::Mode;
use crate::networks::{self, from_row_at, Network};
use crate::ports::PortBinding;
use crate::{netns, NetworkError, Result};

/// A container's live attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub container_id: String,
    pub container_name: String,
    pub network: Network,
    /// Inside the container: eth0, eth1, ...
    pub interface: String,
    pub ipv4: Ipv4Addr,
    pub mac: String,
    /// DNS names besides the container's name (user networks).
    pub aliases: Vec<String>,
}

impl Endpoint {
    pub fn prefix_len(&self) -> u8 {
        self.network.subnet.map_or(0, |s| s.prefix_len())
    }

    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.network.gateway
    }
}

/// A network a container is to join when it starts.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub network: Network,
    pub aliases: Vec<String>,
    /// Requested address (`--ip`), "" for any.
    pub ipv4: String,
}

/// The networks a container joins when it starts: its mode's network (unless
/// disconnected from it) and those it was connected to, in that order.
pub fn container_networks(
    db: &Connection,
    container_id: &str,
    network_mode: &str,
    aliases: &[String],
    ipv4: &str,
) -> Result<Vec<Attachment>> {
    let mut out = Vec::new();
    if let Mode::Network(name) = Mode::parse(network_mode) {
        let network = networks::find(db, &name)?;
        let left: i64 = db.query_row(
            "SELECT count(*) FROM container_networks WHERE container_id = ?1 AND network_id = ?2 AND NOT connected",
            params![container_id, network.id],
            |r| r.get(0),
        )?;
        if left == 0 {
            out.push(Attachment {
                network,
                aliases: aliases.to_vec(),
                ipv4: ipv4.to_string(),
            });
        }
    }
    let mut stmt = db.prepare_cached(&format!(
        "SELECT cn.aliases, cn.ipv4, {} FROM container_networks cn JOIN networks n ON n.id = cn.network_id \
         WHERE cn.container_id = ?1 AND cn.connected ORDER BY cn.rowid",
        prefixed("n")
    ))?;
    let rows = stmt.query_map([container_id], |r| {
        let aliases: String = r.get(0)?;
        Ok(Attachment {
            aliases: serde_json::from_str(&aliases).unwrap_or_default(),
            ipv4: r.get(1)?,
            network: from_row_at(r, 2)?,
        })
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(out)
}

fn prefixed(table: &str) -> String {
    networks::COLUMNS
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn endpoint_from_row(r: &Row) -> berth_store::rusqlite::Result<Endpoint> {
    let ipv4: String = r.get(4)?;
    let aliases: String = r.get(6)?;
    Ok(Endpoint {
        id: r.get(0)?,
        container_id: r.get(1)?,
        container_name: r.get(2)?,
        interface: r.get(3)?,
        ipv4: ipv4.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        mac: r.get(5)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
        network: from_row_at(r, 7)?,
    })
}

fn endpoints_where(db: &Connection, condition: &str, key: &str) -> Result<Vec<Endpoint>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT e.id, e.container_id, COALESCE(c.name, ''), e.interface, e.ipv4, e.mac, e.aliases, {} \
         FROM endpoints e JOIN networks n ON n.id = e.network_id \
         LEFT JOIN containers c ON c.id = e.container_id \
         WHERE {condition} ORDER BY length(e.interface), e.interface, c.name",
        prefixed("n")
    ))?;
    let rows = stmt.query_map([key], endpoint_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A container's endpoints, eth0 first (empty when it does not run).
pub fn endpoints_of_container(db: &Connection, container_id: &str) -> Result<Vec<Endpoint>> {
    endpoints_where(db, "e.container_id = ?1", container_id)
}

/// The running containers' endpoints on a network.
pub fn endpoints_of_network(db: &Connection, network_id: &str) -> Result<Vec<Endpoint>> {
    endpoints_where(db, "e.network_id = ?1", network_id)
}

/// A container's published ports (empty when it does not run), by container port.
pub fn published_ports(db: &Connection, container_id: &str) -> Result<Vec<PortBinding>> {
    let mut stmt = db.prepare_cached(
        "SELECT host_ip, host_port, container_port, protocol FROM endpoint_ports \
         WHERE container_id = ?1 ORDER BY container_port, protocol, host_ip, host_port",
    )?;
    let rows = stmt.query_map([container_id], |r| {
        Ok(PortBinding {
            host_ip: r.get(0)?,
            host_port: r.get(1)?,
            container_port: r.get(2)?,
            protocol: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Leases an address on the attachment's network and inserts the endpoint.
pub(crate) fn insert_endpoint(
    tx: &Transaction,
    container_id: &str,
    container_name: &str,
    a: &Attachment,
    interface: &str,
) -> Result<Endpoint> {
    let network = &a.network;
    let subnet = network.subnet.ok_or_else(|| {
        NetworkError::InvalidArgument(format!("network {} has no subnet", network.name))
    })?;
    let used: HashSet<Ipv4Addr> = {
        let mut stmt = tx.prepare_cached("SELECT ipv4 FROM endpoints WHERE network_id = ?1")?;
        let rows = stmt.query_map([&network.id], |r| r.get::<_, String>(0))?;
        rows.filter_map(|r| r.ok().and_then(|ip| ip.parse().ok()))
            .collect()
    };
    let ipv4 = if a.ipv4.is_empty() {
        subnet
            .hosts()
            .filter(|ip| Some(*ip) != network.gateway && !used.contains(ip))
            .find(|ip| claim_lease(&network.interface, *ip, container_id))
            .ok_or_else(|| {
                NetworkError::Conflict(format!(
                    "no available IPv4 addresses on this network's address pools: {} ({})",
                    network.name, network.id
                ))
            })?
    } else {
        let ip: Ipv4Addr = a.ipv4.parse().map_err(|_| {
            NetworkError::InvalidArgument(format!("invalid IPv4 address: {}", a.ipv4))
        })?;
        if !subnet.contains(&ip) || ip == subnet.network() || ip == subnet.broadcast() {
            return Err(NetworkError::InvalidArgument(format!(
                "no configured subnet or ip-range contain the IP address {ip}"
            )));
        }
        if used.contains(&ip)
            || Some(ip) == network.gateway
            || !claim_lease(&network.interface, ip, container_id)
        {
            return Err(NetworkError::Conflict("Address already in use".into()));
        }
        ip
    };
    let o = ipv4.octets();
    let mac = format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]);
    let mut aliases = a.aliases.clone();
    if network.dns {
        // Docker also resolves the short ID on user networks.
        let short = container_id[..12.min(container_id.len())].to_string();
        if !aliases.contains(&short) {
            aliases.push(short);
        }
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO endpoints (id, container_id, network_id, interface, ipv4, mac, aliases, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            container_id,
            network.id,
            interface,
            ipv4.to_string(),
            mac,
            serde_json::to_string(&aliases).unwrap_or_else(|_| "[]".into()),
            now_rfc3339()
        ],
    )?;
    Ok(Endpoint {
        id,
        container_id: container_id.to_string(),
        container_name: container_name.to_string(),
        network: network.clone(),
        interface: interface.to_string(),
        ipv4,
        mac,
        aliases,
    })
}

/// Where the host-wide lease of `ip` on bridge `interface` is recorded.
fn lease_path(interface: &str, ip: Ipv4Addr) -> PathBuf {
    crate::run_dir()
        .join("leases")
        .join(interface)
        .join(ip.to_string())
}

/// Claims `ip` on a bridge for a container, host-wide. The endpoint row is the
/// lease within one berth root; several roots (tests, `--root`) may share a
/// bridge — the default `berth0` — so a lease file, created exclusively,
/// guards the address across them. A file whose container has no namespace
/// any more is stale and taken over.
fn claim_lease(interface: &str, ip: Ipv4Addr, container_id: &str) -> bool {
    let path = lease_path(interface, ip);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match created {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(container_id.as_bytes()).is_ok()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let owner = std::fs::read_to_string(&path).unwrap_or_default();
            if owner == container_id || (!owner.is_empty() && !netns::exists(&owner)) {
                std::fs::write(&path, container_id).is_ok()
            } else {
                false
            }
        }
        Err(_) => false,
    }
}

/// Removes the container's lease file of an endpoint (if it is still its own).
pub(crate) fn release_lease(e: &Endpoint) {
    let path = lease_path(&e.network.interface, e.ipv4);
    if std::fs::read_to_string(&path).is_ok_and(|owner| owner == e.container_id) {
        let _ = std::fs::remove_file(&path);
    }
}
