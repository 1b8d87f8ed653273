//! `berth network create|ls|inspect|rm|prune|connect|disconnect`, with Docker's
//! flags, output and exit statuses. Networks themselves are `berth_network`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::{Context, Result};
use berth_engine::container::lifecycle;
use berth_network::{self as network, Network, NetworkError};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use crate::format::{self, Format};
use crate::Ctx;

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(ListArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Option<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Enable manual container attachment (always possible here)
    #[arg(long)]
    attachable: bool,
    /// Set metadata on a network
    #[arg(long = "label")]
    labels: Vec<String>,
    name: String,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only display network IDs
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter")]
    filters: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    force: bool,
}

#[derive(Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long = "alias")]
    aliases: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    ip: Option<String>,
    network: String,
    container: String,
}

#[derive(Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short = 'f', long)]
    force: bool,
    network: String,
    container: String,
}

pub fn dispatch(ctx: &Ctx, cmd: NetworkCommand) -> Result<i32> {
    match cmd {
        NetworkCommand::Create(a) => create(ctx, a),
        NetworkCommand::Ls(a) => list(ctx, a),
        NetworkCommand::Inspect(a) => inspect(ctx, a),
        NetworkCommand::Rm(a) => remove(ctx, a),
        NetworkCommand::Prune(a) => prune(ctx, a),
        NetworkCommand::Connect(a) => connect(ctx, a),
        NetworkCommand::Disconnect(a) => disconnect(ctx, a),
    }
}

/// Prints an engine-side failure the way the docker CLI relays dockerd's.
fn daemon_error(e: &dyn std::fmt::Display) -> i32 {
    eprintln!("Error response from daemon: {e}");
    crate::exit::FAILURE
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let _ = args.attachable;
    let labels: BTreeMap<String, String> = args
        .labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let mut store = ctx.store()?;
    let opts = network::CreateOptions {
        name: args.name,
        driver: args.driver,
        subnet: args.subnet,
        gateway: args.gateway,
        internal: args.internal,
        labels,
    };
    match network::create(&mut store, opts) {
        Ok(n) => {
            println!("{}", n.id);
            Ok(0)
        }
        Err(e) => Ok(daemon_error(&e)),
    }
}

fn scope(_: &Network) -> &'static str {
    "local"
}

/// `network ls --filter`: driver, id (prefix), name (substring), label (key or
/// key=value), type (builtin/custom).
fn matches_filters(n: &Network, filters: &[(String, String)]) -> Result<bool, String> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    for (key, values) in by_key {
        let ok = match key {
            "driver" => values.iter().any(|v| n.driver == *v),
            "id" => values.iter().any(|v| n.id.starts_with(v)),
            "name" => values.iter().any(|v| n.name.contains(v)),
            "label" => values.iter().all(|v| match v.split_once('=') {
                Some((k, val)) => n.labels.get(k).is_some_and(|x| x == val),
                None => n.labels.contains_key(*v),
            }),
            "type" => values.iter().any(|v| match *v {
                "builtin" => n.is_builtin(),
                "custom" => !n.is_builtin(),
                _ => false,
            }),
            other => return Err(format!("invalid filter '{other}'")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let filters: Vec<(String, String)> = args
        .filters
        .iter()
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let store = ctx.store()?;
    let mut selected = Vec::new();
    for n in network::list(store.db())? {
        match matches_filters(&n, &filters) {
            Ok(true) => selected.push(n),
            Ok(false) => {}
            Err(e) => return Ok(daemon_error(&e)),
        }
    }
    let id = |n: &Network| {
        if args.no_trunc {
            n.id.clone()
        } else {
            n.short_id().to_string()
        }
    };
    if args.quiet {
        for n in &selected {
            println!("{}", id(n));
        }
        return Ok(0);
    }
    let rows: Vec<Value> = selected
        .iter()
        .map(|n| {
            json!({
                "ID": id(n), "Name": n.name, "Driver": n.driver, "Scope": scope(n),
                "IPv6": "false", "Internal": n.internal.to_string(),
                "Labels": n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                "CreatedAt": n.created_at,
            })
        })
        .collect();
    let format = Format::parse(
        args.format
            .as_deref()
            .unwrap_or("table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"),
    )?;
    let headers = json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
    });
    format.print_rows(&headers, &rows)?;
    Ok(0)
}

