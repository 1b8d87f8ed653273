//! A container's networking while it runs: its namespace, its endpoints (one
//! per network, each holding an address lease) and its published ports.
//! [`setup`] builds all of it or nothing; [`teardown`] removes whatever exists.

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use berth_store::rusqlite::{params, Transaction};
use berth_store::Store;

use crate::endpoints::{
    container_networks, endpoints_of_container, insert_endpoint, published_ports, release_lease,
    Endpoint, EndpointSettings,
};
use crate::mode::{Mode, Namespace};
use crate::netavark::Request;
use crate::nft;
use crate::ports::{reserve, PortBinding};
use crate::resolver::{dns_nameservers, Resolver};
use crate::veth;
use crate::{netns, NetworkError, Result};

/// What [`setup`] needs to know about the container.
#[derive(Debug, Clone)]
pub struct SandboxSpec<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub network_mode: &'a str,
    /// For `container:NAME`, the other container's namespace (resolved by the
    /// caller, which knows containers); `None` when it is not running.
    pub joined: Option<Namespace>,
    /// What the container asks of its endpoint on the mode's network.
    pub endpoint: &'a EndpointSettings,
    /// `Config.NetworkDisabled`: no interface but `lo`, whatever the mode.
    pub disabled: bool,
    pub port_bindings: &'a [PortBinding],
    /// `-P`: every exposed port ("80/tcp") not bound otherwise gets a free host port.
    pub publish_all: bool,
    pub exposed_ports: &'a [String],
    pub dns_servers: &'a [String],
}

static NO_SETTINGS: EndpointSettings = EndpointSettings {
    aliases: Vec::new(),
    ipv4_address: String::new(),
    ipv6_address: String::new(),
    link_local_ips: Vec::new(),
    mac_address: String::new(),
    links: Vec::new(),
    driver_opts: std::collections::BTreeMap::new(),
};

impl Default for SandboxSpec<'_> {
    fn default() -> Self {
        SandboxSpec {
            container_id: "",
            container_name: "",
            network_mode: "",
            joined: None,
            endpoint: &NO_SETTINGS,
            disabled: false,
            port_bindings: &[],
            publish_all: false,
            exposed_ports: &[],
            dns_servers: &[],
        }
    }
}

/// The container's networking, set up. Holds the host-port reservations:
/// keep it until the container has exited, then call [`teardown`].
#[derive(Debug)]
pub struct Sandbox {
    pub namespace: Namespace,
    pub endpoints: Vec<Endpoint>,
    _reservations: Vec<OwnedFd>,
    /// The container's own resolver (dropped, it stops: before teardown),
    /// started with its first endpoint on a network with name resolution.
    resolver: Option<Resolver>,
    /// What starting the resolver later needs (`network connect`).
    resolver_start: Option<ResolverStart>,
    /// The thread wiring the endpoints, until [`Sandbox::ready`].
    wiring: Option<std::thread::JoinHandle<Result<()>>>,
    /// The resolver a rootless network's helper serves (slirp4netns's).
    helper_nameserver: Option<Ipv4Addr>,
}

impl Drop for Sandbox {
    /// Waits for the wiring thread: what tears the network down next must
    /// not race it.
    fn drop(&mut self) {
        if let Some(thread) = self.wiring.take() {
            let _ = thread.join();
        }
    }
}

/// The resolver's settings, kept until it starts.
#[derive(Debug)]
struct ResolverStart {
    root: PathBuf,
    container_id: String,
    netns: PathBuf,
    dns_servers: Vec<String>,
}

impl Sandbox {
    fn without_endpoints(namespace: Namespace) -> Sandbox {
        Sandbox {
            namespace,
            endpoints: Vec::new(),
            _reservations: Vec::new(),
            resolver: None,
            resolver_start: None,
            wiring: None,
            helper_nameserver: None,
        }
    }

    /// Waits until the endpoints are wired (see [`setup`]), then starts
    /// the container's resolver when it is on a network with name
    /// resolution (its resolv.conf then names 127.0.0.11; on the default
    /// bridge, as in Docker, there is none). Call it before the container
    /// runs; on failure, drop the sandbox and [`teardown`].
    pub fn ready(&mut self) -> Result<()> {
        let Some(thread) = self.wiring.take() else {
            return Ok(());
        };
        thread
            .join()
            .unwrap_or_else(|_| Err(NetworkError::Conflict("network setup panicked".into())))?;
        if self.nameservers().is_empty() {
            return Ok(());
        }
        self.start_resolver()
    }

