//! `berth volume export|import|clone|rename`: berth's own volume verbs
//! (Docker has none), over the engine's operations of the same names.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};

use anyhow::{bail, Context, Result};
use berth_engine::volume::{TarCompression, VolumeClone, VolumeExport};
use clap::Args;

use crate::Ctx;

#[derive(Args)]
pub struct ExportArgs {
    /// Write to a file instead of STDOUT (`.gz`: gzip, `.zst`: zstd)
    #[arg(short = 'o', long)]
    output: Option<String>,
    /// Freeze running containers that write to the volume during the export
    #[arg(long)]
    pause: bool,
    volume: String,
}

#[derive(Args)]
pub struct ImportArgs {
    volume: String,
    /// A tar (plain, gzip or zstd), or `-` for STDIN
    #[arg(default_value = "-")]
    file: String,
}

#[derive(Args)]
pub struct CloneArgs {
    /// Freeze running containers that write to the source during the copy
    #[arg(long)]
    pause: bool,
    source: String,
    target: String,
}

#[derive(Args)]
pub struct RenameArgs {
    old: String,
    new: String,
}

/// With `--pause`: SIGINT and SIGTERM thaw the containers the copy froze
/// before the CLI ends (with 128+signal, as the signal would have ended it),
/// and remove `partial`, an output file not yet whole. Must run before any
/// other thread is spawned, so every thread inherits the blocked mask.
fn thaw_on_signal(ctx: &Ctx, partial: Option<String>) {
    let config = ctx.config();
    // SAFETY: sigset manipulation on a local, then blocking those signals for
    // this thread (and the threads it spawns later).
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: sigwait on the set blocked above.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        berth_engine::volume::thaw_before_exit(config);
        if let Some(path) = partial {
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::remove_file(&path);
            }
        }
        std::process::exit(128 + sig);
    });
}

pub fn export(ctx: &Ctx, args: ExportArgs) -> Result<i32> {
    if args.pause {
        thaw_on_signal(ctx, args.output.clone());
    }
    let request = VolumeExport {
        name: args.volume,
        compression: args
            .output
            .as_deref()
            .map_or(TarCompression::None, TarCompression::for_file_name),
        pause: args.pause,
    };
    let mut engine = ctx.engine()?;
    // Refused before the file is created or a byte is written.
    if let Err(e) = engine.volume_export_check(&request) {
        return Ok(crate::exit::relay(&e));
    }
    let Some(path) = args.output else {
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            bail!("cowardly refusing to write a tar to a terminal. Use the -o flag or redirect");
        }
        let bar = crate::progress::bytes("Exporting", None, false);
        let exported =
            engine.volume_export(&request, BufWriter::new(bar.wrap_write(stdout.lock())));
        bar.finish();
        return Ok(match exported {
            Ok(_) => 0,
            Err(e) => crate::exit::relay(&e),
        });
    };
    let file = File::create(&path).with_context(|| format!("creating {path}"))?;
    let synced = file
        .try_clone()
        .with_context(|| format!("creating {path}"))?;
    let bar = crate::progress::bytes("Exporting", None, false);
    let mut out = BufWriter::new(bar.wrap_write(file));
    let exported = engine
        .volume_export(&request, &mut out)
        .map_err(anyhow::Error::from)
        .and_then(|_| {
            out.flush()?;
            Ok(synced.sync_all()?)
        });
    bar.finish();
    match exported {
        Ok(()) => Ok(0),
        Err(e) => {
            // No half-written backup is left looking like a whole one (a
            // device or fifo given as the output is never removed).
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                let _ = std::fs::remove_file(&path);
            }
            eprintln!("Error response from daemon: {e}");
            Ok(crate::exit::FAILURE)
        }
    }
}

pub fn import(ctx: &Ctx, args: ImportArgs) -> Result<i32> {
    let mut engine = ctx.engine()?;
    if let Err(e) = engine.volume_import_check(&args.volume) {
        return Ok(crate::exit::relay(&e));
    }
    let imported = if args.file == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            bail!("requested load from stdin, but stdin is empty");
        }
        let bar = crate::progress::bytes("Importing", None, false);
        let imported = engine.volume_import(&args.volume, bar.wrap_read(stdin.lock()));
        bar.finish();
        imported
    } else {
        let file = File::open(&args.file).with_context(|| format!("opening {}", args.file))?;
        let bar =
            crate::progress::bytes("Importing", crate::progress::file_size(&args.file), false);
        let imported = engine.volume_import(&args.volume, bar.wrap_read(file));
        bar.finish();
        imported
    };
    match imported {
        Ok(_) => {
            println!("{}", args.volume);
            Ok(0)
        }
        Err(e) => Ok(crate::exit::relay(&e)),
    }
}

pub fn clone(ctx: &Ctx, args: CloneArgs) -> Result<i32> {
    if args.pause {
        thaw_on_signal(ctx, None);
    }
    let request = VolumeClone {
        source: args.source,
        target: args.target,
        pause: args.pause,
    };
    match ctx.engine()?.volume_clone(&request) {
        Ok(cloned) => {
            println!("{}", cloned.volume.name);
            Ok(0)
        }
        Err(e) => Ok(crate::exit::relay(&e)),
    }
}

pub fn rename(ctx: &Ctx, args: RenameArgs) -> Result<i32> {
    match ctx.engine()?.volume_rename(&args.old, &args.new) {
        Ok(()) => Ok(0),
        Err(e) => Ok(crate::exit::relay(&e)),
    }
}
