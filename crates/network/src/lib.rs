//! Networks, endpoints and published ports: how a container is wired to the
//! host and to other containers.
//!
//! # Terms
//! * A **network** is a row of the `networks` table: a name, a driver and, for
//!   the `bridge` driver, a Linux bridge device with an IPv4 subnet and gateway.
//!   Three are built in, as in Docker: `bridge` (the default: device `berth0`,
//!   10.87.0.0/16, chosen not to collide with docker0's 172.17.0.0/16, podman's
//!   10.88.0.0/16 or podman's user pool 10.89.0.0/16; the daemon config's
//!   `bridge` and `bip` change them, see [`BridgeConfig`]), `host` and `none`. User
//!   networks (`network create`) get the next free /16 of 10.90.0.0–10.127.0.0
//!   that neither another network nor a host route uses — chosen under a
//!   host-wide lock held until the network's bridge (and so its route)
//!   exists, so two berth roots creating networks at once never share one —,
//!   a bridge `berth-<id>`, and name resolution (container names and `--network-alias`es) through
//!   aardvark-dns on their gateway. A container on such a network asks its
//!   own resolver at 127.0.0.11 (see [`Resolver`]), which answers its links'
//!   aliases and passes the rest to aardvark-dns.
//! * A container's **network mode** is `bridge`, `host`, `none`,
//!   `container:NAME` or a user network's name. Networks joined later with
//!   `network connect` (and the mode's network left with `network disconnect`)
//!   are rows of `container_networks`.
//! * An **endpoint** is a container's live attachment to one network while it
//!   runs: an `endpoints` row holding the IPv4 lease (the row *is* the lease —
//!   IPAM is a free-address search in the same transaction that inserts it),
//!   the MAC and the interface name (`eth0`, `eth1`…). Because several berth
//!   roots may share a bridge (the default `berth0`), an address is also
//!   claimed host-wide by a file `/run/berth/leases/<bridge>/<ip>` naming the
//!   container's namespace; a claim whose namespace is not mounted any more
//!   is stale. Leases follow the bridge, not the root's run directory: two
//!   roots with different run directories that share a bridge share its
//!   leases.
//! * A **published port** is an `endpoint_ports` row: host IP, host port (the
//!   one chosen for `-p 80`/`-P` included), container port and protocol. While
//!   the container runs its monitor also holds a socket *bound* (not
//!   listening) to each host port, so no other program can take it, and a port
//!   already taken is found by `bind(2)` before anything is set up.
//! * The **sandbox** is the container's persistent network namespace, a bind
//!   mount of an unshared thread's `/proc/thread-self/ns/net` at
//!   `<run dir>/netns/<container id>` (what `ip netns add` does), with `lo` up.
//!
//! # Lifecycle
//! A bridge network's Linux bridge lives as long as the network: made with
//! its gateway addresses by `network create` (the default bridge: at its
//! first use), again whenever it is missing (after a reboot), and removed
//! with its NAT and forwarding rules by `network rm`/`prune`; a keeper
//! interface stops netavark (networks with name resolution) from deleting
//! it with its last container (see `bridges`).
//!
//! [`setup`] (the monitor, before `runtime create`): create the namespace →
//! reserve host ports and insert endpoint and port rows in one transaction →
//! then, on a thread of its own while the runtime creates the container in
//! that namespace, wire each endpoint: the bridge and the network's rules
//! when missing (once per bridge: `bridges`, `nft::ensure_network`), the
//! veth pair, addresses and routes in-process over netlink (`veth`), then
//! the published ports as one atomic nftables batch in berth's table
//! `inet berth`, also over netlink (`nft`). A network with name resolution
//! still has `netavark setup` make its interface, for aardvark-dns' records.
//! [`Sandbox::ready`] waits for that thread before
//! the container runs, then starts the container's resolver when it is on
//! a network with name resolution (later, by a message to its monitor, if
//! `network connect` puts it on one). A failure at any step undoes the
//! earlier ones, so a refused start leaves no namespace, rule or lease. The
//! resolver stops when the [`Sandbox`] is dropped. [`teardown`] (the monitor
//! after the container exited, or [`lifecycle::reconcile`] after a monitor
//! died) deletes the container's port rules (found by their tag), runs
//! `netavark teardown` only for aardvark-dns records, unmounts and
//! removes the namespace — the kernel destroys the veth with it, in the
//! background — and deletes the rows; each step tolerates being already
//! done, so it can run again. A restarted container goes through `setup`
//! again and gets its ports back.
//!
//! # Why nftables over netlink, and what netavark still does
//! A container's start runs no networking process: netlink requests make
//! its interface, one nftables batch its port rules, and the network's
//! masquerade is set once per bridge. netavark 1.4 ran ~17 `iptables`
//! processes per setup (it checks every rule of the network again),
//! 135–230 ms at load. berth's rules live in its own table, in chains
//! that run just before iptables' NAT chains (see `nft`), so they coexist
//! with Docker's iptables rules; forwarding, which Docker's `FORWARD`
//! policy drops, is accepted by two iptables rules per bridge, set when
//! the bridge gets its rules. netavark (+ aardvark-dns, podman's stack,
//! packaged in Debian 12) remains for networks with name resolution only:
//! aardvark-dns holds their containers' names.
//!
//! [`lifecycle::reconcile`]: ../berth_container/lifecycle/fn.reconcile.html

