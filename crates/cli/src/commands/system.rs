//! `system df [-v]`, `system prune`, `container prune`, `version` and `info`,
//! with Docker's output shapes, over the engine's system operations.
//!
//! In `system df` (sizes as [`berth_engine::system::DiskUsage`] defines them)
//! **active** means images with a container, running containers and volumes
//! with a link; **reclaimable** is what removing the inactive ones would free.

use std::io::Write;

use anyhow::{bail, Result};
use berth_engine::container::prune::ContainerPruneFilter;
use berth_engine::filters::Filters;
use berth_engine::image::DeleteItem;
use berth_engine::system::{DiskUsage, SystemPrune};
use berth_engine::volume::LOCAL_DRIVER;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::format::{self, ago, ellipsis, human_size, human_size_precise, print_aligned, short_id};
use crate::Ctx;

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
    /// Display system-wide information
    Info(InfoArgs),
    /// Check the state root for inconsistencies a crash can leave, and repair them
    Check(super::check::CheckArgs),
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ContainerCommand {
    /// Remove all stopped containers
    Prune(ContainerPruneArgs),
}

#[derive(Args, Debug)]
pub struct DfArgs {
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
}

#[derive(Args, Debug)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long, value_parser = format::filter_flag)]
    filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ContainerPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long, value_parser = format::filter_flag)]
    filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    format: Option<String>,
}

pub fn dispatch(ctx: &Ctx, cmd: SystemCommand) -> Result<i32> {
    match cmd {
        SystemCommand::Df(a) => df(ctx, a),
        SystemCommand::Prune(a) => system_prune(ctx, a),
        SystemCommand::Info(a) => info(ctx, a),
        SystemCommand::Check(a) => super::check::run(ctx, a),
    }
}

pub fn dispatch_container(ctx: &Ctx, cmd: ContainerCommand) -> Result<i32> {
    match cmd {
        ContainerCommand::Prune(a) => container_prune(ctx, a),
    }
}

// ---------------------------------------------------------------- system df

fn is_active(status: berth_engine::model::Status) -> bool {
    use berth_engine::model::Status;
    matches!(
        status,
        Status::Running | Status::Paused | Status::Restarting
    )
}

/// "12.3MB (45%)" as the docker CLI prints a reclaimable amount.
fn reclaimable(reclaimable: u64, total: u64) -> String {
    match (reclaimable * 100).checked_div(total) {
        Some(percent) => format!("{} ({percent}%)", human_size_precise(reclaimable)),
        None => human_size_precise(reclaimable),
    }
}

fn summary_rows(u: &DiskUsage) -> Vec<Value> {
    let used_by_images: u64 = u
        .images
        .iter()
        .filter(|i| i.image.containers > 0)
        .map(|i| i.size.saturating_sub(i.shared))
        .sum();
    let active = |c: &&berth_engine::system::ContainerUsage| is_active(c.container.state.status);
    let containers_total: u64 = u.containers.iter().map(|c| c.size.rw).sum();
    let containers_idle: u64 = u
        .containers
        .iter()
        .filter(|c| !active(c))
        .map(|c| c.size.rw)
        .sum();
    let volumes_total: u64 = u.volumes.iter().map(|v| v.size).sum();
    let volumes_idle: u64 = u
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let row = |kind: &str, total: usize, active: usize, size: String, recl: String| {
        json!({"Type": kind, "TotalCount": total.to_string(), "Active": active.to_string(),
               "Size": size, "Reclaimable": recl})
    };
    vec![
        row(
            "Images",
            u.images.len(),
            u.images.iter().filter(|i| i.image.containers > 0).count(),
            human_size_precise(u.layers_size),
            reclaimable(u.layers_size.saturating_sub(used_by_images), u.layers_size),
        ),
        row(
            "Containers",
            u.containers.len(),
            u.containers.iter().filter(active).count(),
            human_size_precise(containers_total),
            reclaimable(containers_idle, containers_total),
        ),
        row(
            "Local Volumes",
            u.volumes.len(),
            u.volumes.iter().filter(|v| v.links > 0).count(),
            human_size_precise(volumes_total),
            reclaimable(volumes_idle, volumes_total),
        ),
        row(
            "Build Cache",
            0,
            0,
            human_size_precise(0),
            human_size_precise(0),
        ),
    ]
}

