//! `network connect` and `network disconnect`: a container joins or leaves a
//! network; if it runs, its interface on that network is added or removed
//! right away (otherwise at its next start).

use std::path::Path;

use crate::events;
use berth_store::rusqlite::{params, Transaction};
use berth_store::Store;

use crate::endpoints::{
    check_settings, container_networks, endpoints_of_container, insert_endpoint, published_ports,
    release_lease, Attachment, EndpointSettings,
};
use crate::mode::Mode;
use crate::netavark::Request;
use crate::networks::{self, Network};
use crate::{netns, veth, NetworkError, Result};

/// The container `network connect`/`disconnect` act on.
#[derive(Debug, Clone)]
pub struct Member<'a> {
    pub container_id: &'a str,
    pub container_name: &'a str,
    pub network_mode: &'a str,
    /// What it asked of its endpoint on the mode's network at create.
    pub endpoint: &'a EndpointSettings,
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
/// adds an interface on the network right away (`run_dir`: the root's run
/// directory, where its namespace is).
pub fn connect(
    store: &mut Store,
    run_dir: &Path,
    network: &str,
    member: &Member,
    settings: &EndpointSettings,
) -> Result<()> {
    let Target {
        network,
        attached,
        is_mode_network,
    } = target(store, network, member)?;
    check_joinable(&network, member)?;
    check_settings(&network, settings)?;
    if attached {
        return Err(NetworkError::Conflict(format!(
            "endpoint with name {} already exists in network {}",
            member.container_name, network.name
        )));
    }
    let running = netns::exists(run_dir, member.container_id);
    // As in Docker, what this connect asks replaces what was asked at
    // create, also when the container rejoins its mode's network.
    let attachment = Attachment {
        network: network.clone(),
        settings: settings.clone(),
    };
    // From its lease and row to its interface, a running container's
    // connect is marked: killed on the way, the next command undoes it
    // (`undo_connect`).
    let _mark = if running {
        Some(store.mark_unfinished(&connect_mark(member.container_id, &network.id))?)
    } else {
        None
    };
    let endpoint = store.write(|tx| {
        set_attachment(
            tx,
            member.container_id,
            &network.id,
            is_mode_network,
            true,
            settings,
        )?;
        // dockerd reports a connect when the endpoint joins (the container
        // runs), a disconnect in either case.
        if !running {
            return Ok::<_, NetworkError>(None);
        }
        events::network(tx, "connect", network.about(), Some(member.container_id))?;
        insert_endpoint(
            tx,
            run_dir,
            member.container_id,
            member.container_name,
            &attachment,
        )
        .map(Some)
    })?;
    let Some(endpoint) = endpoint else {
        return Ok(());
    };
    berth_store::crash::point("network-connect", "after-commit");
    let path = netns::path(run_dir, member.container_id);
    let request = Request {
        container_id: member.container_id,
        container_name: member.container_name,
        endpoints: &[&endpoint],
        ports: &[],
        dns_servers: member.dns_servers,
    };
    if let Err(e) = veth::plug(&path, &request) {
        let _ = veth::unplug(&path, &request);
        release_lease(run_dir, &endpoint);
        store.write(|tx| {
            tx.execute("DELETE FROM endpoints WHERE id = ?1", [&endpoint.id])?;
            events::network(tx, "disconnect", network.about(), Some(member.container_id))?;
            leave(tx, member.container_id, &network.id, is_mode_network)
        })?;
        return Err(e);
    }
    Ok(())
}

/// The kind of unfinished mark of a running container's `network
/// connect`: `network-connect.CONTAINER.NETWORK` (ids).
pub const CONNECT_MARK: &str = "network-connect.";

fn connect_mark(container_id: &str, network_id: &str) -> String {
    format!("{CONNECT_MARK}{container_id}.{network_id}")
}

