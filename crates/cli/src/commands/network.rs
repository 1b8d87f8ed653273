//! `berth network create|ls|inspect|rm|prune|connect|disconnect`, with Docker's
//! flags, output and exit statuses, over the engine's network operations.

use std::collections::BTreeMap;

use anyhow::Result;
use berth_engine::filters::Filters;
use berth_engine::network::{
    inspect_json, Network, NetworkConnect, NetworkCreate, NetworkFilter, NetworkPruneFilter,
};
use berth_engine::{ErrorKind, HasKind};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::format::{self, labels_text, Format};
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
    #[arg(short = 'f', long = "filter", value_parser = format::filter_flag)]
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
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_parser = format::filter_flag)]
    filters: Vec<String>,
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
fn daemon_error(e: &berth_engine::Error) -> i32 {
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
    let request = NetworkCreate {
        name: args.name,
        driver: args.driver,
        subnet: args.subnet,
        gateway: args.gateway,
        internal: args.internal,
        labels,
    };
    match ctx.engine()?.network_create(request) {
        Ok(n) => {
            println!("{}", n.id);
            Ok(0)
        }
        Err(e) => Ok(daemon_error(&e)),
    }
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let engine = ctx.engine()?;
    let selected: Vec<Network> = match Filters::parse_flags(&args.filters)
        .and_then(|f| NetworkFilter::new(&f))
        .and_then(|f| engine.network_list(&f))
    {
        Ok(found) => found.into_iter().map(|d| d.network).collect(),
        Err(e) => return Ok(daemon_error(&e)),
    };
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
                "ID": id(n), "Name": n.name, "Driver": n.driver, "Scope": "local",
                "IPv6": "false", "Internal": n.internal.to_string(),
                "Labels": labels_text(&n.labels),
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

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let format = args.format.as_deref().map(Format::parse).transpose()?;
    let engine = ctx.engine()?;
    let mut found = Vec::new();
    let mut status = 0;
    for name in &args.networks {
        match engine.network_inspect(name) {
            Ok(n) => found.push(inspect_json(&n)),
            Err(e) => status = daemon_error(&e),
        }
    }
    format::print_inspect(format.as_ref(), found)?;
    Ok(status)
}

fn remove(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let mut status = 0;
    for name in &args.networks {
        match engine.network_remove(name) {
            Ok(_) => println!("{name}"),
            Err(e) if args.force && e.kind() == ErrorKind::NotFound => {}
            Err(e) => status = daemon_error(&e),
        }
    }
    Ok(status)
}

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let filter = match Filters::parse_flags(&args.filters).and_then(|f| NetworkPruneFilter::new(&f))
    {
        Ok(f) => f,
        Err(e) => return Ok(daemon_error(&e)),
    };
    if !args.force
        && !format::confirm(
            "WARNING! This will remove all custom networks not used by at least one container.",
        )?
    {
        return Ok(0);
    }
    let deleted = match ctx.engine()?.network_prune(&filter) {
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
    let request = NetworkConnect {
        aliases: args.aliases,
        ipv4: args.ip.unwrap_or_default(),
    };
    match ctx
        .engine()?
        .network_connect(&args.network, &args.container, &request)
    {
        Ok(()) => Ok(0),
        Err(e) => Ok(daemon_error(&e)),
    }
}

fn disconnect(ctx: &Ctx, args: DisconnectArgs) -> Result<i32> {
    let _ = args.force;
    match ctx
        .engine()?
        .network_disconnect(&args.network, &args.container)
    {
        Ok(()) => Ok(0),
        Err(e) => Ok(daemon_error(&e)),
    }
}
