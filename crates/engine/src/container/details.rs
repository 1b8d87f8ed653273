//! What a front end shows about a container beyond its record: its
//! networking as it is now, its layers and its size. Gathered here so that no
//! front end reads the store or the network state itself.

use std::path::{Path, PathBuf};

use berth_container::model::{self, Container, Paths};
use berth_network::{Endpoint, EndpointSettings, Mode, PortBinding};
use berth_store::Store;

use crate::Result;

/// A container with everything `inspect` and `ps` show about it.
#[derive(Debug, Clone)]
pub struct ContainerDetails {
    pub container: Container,
    pub paths: Paths,
    /// The overlay's lower directories, top-most first (inspect's
    /// `GraphDriver.Data.LowerDir`); empty in lists.
    pub lower_dirs: Vec<PathBuf>,
    pub networking: Networking,
    /// Filled when the request asked for sizes.
    pub size: Option<ContainerSize>,
    /// IDs of the container's exec instances (inspect's `ExecIDs`).
    pub exec_ids: Vec<String>,
    /// The legacy link names (`/PARENT/ALIAS`) other containers know this
    /// one by; filled in lists only.
    pub link_names: Vec<String>,
}

/// The container's networking: live endpoints while it runs, the networks it
/// will join otherwise.
#[derive(Debug, Clone, Default)]
pub struct Networking {
    /// The network namespace while the container runs.
    pub sandbox_key: Option<PathBuf>,
    /// Live endpoints, eth0 first (empty unless running).
    pub endpoints: Vec<Endpoint>,
    /// Published ports (empty unless running); a port published on every
    /// address of a container on an IPv6 network is listed for `0.0.0.0`
    /// and for `::`, as Docker lists it.
    pub published: Vec<PortBinding>,
    /// The networks the container is attached to when it is not running
    /// (its mode's network and those it was connected to).
    pub attached: Vec<AttachedNetwork>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedNetwork {
    pub name: String,
    pub id: String,
    /// What the container asked of its endpoint there.
    pub settings: EndpointSettings,
}

pub use crate::container::size::ContainerSize;

/// How much to gather.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Detail {
    pub lower_dirs: bool,
    pub size: bool,
}

pub(crate) fn gather(
    store: &Store,
    run_dir: &Path,
    c: Container,
    detail: Detail,
) -> Result<ContainerDetails> {
    let paths = Paths::of(store, &c.id);
    let lower_dirs = if detail.lower_dirs {
        model::rootfs_lowers(store, &c.id)?
    } else {
        Vec::new()
    };
    let networking = networking(store, run_dir, &c)?;
    let size = if detail.size {
        Some(crate::container::size::size(store, &c).unwrap_or_default())
    } else {
        None
    };
    let exec_ids = crate::container::exec_instances::ids_of(store, &c.id);
    Ok(ContainerDetails {
        container: c,
        paths,
        lower_dirs,
        networking,
        size,
        exec_ids,
        link_names: Vec::new(),
    })
}

fn networking(store: &Store, run_dir: &Path, c: &Container) -> Result<Networking> {
    let db = store.db();
    let host = &c.spec.host;
    let mut n = Networking::default();
    if c.state.status.has_monitor() {
        if let Some(berth_network::Namespace::Path(p)) =
            berth_network::Namespace::of_container(run_dir, &c.id)
        {
            n.sandbox_key = Some(p);
        }
        n.endpoints = berth_network::endpoints_of_container(db, &c.id)?;
        n.published = berth_network::published_ports(db, &c.id)?;
        if n.endpoints.first().is_some_and(|e| e.ipv6.is_some()) {
            n.published = n
                .published
                .into_iter()
                .flat_map(|p| {
                    let v6 = p.host_ip.is_empty().then(|| PortBinding {
                        host_ip: "::".into(),
                        ..p.clone()
                    });
                    std::iter::once(p).chain(v6)
                })
                .collect();
        }
    }
    if n.endpoints.is_empty() {
        n.attached = match Mode::parse(&host.network_mode) {
            Mode::Network(_) => {
                berth_network::container_networks(db, &c.id, &host.network_mode, &host.endpoint)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| AttachedNetwork {
                        name: a.network.name,
                        id: a.network.id,
                        settings: a.settings,
                    })
                    .collect()
            }
            Mode::Host | Mode::None => vec![AttachedNetwork {
                name: host.network_mode.clone(),
                id: berth_network::find(db, &host.network_mode)
                    .map(|n| n.id)
                    .unwrap_or_default(),
                settings: host.endpoint.clone(),
            }],
            Mode::Container(_) => Vec::new(),
        };
    }
    Ok(n)
}
