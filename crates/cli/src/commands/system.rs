//! `system df [-v]`, `system prune`, `container prune`, `version` and `info`,
//! with Docker's output shapes.
//!
//! Terms of `system df`, as Docker defines them:
//! * an image's **size** is the sum of its layers; its **shared size** the part
//!   in layers other images also use; the images' total counts each layer once;
//! * a container's **size** is its writable layer (`containers/ID/diff`);
//! * a volume's **size** is the apparent size of its `_data`, and its **links**
//!   the containers (any state) that use it;
//! * **active**: images with a container, running containers, volumes with a
//!   link; **reclaimable**: what removing the inactive ones would free.

use std::collections::HashMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use berth_engine::container::{lifecycle};
use berth_container::{model, Container, MountKind, Status};
use berth_store::Store;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::format::{self, print_aligned};
use crate::Ctx;

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
    /// Display system-wide information
    Info(InfoArgs),
}

#[derive(Subcommand, Debug)]
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
    #[arg(long)]
    filter: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ContainerPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long)]
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
    }
}

pub fn dispatch_container(ctx: &Ctx, cmd: ContainerCommand) -> Result<i32> {
    match cmd {
        ContainerCommand::Prune(a) => container_prune(ctx, a),
    }
}

// ---------------------------------------------------------------- system df

struct ImageUsage {
    id: String,
    repo_tags: Vec<String>,
    created: String,
    size: u64,
    shared: u64,
    containers: u64,
}

struct ContainerUsage {
    container: Container,
    size_rw: u64,
}

struct VolumeUsage {
    name: String,
    size: u64,
    links: usize,
}

struct Usage {
    /// Every layer counted once.
    layers_size: u64,
    images: Vec<ImageUsage>,
    containers: Vec<ContainerUsage>,
    volumes: Vec<VolumeUsage>,
}

fn collect_usage(store: &mut Store) -> Result<Usage> {
    let (layer_sizes, image_layers) = layer_table(store)?;
    let mut users_of_layer: HashMap<&str, usize> = HashMap::new();
    for layers in image_layers.values() {
        for l in layers {
            *users_of_layer.entry(l.as_str()).or_default() += 1;
        }
    }
    let layers_size = layer_sizes.values().sum();
    let images = berth_image::list(store)?
        .into_iter()
        .map(|i| {
            let layers = image_layers.get(&i.id).map(Vec::as_slice).unwrap_or(&[]);
            let size_of = |l: &String| layer_sizes.get(l).copied().unwrap_or(0);
            ImageUsage {
                size: layers.iter().map(size_of).sum(),
                shared: layers
                    .iter()
                    .filter(|l| users_of_layer.get(l.as_str()).copied().unwrap_or(0) > 1)
                    .map(size_of)
                    .sum(),
                id: i.id,
                repo_tags: i.repo_tags,
                created: i.created,
                containers: i.containers,
            }
        })
        .collect();

    let mut containers = Vec::new();
    for mut c in model::list(store)? {
        lifecycle::reconcile(store, &mut c)?;
        let upper = model::Paths::of(store, &c.id).upper;
        let size_rw = berth_archive::disk_usage(&upper)
            .with_context(|| format!("size of container {}", c.short_id()))?;
        containers.push(ContainerUsage {
            container: c,
            size_rw,
        });
    }
    containers.sort_by(|a, b| b.container.created_at.cmp(&a.container.created_at));

    let mut volumes = Vec::new();
    for v in berth_volume::list(store)? {
        volumes.push(VolumeUsage {
            links: berth_volume::users(store, &v.name)?.len(),
            size: berth_volume::apparent_size(&v.mountpoint)?,
            name: v.name,
        });
    }
    Ok(Usage {
        layers_size,
        images,
        containers,
        volumes,
    })
}

type LayerSizes = HashMap<String, u64>;
type ImageLayers = HashMap<String, Vec<String>>;

