//! A container's networking while it runs: its namespace, its endpoints (one
//! per network, each holding an address lease) and its published ports.
//! [`setup`] builds all of it or nothing; [`teardown`] removes whatever exists.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use berth_store::rusqlite::{params, Connection, Row, Transaction};
use berth_store::{new_id, now_rfc3339, Store};

use crate::netavark::{self, Request};
use crate::networks::{self, from_row_at, Network};
use crate::ports::{reserve, PortBinding};
use crate::{netns, NetworkError, Result, DEFAULT_NETWORK};

/// A container's network mode (HostConfig.NetworkMode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Host,
    None,
    /// `container:NAME`: share another container's namespace.
    Container(String),
    /// `bridge` or a user network, by name or ID.
    Network(String),
}

impl Mode {
    pub fn parse(mode: &str) -> Mode {
        match mode {
            "host" => Mode::Host,
            "none" => Mode::None,
            "" | "default" => Mode::Network(DEFAULT_NETWORK.into()),
            other => match other.strip_prefix("container:") {
                Some(name) => Mode::Container(name.to_string()),
                None => Mode::Network(other.to_string()),
            },
        }
    }
}

/// The namespace a container's runtime is told to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    Host,
    Path(PathBuf),
}

impl Namespace {
    /// The namespace of a running container, if it has one of its own.
    pub fn of_container(container_id: &str) -> Option<Namespace> {
        netns::exists(container_id).then(|| Namespace::Path(netns::path(container_id)))
    }
}

/// What [`setup`] needs to know about the container.
#[derive(Debug, Clone, Default)]
pub struct SandboxSpec<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub network_mode: &'a str,
    /// For `container:NAME`, the other container's namespace (resolved by the
    /// caller, which knows containers); `None` when it is not running.
    pub joined: Option<Namespace>,
    /// `--network-alias` and `--ip` for the mode's network.
    pub aliases: &'a [String],
    pub ipv4: &'a str,
    pub port_bindings: &'a [PortBinding],
    /// `-P`: every exposed port ("80/tcp") not bound otherwise gets a free host port.
    pub publish_all: bool,
    pub exposed_ports: &'a [String],
    pub dns_servers: &'a [String],
}

/// The container's networking, set up. Holds the host-port reservations:
/// keep it until the container has exited, then call [`teardown`].
#[derive(Debug)]
pub struct Sandbox {
    pub namespace: Namespace,
    pub endpoints: Vec<Endpoint>,
    _reservations: Vec<OwnedFd>,
}

impl Sandbox {
    fn without_endpoints(namespace: Namespace) -> Sandbox {
        Sandbox {
            namespace,
            endpoints: Vec::new(),
            _reservations: Vec::new(),
        }
    }

    /// The container's own address for its hostname in /etc/hosts.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        self.endpoints.first().map(|e| e.ipv4)
    }

    /// The resolvers the container must use: aardvark-dns on the gateway of
    /// each DNS-enabled network (empty: keep the host's).
    pub fn nameservers(&self) -> Vec<Ipv4Addr> {
        self.endpoints
            .iter()
            .filter(|e| e.network.dns)
            .filter_map(|e| e.network.gateway)
            .collect()
    }
}

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

/// Builds the container's networking before its runtime starts: host ports
/// reserved and recorded with the endpoints' leases (one transaction), the
/// namespace, then netavark. On failure nothing is left behind.
pub fn setup(store: &mut Store, spec: &SandboxSpec) -> Result<Sandbox> {
    let mode = Mode::parse(spec.network_mode);
    match &mode {
        Mode::Host => return Ok(Sandbox::without_endpoints(Namespace::Host)),
        Mode::Container(other) => {
            let joined = spec.joined.clone().ok_or_else(|| {
                NetworkError::Conflict(format!(
                    "cannot join network of a non running container: {other}"
                ))
            })?;
            return Ok(Sandbox::without_endpoints(joined));
        }
        Mode::None | Mode::Network(_) => {}
    }
    // Leftovers of a run whose cleanup never happened would block this one.
    teardown(store, spec.container_id)?;
    let path = netns::path(spec.container_id);
    if mode == Mode::None {
        netns::create(&path)?;
        return Ok(Sandbox::without_endpoints(Namespace::Path(path)));
    }
    let attachments = container_networks(
        store.db(),
        spec.container_id,
        spec.network_mode,
        spec.aliases,
        spec.ipv4,
    )?;
    let bindings = requested_bindings(spec);
    // The namespace comes first: it marks this container's address leases
    // as live for other berth roots sharing the bridge (see `claim_lease`).
    netns::create(&path)?;
    let short_id = &spec.container_id[..12.min(spec.container_id.len())];
    let recorded = store.write(|tx| {
        let mut reservations = Vec::new();
        let mut published = Vec::new();
        let label = format!("{} ({short_id})", spec.container_name);
        for b in &bindings {
            let (fd, port) = reserve(b, &label)?;
            let bound = PortBinding {
                host_port: port,
                ..b.clone()
            };
            record_port(tx, spec.container_id, &bound, &label)?;
            reservations.push(fd);
            published.push(bound);
        }
        let mut endpoints = Vec::new();
        for (index, a) in attachments.iter().enumerate() {
            endpoints.push(insert_endpoint(
                tx,
                spec.container_id,
                spec.container_name,
                a,
                &format!("eth{index}"),
            )?);
        }
        Ok::<_, NetworkError>((endpoints, published, reservations))
    });
    let (endpoints, published, reservations) = match recorded {
        Ok(r) => r,
        Err(e) => {
            let _ = teardown(store, spec.container_id);
            return Err(e);
        }
    };
    let wired = wire(spec, &path, &endpoints, &published);
    if let Err(e) = wired {
        drop(reservations);
        let _ = teardown(store, spec.container_id);
        return Err(e);
    }
    Ok(Sandbox {
        namespace: Namespace::Path(path),
        endpoints,
        _reservations: reservations,
    })
}

