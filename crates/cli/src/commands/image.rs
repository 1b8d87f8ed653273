//! Image commands: `images`, `import`, `load`, `save`, `rmi`, `tag`, `history`,
//! `image inspect`, `image prune` — Docker's flags, output and exit codes over
//! berth-image.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use berth_image::{DeleteItem, ImageSummary};
use clap::{ArgAction, Args, Subcommand};
use serde_json::json;

use crate::format::{human_duration, human_size, seconds_since, Format};
use crate::Ctx;

#[derive(Subcommand)]
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
    #[arg(short, long = "filter")]
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
    #[arg(long)]
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
            berth_image::tag(&mut ctx.store()?, &a.source, &a.target)?;
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
    match berth_image::inspect_json(&ctx.store()?, name) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() || e.is_invalid_argument() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
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

fn ago(rfc3339: &str) -> String {
    format!("{} ago", human_duration(seconds_since(rfc3339)))
}

fn glob_match(pattern: &str, text: &str) -> Result<bool> {
    Ok(berth_image::reference::path_match(pattern, text)?)
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

/// Splits a familiar `repo:tag` / `repo@digest` into its repository and the rest.
fn split_familiar(reference: &str, sep: char) -> (String, String) {
    // The tag separator is the last ':' after the last '/' (a registry port is not a tag).
    let slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[slash..].rfind(sep) {
        Some(i) => (
            reference[..slash + i].to_string(),
            reference[slash + i + 1..].to_string(),
        ),
        None => (reference.to_string(), String::new()),
    }
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

/// Docker's `images` filters.
struct ListFilter {
    dangling: Option<bool>,
    references: Vec<String>,
    labels: Vec<(String, Option<String>)>,
}

impl ListFilter {
    fn parse(filters: &[String], positional: Option<&str>) -> Result<ListFilter> {
        let mut f = ListFilter {
            dangling: None,
            references: positional.map(|p| vec![p.to_string()]).unwrap_or_default(),
            labels: Vec::new(),
        };
        for spec in filters {
            let (key, value) = spec
                .split_once('=')
                .ok_or_else(|| anyhow!("bad format of filter (expected name=value)"))?;
            match key.to_ascii_lowercase().as_str() {
                "dangling" => {
                    f.dangling = Some(match value.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => bail!("Invalid filter 'dangling={value}'"),
                    })
                }
                "reference" => f.references.push(value.to_string()),
                "label" => f.labels.push(match value.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (value.to_string(), None),
                }),
                _ => bail!("Invalid filter '{key}'"),
            }
        }
        Ok(f)
    }

    fn keep_image(&self, image: &ImageSummary) -> bool {
        let dangling = image.repo_tags.is_empty() && image.repo_digests.is_empty();
        if self.dangling.is_some_and(|want| want != dangling) {
            return false;
        }
        self.labels
            .iter()
            .all(|(k, v)| match (image.labels.get(k), v) {
                (Some(actual), Some(want)) => actual == want,
                (Some(_), None) => true,
                (None, _) => false,
            })
    }

    /// With reference filters, only rows whose `repo:tag` (or `repo`) match.
    fn keep_row(&self, row: &Row) -> Result<bool> {
        if self.references.is_empty() {
            return Ok(true);
        }
        if row.repository == "<none>" {
            return Ok(false);
        }
        let full = format!("{}:{}", row.repository, row.tag);
        for pattern in &self.references {
            if glob_match(pattern, &full)? || glob_match(pattern, &row.repository)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn list(ctx: &Ctx, args: ListArgs) -> Result<i32> {
    let store = ctx.store()?;
    let filter = ListFilter::parse(&args.filter, args.repository.as_deref())?;
    let mut rows = Vec::new();
    for image in berth_image::list(&store)? {
        if !filter.keep_image(&image) {
            continue;
        }
        for row in rows_of(&image) {
            if filter.keep_row(&row)? {
                rows.push(row);
            }
        }
    }
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
    let opts = berth_image::ImportOptions {
        changes: args.change,
        message: args.message,
        tag: args.reference,
    };
    let mut store = ctx.store()?;
    let id = if args.file == "-" {
        berth_image::import(&mut store, std::io::stdin().lock(), &opts)?
    } else {
        let file =
            std::fs::File::open(&args.file).with_context(|| format!("open {}", args.file))?;
        berth_image::import(&mut store, std::io::BufReader::new(file), &opts)?
    };
    println!("{id}");
    Ok(0)
}

fn load(ctx: &Ctx, args: LoadArgs) -> Result<i32> {
    let mut store = ctx.store()?;
    let loaded = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("open {path}"))?;
            berth_image::load(&mut store, file)?
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("requested load from stdin, but stdin is empty");
            }
            berth_image::load(&mut store, stdin.lock())?
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
    let store = ctx.store()?;
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
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
                berth_image::save(&store, &args.images, &mut writer)?;
                let file = writer
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .context("writing archive")?;
                file.sync_all().context("writing archive")?;
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
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            berth_image::save(&store, &args.images, &mut writer)?;
            writer.flush().context("writing archive")?;
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
    let mut store = ctx.store()?;
    let mut status = 0;
    for name in &args.images {
        match berth_image::remove(&mut store, name, args.force) {
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
    let store = ctx.store()?;
    let items = berth_image::history(&store, &args.image)?;
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

/// Docker's `stringutils.Ellipsis`.
fn ellipsis(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        return s.to_string();
    }
    let mut out: String = chars[..max - 1].iter().collect();
    out.push('…');
    out
}

fn inspect(ctx: &Ctx, args: InspectArgs) -> Result<i32> {
    let store = ctx.store()?;
    let format = args.format.as_deref().map(Format::parse).transpose()?;
    let mut found = Vec::new();
    let mut status = 0;
    for name in &args.images {
        match berth_image::inspect(&store, name) {
            Ok(doc) => found.push(doc),
            Err(e) if e.is_not_found() => {
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
    if let Some(f) = args.filter.first() {
        bail!("Invalid filter '{}'", f.split('=').next().unwrap_or(f));
    }
    if !args.force {
        let warning = if args.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        print!("{warning}\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Ok(0);
        }
    }
    let mut store = ctx.store()?;
    let (items, reclaimed) = berth_image::prune(&mut store, args.all)?;
    let mut out = std::io::stdout().lock();
    if !items.is_empty() {
        writeln!(out, "Deleted Images:")?;
        print_delete_items(&mut out, &items, true)?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        crate::format::human_size_precise(reclaimed)
    )?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_references_split_at_the_tag() {
        assert_eq!(
            split_familiar("busybox:latest", ':'),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            split_familiar("localhost:5000/x:1", ':'),
            ("localhost:5000/x".into(), "1".into())
        );
        assert_eq!(ellipsis(&"x".repeat(50), 45).chars().count(), 45);
    }

    #[test]
    fn reference_filter_is_path_match() {
        assert!(glob_match("busy*", "busybox:latest").unwrap());
        assert!(!glob_match("*", "user/app").unwrap());
        assert!(glob_match("*/*", "user/app").unwrap());
    }
}
