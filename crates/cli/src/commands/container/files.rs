//! A container's files: `cp`, `diff`, `commit` and `export`.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use berth_engine::container::commit::CommitRequest;
use berth_engine::container::cp::{CopyMount, CopyOptions};
use clap::{ArgAction, Args};

use crate::Ctx;

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short = 'q', long)]
    quiet: bool,
    src: String,
    dest: String,
}

/// Splits "CONTAINER:PATH"; a local path containing ':' must start with '/' or '.' (Docker's rule).
fn split_container_path(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':')
}

pub fn cp(ctx: &Ctx, args: CpArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    let opts = CopyOptions {
        follow_link: args.follow_link,
        archive: args.archive,
        // Docker's CLI always asks for this when it extracts a tar.
        no_overwrite_dir_non_dir: true,
    };
    match (
        split_container_path(&args.src),
        split_container_path(&args.dest),
    ) {
        (Some(_), Some(_)) => bail!("copying between containers is not supported"),
        (None, None) => bail!("must specify at least one container source"),
        (Some((container, path)), None) => {
            let mount = if args.dest == "-" {
                let out = std::io::stdout().lock();
                engine.container_archive_out(container, path, opts, out)?
            } else {
                let bar = crate::progress::Copy::new("Copying from container", args.quiet);
                let mount =
                    engine.container_copy_out(container, path, args.dest.as_ref(), opts, &bar)?;
                bar.finish(&args.dest);
                mount
            };
            note_mount("from", mount);
        }
        (None, Some((container, path))) => {
            let mount = if args.src == "-" {
                let input = std::io::stdin().lock();
                engine.container_archive_in(container, path, opts, input)?
            } else {
                let src = PathBuf::from(&args.src);
                if std::fs::symlink_metadata(&src).is_err() {
                    bail!("lstat {}: no such file or directory", src.display());
                }
                let bar = crate::progress::Copy::new("Copying to container", args.quiet);
                let mount = engine.container_copy_in(container, &src, path, opts, &bar)?;
                bar.finish(&args.dest);
                mount
            };
            note_mount("into", mount);
        }
    }
    Ok(0)
}

/// berth's note on stderr (Docker prints none) when a copy went through a
/// mount of the container, so a user need not guess whether a file landed
/// in a volume or in the layer a volume hides; stdout stays as Docker's.
fn note_mount(direction: &str, mount: Option<CopyMount>) {
    let Some(mount) = mount else { return };
    let note = match mount {
        CopyMount::Volume {
            name,
            subpath,
            destination,
        } if subpath.is_empty() => {
            format!("copied {direction} volume {name} (mounted at {destination})")
        }
        CopyMount::Volume {
            name,
            subpath,
            destination,
        } => format!("copied {direction} volume {name}, subpath {subpath} (mounted at {destination})"),
        CopyMount::Bind {
            source,
            destination,
        } => format!(
            "copied {direction} bind mount {} (mounted at {destination})",
            source.display()
        ),
        CopyMount::Tmpfs { destination } => format!(
            "copied {direction} the tmpfs mounted at {destination} (gone when the container stops)"
        ),
        CopyMount::UnderTmpfs { destination } => format!(
            "copied {direction} the container's layer under {destination}, which its tmpfs hides while it runs"
        ),
        CopyMount::Image { image, destination } => {
            format!("copied {direction} image {image} (mounted at {destination})")
        }
    };
    eprintln!("{note}");
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    container: String,
}

pub fn diff(ctx: &Ctx, args: DiffArgs) -> Result<i32> {
    for change in ctx.engine()?.container_diff(&args.container)? {
        println!("{} {}", change.kind, change.path);
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long)]
    change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long)]
    message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pause: bool,
    container: String,
    repository: Option<String>,
}

pub fn commit(ctx: &Ctx, args: CommitArgs) -> Result<i32> {
    let req = CommitRequest {
        reference: args.repository,
        changes: args.change,
        message: args.message.unwrap_or_default(),
        author: args.author.unwrap_or_default(),
        pause: args.pause,
    };
    let id = ctx.engine()?.container_commit(&args.container, &req)?;
    println!("{id}");
    Ok(0)
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    container: String,
}

pub fn export(ctx: &Ctx, args: ExportArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    match &args.output {
        Some(path) => {
            let tmp = path.with_extension("berth-partial");
            let file =
                std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            let bar = crate::progress::bytes("Exporting", None, false);
            let result = engine.container_export(
                &args.container,
                std::io::BufWriter::new(bar.wrap_write(file)),
            );
            bar.finish();
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
        }
        None => {
            if crate::term::stdout_is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            let bar = crate::progress::bytes("Exporting", None, false);
            engine.container_export(&args.container, bar.wrap_write(std::io::stdout().lock()))?;
            bar.finish();
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_paths() {
        assert_eq!(split_container_path("web:/etc"), Some(("web", "/etc")));
        assert_eq!(split_container_path("./a:b"), None);
        assert_eq!(split_container_path("/tmp/x"), None);
    }
}
