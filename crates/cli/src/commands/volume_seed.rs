//! `berth volume diff|seed`: a volume compared with, and re-seeded from, a
//! directory of an image (berth's own verbs: Docker seeds a volume only when
//! it is empty, at its first mount).

use anyhow::Result;
use berth_engine::container::diff::ChangeKind;
use berth_engine::volume::{SeedPolicy, VolumeSeed};
use clap::Args;

use crate::Ctx;

#[derive(Args)]
pub struct DiffArgs {
    volume: String,
    /// The image and the absolute path in it, e.g. nginx:/etc/nginx
    #[arg(value_name = "IMAGE:PATH")]
    source: String,
}

#[derive(Args)]
pub struct SeedArgs {
    /// Copy only what the volume lacks; keep every file it has (the default)
    #[arg(long, conflicts_with = "overwrite")]
    only_missing: bool,
    /// Also replace what differs from the image with the image's version
    #[arg(long)]
    overwrite: bool,
    /// Freeze running containers that write to the volume during the copy
    #[arg(long)]
    pause: bool,
    /// Print nothing
    #[arg(short = 'q', long)]
    quiet: bool,
    volume: String,
    /// The image and the absolute path in it, e.g. nginx:/etc/nginx
    #[arg(value_name = "IMAGE:PATH")]
    source: String,
}

/// One line per difference, as `docker diff` prints a container's: `A`
/// only in the volume, `C` in both and different, `D` only in the image.
pub fn diff(ctx: &Ctx, args: DiffArgs) -> Result<i32> {
    match ctx.engine()?.volume_diff(&args.volume, &args.source) {
        Ok(changes) => {
            for change in changes {
                println!("{change}");
            }
            Ok(0)
        }
        Err(e) => Ok(crate::exit::relay(&e)),
    }
}

/// One line per path seeded: `added PATH` (the volume lacked it) or
/// `replaced PATH` (it differed; `--overwrite`).
pub fn seed(ctx: &Ctx, args: SeedArgs) -> Result<i32> {
    let request = VolumeSeed {
        name: args.volume,
        source: args.source,
        policy: if args.overwrite {
            SeedPolicy::Overwrite
        } else {
            SeedPolicy::OnlyMissing
        },
        pause: args.pause,
    };
    match ctx.engine()?.volume_seed(&request) {
        Ok(seeded) => {
            for change in seeded.applied.iter().filter(|_| !args.quiet) {
                let what = match change.kind {
                    ChangeKind::Deleted => "added",
                    _ => "replaced",
                };
                println!("{what} {}", change.path);
            }
            Ok(0)
        }
        Err(e) => Ok(crate::exit::relay(&e)),
    }
}