mod bridges;
mod connect;
mod create;
mod default_bridge;
mod endpoints;
mod events;
mod ipam;
mod mode;
mod netavark;
mod netlink;
mod netns;
mod networks;
mod nft;
mod pasta;
mod ports;
mod quiet_thread;
mod remove;
mod resolver;
mod sandbox;
mod slirp;
mod veth;

use std::path::PathBuf;

pub use connect::{connect, disconnect, join_at_create, undo_connect, Member, CONNECT_MARK};
pub use create::{create, CreateOptions, PoolRequest};
pub use default_bridge::{apply as apply_default_bridge, Applied, BridgeConfig};
pub use endpoints::{
    check_settings, container_networks, endpoints_of_container, endpoints_of_network, lease_files,
    parse_link, parse_mac, published_ports, remove_lease_file, Attachment, Endpoint,
    EndpointSettings, LeaseFile,
};
pub use mode::{Mode, Namespace};
pub use netns::path as netns_path;
pub use networks::{find, list, Ipv6Pool, Network, NetworkConfig};
pub use ports::{parse_publish, PortBinding, PublishedPort};
pub use remove::{prune, remove};
pub use resolver::{dns_nameservers, Resolver, RESOLVER_ADDRESS};
pub use sandbox::{resolv_conf, setup, teardown, Sandbox, SandboxSpec};

/// The default network's name (Docker's).
pub const DEFAULT_NETWORK: &str = "bridge";

/// Errors of networking. I/O errors name their path; netavark's failures carry
/// its own message.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network with name {0} already exists")]
    NameExists(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// Docker's text for a host port taken by another program or container.
    #[error("driver failed programming external connectivity on endpoint {endpoint}: Bind for {host_ip}:{host_port} failed: port is already allocated")]
    PortAllocated {
        endpoint: String,
        host_ip: String,
        host_port: u16,
    },
    #[error("{0}")]
    Conflict(String),
    /// Refused whatever the state (Docker's "forbidden" answers).
    #[error("{0}")]
    Forbidden(String),
    /// Needs a swarm manager, which a single engine never is.
    #[error("{0}")]
    NotSwarmManager(String),
    /// The container's resolver could not be set up.
    #[error("the container's resolver: {0}")]
    Resolver(String),
    /// iproute2's `ip`, making or removing a bridge (see `bridges`).
    #[error("ip: {0}")]
    Ip(String),
    /// pasta or slirp4netns, a rootless berth's network (`pasta.rs`,
    /// `slirp.rs`).
    #[error("{program}: {message}")]
    UserNet {
        program: &'static str,
        message: String,
    },
    #[error("netavark {command}: {message}")]
    Netavark { command: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata database: {0}")]
    Db(#[from] berth_store::rusqlite::Error),
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    #[error(transparent)]
    Lock(#[from] berth_store::LockError),
    #[error(transparent)]
    Mount(#[from] berth_mount::MountError),
}

impl NetworkError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NetworkError::Io {
            path: path.into(),
            source,
        }
    }
}

impl berth_error::HasKind for NetworkError {
    fn kind(&self) -> berth_error::ErrorKind {
        use berth_error::ErrorKind;
        match self {
            NetworkError::NotFound(_) => ErrorKind::NotFound,
            NetworkError::NameExists(_)
            | NetworkError::Conflict(_)
            | NetworkError::PortAllocated { .. } => ErrorKind::Conflict,
            NetworkError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            NetworkError::Forbidden(_) => ErrorKind::Forbidden,
            NetworkError::NotSwarmManager(_) | NetworkError::UserNet { .. } => {
                ErrorKind::Unavailable
            }
            NetworkError::Store(e) => e.kind(),
            NetworkError::Lock(e) => e.kind(),
            NetworkError::Mount(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }
}

pub type Result<T, E = NetworkError> = std::result::Result<T, E>;

/// The default run directory (`--run-dir`): runtime state, on a tmpfs, so
/// that namespaces and netavark's state go with the veths and rules they
/// describe at a reboot. A berth root's own state (namespaces, netavark's
/// config) lives in the run directory it is given; what the whole host shares
/// is kept in this one whatever the run directory ([`host_dir`]).
pub const DEFAULT_RUN_DIR: &str = "/run/berth";

/// Host-wide networking state, shared by every berth root however its run
/// directory is set, because the objects it guards are the host's: the
/// address leases of each bridge (`leases/<bridge>/<ip>`) and the lock that
/// serialises netavark (bridges and iptables chains).
pub(crate) fn host_dir() -> PathBuf {
    PathBuf::from(DEFAULT_RUN_DIR)
}