/// Docker's network inspect shape; `Containers` lists the running ones.
fn inspect_json(store: &berth_store::Store, n: &Network) -> Result<Value> {
    let mut containers = Map::new();
    for e in network::endpoints_of_network(store.db(), &n.id)? {
        containers.insert(
            e.container_id.clone(),
            json!({
                "Name": e.container_name,
                "EndpointID": e.id,
                "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.ipv4, e.prefix_len()),
                "IPv6Address": "",
            }),
        );
    }
    let config: Vec<Value> = match (n.subnet, n.gateway) {
        (Some(s), Some(g)) => vec![json!({"Subnet": s.to_string(), "Gateway": g.to_string()})],
        _ => Vec::new(),
    };
    let options = if n.is_bridge() {
        json!({"com.docker.network.bridge.name": n.interface})
    } else {
        json!({})
    };
    Ok(json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created_at,
        "Scope": scope(n),
        "Driver": n.driver,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": Value::Null, "Config": config},
        "Internal": n.internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels,
    }))
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let format = args.format.as_deref().map(Format::parse).transpose()?;
    let store = ctx.store()?;
    let mut found = Vec::new();
    let mut status = 0;
    for name in &args.networks {
        match network::find(store.db(), name) {
            Ok(n) => found.push(inspect_json(&store, &n)?),
            Err(e) => status = daemon_error(&e),
        }
    }
    format::print_inspect(format.as_ref(), found)?;
    Ok(status)
}

fn remove(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let mut status = 0;
    for name in &args.networks {
        match network::remove(&mut store, name) {
            Ok(_) => println!("{name}"),
            Err(NetworkError::NotFound(_)) if args.force => {}
            Err(e) => status = daemon_error(&e),
        }
    }
    Ok(status)
}

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    if !args.force {
        let mut out = std::io::stdout().lock();
        write!(
            out,
            "WARNING! This will remove all custom networks not used by at least one container.\n\
             Are you sure you want to continue? [y/N] "
        )
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("reading the answer from stdin")?;
        if !matches!(answer.trim(), "y" | "Y") {
            return Ok(0);
        }
    }
    let mut store = ctx.store()?;
    let deleted = match network::prune(&mut store) {
        Ok(d) => d,
        Err(e) => return Ok(daemon_error(&e)),
    };
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for name in &deleted {
            println!("{name}");
        }
        println!();
    }
    Ok(0)
}

fn connect(ctx: &Ctx, args: ConnectArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let c = match lifecycle::lookup(&mut store, &args.container) {
        Ok(c) => c,
        Err(e) => return Ok(daemon_error(&e)),
    };
    let host = &c.spec.host;
    let member = network::Member {
        container_id: &c.id,
        container_name: &c.name,
        network_mode: &host.network_mode,
        aliases: &host.network_aliases,
        ipv4: &host.ipv4_address,
        dns_servers: &host.dns,
    };
    let ip = args.ip.unwrap_or_default();
    if let Err(e) = network::connect(&mut store, &args.network, &member, &args.aliases, &ip) {
        return Ok(daemon_error(&e));
    }
    use_network_dns(&store, &c.id)?;
    Ok(0)
}

/// Once a running container is on a network with name resolution, its
/// resolv.conf points at that network's resolver (as Docker switches to its
/// embedded DNS); aardvark-dns forwards other names to the host's servers.
fn use_network_dns(store: &berth_store::Store, id: &str) -> Result<()> {
    let nameservers: Vec<std::net::Ipv4Addr> = network::endpoints_of_container(store.db(), id)?
        .iter()
        .filter(|e| e.network.dns)
        .filter_map(|e| e.gateway())
        .collect();
    if nameservers.is_empty() {
        return Ok(());
    }
    let path = berth_container::model::Paths::of(store, id).resolv_conf;
    let base = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    // Rewritten in place: the container sees the file through a bind mount.
    std::fs::write(&path, network::resolv_conf(&base, &nameservers))
        .with_context(|| path.display().to_string())?;
    Ok(())
}

fn disconnect(ctx: &Ctx, args: DisconnectArgs) -> Result<i32> {
    let _ = args.force;
    let mut store = ctx.store()?;
    let c = match lifecycle::lookup(&mut store, &args.container) {
        Ok(c) => c,
        Err(e) => return Ok(daemon_error(&e)),
    };
    let host = &c.spec.host;
    let member = network::Member {
        container_id: &c.id,
        container_name: &c.name,
        network_mode: &host.network_mode,
        aliases: &host.network_aliases,
        ipv4: &host.ipv4_address,
        dns_servers: &host.dns,
    };
    match network::disconnect(&mut store, &args.network, &member) {
        Ok(()) => Ok(0),
        Err(e) => Ok(daemon_error(&e)),
    }
}