fn df(ctx: &Ctx, args: DfArgs) -> Result<i32> {
    let usage = ctx.engine()?.system_df()?;
    if let Some(f) = &args.format {
        if args.verbose {
            bail!("--format is not supported together with --verbose");
        }
        let f = format::Format::parse(f)?;
        let headers = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
                             "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
        f.print_rows(&headers, &summary_rows(&usage))?;
        return Ok(0);
    }
    if !args.verbose {
        let mut lines = vec!["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string()];
        for r in summary_rows(&usage) {
            lines.push(format!(
                "{}\t{}\t{}\t{}\t{}",
                text(&r["Type"]),
                text(&r["TotalCount"]),
                text(&r["Active"]),
                text(&r["Size"]),
                text(&r["Reclaimable"])
            ));
        }
        print_aligned(&lines)?;
        return Ok(0);
    }
    print_verbose(&usage)?;
    Ok(0)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A section title of `system df -v`, then its table.
fn section(title: &str, lines: &[String]) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{title}")?;
    print_aligned(lines)
}

fn print_verbose(u: &DiskUsage) -> Result<()> {
    let mut lines = vec![
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"
            .to_string(),
    ];
    for i in &u.images {
        let (repo, tag) = match i.image.repo_tags.first() {
            Some(r) => match format::split_familiar(r, ':') {
                (repo, tag) if tag.is_empty() => (repo, "<none>".to_string()),
                pair => pair,
            },
            None => ("<none>".into(), "<none>".into()),
        };
        lines.push(format!(
            "{repo}\t{tag}\t{}\t{}\t{}\t{}\t{}\t{}",
            short_id(&i.image.id),
            ago(&i.image.created),
            human_size(i.size),
            human_size_precise(i.shared),
            human_size_precise(i.size.saturating_sub(i.shared)),
            i.image.containers
        ));
    }
    section("Images space usage:\n", &lines)?;

    let mut lines = vec![
        "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES".to_string(),
    ];
    for cu in &u.containers {
        let c = &cu.container;
        let command = std::iter::once(c.spec.path.as_str())
            .chain(c.spec.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let local_volumes = c
            .spec
            .mounts
            .iter()
            .filter(|m| {
                m.kind == berth_engine::model::MountKind::Volume && m.driver == LOCAL_DRIVER
            })
            .count();
        lines.push(format!(
            "{}\t{}\t{:?}\t{local_volumes}\t{}\t{}\t{}\t{}",
            c.short_id(),
            c.image_ref,
            ellipsis(&command, 20),
            human_size(cu.size.rw),
            ago(&c.created_at),
            berth_docker::inspect::status_text(c, format::human_duration, format::seconds_since),
            c.name
        ));
    }
    section("\nContainers space usage:\n", &lines)?;

    let mut lines = vec!["VOLUME NAME\tLINKS\tSIZE".to_string()];
    for v in &u.volumes {
        lines.push(format!(
            "{}\t{}\t{}",
            v.volume.name,
            v.links,
            human_size_precise(v.size)
        ));
    }
    section("\nLocal Volumes space usage:\n", &lines)?;
    section(
        &format!("\nBuild cache usage: {}\n", human_size_precise(0)),
        &["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED".to_string()],
    )
}

// ---------------------------------------------------------------- prunes

fn container_prune(ctx: &Ctx, args: ContainerPruneArgs) -> Result<i32> {
    let filter = ContainerPruneFilter::new(&Filters::parse_flags(&args.filter)?)?;
    if !args.force && !format::confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let report = ctx.engine()?.container_prune(&filter)?;
    let mut out = std::io::stdout().lock();
    report_section(&mut out, "Deleted Containers:", &report.deleted)?;
    writeln!(
        out,
        "Total reclaimed space: {}",
        human_size_precise(report.reclaimed)
    )?;
    Ok(0)
}

fn system_prune(ctx: &Ctx, args: SystemPruneArgs) -> Result<i32> {
    let request = SystemPrune {
        all: args.all,
        volumes: args.volumes,
        filters: Filters::parse_flags(&args.filter)?,
    };
    if !args.force {
        let mut warning = String::from(
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
        );
        if args.volumes {
            warning.push_str("  - all anonymous volumes not used by at least one container\n");
        }
        if args.all {
            warning.push_str(
                "  - all images without at least one container associated to them\n  - all build cache\n",
            );
        } else {
            warning.push_str("  - all dangling images\n  - all dangling build cache\n");
        }
        if !format::confirm(&warning)? {
            return Ok(0);
        }
    }
    let report = ctx.engine()?.system_prune(&request)?;
    let mut out = std::io::stdout().lock();
    report_section(&mut out, "Deleted Containers:", &report.containers)?;
    report_section(&mut out, "Deleted Networks:", &report.networks)?;
    report_section(&mut out, "Deleted Volumes:", &report.volumes)?;
    let images: Vec<String> = report
        .images
        .iter()
        .map(|item| match item {
            DeleteItem::Untagged(r) => format!("untagged: {r}"),
            DeleteItem::Deleted(id) => format!("deleted: {id}"),
        })
        .collect();
    report_section(&mut out, "Deleted Images:", &images)?;
    writeln!(
        out,
        "Total reclaimed space: {}",
        human_size_precise(report.reclaimed)
    )?;
    Ok(0)
}

/// One prune report as the docker CLI prints it: title, lines, blank line.
fn report_section(out: &mut impl Write, title: &str, lines: &[String]) -> Result<()> {
    if !lines.is_empty() {
        writeln!(out, "{title}")?;
        for l in lines {
            writeln!(out, "{l}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- version, info

pub fn version(ctx: &Ctx, args: VersionArgs) -> Result<i32> {
    let v = ctx.engine()?.system_version();
    let value = json!({
        "Client": {
            "Platform": {"Name": "berth"},
            "Version": v.version,
            "ApiVersion": v.api_version,
            "DefaultAPIVersion": v.api_version,
            "GoVersion": "rust",
            "Os": v.os,
            "Arch": v.arch,
            "Context": "default",
        },
        "Server": {
            "Platform": {"Name": "berth"},
            "Components": [{"Name": "Engine", "Version": v.version,
                            "Details": {"ApiVersion": v.api_version, "MinAPIVersion": v.min_api_version,
                                        "Os": v.os, "Arch": v.arch, "KernelVersion": v.kernel_version}},
                           {"Name": "runtime", "Version": v.runtime_version,
                            "Details": {"Path": v.runtime}}],
            "Version": v.version,
            "ApiVersion": v.api_version,
            "MinAPIVersion": v.min_api_version,
            "Os": v.os,
            "Arch": v.arch,
            "KernelVersion": v.kernel_version,
        },
    });
    if let Some(f) = &args.format {
        println!("{}", format::Format::parse(f)?.render(&value)?);
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "Client:")?;
    for (k, val) in [
        ("Version", v.version.to_string()),
        ("API version", v.api_version.to_string()),
        ("OS/Arch", format!("{}/{}", v.os, v.arch)),
        ("Context", "default".to_string()),
    ] {
        writeln!(out, " {:<19}{val}", format!("{k}:"))?;
    }
    writeln!(out, "\nServer: berth")?;
    writeln!(out, " Engine:")?;
    for (k, val) in [
        ("Version", v.version.to_string()),
        (
            "API version",
            format!("{} (minimum version {})", v.api_version, v.min_api_version),
        ),
        ("OS/Arch", format!("{}/{}", v.os, v.arch)),
        ("Kernel", v.kernel_version.clone()),
    ] {
        writeln!(out, "  {:<18}{val}", format!("{k}:"))?;
    }
    writeln!(out, " {}:", v.runtime)?;
    writeln!(out, "  {:<18}{}", "Version:", v.runtime_version)?;
    Ok(0)
}

pub fn info(ctx: &Ctx, args: InfoArgs) -> Result<i32> {
    let i = ctx.engine()?.system_info()?;
    // The document `berth serve` sends, answered by this process.
    let document = berth_docker::info::document(
        &i,
        &berth_docker::info::Answering {
            server_version: env!("CARGO_PKG_VERSION"),
            debug: false,
            events_listeners: 0,
        },
    );
    if let Some(f) = &args.format {
        println!("{}", format::Format::parse(f)?.render(&document)?);
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "Client:\n Context:    default\n Debug Mode: false\n")?;
    berth_docker::info::write_text(&mut out, &document)?;
    // Docker's CLI prints the daemon's warnings last, on stderr.
    for warning in &i.warnings {
        eprintln!("{warning}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reclaimable_has_a_percentage_only_with_a_total() {
        assert_eq!(reclaimable(0, 0), "0B");
        assert_eq!(reclaimable(307_200, 307_200), "307.2kB (100%)");
        assert_eq!(reclaimable(0, 20_480), "0B (0%)");
    }
}
