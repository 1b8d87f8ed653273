//! Image commands: `images`, `import`, `load`, `save`, `rmi`, `tag`, `history`,
//! `image inspect`, `image prune` — Docker's flags, output and exit codes over
//! the engine's image operations.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use berth_engine::filters::Filters;
use berth_engine::image::{DeleteItem, ImageFilter, ImagePruneFilter, ImageSummary, ImportOptions};
use berth_engine::{ErrorKind, HasKind};
use clap::{ArgAction, Args, Subcommand};
use serde_json::json;

use crate::format::{ago, ellipsis, human_size, short_id, split_familiar, Format};
use crate::Ctx;

#[derive(Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list")]
    Ls(ListArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Remove one or more images
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Remove unused images
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter", value_parser = crate::format::filter_flag)]
    filter: Vec<String>,
    /// Pretty-print images using a Go template
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// REPOSITORY[:TAG]
    repository: Option<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    platform: Option<String>,
    /// file|URL|- (a tar, optionally gzip or zstd compressed)
    file: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    input: Option<String>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Args)]
pub struct TagArgs {
    source: String,
    target: String,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, action = ArgAction::Set, default_value_t = true,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// Pretty-print images using a Go template
    #[arg(long)]
    format: Option<String>,
    image: String,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format the output using the given Go template
    #[arg(short, long)]
    format: Option<String>,
    #[arg(required = true)]
    images: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values
    #[arg(long, value_parser = crate::format::filter_flag)]
    filter: Vec<String>,
}

pub fn dispatch(ctx: &Ctx, cmd: ImageCommand) -> Result<i32> {
    match cmd {
        ImageCommand::Ls(a) => list(ctx, a),
        ImageCommand::Import(a) => import(ctx, a),
        ImageCommand::Load(a) => load(ctx, a),
        ImageCommand::Save(a) => save(ctx, a),
        ImageCommand::Rm(a) => remove(ctx, a),
        ImageCommand::Tag(a) => {
            ctx.engine()?.image_tag(&a.source, &a.target)?;
            Ok(0)
        }
        ImageCommand::History(a) => history(ctx, a),
        ImageCommand::Inspect(a) => inspect(ctx, a),
        ImageCommand::Prune(a) => prune(ctx, a),
    }
}

/// The image's inspect document for the generic `inspect`, `None` if no image
/// has that name.
pub fn inspect_value(ctx: &Ctx, name: &str) -> Result<Option<serde_json::Value>> {
    match ctx.engine()?.image_inspect(name) {
        Ok(v) => Ok(Some(serde_json::to_value(v)?)),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidArgument) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Go's `time.Time.String()` for a UTC time, as `CreatedAt` columns show it.
fn go_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S +0000 UTC")
                .to_string()
        })
        .unwrap_or_default()
}

/// One `images` row.
struct Row {
    id: String,
    repository: String,
    tag: String,
    digest: String,
    created: String,
    size: u64,
    containers: u64,
}

