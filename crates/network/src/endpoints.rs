//! Endpoints: a container's attachments to networks (the `container_networks`
//! rows it joins when it starts) and, while it runs, its live endpoints (one
//! `endpoints` row per network, holding the address leases) and published ports.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use berth_store::rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use berth_store::{new_id, now_rfc3339};
use serde::{Deserialize, Serialize};

use crate::ipam::{self, candidates_v4, candidates_v6};
use crate::mode::Mode;
use crate::networks::{self, from_row_at, Network};
use crate::ports::PortBinding;
use crate::{netns, NetworkError, Result, DEFAULT_NETWORK};

/// What a container asks of its endpoint on one network (Docker's
/// `EndpointSettings` as a create or connect request carries it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    /// `--network-alias` / `--alias`: more DNS names on a user network.
    pub aliases: Vec<String>,
    /// `--ip`: a static IPv4 address ("" = any free one).
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// `--ip6`: a static IPv6 address on an IPv6 network.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
    /// `--link-local-ip`: extra link-local addresses on the interface.
    #[serde(rename = "LinkLocalIPs")]
    pub link_local_ips: Vec<String>,
    /// `--mac-address` ("" = derived from the IPv4 address, as Docker).
    pub mac_address: String,
    /// `--link NAME:ALIAS` on a user network: ALIAS resolves to NAME.
    pub links: Vec<String>,
    /// Endpoint driver options, shown back (the bridge driver has none).
    pub driver_opts: BTreeMap<String, String>,
}

impl EndpointSettings {
    /// Docker's `IPAMConfig` is set when any address was asked for.
    pub fn has_ipam_config(&self) -> bool {
        !self.ipv4_address.is_empty()
            || !self.ipv6_address.is_empty()
            || !self.link_local_ips.is_empty()
    }
}

/// A container's live attachment to one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: String,
    pub container_id: String,
    pub container_name: String,
    pub network: Network,
    /// Inside the container: eth0, eth1, ... (or the network's prefix).
    pub interface: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Option<Ipv6Addr>,
    pub mac: String,
    /// DNS names besides the container's name (user networks).
    pub aliases: Vec<String>,
    /// What was asked for.
    pub settings: EndpointSettings,
}

impl Endpoint {
    pub fn prefix_len(&self) -> u8 {
        self.network.subnet.map_or(0, |s| s.prefix_len())
    }

    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.network.gateway
    }

    pub fn ipv6_prefix_len(&self) -> u8 {
        self.network.ipv6().map_or(0, |p| p.subnet.prefix_len())
    }

    pub fn ipv6_gateway(&self) -> Option<Ipv6Addr> {
        self.ipv6.and(self.network.ipv6().map(|p| p.gateway))
    }
}

/// A network a container is to join when it starts.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub network: Network,
    pub settings: EndpointSettings,
}