    /// Starts the container's resolver unless it runs (or the container
    /// has no namespace of its own): `network connect` to a network with
    /// name resolution, for a container that was on none.
    pub fn start_resolver(&mut self) -> Result<()> {
        if self.resolver.is_some() {
            return Ok(());
        }
        let Some(s) = &self.resolver_start else {
            return Ok(());
        };
        self.resolver = Some(Resolver::start(
            &s.root,
            &s.container_id,
            &s.netns,
            &s.dns_servers,
        )?);
        Ok(())
    }

    /// The container's own address for its hostname in /etc/hosts.
    pub fn primary_ip(&self) -> Option<Ipv4Addr> {
        self.endpoints.first().map(|e| e.ipv4)
    }

    /// Its IPv6 address on an IPv6 network, also in /etc/hosts.
    pub fn primary_ipv6(&self) -> Option<std::net::Ipv6Addr> {
        self.endpoints.first().and_then(|e| e.ipv6)
    }

    /// The resolvers the container must use: its own (see [`Resolver`]) on
    /// a DNS-enabled network, slirp4netns's forwarder behind it (empty:
    /// keep the configured ones).
    pub fn nameservers(&self) -> Vec<Ipv4Addr> {
        if let Some(helper) = self.helper_nameserver {
            return vec![helper];
        }
        dns_nameservers(&self.endpoints)
    }
}

/// Builds the container's networking before its runtime starts: the
/// namespace, host ports reserved and recorded with the endpoints' leases
/// (one transaction), then the endpoints wired on a thread that
/// [`Sandbox::ready`] waits for (the runtime can create the container in
/// the namespace meanwhile). On failure here nothing is left behind; after
/// a failure of `ready`, drop the sandbox and call [`teardown`]. The
/// namespace lives in `run_dir`, the root's run
/// directory.
pub fn setup(store: &mut Store, run_dir: &Path, spec: &SandboxSpec) -> Result<Sandbox> {
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
    teardown(store, run_dir, spec.container_id)?;
    let path = netns::path(run_dir, spec.container_id);
    if mode == Mode::None || spec.disabled {
        netns::create(&path)?;
        return Ok(Sandbox::without_endpoints(Namespace::Path(path)));
    }
    if crate::pasta::applies() {
        return setup_pasta(store, run_dir, spec, &mode, path);
    }
    let attachments = container_networks(
        store.db(),
        spec.container_id,
        spec.network_mode,
        spec.endpoint,
    )?;
    let mut bindings = requested_bindings(spec);
    if let Some(primary) = attachments.first() {
        check_bindings(&mut bindings, &primary.network)?;
    }
    let ipv6 = attachments
        .first()
        .is_some_and(|a| a.network.ipv6().is_some());
    // The namespace comes first: it marks this container's address leases
    // as live for other berth roots sharing the bridge (see `claim_lease`).
    netns::create(&path)?;
    let short_id = &spec.container_id[..12.min(spec.container_id.len())];
    let recorded = store.write(|tx| {
        let mut reservations = Vec::new();
        let mut published = Vec::new();
        let label = format!("{} ({short_id})", spec.container_name);
        for b in &bindings {
            let (fds, port) = reserve(b, &label, ipv6)?;
            let bound = PortBinding {
                host_port: port,
                ..b.clone()
            };
            record_port(tx, spec.container_id, &bound, &label)?;
            reservations.extend(fds);
            published.push(bound);
        }
        let mut endpoints = Vec::new();
        for a in &attachments {
            endpoints.push(insert_endpoint(
                tx,
                run_dir,
                spec.container_id,
                spec.container_name,
                a,
            )?);
        }
        Ok::<_, NetworkError>((endpoints, published, reservations))
    });
    let (endpoints, published, reservations) = match recorded {
        Ok(r) => r,
        Err(e) => {
            let _ = teardown(store, run_dir, spec.container_id);
            return Err(e);
        }
    };
    let mut sandbox = Sandbox {
        namespace: Namespace::Path(path.clone()),
        endpoints,
        _reservations: reservations,
        resolver: None,
        resolver_start: Some(ResolverStart {
            root: store.root().to_path_buf(),
            container_id: spec.container_id.to_string(),
            netns: path.clone(),
            dns_servers: spec.dns_servers.to_vec(),
        }),
        wiring: None,
        helper_nameserver: None,
    };
    // The endpoints are wired on a thread of their own, while the runtime
    // creates the container in the namespace: [`Sandbox::ready`] waits.
    let wiring = Wiring {
        netns: path,
        container_id: spec.container_id.to_string(),
        container_name: spec.container_name.to_string(),
        endpoints: sandbox.endpoints.clone(),
        published,
        dns_servers: spec.dns_servers.to_vec(),
    };
    match std::thread::Builder::new()
        .name("network".into())
        .spawn(move || wiring.run())
    {
        Ok(thread) => sandbox.wiring = Some(thread),
        Err(e) => {
            drop(sandbox);
            let _ = teardown(store, run_dir, spec.container_id);
            return Err(NetworkError::io("network setup thread", e));
        }
    }
    Ok(sandbox)
}