/// Layer sizes by chain id, and each image's layer chain ids.
fn layer_table(store: &Store) -> Result<(LayerSizes, ImageLayers)> {
    let db = store.db();
    let mut stmt = db.prepare("SELECT chain_id, size FROM layers")?;
    let sizes = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<std::result::Result<HashMap<_, _>, _>>()?;
    let mut stmt = db.prepare("SELECT image_id, chain_id FROM image_layers ORDER BY position")?;
    let mut by_image: ImageLayers = HashMap::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (image, layer) = row?;
        by_image.entry(image).or_default().push(layer);
    }
    Ok((sizes, by_image))
}

fn is_active(c: &Container) -> bool {
    matches!(
        c.state.status,
        Status::Running | Status::Paused | Status::Restarting
    )
}

/// "12.3MB (45%)" as the docker CLI prints a reclaimable amount.
fn reclaimable(reclaimable: u64, total: u64) -> String {
    match (reclaimable * 100).checked_div(total) {
        Some(percent) => format!(
            "{} ({percent}%)",
            crate::format::human_size_precise(reclaimable)
        ),
        None => crate::format::human_size_precise(reclaimable),
    }
}

fn summary_rows(u: &Usage) -> Vec<Value> {
    let used_by_images: u64 = u
        .images
        .iter()
        .filter(|i| i.containers > 0)
        .map(|i| i.size.saturating_sub(i.shared))
        .sum();
    let containers_total: u64 = u.containers.iter().map(|c| c.size_rw).sum();
    let containers_idle: u64 = u
        .containers
        .iter()
        .filter(|c| !is_active(&c.container))
        .map(|c| c.size_rw)
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
            u.images.iter().filter(|i| i.containers > 0).count(),
            crate::format::human_size_precise(u.layers_size),
            reclaimable(u.layers_size.saturating_sub(used_by_images), u.layers_size),
        ),
        row(
            "Containers",
            u.containers.len(),
            u.containers
                .iter()
                .filter(|c| is_active(&c.container))
                .count(),
            crate::format::human_size_precise(containers_total),
            reclaimable(containers_idle, containers_total),
        ),
        row(
            "Local Volumes",
            u.volumes.len(),
            u.volumes.iter().filter(|v| v.links > 0).count(),
            crate::format::human_size_precise(volumes_total),
            reclaimable(volumes_idle, volumes_total),
        ),
        row(
            "Build Cache",
            0,
            0,
            crate::format::human_size_precise(0),
            crate::format::human_size_precise(0),
        ),
    ]
}

fn ago(rfc3339: &str) -> String {
    format!(
        "{} ago",
        format::human_duration(format::seconds_since(rfc3339))
    )
}

/// "busybox:latest" -> ("busybox", "latest"); the tag follows the last ':'
/// after the last '/'.
fn split_tag(reference: &str) -> (String, String) {
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(':') {
        Some(i) => (
            reference[..slash + i].to_string(),
            reference[slash + i + 1..].to_string(),
        ),
        None => (reference.to_string(), "<none>".to_string()),
    }
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

fn df(ctx: &Ctx, args: DfArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let usage = collect_usage(&mut store)?;
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

fn print_verbose(u: &Usage) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "Images space usage:\n")?;
    let mut lines = vec![
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS"
            .to_string(),
    ];
    for i in &u.images {
        let (repo, tag) = match i.repo_tags.first() {
            Some(r) => split_tag(r),
            None => ("<none>".into(), "<none>".into()),
        };
        lines.push(format!(
            "{repo}\t{tag}\t{}\t{}\t{}\t{}\t{}\t{}",
            short_id(&i.id),
            ago(&i.created),
            crate::format::human_size(i.size),
            crate::format::human_size_precise(i.shared),
            crate::format::human_size_precise(i.size.saturating_sub(i.shared)),
            i.containers
        ));
    }
    drop(out);
    print_aligned(&lines)?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "\nContainers space usage:\n")?;
    drop(out);
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
            .filter(|m| m.kind == MountKind::Volume && m.driver == "local")
            .count();
        lines.push(format!(
            "{}\t{}\t{:?}\t{local_volumes}\t{}\t{}\t{}\t{}",
            c.short_id(),
            c.image_ref,
            ellipsis(&command, 20),
            crate::format::human_size(cu.size_rw),
            ago(&c.created_at),
            berth_docker::inspect::status_text(c, format::human_duration, format::seconds_since),
            c.name
        ));
    }
    print_aligned(&lines)?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "\nLocal Volumes space usage:\n")?;
    drop(out);
    let mut lines = vec!["VOLUME NAME\tLINKS\tSIZE".to_string()];
    for v in &u.volumes {
        lines.push(format!(
            "{}\t{}\t{}",
            v.name,
            v.links,
            crate::format::human_size_precise(v.size)
        ));
    }
    print_aligned(&lines)?;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nBuild cache usage: {}\n",
        crate::format::human_size_precise(0)
    )?;
    drop(out);
    print_aligned(&["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED".to_string()])
}