/// Checks an endpoint request against its network as Docker does, before
/// anything is recorded: aliases and static addresses need a user network,
/// addresses must parse and lie in the network's subnets, link-local
/// addresses must be link-local, a MAC address must be a unicast one.
pub fn check_settings(network: &Network, s: &EndpointSettings) -> Result<()> {
    let invalid = |m: String| Err(NetworkError::InvalidArgument(m));
    let default_bridge = network.name == DEFAULT_NETWORK;
    if default_bridge && !s.aliases.is_empty() {
        return invalid(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        );
    }
    if default_bridge && (!s.ipv4_address.is_empty() || !s.ipv6_address.is_empty()) {
        return invalid(
            "user specified IP address is supported on user defined networks only".into(),
        );
    }
    if default_bridge && !s.links.is_empty() {
        return invalid(
            "links in an endpoint's settings are for user defined networks; on the default bridge use --link (HostConfig.Links)".into(),
        );
    }
    if !s.ipv4_address.is_empty() {
        match s.ipv4_address.parse::<Ipv4Addr>() {
            Ok(ip) => ipam::check_static(network, IpAddr::V4(ip))?,
            Err(_) => return invalid(format!("invalid IPv4 address: {}", s.ipv4_address)),
        }
    }
    if !s.ipv6_address.is_empty() {
        let ip = match s.ipv6_address.parse::<Ipv6Addr>() {
            Ok(ip) if ip.to_ipv4_mapped().is_none() => ip,
            _ => return invalid(format!("invalid IPv6 address: {}", s.ipv6_address)),
        };
        if network.ipv6().is_none() {
            return invalid(format!(
                "user specified IPv6 address {ip} needs a network with IPv6 enabled (network create --ipv6 or an IPv6 --subnet)"
            ));
        }
        ipam::check_static(network, IpAddr::V6(ip))?;
    }
    for ip in &s.link_local_ips {
        let link_local = match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(v4)) => v4.is_link_local(),
            Ok(IpAddr::V6(v6)) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            Err(_) => false,
        };
        if !link_local {
            return invalid(format!("invalid link local IP address: {ip}"));
        }
    }
    if !s.mac_address.is_empty() {
        parse_mac(&s.mac_address)?;
    }
    for link in &s.links {
        parse_link(link)?;
    }
    for key in s.driver_opts.keys() {
        if key.starts_with("com.docker.network.") {
            return invalid(format!(
                "endpoint option {key} is not supported by berth's bridge driver"
            ));
        }
    }
    Ok(())
}

/// A MAC address as `--mac-address` takes it (six hex pairs), unicast.
pub fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let bad = || NetworkError::InvalidArgument(format!("invalid MAC address: {text}"));
    let parts: Vec<&str> = text.split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(&parts) {
        if part.len() != 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(NetworkError::InvalidArgument(format!(
            "invalid MAC address: {text} is a multicast address"
        )));
    }
    Ok(mac)
}

/// `NAME[:ALIAS]` (a container name, with or without its leading slash);
/// the alias defaults to the name.
pub fn parse_link(link: &str) -> Result<(String, String)> {
    let (name, alias) = link.split_once(':').unwrap_or((link, link));
    let name = name.trim_start_matches('/');
    let alias = alias.trim_start_matches('/');
    let alias = alias.rsplit('/').next().unwrap_or(alias);
    if name.is_empty() || alias.is_empty() {
        return Err(NetworkError::InvalidArgument(format!(
            "invalid link format {link:?}: NAME:ALIAS expected"
        )));
    }
    Ok((name.to_string(), alias.to_string()))
}

