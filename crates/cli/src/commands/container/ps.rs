//! `ps`, `port` and the container part of `inspect`: views the docker CLI
//! builds from the Engine API's data, built here from the same engine
//! results the API serves.

use std::io::Write;

use anyhow::{bail, Result};
use berth_engine::container::details::ContainerDetails;
use berth_engine::container::list::{ContainerFilter, ListRequest};
use berth_engine::{ErrorKind, HasKind};
use clap::Args;
use serde_json::{json, Value};

use crate::format::{self, Format};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last")]
    last: Option<usize>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    size: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

/// Docker's PORTS column: "0.0.0.0:8000->80/tcp" per published port (runs of
/// consecutive ports as "0.0.0.0:8000-8001->80-81/tcp"), "80/tcp" per port
/// only exposed; empty unless the container runs.
fn ports_text(d: &ContainerDetails) -> String {
    let c = &d.container;
    if !c.state.status.has_monitor() {
        return String::new();
    }
    let mut published = d.networking.published.clone();
    published.sort_by(|a, b| {
        (a.shown_host_ip(), &a.protocol, a.container_port).cmp(&(
            b.shown_host_ip(),
            &b.protocol,
            b.container_port,
        ))
    });
    // (host ip, protocol, first host port, first container port, run length)
    let mut runs: Vec<(String, String, u16, u16, u16)> = Vec::new();
    for p in &published {
        match runs.last_mut() {
            Some((ip, proto, host, container, len))
                if ip == p.shown_host_ip()
                    && *proto == p.protocol
                    && u32::from(*host) + u32::from(*len) == u32::from(p.host_port)
                    && u32::from(*container) + u32::from(*len) == u32::from(p.container_port) =>
            {
                *len += 1
            }
            _ => runs.push((
                p.shown_host_ip().to_string(),
                p.protocol.clone(),
                p.host_port,
                p.container_port,
                1,
            )),
        }
    }
    let range = |start: u16, len: u16| {
        if len > 1 {
            format!("{start}-{}", start + len - 1)
        } else {
            start.to_string()
        }
    };
    let mut parts: Vec<String> = runs
        .iter()
        .map(|(ip, proto, host, container, len)| {
            format!(
                "{ip}:{}->{}/{proto}",
                range(*host, *len),
                range(*container, *len)
            )
        })
        .collect();
    for exposed in &c.spec.exposed_ports {
        if !published.iter().any(|p| &p.port_key() == exposed) {
            parts.push(exposed.clone());
        }
    }
    parts.join(", ")
}

/// The networks the container is on, as the docker CLI lists them: the
/// names of inspect's `NetworkSettings.Networks`, sorted.
fn network_names(d: &ContainerDetails) -> String {
    let doc = berth_docker::inspect::container(d);
    let mut names: Vec<&String> = doc["NetworkSettings"]["Networks"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    names.sort();
    names.into_iter().cloned().collect::<Vec<_>>().join(",")
}

fn ps_row(d: &ContainerDetails, no_trunc: bool) -> Value {
    let c = &d.container;
    let command = std::iter::once(c.spec.path.clone())
        .chain(c.spec.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let command = if no_trunc {
        command
    } else {
        format::ellipsis(&command, 20)
    };
    let size_text = match d.size {
        Some(size) => format!(
            "{} (virtual {})",
            format::human_size(size.rw),
            format::human_size(size.root_fs)
        ),
        None => String::new(),
    };
    let labels = c
        .spec
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mounts = c
        .spec
        .mounts
        .iter()
        .map(|m| {
            if m.name.is_empty() {
                m.source.display().to_string()
            } else {
                format::ellipsis(&m.name, if no_trunc { usize::MAX } else { 15 })
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "ID": if no_trunc { c.id.clone() } else { c.short_id().to_string() },
        "Image": c.image_ref,
        "Command": format!("{command:?}"),
        "CreatedAt": c.created_at,
        "RunningFor": format!("{} ago", format::human_duration(format::seconds_since(&c.created_at))),
        "Ports": ports_text(d),
        "State": c.state.status.as_str(),
        "Status": berth_docker::inspect::status_text(c, format::human_duration, format::seconds_since),
        "Size": size_text,
        "Names": berth_docker::names::ps_names(
            &berth_docker::names::list_names(&c.slash_name(), &d.link_names),
            no_trunc,
        ),
        "Labels": labels,
        "Mounts": mounts,
        "Networks": network_names(d),
    })
}

pub fn ps(ctx: &Ctx, args: PsArgs) -> Result<i32> {
    let filters = crate::commands::filter_pairs(&args.filter)?;
    let request = ListRequest {
        all: args.all,
        limit: if args.latest { Some(1) } else { args.last },
        size: args.size,
        filter: ContainerFilter::parse(filters)?,
    };
    let selected = ctx.engine()?.container_list(&request)?;
    if args.quiet {
        for d in &selected {
            let c = &d.container;
            println!(
                "{}",
                if args.no_trunc {
                    c.id.as_str()
                } else {
                    c.short_id()
                }
            );
        }
        return Ok(0);
    }
    let rows: Vec<Value> = selected.iter().map(|d| ps_row(d, args.no_trunc)).collect();
    let default = if args.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    let format = Format::parse(args.format.as_deref().unwrap_or(default))?;
    let headers = json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
        "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
    });
    format.print_rows(&headers, &rows)?;
    Ok(0)
}

/// JSON of a container for `inspect`, if `name` is one.
pub fn inspect_value(ctx: &Ctx, name: &str, size: bool) -> Result<Option<Value>> {
    match ctx.engine()?.container_inspect(name, size) {
        Ok(d) => Ok(Some(berth_docker::inspect::container(&d))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Args, Debug)]
pub struct PortArgs {
    container: String,
    private_port: Option<String>,
}

/// `port`: a running container's published ports, as "80/tcp -> 0.0.0.0:8000"
/// lines, or with PRIVATE_PORT[/PROTO] just that port's host addresses.
pub fn port(ctx: &Ctx, args: PortArgs) -> Result<i32> {
    // Published ports are only known while the container runs.
    let published = ctx
        .engine()?
        .container_inspect(&args.container, false)?
        .networking
        .published;
    let mut out = std::io::stdout().lock();
    match args.private_port {
        Some(p) => {
            let key = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            let matching: Vec<_> = published.iter().filter(|b| b.port_key() == key).collect();
            if matching.is_empty() {
                bail!("No public port '{key}' published for {}", args.container);
            }
            for b in matching {
                writeln!(out, "{}:{}", b.shown_host_ip(), b.host_port)?;
            }
        }
        None => {
            for b in &published {
                writeln!(
                    out,
                    "{} -> {}:{}",
                    b.port_key(),
                    b.shown_host_ip(),
                    b.host_port
                )?;
            }
        }
    }
    Ok(0)
}
