//! `berth network create|ls|inspect|rm|prune|connect|disconnect`, with Docker's
//! flags, output and exit statuses, over the engine's network operations.

use std::collections::BTreeMap;

use anyhow::Result;
use berth_engine::filters::Filters;
use berth_engine::model::HostSpec;
use berth_engine::network::{
    inspect_json, EndpointSettings, Network, NetworkCreate, NetworkFilter, NetworkPruneFilter,
    PoolRequest,
};
use berth_engine::{ErrorKind, HasKind};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::format::{self, labels_text, Format};
use crate::{exit, Ctx};

// `run`/`create` flags of the container's endpoint and name resolution,
// besides `--network`, `--network-alias`, `--ip`, `--dns` and `--add-host` (a plain
// comment: see CreateFlags).
#[derive(Args, Debug, Clone)]
pub struct EndpointFlags {
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long = "ip6")]
    ip6: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    mac_address: Option<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long = "link-local-ip")]
    link_local_ip: Vec<String>,
    /// Add link to another container
    #[arg(long = "link")]
    link: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    dns_option: Vec<String>,
}

impl EndpointFlags {
    /// Completes a create request's host settings with these flags.
    pub fn apply(&self, host: &mut HostSpec) {
        let e = &mut host.endpoint;
        e.ipv6_address = self.ip6.clone().unwrap_or_default();
        e.mac_address = self.mac_address.clone().unwrap_or_default();
        e.link_local_ips = self.link_local_ip.clone();
        host.links = self.link.clone();
        host.dns_search = self.dns_search.clone();
        host.dns_options = self.dns_option.clone();
    }
}

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
    subnet: Vec<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    ip_range: Vec<String>,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long)]
    gateway: Vec<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address")]
    aux_address: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", default_value = "default")]
    ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt")]
    ipam_opt: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opt: Vec<String>,
    /// Enable or disable IPv6 address assignment
    #[arg(long)]
    ipv6: bool,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Enable manual container attachment
    #[arg(long)]
    attachable: bool,
    /// Create swarm routing-mesh network
    #[arg(long)]
    ingress: bool,
    /// Create a configuration only network
    #[arg(long = "config-only")]
    config_only: bool,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", default_value = "")]
    config_from: String,
    /// Control the network's scope
    #[arg(long, default_value = "")]
    scope: String,
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
    /// driver options for the network
    #[arg(long = "driver-opt")]
    driver_opt: Vec<String>,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long)]
    ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long)]
    ip6: Option<String>,
    /// Add link to another container
    #[arg(long = "link")]
    links: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip")]
    link_local_ip: Vec<String>,
    /// Container MAC address on the network (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    mac_address: Option<String>,
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

/// `KEY=VALUE` flags (`-o`, `--ipam-opt`, `--label`; a bare KEY is "").
fn key_values(flags: &[String]) -> BTreeMap<String, String> {
    flags
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let mut aux = BTreeMap::new();
    for a in &args.aux_address {
        match a.split_once('=') {
            Some((k, v)) => aux.insert(k.to_string(), v.to_string()),
            None => anyhow::bail!("invalid argument \"{a}\" for \"--aux-address\" flag: bad format for key-value pair"),
        };
    }
    let pools = match consolidate_ipam(&args.subnet, &args.ip_range, &args.gateway, &aux) {
        Ok(p) => p,
        Err(message) => {
            eprintln!("{message}");
            return Ok(exit::FAILURE);
        }
    };
    let request = NetworkCreate {
        name: args.name,
        driver: args.driver,
        pools,
        ipam_driver: args.ipam_driver,
        // The docker CLI always sends IPAM options, so inspect shows {}.
        ipam_options: Some(key_values(&args.ipam_opt)),
        options: key_values(&args.opt),
        enable_ipv6: args.ipv6,
        internal: args.internal,
        attachable: args.attachable,
        labels: key_values(&args.labels),
        ingress: args.ingress,
        config_only: args.config_only,
        config_from: args.config_from,
        scope: args.scope,
    };
    match ctx.engine()?.network_create(request) {
        Ok(n) => {
            println!("{}", n.id);
            Ok(0)
        }
        Err(e) => Ok(exit::relay(&e)),
    }
}