/// A rootless berth's container on the default network: its namespace
/// served by pasta (`pasta.rs`), or slirp4netns where pasta is missing
/// (`slirp.rs`), the published ports recorded as any container's (host
/// ports chosen first, released for the helper to bind).
fn setup_pasta(
    store: &mut Store,
    run_dir: &Path,
    spec: &SandboxSpec,
    mode: &Mode,
    path: PathBuf,
) -> Result<Sandbox> {
    if let Mode::Network(name) = mode {
        crate::pasta::check_network(name)?;
    }
    let bindings = requested_bindings(spec);
    netns::create(&path)?;
    let short_id = &spec.container_id[..12.min(spec.container_id.len())];
    let label = format!("{} ({short_id})", spec.container_name);
    let recorded = store.write(|tx| {
        let mut published = Vec::new();
        for b in &bindings {
            // The reservation only picks a free port (`-p 80`): the helper binds it.
            let (_probe, port) = reserve(b, &label, false)?;
            let bound = PortBinding {
                host_port: port,
                ..b.clone()
            };
            record_port(tx, spec.container_id, &bound, &label)?;
            published.push(bound);
        }
        Ok::<_, NetworkError>(published)
    });
    let pasta = crate::pasta::on_path("pasta");
    let started = recorded.and_then(|published| {
        if pasta {
            crate::pasta::start(run_dir, spec.container_id, &path, &published)
        } else {
            crate::slirp::start(run_dir, spec.container_id, &path, &published)
        }
    });
    if let Err(e) = started {
        let _ = teardown(store, run_dir, spec.container_id);
        return Err(e);
    }
    let mut sandbox = Sandbox::without_endpoints(Namespace::Path(path));
    if !pasta && spec.dns_servers.is_empty() {
        sandbox.helper_nameserver = Some(crate::slirp::NAMESERVER);
    }
    Ok(sandbox)
}

/// What wiring a container's endpoints needs, owned by the thread that
/// does it while the runtime creates the container.
struct Wiring {
    netns: PathBuf,
    container_id: String,
    container_name: String,
    endpoints: Vec<Endpoint>,
    published: Vec<PortBinding>,
    dns_servers: Vec<String>,
}

impl Wiring {
    /// Each endpoint in turn (the first one, the primary, with the
    /// published ports), in-process (see `veth::plug`).
    fn run(self) -> Result<()> {
        for (index, e) in self.endpoints.iter().enumerate() {
            veth::plug(
                &self.netns,
                &Request {
                    container_id: &self.container_id,
                    container_name: &self.container_name,
                    endpoints: &[e],
                    ports: if index == 0 { &self.published } else { &[] },
                    dns_servers: &self.dns_servers,
                },
            )?;
        }
        Ok(())
    }
}

/// Applies the primary network's `host_binding_ipv4` to bindings without
/// an address, and refuses IPv6 host addresses on a network without IPv6
/// (netavark would have no IPv6 address to forward them to).
fn check_bindings(bindings: &mut [PortBinding], primary: &crate::Network) -> Result<()> {
    for b in bindings.iter_mut() {
        if b.host_ip.is_empty() {
            b.host_ip = primary.host_binding_ip().to_string();
        }
        if b.host_ip.parse::<std::net::Ipv6Addr>().is_ok() && primary.ipv6().is_none() {
            return Err(NetworkError::InvalidArgument(format!(
                "cannot publish on IPv6 address {}: network {} has no IPv6 (network create --ipv6)",
                b.host_ip, primary.name
            )));
        }
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

/// Undoes [`setup`]: its published ports' rules, the namespace (and with it, destroyed by the
/// kernel in the background, the veths), then the rows (leases and ports). Each step tolerates being
/// done already, so this can run again after a crash; the first failure is
/// returned once everything was attempted.
pub fn teardown(store: &mut Store, run_dir: &Path, container_id: &str) -> Result<()> {
    let endpoints = endpoints_of_container(store.db(), container_id)?;
    let ports = published_ports(store.db(), container_id)?;
    let path = netns::path(run_dir, container_id);
    crate::pasta::stop(run_dir, container_id);
    crate::slirp::stop(run_dir, container_id);
    let mut first_error = None;
    if !ports.is_empty() {
        if let Err(err) = nft::remove_ports(container_id) {
            first_error.get_or_insert(err);
        }
        berth_store::crash::point("exit", "ports-removed");
    }
    for e in &endpoints {
        release_lease(run_dir, e);
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