// ---------------------------------------------------------------- prunes

/// `label=K[=V]` / `label!=K[=V]` filters, the ones prunes accept here.
fn label_filters(filters: &[String]) -> Result<Vec<berth_volume::LabelFilter>> {
    filters
        .iter()
        .map(|f| {
            let (key, value) = f.split_once('=').unwrap_or((f.as_str(), ""));
            match key {
                "label" => Ok(berth_volume::LabelFilter::new(value, false)),
                "label!" => Ok(berth_volume::LabelFilter::new(value, true)),
                other => bail!("Invalid filter '{other}'"),
            }
        })
        .collect()
}

fn confirm(warning: &str) -> Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Removes every container that is not running and matches the filters;
/// returns their ids and the writable-layer bytes freed.
fn prune_containers(
    store: &mut Store,
    filters: &[berth_volume::LabelFilter],
) -> Result<(Vec<String>, u64)> {
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for mut c in model::list(store)? {
        lifecycle::reconcile(store, &mut c)?;
        if is_active(&c) || !filters.iter().all(|f| f.matches(&c.spec.labels)) {
            continue;
        }
        let upper = model::Paths::of(store, &c.id).upper;
        let size = berth_archive::disk_usage(&upper).unwrap_or(0);
        match lifecycle::remove(store, &c.id, false, false) {
            Ok(()) => {
                deleted.push(c.id.clone());
                reclaimed += size;
            }
            // Started or removed by someone else meanwhile: not ours to prune.
            Err(e) if model::find(store, &c.id).map_or(true, |now| is_active(&now)) => {
                let _ = e;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((deleted, reclaimed))
}

fn container_prune(ctx: &Ctx, args: ContainerPruneArgs) -> Result<i32> {
    let filters = label_filters(&args.filter)?;
    if !args.force && !confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let mut store = ctx.store()?;
    let (deleted, reclaimed) = prune_containers(&mut store, &filters)?;
    let mut out = std::io::stdout().lock();
    if !deleted.is_empty() {
        writeln!(out, "Deleted Containers:")?;
        for id in &deleted {
            writeln!(out, "{id}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        crate::format::human_size_precise(reclaimed)
    )?;
    Ok(0)
}

fn system_prune(ctx: &Ctx, args: SystemPruneArgs) -> Result<i32> {
    let filters = label_filters(&args.filter)?;
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
        if !confirm(&warning)? {
            return Ok(0);
        }
    }
    let mut store = ctx.store()?;
    let mut out = std::io::stdout().lock();
    let mut reclaimed = 0;

    let (containers, freed) = prune_containers(&mut store, &filters)?;
    reclaimed += freed;
    section(&mut out, "Deleted Containers:", &containers)?;

    let networks = berth_network::prune(&mut store)?;
    section(&mut out, "Deleted Networks:", &networks)?;

    if args.volumes {
        let report = berth_volume::prune(&mut store, false, &filters)?;
        reclaimed += report.reclaimed;
        section(&mut out, "Deleted Volumes:", &report.deleted)?;
    }

    let (items, freed) = berth_image::prune(&mut store, args.all)?;
    reclaimed += freed;
    let lines: Vec<String> = items
        .iter()
        .map(|item| match item {
            berth_image::DeleteItem::Untagged(r) => format!("untagged: {r}"),
            berth_image::DeleteItem::Deleted(id) => format!("deleted: {id}"),
        })
        .collect();
    section(&mut out, "Deleted Images:", &lines)?;

    writeln!(
        out,
        "Total reclaimed space: {}",
        crate::format::human_size_precise(reclaimed)
    )?;
    Ok(0)
}

/// One prune report as the docker CLI prints it: title, lines, blank line.
fn section(out: &mut impl Write, title: &str, lines: &[String]) -> Result<()> {
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

/// The API version berth's REST API (berth-api) speaks.
const API_VERSION: &str = "1.45";
const MIN_API_VERSION: &str = "1.24";

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn version(ctx: &Ctx, args: VersionArgs) -> Result<i32> {
    let berth_version = env!("CARGO_PKG_VERSION");
    let value = json!({
        "Client": {
            "Platform": {"Name": "berth"},
            "Version": berth_version,
            "ApiVersion": API_VERSION,
            "DefaultAPIVersion": API_VERSION,
            "GoVersion": "rust",
            "Os": "linux",
            "Arch": arch(),
            "Context": "default",
        },
        "Server": {
            "Platform": {"Name": "berth"},
            "Components": [{"Name": "Engine", "Version": berth_version,
                            "Details": {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                                        "Os": "linux", "Arch": arch(), "KernelVersion": kernel_version()}},
                           {"Name": "runtime", "Version": runtime_version(&ctx.runtime),
                            "Details": {"Path": ctx.runtime}}],
            "Version": berth_version,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "Os": "linux",
            "Arch": arch(),
            "KernelVersion": kernel_version(),
        },
    });
    if let Some(f) = &args.format {
        println!("{}", format::Format::parse(f)?.render(&value)?);
        return Ok(0);
    }
    let server = &value["Server"];
    let mut out = std::io::stdout().lock();
    writeln!(out, "Client:")?;
    for (k, v) in [
        ("Version", berth_version.to_string()),
        ("API version", API_VERSION.to_string()),
        ("OS/Arch", format!("linux/{}", arch())),
        ("Context", "default".to_string()),
    ] {
        writeln!(out, " {:<19}{v}", format!("{k}:"))?;
    }
    writeln!(out, "\nServer: berth")?;
    writeln!(out, " Engine:")?;
    for (k, v) in [
        ("Version", berth_version.to_string()),
        (
            "API version",
            format!("{API_VERSION} (minimum version {MIN_API_VERSION})"),
        ),
        ("OS/Arch", format!("linux/{}", arch())),
        ("Kernel", kernel_version()),
    ] {
        writeln!(out, "  {:<18}{v}", format!("{k}:"))?;
    }
    writeln!(out, " {}:", ctx.runtime)?;
    writeln!(
        out,
        "  {:<18}{}",
        "Version:",
        text(&server["Components"][1]["Version"])
    )?;
    Ok(0)
}

/// `RUNTIME --version`'s version number ("1.1.5+ds1"), or "" if it cannot run.
fn runtime_version(runtime: &str) -> String {
    std::process::Command::new(runtime)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(2))
                .map(String::from)
        })
        .unwrap_or_default()
}

pub fn info(ctx: &Ctx, args: InfoArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let mut containers = model::list(&store)?;
    for c in containers.iter_mut() {
        lifecycle::reconcile(&mut store, c)?;
    }
    let count = |s: Status| containers.iter().filter(|c| c.state.status == s).count();
    let (running, paused) = (count(Status::Running), count(Status::Paused));
    let images = berth_image::list(&store)?.len();
    let volumes = berth_volume::list(&store)?.len();
    let cgroup_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into());
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let value = json!({
        "Containers": containers.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": containers.len() - running - paused,
        "Images": images,
        "Volumes": volumes,
        "Driver": "overlay2",
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Log": ["json-file"]},
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": if cgroup_v2 { "2" } else { "1" },
        "KernelVersion": kernel_version(),
        "OperatingSystem": os,
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": ncpu,
        "MemTotal": mem_total,
        "DockerRootDir": ctx.root,
        "Name": hostname,
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "DefaultRuntime": ctx.runtime,
        "Runtimes": {ctx.runtime.clone(): {"path": ctx.runtime}},
        "SecurityOptions": ["name=seccomp,profile=builtin"],
    });
    if let Some(f) = &args.format {
        println!("{}", format::Format::parse(f)?.render(&value)?);
        return Ok(0);
    }
    let field = |k: &str| match &value[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Client:\n Context:    default\n Debug Mode: false\n\nServer:"
    )?;
    for (indent, label, key) in [
        (1, "Containers", "Containers"),
        (2, "Running", "ContainersRunning"),
        (2, "Paused", "ContainersPaused"),
        (2, "Stopped", "ContainersStopped"),
        (1, "Images", "Images"),
        (1, "Server Version", "ServerVersion"),
        (1, "Storage Driver", "Driver"),
        (1, "Logging Driver", "LoggingDriver"),
        (1, "Cgroup Driver", "CgroupDriver"),
        (1, "Cgroup Version", "CgroupVersion"),
    ] {
        writeln!(out, "{:indent$}{label}: {}", "", field(key))?;
    }
    writeln!(out, " Plugins:")?;
    for (k, v) in [
        ("Volume", "local"),
        ("Network", "bridge host null"),
        ("Log", "json-file"),
    ] {
        writeln!(out, "  {k}: {v}")?;
    }
    for (label, key) in [
        ("Runtimes", "DefaultRuntime"),
        ("Default Runtime", "DefaultRuntime"),
        ("Kernel Version", "KernelVersion"),
        ("Operating System", "OperatingSystem"),
        ("OSType", "OSType"),
        ("Architecture", "Architecture"),
        ("CPUs", "NCPU"),
    ] {
        writeln!(out, " {label}: {}", field(key))?;
    }
    writeln!(
        out,
        " Total Memory: {:.2}GiB",
        mem_total as f64 / (1u64 << 30) as f64
    )?;
    writeln!(out, " Name: {}", field("Name"))?;
    writeln!(out, " Docker Root Dir: {}", ctx.root.display())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_three_sizes_match_go_units() {
        assert_eq!(crate::format::human_size(0), "0B");
        assert_eq!(crate::format::human_size(1_986_000), "1.99MB");
        assert_eq!(crate::format::human_size(116_600_000), "117MB");
        assert_eq!(crate::format::human_size(20_480), "20.5kB");
        assert_eq!(crate::format::human_size(999_999), "1e+03kB");
        assert_eq!(crate::format::human_size(4096), "4.1kB");
        assert_eq!(crate::format::human_size_precise(307_200), "307.2kB");
        assert_eq!(crate::format::human_size_precise(118_600_000), "118.6MB");
        assert_eq!(crate::format::human_size_precise(1_986_000), "1.986MB");
        assert_eq!(crate::format::human_size_precise(20_480), "20.48kB");
        assert_eq!(crate::format::human_size_precise(0), "0B");
    }

    #[test]
    fn reclaimable_has_a_percentage_only_with_a_total() {
        assert_eq!(reclaimable(0, 0), "0B");
        assert_eq!(reclaimable(307_200, 307_200), "307.2kB (100%)");
        assert_eq!(reclaimable(0, 20_480), "0B (0%)");
    }

    #[test]
    fn tags_split_after_the_last_slash() {
        assert_eq!(
            split_tag("busybox:latest"),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            split_tag("localhost:5000/app:1"),
            ("localhost:5000/app".into(), "1".into())
        );
    }
}