/// The docker CLI's `consolidateIpam`: each `--ip-range`, `--gateway` and
/// `--aux-address` goes with the `--subnet` that contains it, with its
/// messages when one has none or a subnet gets two.
fn consolidate_ipam(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> std::result::Result<Vec<PoolRequest>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    let contains = |subnet: &str, other: &str| -> std::result::Result<bool, String> {
        let bits = |text: &str| -> Option<(u128, u32, bool)> {
            let ip = text.split('/').next()?;
            Some(match ip.parse::<std::net::IpAddr>().ok()? {
                std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32, true),
                std::net::IpAddr::V6(v6) => (u128::from(v6), 128, false),
            })
        };
        let bad = |t: &str| format!("invalid CIDR address: {t}");
        let (net, width, v4) = bits(subnet).ok_or_else(|| bad(subnet))?;
        let prefix: u32 = match subnet.split_once('/') {
            Some((_, p)) => p
                .parse()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| bad(subnet))?,
            None => width,
        };
        let (ip, _, ip_v4) = bits(other).ok_or_else(|| bad(other))?;
        let mask = if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        };
        Ok(v4 == ip_v4 && (net & mask) == (ip & mask))
    };
    let mut pools: Vec<PoolRequest> = Vec::new();
    for s in subnets {
        for p in &pools {
            if contains(s, &p.subnet)? || contains(&p.subnet, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        pools.push(PoolRequest {
            subnet: s.clone(),
            ..Default::default()
        });
    }
    for r in ranges {
        let mut matched = false;
        for p in pools.iter_mut() {
            if !contains(&p.subnet, r)? {
                continue;
            }
            if !p.ip_range.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    p.ip_range, p.subnet
                ));
            }
            p.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for p in pools.iter_mut() {
            if !contains(&p.subnet, g)? {
                continue;
            }
            if !p.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    p.gateway, p.subnet
                ));
            }
            p.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (key, address) in aux {
        let mut matched = false;
        for p in pools.iter_mut() {
            if contains(&p.subnet, address)? {
                p.aux_addresses.insert(key.clone(), address.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {address}"));
        }
    }
    Ok(pools)
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let engine = ctx.engine()?;
    let selected: Vec<Network> = match Filters::parse_flags(&args.filters)
        .and_then(|f| NetworkFilter::new(&f))
        .and_then(|f| engine.network_list(&f))
    {
        Ok(found) => found.into_iter().map(|d| d.network).collect(),
        Err(e) => return Ok(exit::relay(&e)),
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
                "IPv6": n.ipv6().is_some().to_string(), "Internal": n.internal.to_string(),
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
    let engine = ctx.engine()?;
    format::inspect_each(
        args.format.as_deref(),
        &args.networks,
        |name| engine.network_inspect(name),
        inspect_json,
    )
}

fn remove(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let mut status = 0;
    for name in &args.networks {
        match engine.network_remove(name) {
            Ok(_) => println!("{name}"),
            Err(e) if args.force && e.kind() == ErrorKind::NotFound => {}
            Err(e) => status = exit::relay(&e),
        }
    }
    Ok(status)
}

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let filter = match Filters::parse_flags(&args.filters).and_then(|f| NetworkPruneFilter::new(&f))
    {
        Ok(f) => f,
        Err(e) => return Ok(exit::relay(&e)),
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
        Err(e) => return Ok(exit::relay(&e)),
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
    let settings = EndpointSettings {
        aliases: args.aliases,
        ipv4_address: args.ip.unwrap_or_default(),
        ipv6_address: args.ip6.unwrap_or_default(),
        link_local_ips: args.link_local_ip,
        links: args.links,
        driver_opts: key_values(&args.driver_opt),
        mac_address: args.mac_address.unwrap_or_default(),
    };
    match ctx
        .engine()?
        .network_connect(&args.network, &args.container, &settings)
    {
        Ok(()) => Ok(0),
        Err(e) => Ok(exit::relay(&e)),
    }
}

fn disconnect(ctx: &Ctx, args: DisconnectArgs) -> Result<i32> {
    match ctx
        .engine()?
        .network_disconnect(&args.network, &args.container, args.force)
    {
        Ok(()) => Ok(0),
        Err(e) => Ok(exit::relay(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipam_flags_consolidate_as_the_docker_cli_does() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let aux = BTreeMap::from([("a".to_string(), "10.1.5.1".to_string())]);
        let pools = consolidate_ipam(
            &v(&["10.1.0.0/16", "fd00:1::/64"]),
            &v(&["10.1.5.0/24"]),
            &v(&["fd00:1::ffff"]),
            &aux,
        )
        .unwrap();
        assert_eq!(pools[0].ip_range, "10.1.5.0/24");
        assert_eq!(pools[0].aux_addresses["a"], "10.1.5.1");
        assert_eq!(pools[1].gateway, "fd00:1::ffff");
        assert_eq!(
            consolidate_ipam(&[], &[], &v(&["10.1.0.1"]), &BTreeMap::new()).unwrap_err(),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            consolidate_ipam(
                &v(&["10.1.0.0/16"]),
                &[],
                &v(&["10.2.0.1"]),
                &BTreeMap::new()
            )
            .unwrap_err(),
            "no matching subnet for gateway 10.2.0.1"
        );
    }
}