/// The networks a container joins when it starts: its mode's network (unless
/// disconnected from it) with `mode_settings` (or, once it was reconnected,
/// the settings of that `network connect`), and those it was connected to,
/// in that order.
pub fn container_networks(
    db: &Connection,
    container_id: &str,
    network_mode: &str,
    mode_settings: &EndpointSettings,
) -> Result<Vec<Attachment>> {
    let mut out = Vec::new();
    let mut mode_network_id = String::new();
    if let Mode::Network(name) = Mode::parse(network_mode) {
        let network = networks::find(db, &name)?;
        mode_network_id = network.id.clone();
        let row: Option<(bool, String)> = db
            .query_row(
                "SELECT connected, settings FROM container_networks WHERE container_id = ?1 AND network_id = ?2",
                params![container_id, network.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let settings = match row {
            None => Some(mode_settings.clone()),
            Some((false, _)) => None,
            Some((true, reconnected)) => {
                Some(serde_json::from_str(&reconnected).unwrap_or_default())
            }
        };
        if let Some(settings) = settings {
            out.push(Attachment { network, settings });
        }
    }
    let mut stmt = db.prepare_cached(&format!(
        "SELECT cn.settings, {} FROM container_networks cn JOIN networks n ON n.id = cn.network_id \
         WHERE cn.container_id = ?1 AND cn.connected AND cn.network_id != ?2 ORDER BY cn.rowid",
        prefixed("n")
    ))?;
    let rows = stmt.query_map(params![container_id, mode_network_id], |r| {
        let settings: String = r.get(0)?;
        Ok(Attachment {
            settings: serde_json::from_str(&settings).unwrap_or_default(),
            network: from_row_at(r, 1)?,
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
    let ipv6: String = r.get(5)?;
    let aliases: String = r.get(7)?;
    let settings: String = r.get(8)?;
    Ok(Endpoint {
        id: r.get(0)?,
        container_id: r.get(1)?,
        container_name: r.get(2)?,
        interface: r.get(3)?,
        ipv4: ipv4.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        ipv6: ipv6.parse().ok(),
        mac: r.get(6)?,
        aliases: serde_json::from_str(&aliases).unwrap_or_default(),
        settings: serde_json::from_str(&settings).unwrap_or_default(),
        network: from_row_at(r, 9)?,
    })
}

fn endpoints_where(db: &Connection, condition: &str, key: &str) -> Result<Vec<Endpoint>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT e.id, e.container_id, COALESCE(c.name, ''), e.interface, e.ipv4, e.ipv6, e.mac, \
         e.aliases, e.settings, {} \
         FROM endpoints e JOIN networks n ON n.id = e.network_id \
         LEFT JOIN containers c ON c.id = e.container_id \
         WHERE {condition} ORDER BY e.rowid",
        prefixed("n")
    ))?;
    let rows = stmt.query_map([key], endpoint_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A container's endpoints in the order they were made: the first one is
/// its primary endpoint, which carries the published ports (empty when it
/// does not run).
pub fn endpoints_of_container(db: &Connection, container_id: &str) -> Result<Vec<Endpoint>> {
    endpoints_where(db, "e.container_id = ?1", container_id)
}

/// The running containers' endpoints on a network.
pub fn endpoints_of_network(db: &Connection, network_id: &str) -> Result<Vec<Endpoint>> {
    endpoints_where(db, "e.network_id = ?1", network_id)
}

/// The container a link alias stands for, as the linking container's own
/// resolver answers it (Docker's embedded DNS resolves an endpoint's links
/// for that container only): `name` is ALIAS or ALIAS.NETWORK of a `--link
/// NAME:ALIAS` of one of the container's endpoints, and NAME (a container's
/// name, a network alias or an id of at least 12 digits) runs on that
/// network; its endpoint there is returned. Unlike DNS names in general,
/// and as dockerd 20.10 answers them, aliases compare case-sensitively.
pub(crate) fn link_target(
    db: &Connection,
    container_id: &str,
    name: &str,
) -> Result<Option<Endpoint>> {
    for e in endpoints_of_container(db, container_id)? {
        for link in &e.settings.links {
            let (target, alias) = parse_link(link)?;
            let qualified = format!("{alias}.{}", e.network.name);
            // As dockerd's embedded DNS: a link alias (and ALIAS.NETWORK)
            // matches case-sensitively, unlike container names.
            if name != alias && name != qualified {
                continue;
            }
            let found = endpoints_of_network(db, &e.network.id)?
                .into_iter()
                .find(|o| {
                    o.container_name == target
                        || o.aliases.contains(&target)
                        || (target.len() >= 12 && o.container_id.starts_with(&target))
                });
            if found.is_some() {
                return Ok(found);
            }
        }
    }
    Ok(None)
}

/// The endpoints a name stands for on the networks with name resolution
/// that the container `container_id` is on, as Docker's embedded DNS
/// answers them: a container's name, its network aliases (its short id
/// among them) and, when the network's name can be part of a DNS name,
/// NAME.NETWORK for the name and each alias but the short id; compared
/// without regard to ASCII case. Several containers with one alias: all of
/// them (Docker answers every address).
pub(crate) fn name_targets(
    db: &Connection,
    container_id: &str,
    name: &str,
) -> Result<Vec<Endpoint>> {
    let mut out = Vec::new();
    for e in endpoints_of_container(db, container_id)? {
        if !e.network.dns {
            continue;
        }
        let network = &e.network.name;
        let dns_label = network
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        let short = |name: &str| {
            let qualified = name.len() > network.len() + 1
                && name.as_bytes()[name.len() - network.len() - 1] == b'.'
                && name[name.len() - network.len()..].eq_ignore_ascii_case(network);
            (dns_label && qualified).then(|| name[..name.len() - network.len() - 1].to_string())
        };
        let unqualified = short(name);
        for o in endpoints_of_network(db, &e.network.id)? {
            let short_id = &o.container_id[..12.min(o.container_id.len())];
            let names = std::iter::once(&o.container_name).chain(&o.aliases);
            let hit = names.clone().any(|n| n.eq_ignore_ascii_case(name))
                || unqualified.as_ref().is_some_and(|u| {
                    names
                        .filter(|n| *n != short_id)
                        .any(|n| n.eq_ignore_ascii_case(u))
                });
            if hit && !out.iter().any(|f: &Endpoint| f.id == o.id) {
                out.push(o);
            }
        }
    }
    Ok(out)
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

/// The first free interface name with the network's prefix in the container.
pub(crate) fn free_interface(
    tx: &Transaction,
    container_id: &str,
    network: &Network,
) -> Result<String> {
    let mut stmt = tx.prepare_cached("SELECT interface FROM endpoints WHERE container_id = ?1")?;
    let used: HashSet<String> = stmt
        .query_map([container_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let prefix = network.interface_prefix();
    Ok((0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|name| !used.contains(name))
        .unwrap_or_default())
}

/// Leases addresses on the attachment's network and inserts the endpoint
/// under the first free interface name.
pub(crate) fn insert_endpoint(
    tx: &Transaction,
    run_dir: &Path,
    container_id: &str,
    container_name: &str,
    a: &Attachment,
) -> Result<Endpoint> {
    let network = &a.network;
    let s = &a.settings;
    let subnet = network.subnet.ok_or_else(|| {
        NetworkError::InvalidArgument(format!("network {} has no subnet", network.name))
    })?;
    check_settings(network, s)?;
    let interface = free_interface(tx, container_id, network)?;
    let owner = netns::path(run_dir, container_id);
    let mut used: HashSet<IpAddr> = {
        let mut stmt =
            tx.prepare_cached("SELECT ipv4, ipv6 FROM endpoints WHERE network_id = ?1")?;
        let rows = stmt.query_map([&network.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.filter_map(|r| r.ok())
            .flat_map(|(a, b)| [a.parse().ok(), b.parse().ok()])
            .flatten()
            .collect()
    };
    used.extend(ipam::reserved(network));
    let exhausted = || {
        NetworkError::Conflict(format!(
            "no available IPv4 addresses on this network's address pools: {} ({})",
            network.name, network.id
        ))
    };
    let ipv4 = if s.ipv4_address.is_empty() {
        candidates_v4(subnet, network.config.ip_range)
            .filter(|ip| !used.contains(&IpAddr::V4(*ip)))
            .find(|ip| claim_lease(&network.interface, IpAddr::V4(*ip), &owner))
            .ok_or_else(exhausted)?
    } else {
        let ip: Ipv4Addr = s.ipv4_address.parse().map_err(|_| exhausted())?;
        if used.contains(&IpAddr::V4(ip))
            || !claim_lease(&network.interface, IpAddr::V4(ip), &owner)
        {
            return Err(NetworkError::Conflict("Address already in use".into()));
        }
        ip
    };
    let ipv6 = match network.ipv6() {
        None => None,
        Some(pool) if s.ipv6_address.is_empty() => Some(
            candidates_v6(pool.subnet, pool.ip_range)
                .filter(|ip| !used.contains(&IpAddr::V6(*ip)))
                .find(|ip| claim_lease(&network.interface, IpAddr::V6(*ip), &owner))
                .ok_or_else(|| {
                    release(&network.interface, IpAddr::V4(ipv4), &owner);
                    NetworkError::Conflict(format!(
                        "no available IPv6 addresses on this network's address pools: {} ({})",
                        network.name, network.id
                    ))
                })?,
        ),
        Some(_) => {
            let ip: Ipv6Addr = s.ipv6_address.parse().map_err(|_| exhausted())?;
            if used.contains(&IpAddr::V6(ip))
                || !claim_lease(&network.interface, IpAddr::V6(ip), &owner)
            {
                release(&network.interface, IpAddr::V4(ipv4), &owner);
                return Err(NetworkError::Conflict("Address already in use".into()));
            }
            Some(ip)
        }
    };
    let mac = if s.mac_address.is_empty() {
        let o = ipv4.octets();
        format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
    } else {
        s.mac_address.to_ascii_lowercase().replace('-', ":")
    };
    let mut aliases = s.aliases.clone();
    if network.dns {
        // Docker also resolves the short ID on user networks.
        let short = container_id[..12.min(container_id.len())].to_string();
        if !aliases.contains(&short) {
            aliases.push(short);
        }
    }
    let id = new_id();
    tx.execute(
        "INSERT INTO endpoints (id, container_id, network_id, interface, ipv4, ipv6, mac, aliases, settings, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            container_id,
            network.id,
            interface,
            ipv4.to_string(),
            ipv6.map(|ip| ip.to_string()).unwrap_or_default(),
            mac,
            serde_json::to_string(&aliases).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(s).unwrap_or_else(|_| "{}".into()),
            now_rfc3339()
        ],
    )?;
    Ok(Endpoint {
        id,
        container_id: container_id.to_string(),
        container_name: container_name.to_string(),
        network: network.clone(),
        interface,
        ipv4,
        ipv6,
        mac,
        aliases,
        settings: s.clone(),
    })
}

/// Where the host-wide lease of `ip` on bridge `interface` is recorded.
fn lease_path(interface: &str, ip: IpAddr) -> PathBuf {
    crate::host_dir()
        .join("leases")
        .join(interface)
        .join(ip.to_string())
}

/// The namespace a lease file names as its owner. Files written before
/// run directories could be chosen name a container id, whose namespace
/// was in the default run directory.
fn lease_owner(content: &str) -> PathBuf {
    if content.starts_with('/') {
        PathBuf::from(content)
    } else {
        netns::path(Path::new(crate::DEFAULT_RUN_DIR), content)
    }
}

/// Claims `ip` on a bridge for the container whose namespace is `owner`,
/// host-wide. The endpoint row is the lease within one berth root; several
/// roots (tests, `--root`) may share a bridge — the default `berth0` — with
/// run directories of their own, so a lease file, created exclusively in the
/// host-wide directory, guards the address across them. It names the
/// owner's namespace: a file whose namespace is not mounted any more is
/// stale and taken over.
fn claim_lease(interface: &str, ip: IpAddr, owner: &Path) -> bool {
    let path = lease_path(interface, ip);
    let create = || {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
    };
    // The bridge's directory goes with its last lease (see `release`): one
    // removed between its creation and this file's is made again.
    let created = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(),
        other => other,
    };
    let mine = owner.as_os_str().as_encoded_bytes();
    match created {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(mine).is_ok()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let content = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = lease_owner(&content);
            if holder == owner || (!content.is_empty() && !netns::is_mounted(&holder)) {
                std::fs::write(&path, mine).is_ok()
            } else {
                false
            }
        }
        Err(_) => false,
    }
}

/// Removes a lease file if it is still `owner`'s, and the bridge's
/// directory with its last lease.
fn release(interface: &str, ip: IpAddr, owner: &Path) {
    let path = lease_path(interface, ip);
    if std::fs::read_to_string(&path).is_ok_and(|content| lease_owner(&content) == owner) {
        let _ = std::fs::remove_file(&path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A host-wide lease file and the namespace it names as its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseFile {
    pub path: PathBuf,
    pub owner: PathBuf,
}

impl LeaseFile {
    /// Whether its owner's namespace is mounted (the lease is live).
    pub fn live(&self) -> bool {
        netns::is_mounted(&self.owner)
    }
}

/// Every lease file on every bridge (of every berth root sharing the host).
pub fn lease_files() -> Vec<LeaseFile> {
    let leases = crate::host_dir().join("leases");
    let mut out = Vec::new();
    for bridge in std::fs::read_dir(&leases).into_iter().flatten().flatten() {
        for lease in std::fs::read_dir(bridge.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let content = std::fs::read_to_string(lease.path()).unwrap_or_default();
            out.push(LeaseFile {
                path: lease.path(),
                owner: lease_owner(&content),
            });
        }
    }
    out
}

/// Removes a lease file if it still names its owner (and the bridge's
/// directory with its last lease).
pub fn remove_lease_file(lease: &LeaseFile) {
    if std::fs::read_to_string(&lease.path).is_ok_and(|c| lease_owner(&c) == lease.owner) {
        let _ = std::fs::remove_file(&lease.path);
        if let Some(dir) = lease.path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Releases the container's lease files on `network`'s bridge that none of
/// its endpoint rows holds: a `network connect` killed between claiming
/// them and its commit.
pub(crate) fn release_unrecorded_leases(
    db: &Connection,
    run_dir: &Path,
    container_id: &str,
    network: &Network,
) -> Result<()> {
    let mut stmt =
        db.prepare("SELECT ipv4, ipv6 FROM endpoints WHERE container_id = ?1 AND network_id = ?2")?;
    let recorded: HashSet<String> = stmt
        .query_map(params![container_id, network.id], |r| {
            Ok([r.get::<_, String>(0)?, r.get::<_, String>(1)?])
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let owner = netns::path(run_dir, container_id);
    let bridge = crate::host_dir().join("leases").join(&network.interface);
    for lease in lease_files().into_iter().filter(|l| {
        l.owner == owner
            && l.path.parent() == Some(bridge.as_path())
            && l.path
                .file_name()
                .is_some_and(|ip| !recorded.contains(&*ip.to_string_lossy()))
    }) {
        remove_lease_file(&lease);
    }
    Ok(())
}

/// Removes the container's lease files of an endpoint.
pub(crate) fn release_lease(run_dir: &Path, e: &Endpoint) {
    let owner = netns::path(run_dir, &e.container_id);
    release(&e.network.interface, IpAddr::V4(e.ipv4), &owner);
    if let Some(v6) = e.ipv6 {
        release(&e.network.interface, IpAddr::V6(v6), &owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_links_parse_as_docker_takes_them() {
        assert_eq!(
            parse_mac("02:42:AC:11:FF:01").unwrap(),
            [2, 0x42, 0xac, 0x11, 0xff, 1]
        );
        for bad in [
            "zz",
            "02:42:ac:11:ff",
            "02:42:ac:11:ff:0g",
            "01:00:5e:00:00:01",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_link("/up:/down/db").unwrap(),
            ("up".to_string(), "db".to_string())
        );
        assert_eq!(
            parse_link("up").unwrap(),
            ("up".to_string(), "up".to_string())
        );
        assert!(parse_link(":x").is_err());
    }

    #[test]
    fn settings_keep_their_docker_names() {
        let s: EndpointSettings =
            serde_json::from_str(r#"{"Aliases":["a"],"IPv4Address":"10.0.0.2"}"#).unwrap();
        assert_eq!(s.aliases, ["a"]);
        assert!(s.has_ipam_config());
    }
}