fn rows_of(image: &ImageSummary) -> Vec<Row> {
    let row = |repository: &str, tag: &str, digest: &str| Row {
        id: image.id.clone(),
        repository: repository.to_string(),
        tag: tag.to_string(),
        digest: digest.to_string(),
        created: image.created.clone(),
        size: image.size,
        containers: image.containers,
    };
    let digests: Vec<(String, String)> = image
        .repo_digests
        .iter()
        .map(|d| split_familiar(d, '@'))
        .collect();
    let mut rows = Vec::new();
    for t in &image.repo_tags {
        let (repo, tag) = split_familiar(t, ':');
        let digest = digests
            .iter()
            .find(|(r, _)| *r == repo)
            .map_or("<none>", |(_, d)| d.as_str());
        rows.push(row(&repo, &tag, digest));
    }
    for (repo, digest) in &digests {
        if !image
            .repo_tags
            .iter()
            .any(|t| split_familiar(t, ':').0 == *repo)
        {
            rows.push(row(repo, "<none>", digest));
        }
    }
    if rows.is_empty() {
        rows.push(row("<none>", "<none>", "<none>"));
    }
    rows
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let mut filters = Filters::parse_flags(&args.filter)?;
    // The docker CLI turns `images REPOSITORY[:TAG]` into a reference filter.
    if let Some(repository) = &args.repository {
        filters.add("reference", repository);
    }
    let filter = ImageFilter::new(&filters)?;
    let rows: Vec<Row> = ctx
        .engine()?
        .image_list(&filter)?
        .iter()
        .flat_map(rows_of)
        .collect();
    let _ = args.all; // berth keeps no intermediate images: -a lists the same set.
    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        let mut out = std::io::stdout().lock();
        for row in &rows {
            let id = if args.no_trunc {
                row.id.clone()
            } else {
                short_id(&row.id)
            };
            if seen.insert(id.clone()) {
                writeln!(out, "{id}")?;
            }
        }
        return Ok(0);
    }
    let template = match &args.format {
        Some(f) => f.clone(),
        None if args.digests => {
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                .into()
        }
        None => "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".into(),
    };
    let format = Format::parse(&template)?;
    let headers = json!({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE",
        "UniqueSize": "UNIQUE SIZE",
    });
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "ID": if args.no_trunc { r.id.clone() } else { short_id(&r.id) },
                "Repository": r.repository, "Tag": r.tag, "Digest": r.digest,
                "CreatedSince": ago(&r.created), "CreatedAt": go_time(&r.created),
                "Size": human_size(r.size), "VirtualSize": human_size(r.size),
                "Containers": r.containers.to_string(), "SharedSize": "N/A", "UniqueSize": "N/A",
            })
        })
        .collect();
    format.print_rows(&headers, &values)?;
    Ok(0)
}

fn import(ctx: &Ctx, args: ImportArgs) -> Result<i32> {
    if args.file.contains("://") {
        bail!("importing from a URL is not supported: {}", args.file);
    }
    let opts = ImportOptions {
        changes: args.change,
        message: args.message,
        tag: args.reference,
    };
    let mut engine = ctx.engine()?;
    let id = if args.file == "-" {
        let bar = crate::progress::bytes("Importing", None, false);
        let id = engine.image_import(bar.wrap_read(std::io::stdin().lock()), &opts)?;
        bar.finish();
        id
    } else {
        let file =
            std::fs::File::open(&args.file).with_context(|| format!("open {}", args.file))?;
        let bar =
            crate::progress::bytes("Importing", crate::progress::file_size(&args.file), false);
        let id = engine.image_import(std::io::BufReader::new(bar.wrap_read(file)), &opts)?;
        bar.finish();
        id
    };
    println!("{id}");
    Ok(0)
}

fn load(ctx: &Ctx, args: LoadArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    // `-q` hides the progress only, as Docker's.
    let loaded = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("open {path}"))?;
            let bar =
                crate::progress::bytes("Loading", crate::progress::file_size(path), args.quiet);
            let loaded = engine.image_load(bar.wrap_read(file))?;
            bar.finish();
            loaded
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("requested load from stdin, but stdin is empty");
            }
            let bar = crate::progress::bytes("Loading", None, args.quiet);
            let loaded = engine.image_load(bar.wrap_read(stdin.lock()))?;
            bar.finish();
            loaded
        }
    };
    let mut out = std::io::stdout().lock();
    for image in loaded {
        for (tag, old) in &image.retagged {
            writeln!(
                out,
                "The image {tag} already exists, renaming the old one with ID {old} to empty string"
            )?;
        }
        if image.tags.is_empty() {
            writeln!(out, "Loaded image ID: {}", image.id)?;
        }
        for tag in &image.tags {
            writeln!(out, "Loaded image: {tag}")?;
        }
    }
    Ok(0)
}

