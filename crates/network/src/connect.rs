//! `network connect` and `network disconnect`: a container joins or leaves a
//! network; if it runs, its interface on that network is added or removed
//! right away (otherwise at its next start).

use crate::events;
use std::collections::HashSet;

use berth_store::rusqlite::{params, Transaction};
use berth_store::Store;

use crate::endpoints::{
    container_networks, endpoints_of_container, insert_endpoint, published_ports, release_lease,
    Attachment,
};
use crate::mode::Mode;
use crate::netavark::{self, Request};
use crate::networks::{self, Network};
use crate::{netns, NetworkError, Result, DEFAULT_NETWORK};

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
    let Target {
        network,
        attached,
        is_mode_network,
    } = target(store, network, member)?;
    check_joinable(&network, member)?;
    if network.name == DEFAULT_NETWORK && (!aliases.is_empty() || !ipv4.is_empty()) {
        return Err(NetworkError::InvalidArgument(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    if attached {
        return Err(NetworkError::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            member.container_name, network.name
        )));
    }
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
        // dockerd reports a connect when the endpoint joins (the container
        // runs), a disconnect in either case.
        if !running {
            return Ok::<_, NetworkError>(None);
        }
        events::network(tx, "connect", network.about(), Some(member.container_id))?;
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
            events::network(tx, "disconnect", network.about(), Some(member.container_id))?;
            leave(tx, member.container_id, &network.id, is_mode_network)
        })?;
        return Err(e);
    }
    Ok(())
}

/// `network disconnect`: removes the attachment and, if the container runs,
/// its interface (and the published ports, when they were on it).
pub fn disconnect(store: &mut Store, network: &str, member: &Member) -> Result<()> {
    let Target {
        network,
        attached,
        is_mode_network,
    } = target(store, network, member)?;
    if !attached {
        return Err(NetworkError::Conflict(format!(
            "container {} is not connected to network {}",
            member.container_id, network.name
        )));
    }
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
        events::network(tx, "disconnect", network.about(), Some(member.container_id))?;
        leave(tx, member.container_id, &network.id, is_mode_network)
    })?;
    result
}

/// The network a connect or disconnect names, as the member sees it.
struct Target {
    network: Network,
    /// The member joins it when it starts (or has joined it, running).
    attached: bool,
    /// It is the member's network mode's network.
    is_mode_network: bool,
}

fn target(store: &Store, reference: &str, member: &Member) -> Result<Target> {
    let network = networks::find(store.db(), reference)?;
    let attached = container_networks(
        store.db(),
        member.container_id,
        member.network_mode,
        member.aliases,
        member.ipv4,
    )?
    .iter()
    .any(|a| a.network.id == network.id);
    let is_mode_network = matches!(Mode::parse(member.network_mode), Mode::Network(n)
        if networks::find(store.db(), &n).is_ok_and(|m| m.id == network.id));
    Ok(Target {
        network,
        attached,
        is_mode_network,
    })
}

/// Records that the container left the network.
fn leave(tx: &Transaction, container_id: &str, network_id: &str, is_mode: bool) -> Result<()> {
    set_attachment(tx, container_id, network_id, is_mode, false, &[], "")
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
