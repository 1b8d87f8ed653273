//! `berth volume create|ls|inspect|rm|prune`, with Docker's flags, output and
//! exit statuses. The volume store itself is `berth_volume`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::{bail, Context, Result};
use berth_volume::{self as volume, LabelFilter, Volume, VolumeError};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::format::{self, Format};
use crate::Ctx;

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(ListArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, default_value = volume::LOCAL_DRIVER)]
    driver: String,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt")]
    opts: Vec<String>,
    /// Set metadata for a volume
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Specify volume name
    #[arg(long = "name", hide = true)]
    name_flag: Option<String>,
    name: Option<String>,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only display volume names
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Provide filter values (e.g. "dangling=true")
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
    names: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    force: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter")]
    filters: Vec<String>,
}

pub fn dispatch(ctx: &Ctx, cmd: VolumeCommand) -> Result<i32> {
    match cmd {
        VolumeCommand::Create(a) => create(ctx, a),
        VolumeCommand::Ls(a) => list(ctx, a),
        VolumeCommand::Inspect(a) => inspect(ctx, a),
        VolumeCommand::Rm(a) => remove(ctx, a),
        VolumeCommand::Prune(a) => prune(ctx, a),
    }
}

/// JSON of a volume for the top-level `inspect`, if `name` is one.
pub fn inspect_value(ctx: &Ctx, name: &str) -> Result<Option<Value>> {
    let store = ctx.store()?;
    match volume::get(&store, name) {
        Ok(v) => Ok(Some(volume::inspect_json(&v))),
        Err(VolumeError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Prints an engine-side failure the way the docker CLI relays dockerd's.
fn daemon_error(e: &VolumeError) -> i32 {
    eprintln!("Error response from daemon: {e}");
    crate::exit::FAILURE
}

/// `KEY=VALUE` (a bare `KEY` means an empty value), as docker's map options.
fn key_values(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|item| {
            let (k, v) = item.split_once('=').unwrap_or((item, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<i32> {
    let name = match (args.name, args.name_flag) {
        (Some(a), Some(b)) if a != b => {
            bail!("conflicting options: either specify --name or provide positional arg, not both")
        }
        (a, b) => a.or(b),
    };
    let mut store = ctx.store()?;
    match volume::create(
        &mut store,
        name.as_deref(),
        &args.driver,
        key_values(&args.opts),
        key_values(&args.labels),
        false,
    ) {
        Ok(v) => {
            println!("{}", v.name);
            Ok(0)
        }
        Err(e) => Ok(daemon_error(&e)),
    }
}

/// `volume ls` filters: different keys must all match; several values of one
/// key match if any does (labels: all must).
struct ListFilter {
    dangling: Option<bool>,
    names: Vec<String>,
    drivers: Vec<String>,
    labels: Vec<LabelFilter>,
}

impl ListFilter {
    fn parse(filters: &[String]) -> Result<ListFilter, VolumeError> {
        let mut f = ListFilter {
            dangling: None,
            names: Vec::new(),
            drivers: Vec::new(),
            labels: Vec::new(),
        };
        for filter in filters {
            let (key, value) = filter
                .split_once('=')
                .ok_or_else(|| VolumeError::InvalidFilter(filter.clone()))?;
            match key.trim().to_ascii_lowercase().as_str() {
                "dangling" => {
                    f.dangling = Some(match value {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(VolumeError::InvalidFilter(format!("dangling=[{value}]"))),
                    })
                }
                "name" => f.names.push(value.to_string()),
                "driver" => f.drivers.push(value.to_string()),
                "label" => f.labels.push(LabelFilter::new(value, false)),
                _ => return Err(VolumeError::InvalidFilter(key.to_string())),
            }
        }
        Ok(f)
    }

    fn matches(&self, v: &Volume, in_use: bool) -> bool {
        self.dangling != Some(in_use)
            && (self.names.is_empty() || self.names.iter().any(|n| v.name.contains(n.as_str())))
            && (self.drivers.is_empty() || self.drivers.contains(&v.driver))
            && self.labels.iter().all(|l| l.matches(&v.labels))
    }
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let filter = match ListFilter::parse(&args.filters) {
        Ok(f) => f,
        Err(e) => return Ok(daemon_error(&e)),
    };
    let store = ctx.store()?;
    let mut selected = Vec::new();
    for v in volume::list(&store)? {
        let in_use = !volume::users(&store, &v.name)?.is_empty();
        if filter.matches(&v, in_use) {
            selected.push(v);
        }
    }
    if args.quiet {
        for v in &selected {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    let rows: Vec<Value> = selected
        .iter()
        .map(|v| {
            json!({
                "Availability": "N/A", "Driver": v.driver, "Group": "N/A",
                "Labels": labels_text(&v.labels), "Links": "N/A", "Mountpoint": v.mountpoint,
                "Name": v.name, "Scope": "local", "Size": "N/A", "Status": "N/A",
            })
        })
        .collect();
    let format = Format::parse(
        args.format
            .as_deref()
            .unwrap_or("table {{.Driver}}\t{{.Name}}"),
    )?;
    let headers = json!({
        "Availability": "AVAILABILITY", "Driver": "DRIVER", "Group": "GROUP", "Labels": "LABELS",
        "Links": "LINKS", "Mountpoint": "MOUNTPOINT", "Name": "VOLUME NAME", "Scope": "SCOPE",
        "Size": "SIZE", "Status": "STATUS",
    });
    format.print_rows(&headers, &rows)?;
    Ok(0)
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let format = args.format.as_deref().map(Format::parse).transpose()?;
    let store = ctx.store()?;
    let mut found = Vec::new();
    let mut status = 0;
    for name in &args.names {
        match volume::get(&store, name) {
            Ok(v) => found.push(volume::inspect_json(&v)),
            Err(e) => status = daemon_error(&e),
        }
    }
    format::print_inspect(format.as_ref(), found)?;
    Ok(status)
}

fn remove(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let mut status = 0;
    for name in &args.names {
        match volume::remove(&mut store, name, args.force) {
            Ok(()) => println!("{name}"),
            Err(e) => status = daemon_error(&e),
        }
    }
    Ok(status)
}

const PRUNE_ANONYMOUS_WARNING: &str =
    "WARNING! This will remove anonymous local volumes not used by at least one container.";
const PRUNE_ALL_WARNING: &str =
    "WARNING! This will remove all local volumes not used by at least one container.";

/// Docker's `[y/N]` prompt; anything but y/Y (or end of input) declines.
fn confirm(warning: &str) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer from stdin")?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let mut labels = Vec::new();
    let mut all = args.all;
    for filter in &args.filters {
        match filter.split_once('=') {
            Some(("label", v)) => labels.push(LabelFilter::new(v, false)),
            Some(("label!", v)) => labels.push(LabelFilter::new(v, true)),
            Some(("all", v)) => {
                if args.all {
                    bail!("conflicting options: cannot specify both --all and --filter all=1");
                }
                all = matches!(v, "1" | "true");
            }
            Some((key, _)) => {
                return Ok(daemon_error(&VolumeError::InvalidFilter(key.to_string())))
            }
            None => return Ok(daemon_error(&VolumeError::InvalidFilter(filter.clone()))),
        }
    }
    if !args.force {
        let warning = if args.all {
            PRUNE_ALL_WARNING
        } else {
            PRUNE_ANONYMOUS_WARNING
        };
        if !confirm(warning)? {
            return Ok(0);
        }
    }
    let mut store = ctx.store()?;
    let report = match volume::prune(&mut store, all, &labels) {
        Ok(r) => r,
        Err(e) => return Ok(daemon_error(&e)),
    };
    if !report.deleted.is_empty() {
        println!("Deleted Volumes:");
        for name in &report.deleted {
            println!("{name}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        crate::format::human_size_precise(report.reclaimed)
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn prune_sizes_use_four_significant_digits() {
        assert_eq!(crate::format::human_size_precise(0), "0B");
        assert_eq!(crate::format::human_size_precise(1234), "1.234kB");
        assert_eq!(crate::format::human_size_precise(1000), "1kB");
        assert_eq!(crate::format::human_size_precise(12_345), "12.35kB");
        assert_eq!(crate::format::human_size_precise(4_261_000), "4.261MB");
    }
}
