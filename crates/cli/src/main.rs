//! The `berth` command: Docker's CLI grammar over berth's library crates.
//! It keeps no state of its own; every command opens the store, acts, and exits.

mod commands;
mod exit;
mod format;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use commands::{image, volume};

#[derive(Parser)]
#[command(name = "berth", version, about = "A container engine that speaks Docker", disable_help_subcommand = true)]
struct Cli {
    /// State root (images, containers, volumes, metadata).
    #[arg(long, global = true, env = "BERTH_ROOT", default_value = "/var/lib/berth")]
    root: PathBuf,
    /// OCI runtime: runc (default), crun, youki, or a path.
    #[arg(long, global = true, env = "BERTH_RUNTIME", default_value = "runc")]
    runtime: String,
    #[command(subcommand)]
    command: Command,
}

/// What every command gets: where the state lives and which runtime to use.
pub struct Ctx {
    pub root: PathBuf,
    pub runtime: String,
}

impl Ctx {
    pub fn store(&self) -> anyhow::Result<berth_store::Store> {
        Ok(berth_store::Store::open(&self.root)?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// List images
    Images(image::ListArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(image::ImportArgs),
    /// Load an image from a tar archive or STDIN
    Load(image::LoadArgs),
    /// Save one or more images to a tar archive
    Save(image::SaveArgs),
    /// Remove one or more images
    Rmi(image::RmArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(image::TagArgs),
    /// Show the history of an image
    History(image::HistoryArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                // Docker exits 125 on any flag or usage error.
                _ => exit::USAGE,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let ctx = Ctx {
        root: cli.root,
        runtime: cli.runtime,
    };
    let (result, failure_code) = match cli.command {
        Command::Image(cmd) => (image::dispatch(&ctx, cmd), exit::FAILURE),
        Command::Images(a) => (image::dispatch(&ctx, image::ImageCommand::Ls(a)), exit::FAILURE),
        Command::Import(a) => (image::dispatch(&ctx, image::ImageCommand::Import(a)), exit::FAILURE),
        Command::Load(a) => (image::dispatch(&ctx, image::ImageCommand::Load(a)), exit::FAILURE),
        Command::Save(a) => (image::dispatch(&ctx, image::ImageCommand::Save(a)), exit::FAILURE),
        Command::Rmi(a) => (image::dispatch(&ctx, image::ImageCommand::Rm(a)), exit::FAILURE),
        Command::Tag(a) => (image::dispatch(&ctx, image::ImageCommand::Tag(a)), exit::FAILURE),
        Command::History(a) => (image::dispatch(&ctx, image::ImageCommand::History(a)), exit::FAILURE),
        Command::Volume(cmd) => (volume::dispatch(&ctx, cmd), exit::FAILURE),
    };
    std::process::exit(exit::report(result, failure_code));
}