fn wire(
    spec: &SandboxSpec,
    path: &std::path::Path,
    endpoints: &[Endpoint],
    published: &[PortBinding],
) -> Result<()> {
    for e in endpoints {
        netavark::setup(
            path,
            &Request {
                container_id: spec.container_id,
                container_name: spec.container_name,
                endpoints: &[e],
                ports: if e.interface == "eth0" {
                    published
                } else {
                    &[]
                },
                dns_servers: spec.dns_servers,
            },
        )?;
    }
    Ok(())
}

/// `-p` bindings plus, with `-P`, a free host port for every other exposed port.
fn requested_bindings(spec: &SandboxSpec) -> Vec<PortBinding> {
    let mut out = spec.port_bindings.to_vec();
    if spec.publish_all {
        for exposed in spec.exposed_ports {
            let (port, protocol) = exposed.split_once('/').unwrap_or((exposed, "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if !out
                .iter()
                .any(|b| b.container_port == port && b.protocol == protocol)
            {
                out.push(PortBinding {
                    host_ip: String::new(),
                    host_port: 0,
                    container_port: port,
                    protocol: protocol.to_string(),
                });
            }
        }
    }
    out
}

/// Records a published port unless another container publishes the same host
/// port on the same or every address (DNAT rules bind no socket, so the
/// kernel alone would not notice).
fn record_port(tx: &Transaction, container_id: &str, b: &PortBinding, label: &str) -> Result<()> {
    let taken: i64 = tx.query_row(
        "SELECT count(*) FROM endpoint_ports WHERE protocol = ?1 AND host_port = ?2 \
         AND (host_ip = ?3 OR host_ip = '' OR ?3 = '')",
        params![b.protocol, b.host_port, b.host_ip],
        |r| r.get(0),
    )?;
    if taken > 0 {
        return Err(NetworkError::PortAllocated {
            endpoint: label.to_string(),
            host_ip: b.shown_host_ip().to_string(),
            host_port: b.host_port,
        });
    }
    tx.execute(
        "INSERT INTO endpoint_ports (container_id, protocol, container_port, host_ip, host_port) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            container_id,
            b.protocol,
            b.container_port,
            b.host_ip,
            b.host_port
        ],
    )?;
    Ok(())
}

/// Leases an address on the attachment's network and inserts the endpoint.
fn insert_endpoint(
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
fn release_lease(e: &Endpoint) {
    let path = lease_path(&e.network.interface, e.ipv4);
    if std::fs::read_to_string(&path).is_ok_and(|owner| owner == e.container_id) {
        let _ = std::fs::remove_file(&path);
    }
}

/// Undoes [`setup`]: netavark teardown (veth, rules, DNS records), the
/// namespace, then the rows (leases and ports). Each step tolerates being
/// done already, so this can run again after a crash; the first failure is
/// returned once everything was attempted.
pub fn teardown(store: &mut Store, container_id: &str) -> Result<()> {
    let endpoints = endpoints_of_container(store.db(), container_id)?;
    let ports = published_ports(store.db(), container_id)?;
    let path = netns::path(container_id);
    let mut first_error = None;
    if !endpoints.is_empty() && netns::exists(container_id) {
        for e in &endpoints {
            let request = Request {
                container_id,
                container_name: &e.container_name,
                endpoints: &[e],
                ports: if e.interface == "eth0" { &ports } else { &[] },
                dns_servers: &[],
            };
            if let Err(err) = netavark::teardown(&path, &request) {
                first_error.get_or_insert(err);
            }
        }
    }
    for e in &endpoints {
        release_lease(e);
    }
    if let Err(err) = netns::remove(&path) {
        first_error.get_or_insert(err);
    }
    if !endpoints.is_empty() || !ports.is_empty() {
        store.write(|tx| {
            tx.execute(
                "DELETE FROM endpoints WHERE container_id = ?1",
                [container_id],
            )?;
            tx.execute(
                "DELETE FROM endpoint_ports WHERE container_id = ?1",
                [container_id],
            )?;
            Ok::<_, NetworkError>(())
        })?;
    }
    first_error.map_or(Ok(()), Err)
}

/// The container `network connect`/`disconnect` act on.
#[derive(Debug, Clone, Default)]
pub struct Member<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub network_mode: &'a str,
    /// `--network-alias`/`--ip` given at create, for the mode's network.
    pub aliases: &'a [String],
    pub ipv4: &'a str,
    pub dns_servers: &'a [String],
}

fn check_joinable(network: &Network, member: &Member) -> Result<()> {
    if !network.is_bridge() {
        return Err(NetworkError::Conflict(
            "container cannot be disconnected from host network or connected to host network"
                .into(),
        ));
    }
    if !matches!(Mode::parse(member.network_mode), Mode::Network(_)) {
        return Err(NetworkError::Conflict(
            "container sharing network namespace with another container or host cannot be connected to any other network".into(),
        ));
    }
    Ok(())
}

/// `network connect`: records the attachment and, if the container runs,
/// adds an interface on the network right away.
pub fn connect(
    store: &mut Store,
    network: &str,
    member: &Member,
    aliases: &[String],
    ipv4: &str,
) -> Result<()> {
    let network = networks::find(store.db(), network)?;
    check_joinable(&network, member)?;
    if network.name == DEFAULT_NETWORK && (!aliases.is_empty() || !ipv4.is_empty()) {
        return Err(NetworkError::InvalidArgument(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    let current = container_networks(
        store.db(),
        member.container_id,
        member.network_mode,
        member.aliases,
        member.ipv4,
    )?;
    if current.iter().any(|a| a.network.id == network.id) {
        return Err(NetworkError::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            member.container_name, network.name
        )));
    }
    let is_mode_network = matches!(Mode::parse(member.network_mode), Mode::Network(n)
        if networks::find(store.db(), &n).is_ok_and(|m| m.id == network.id));
    let running = netns::exists(member.container_id);
    let attachment = Attachment {
        network: network.clone(),
        aliases: if is_mode_network {
            member.aliases.to_vec()
        } else {
            aliases.to_vec()
        },
        ipv4: if is_mode_network {
            member.ipv4.to_string()
        } else {
            ipv4.to_string()
        },
    };
    let endpoint = store.write(|tx| {
        set_attachment(
            tx,
            member.container_id,
            &network.id,
            is_mode_network,
            true,
            aliases,
            ipv4,
        )?;
        if !running {
            return Ok::<_, NetworkError>(None);
        }
        let interface = free_interface(tx, member.container_id)?;
        insert_endpoint(
            tx,
            member.container_id,
            member.container_name,
            &attachment,
            &interface,
        )
        .map(Some)
    })?;
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    let wired = netavark::setup(
        &netns::path(member.container_id),
        &Request {
            container_id: member.container_id,
            container_name: member.container_name,
            endpoints: &[&endpoint],
            ports: &[],
            dns_servers: member.dns_servers,
        },
    );
    if let Err(e) = wired {
        release_lease(&endpoint);
        store.write(|tx| {
            tx.execute("DELETE FROM endpoints WHERE id = ?1", [&endpoint.id])?;
            set_attachment(
                tx,
                member.container_id,
                &network.id,
                is_mode_network,
                false,
                &[],
                "",
            )
        })?;
        return Err(e);
    }
    Ok(())
}

/// `network disconnect`: removes the attachment and, if the container runs,
/// its interface (and the published ports, when they were on it).
pub fn disconnect(store: &mut Store, network: &str, member: &Member) -> Result<()> {
    let network = networks::find(store.db(), network)?;
    let current = container_networks(
        store.db(),
        member.container_id,
        member.network_mode,
        member.aliases,
        member.ipv4,
    )?;
    if !current.iter().any(|a| a.network.id == network.id) {
        return Err(NetworkError::Conflict(format!(
            "container {} is not connected to network {}",
            member.container_id, network.name
        )));
    }
    let is_mode_network = matches!(Mode::parse(member.network_mode), Mode::Network(n)
        if networks::find(store.db(), &n).is_ok_and(|m| m.id == network.id));
    let endpoint = endpoints_of_container(store.db(), member.container_id)?
        .into_iter()
        .find(|e| e.network.id == network.id);
    let mut result = Ok(());
    if let Some(e) = &endpoint {
        let ports = if e.interface == "eth0" {
            published_ports(store.db(), member.container_id)?
        } else {
            Vec::new()
        };
        result = netavark::teardown(
            &netns::path(member.container_id),
            &Request {
                container_id: member.container_id,
                container_name: member.container_name,
                endpoints: &[e],
                ports: &ports,
                dns_servers: &[],
            },
        );
    }
    if let Some(e) = &endpoint {
        release_lease(e);
    }
    store.write(|tx| {
        if let Some(e) = &endpoint {
            tx.execute("DELETE FROM endpoints WHERE id = ?1", [&e.id])?;
            if e.interface == "eth0" {
                tx.execute(
                    "DELETE FROM endpoint_ports WHERE container_id = ?1",
                    [member.container_id],
                )?;
            }
        }
        set_attachment(
            tx,
            member.container_id,
            &network.id,
            is_mode_network,
            false,
            &[],
            "",
        )
    })?;
    result
}

/// Records that a container joins (`join`) or leaves a network: for the
/// mode's network only a "left" marker is kept, for others a "connected" row.
fn set_attachment(
    tx: &Transaction,
    container_id: &str,
    network_id: &str,
    is_mode_network: bool,
    join: bool,
    aliases: &[String],
    ipv4: &str,
) -> Result<()> {
    tx.execute(
        "DELETE FROM container_networks WHERE container_id = ?1 AND network_id = ?2",
        params![container_id, network_id],
    )?;
    if is_mode_network == join {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO container_networks (container_id, network_id, connected, aliases, ipv4) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            container_id,
            network_id,
            join,
            serde_json::to_string(aliases).unwrap_or_else(|_| "[]".into()),
            ipv4
        ],
    )?;
    Ok(())
}

fn free_interface(tx: &Transaction, container_id: &str) -> Result<String> {
    let mut stmt = tx.prepare_cached("SELECT interface FROM endpoints WHERE container_id = ?1")?;
    let used: HashSet<String> = stmt
        .query_map([container_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((0..)
        .map(|i| format!("eth{i}"))
        .find(|name| !used.contains(name))
        .unwrap_or_default())
}

/// The container's resolv.conf on DNS-enabled networks: `base` (the host's,
/// filtered) with its nameservers replaced by `nameservers`.
pub fn resolv_conf(base: &str, nameservers: &[Ipv4Addr]) -> String {
    let mut out: String = base
        .lines()
        .filter(|l| !l.trim_start().starts_with("nameserver"))
        .map(|l| format!("{l}\n"))
        .collect();
    for ns in nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_docker_names_them() {
        assert_eq!(Mode::parse(""), Mode::Network("bridge".into()));
        assert_eq!(Mode::parse("default"), Mode::Network("bridge".into()));
        assert_eq!(Mode::parse("host"), Mode::Host);
        assert_eq!(Mode::parse("none"), Mode::None);
        assert_eq!(Mode::parse("container:web"), Mode::Container("web".into()));
        assert_eq!(Mode::parse("mynet"), Mode::Network("mynet".into()));
    }

    #[test]
    fn publish_all_adds_exposed_ports_once() {
        let explicit = [PortBinding {
            host_ip: String::new(),
            host_port: 8000,
            container_port: 80,
            protocol: "tcp".into(),
        }];
        let exposed = ["80/tcp".to_string(), "53/udp".to_string()];
        let spec = SandboxSpec {
            port_bindings: &explicit,
            publish_all: true,
            exposed_ports: &exposed,
            ..Default::default()
        };
        let b = requested_bindings(&spec);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[1].container_port, b[1].host_port, b[1].protocol.as_str()),
            (53, 0, "udp")
        );
    }

    #[test]
    fn resolv_conf_replaces_nameservers_only() {
        let base = "search example.org\nnameserver 1.1.1.1\noptions ndots:2\n";
        assert_eq!(
            resolv_conf(base, &[Ipv4Addr::new(10, 90, 0, 1)]),
            "search example.org\noptions ndots:2\nnameserver 10.90.0.1\n"
        );
    }
}