fn save(ctx: &Ctx, args: SaveArgs) -> Result<i32> {
    let engine = ctx.engine()?;
    match &args.output {
        Some(path) => {
            // Write next to the target and rename, so a failed save leaves no
            // half-written archive under the requested name.
            let target = Path::new(path);
            let dir = match target.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = dir.join(format!(".{name}.berth-save-{}", std::process::id()));
            let result = (|| -> Result<()> {
                let file = std::fs::File::create(&tmp).with_context(|| {
                    format!("failed to save image: invalid output path: {path}")
                })?;
                let synced = file.try_clone().context("writing archive")?;
                let bar = crate::progress::bytes("Saving", None, false);
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, bar.wrap_write(file));
                engine.image_save(&args.images, &mut writer)?;
                writer.flush().context("writing archive")?;
                drop(writer);
                bar.finish();
                synced.sync_all().context("writing archive")?;
                std::fs::rename(&tmp, target).with_context(|| format!("writing {path}"))
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result?;
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            let bar = crate::progress::bytes("Saving", None, false);
            let mut writer =
                std::io::BufWriter::with_capacity(1 << 20, bar.wrap_write(stdout.lock()));
            engine.image_save(&args.images, &mut writer)?;
            writer.flush().context("writing archive")?;
            bar.finish();
        }
    }
    Ok(0)
}

fn print_delete_items(out: &mut impl Write, items: &[DeleteItem], lower: bool) -> Result<()> {
    for item in items {
        let (word, value) = match item {
            DeleteItem::Untagged(r) => ("Untagged", r),
            DeleteItem::Deleted(id) => ("Deleted", id),
        };
        let word = if lower {
            word.to_lowercase()
        } else {
            word.to_string()
        };
        writeln!(out, "{word}: {value}")?;
    }
    Ok(())
}

fn remove(ctx: &Ctx, args: RmArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let mut status = 0;
    for name in &args.images {
        match engine.image_remove(name, args.force) {
            Ok(items) => print_delete_items(&mut std::io::stdout().lock(), &items, false)?,
            Err(e) => {
                eprintln!("Error: {e}");
                status = 1;
            }
        }
    }
    Ok(status)
}

fn history(ctx: &Ctx, args: HistoryArgs) -> Result<i32> {
    let items = ctx.engine()?.image_history(&args.image)?;
    let id_of = |id: &str| {
        if id == "<missing>" || args.no_trunc {
            id.to_string()
        } else {
            short_id(id)
        }
    };
    if args.quiet {
        let mut out = std::io::stdout().lock();
        for item in &items {
            writeln!(out, "{}", id_of(&item.id))?;
        }
        return Ok(0);
    }
    let template = args.format.clone().unwrap_or_else(|| {
        "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".into()
    });
    let format = Format::parse(&template)?;
    let headers = json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    });
    let values: Vec<serde_json::Value> = items
        .iter()
        .map(|h| {
            let created_by = h.created_by.replace('\t', " ");
            let created_by = if args.no_trunc {
                created_by
            } else {
                ellipsis(&created_by, 45)
            };
            json!({
                "ID": id_of(&h.id),
                "CreatedSince": if args.human { ago(&h.created) } else { h.created.clone() },
                "CreatedAt": if args.human { ago(&h.created) } else { h.created.clone() },
                "CreatedBy": created_by,
                "Size": if args.human { human_size(h.size) } else { h.size.to_string() },
                "Comment": h.comment,
            })
        })
        .collect();
    format.print_rows(&headers, &values)?;
    Ok(0)
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let engine = ctx.engine()?;
    let format = args.format.as_deref().map(Format::parse).transpose()?;
    let mut found = Vec::new();
    let mut status = 0;
    for name in &args.images {
        match engine.image_inspect(name) {
            Ok(doc) => found.push(doc),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                eprintln!("Error: No such image: {name}");
                status = 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    match format {
        Some(f) => {
            let mut out = std::io::stdout().lock();
            for doc in &found {
                writeln!(out, "{}", f.render(&serde_json::to_value(doc)?)?)?;
            }
        }
        None => {
            // Serialized from the struct so fields keep Docker's order.
            let mut buf = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
            serde::Serialize::serialize(&found, &mut ser).context("encoding JSON")?;
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            writeln!(out)?;
        }
    }
    Ok(status)
}

fn prune(ctx: &Ctx, args: PruneArgs) -> Result<i32> {
    let mut filters = Filters::parse_flags(&args.filter)?;
    // As the docker CLI: `-a` is `dangling=false`, its absence `dangling=true`.
    filters.add("dangling", if args.all { "false" } else { "true" });
    let filter = ImagePruneFilter::new(&filters)?;
    if !args.force {
        let warning = if args.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        if !crate::format::confirm(warning)? {
            return Ok(0);
        }
    }
    let report = ctx.engine()?.image_prune(&filter)?;
    let mut out = std::io::stdout().lock();
    if !report.deleted.is_empty() {
        writeln!(out, "Deleted Images:")?;
        print_delete_items(&mut out, &report.deleted, true)?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        crate::format::human_size_precise(report.reclaimed)
    )?;
    Ok(0)
}