/// Undoes a `network connect` of `member` to network `network_id` killed
/// before its interface was plugged (its mark's flag; the mark's kind
/// after [`CONNECT_MARK`] is `CONTAINER.NETWORK`): an attachment that
/// committed is disconnected as `network disconnect` would (its interface,
/// if it was made, removed; the namespace gone, the record only), and the
/// leases the connect claimed for the container on the network's bridge
/// that no endpoint row holds (killed before its commit) are released. So
/// the container's record matches its namespace again; the connect, which
/// never reported success, did not happen.
pub fn undo_connect(
    store: &mut Store,
    run_dir: &Path,
    network_id: &str,
    member: &Member,
) -> Result<()> {
    let network = match networks::find(store.db(), network_id) {
        Ok(n) => n,
        // Removed since: `network rm` refuses a network with endpoints.
        Err(NetworkError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let committed: bool = store.db().query_row(
        "SELECT EXISTS (SELECT 1 FROM container_networks \
         WHERE container_id = ?1 AND network_id = ?2 AND connected)",
        params![member.container_id, network.id],
        |r| r.get(0),
    )?;
    if committed {
        let namespace_gone = !netns::exists(run_dir, member.container_id);
        disconnect(store, run_dir, &network.id, member, namespace_gone)?;
    }
    crate::endpoints::release_unrecorded_leases(store.db(), run_dir, member.container_id, &network)
}

/// `network disconnect`: removes the attachment and, if the container runs,
/// its interface (and the published ports, when they were on it). With
/// `force`, a failure to remove the interface does not fail the command:
/// the attachment and the leases are gone either way.
pub fn disconnect(
    store: &mut Store,
    run_dir: &Path,
    network: &str,
    member: &Member,
    force: bool,
) -> Result<()> {
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
    let endpoints = endpoints_of_container(store.db(), member.container_id)?;
    let primary = endpoints.first().map(|e| e.id.clone());
    let endpoint = endpoints.into_iter().find(|e| e.network.id == network.id);
    let is_primary = endpoint
        .as_ref()
        .is_some_and(|e| Some(&e.id) == primary.as_ref());
    let mut result = Ok(());
    if let Some(e) = &endpoint {
        let ports = if is_primary {
            published_ports(store.db(), member.container_id)?
        } else {
            Vec::new()
        };
        result = veth::unplug(
            &netns::path(run_dir, member.container_id),
            &Request {
                container_id: member.container_id,
                container_name: member.container_name,
                endpoints: &[e],
                ports: &ports,
                dns_servers: &[],
            },
        );
        release_lease(run_dir, e);
    }
    store.write(|tx| {
        if let Some(e) = &endpoint {
            tx.execute("DELETE FROM endpoints WHERE id = ?1", [&e.id])?;
            if is_primary {
                tx.execute(
                    "DELETE FROM endpoint_ports WHERE container_id = ?1",
                    [member.container_id],
                )?;
            }
        }
        events::network(tx, "disconnect", network.about(), Some(member.container_id))?;
        leave(tx, member.container_id, &network.id, is_mode_network)
    })?;
    if force {
        return Ok(());
    }
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
        member.endpoint,
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
    set_attachment(
        tx,
        container_id,
        network_id,
        is_mode,
        false,
        &EndpointSettings::default(),
    )
}

/// Records that a container joins (`join`) or leaves a network: a
/// "connected" row with the endpoint's settings, or for the mode's network a
/// "left" marker (no row: it joins with the settings asked at create).
fn set_attachment(
    tx: &Transaction,
    container_id: &str,
    network_id: &str,
    is_mode_network: bool,
    join: bool,
    settings: &EndpointSettings,
) -> Result<()> {
    tx.execute(
        "DELETE FROM container_networks WHERE container_id = ?1 AND network_id = ?2",
        params![container_id, network_id],
    )?;
    if !join && !is_mode_network {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO container_networks (container_id, network_id, connected, settings) \
         VALUES (?1, ?2, ?3, ?4)",
        params![
            container_id,
            network_id,
            join,
            serde_json::to_string(settings).unwrap_or_else(|_| "{}".into()),
        ],
    )?;
    Ok(())
}

/// At create, in the container's insert transaction: a network of the
/// request's `NetworkingConfig` besides the mode's one, joined at start.
pub fn join_at_create(
    tx: &Transaction,
    container_id: &str,
    network: &Network,
    settings: &EndpointSettings,
) -> Result<()> {
    set_attachment(tx, container_id, &network.id, false, true, settings)
}
