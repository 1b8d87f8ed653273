//! `berth volume create|ls|inspect|rm|prune`, with Docker's flags, output and
//! exit statuses, over the engine's volume operations.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use berth_engine::filters::Filters;
use berth_engine::volume::{
    inspect_json, VolumeCreate, VolumeFilter, VolumePruneFilter, LOCAL_DRIVER,
};
use berth_engine::{ErrorKind, HasKind};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::{volume_data, volume_seed};
use crate::format::{self, labels_text, Format};
use crate::{exit, Ctx};

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
    /// Write a volume's data as a tar (berth)
    Export(volume_data::ExportArgs),
    /// Fill a new or empty volume from a tar (berth)
    Import(volume_data::ImportArgs),
    /// Make a new volume with a copy of another's data (berth)
    Clone(volume_data::CloneArgs),
    /// Rename a volume that no running container uses (berth)
    Rename(volume_data::RenameArgs),
    /// Show what differs between a volume and a directory of an image (berth)
    Diff(volume_seed::DiffArgs),
    /// Copy a directory of an image into an existing volume (berth)
    Seed(volume_seed::SeedArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short = 'd', long, default_value = LOCAL_DRIVER)]
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
    #[arg(short = 'f', long = "filter", value_parser = format::filter_flag)]
    filters: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Display what each volume uses and its size limit (berth extension;
    /// read from the quota accounting for sized volumes)
    #[arg(short = 's', long)]
    size: bool,
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
    #[arg(long = "filter", value_parser = format::filter_flag)]
    filters: Vec<String>,
}

pub fn dispatch(ctx: &Ctx, cmd: VolumeCommand) -> Result<i32> {
    match cmd {
        VolumeCommand::Create(a) => create(ctx, a),
        VolumeCommand::Ls(a) => list(ctx, a),
        VolumeCommand::Inspect(a) => inspect(ctx, a),
        VolumeCommand::Rm(a) => remove(ctx, a),
        VolumeCommand::Prune(a) => prune(ctx, a),
        VolumeCommand::Export(a) => volume_data::export(ctx, a),
        VolumeCommand::Import(a) => volume_data::import(ctx, a),
        VolumeCommand::Clone(a) => volume_data::clone(ctx, a),
        VolumeCommand::Rename(a) => volume_data::rename(ctx, a),
        VolumeCommand::Diff(a) => volume_seed::diff(ctx, a),
        VolumeCommand::Seed(a) => volume_seed::seed(ctx, a),
    }
}

/// JSON of a volume for the top-level `inspect`, if `name` is one.
pub fn inspect_value(ctx: &Ctx, name: &str) -> Result<Option<Value>> {
    match ctx.engine()?.volume_inspect(name) {
        Ok(v) => Ok(Some(inspect_json(&v))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
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
    let request = VolumeCreate {
        name,
        driver: args.driver,
        options: key_values(&args.opts),
        labels: key_values(&args.labels),
        anonymous: false,
    };
    match ctx.engine()?.volume_create(request) {
        Ok(v) => {
            println!("{}", v.name);
            Ok(0)
        }
        Err(e) => Ok(exit::relay(&e)),
    }
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let engine = ctx.engine()?;
    let listed = match Filters::parse_flags(&args.filters)
        .and_then(|f| VolumeFilter::new(&f))
        .and_then(|f| engine.volume_list(&f))
    {
        Ok(listed) => listed,
        Err(e) => return Ok(exit::relay(&e)),
    };
    // As the docker CLI prints the daemon's warnings (a plugin that failed).
    for warning in &listed.warnings {
        eprintln!("{warning}");
    }
    let selected = listed.volumes;
    if args.quiet {
        for v in &selected {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    let mut rows: Vec<Value> = Vec::with_capacity(selected.len());
    for v in &selected {
        let (size, limit) = if args.size {
            match engine.volume_usage(v) {
                Ok(u) => (
                    format::human_size(u.bytes),
                    u.limit.map_or("-".to_string(), format::human_size),
                ),
                Err(e) => return Ok(exit::relay(&e)),
            }
        } else {
            ("N/A".to_string(), String::new())
        };
        let mut row = json!({
            "Availability": "N/A", "Driver": v.driver, "Group": "N/A",
            "Labels": labels_text(&v.labels), "Links": "N/A", "Mountpoint": v.mountpoint,
            "Name": v.name, "Scope": v.scope.as_str(), "Size": size, "Status": "N/A",
        });
        // Only with --size: `--format json` stays Docker's otherwise.
        if args.size {
            row["Limit"] = json!(limit);
        }
        rows.push(row);
    }
    let default_format = if args.size {
        "table {{.Driver}}\t{{.Name}}\t{{.Size}}\t{{.Limit}}"
    } else {
        "table {{.Driver}}\t{{.Name}}"
    };
    let format = Format::parse(args.format.as_deref().unwrap_or(default_format))?;
    let headers = json!({
        "Availability": "AVAILABILITY", "Driver": "DRIVER", "Group": "GROUP", "Labels": "LABELS",
        "Links": "LINKS", "Mountpoint": "MOUNTPOINT", "Name": "VOLUME NAME", "Scope": "SCOPE",
        "Size": "SIZE", "Limit": "LIMIT", "Status": "STATUS",
    });
    format.print_rows(&headers, &rows)?;
    Ok(0)
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let engine = ctx.engine()?;
    format::inspect_each(
        args.format.as_deref(),
        &args.names,
        |name| engine.volume_inspect(name),
        inspect_json,
    )
}

fn remove(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let mut status = 0;
    for name in &args.names {
        match engine.volume_remove(name, args.force) {
            Ok(()) => println!("{name}"),
            Err(e) => status = exit::relay(&e),
        }
    }
    Ok(status)
}

const PRUNE_ANONYMOUS_WARNING: &str =
    "WARNING! This will remove anonymous local volumes not used by at least one container.";
const PRUNE_ALL_WARNING: &str =
    "WARNING! This will remove all local volumes not used by at least one container.";

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let mut filters = Filters::parse_flags(&args.filters)?;
    if args.all {
        // As the docker CLI: `-a` is the filter `all=true`.
        if filters.contains("all") {
            bail!("conflicting options: cannot specify both --all and --filter all=1");
        }
        filters.add("all", "true");
    }
    let filter = match VolumePruneFilter::new(&filters) {
        Ok(f) => f,
        Err(e) => return Ok(exit::relay(&e)),
    };
    if !args.force {
        let warning = if args.all {
            PRUNE_ALL_WARNING
        } else {
            PRUNE_ANONYMOUS_WARNING
        };
        if !format::confirm(warning)? {
            return Ok(0);
        }
    }
    let report = match ctx.engine()?.volume_prune(&filter) {
        Ok(r) => r,
        Err(e) => return Ok(exit::relay(&e)),
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
        format::human_size_precise(report.reclaimed)
    );
    Ok(0)
}
