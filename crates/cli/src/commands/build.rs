//! `build`: Docker's classic builder flags over the engine's `image_build`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use berth_engine::image::{BuildError, BuildOptions, ContextSource};
use clap::Args;

use crate::exit::StatusError;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name and optionally a tag in the 'name:tag' format
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// Name of the Dockerfile (Default is 'PATH/Dockerfile')
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Set build-time variables
    #[arg(long = "build-arg")]
    build_args: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    no_cache: bool,
    /// Set metadata for an image
    #[arg(long = "label")]
    labels: Vec<String>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    network: String,
    /// Images to consider as cache sources
    #[arg(long = "cache-from")]
    cache_from: Vec<String>,
    /// Size of /dev/shm of the RUN containers
    #[arg(long = "shm-size")]
    shm_size: Option<String>,
    /// Add a custom host-to-IP mapping (host:ip) in the RUN containers
    #[arg(long = "add-host")]
    add_host: Vec<String>,
    /// Container isolation technology (only "default" on Linux)
    #[arg(long)]
    isolation: Option<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Remove intermediate containers after a successful build (always on)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, hide = true)]
    rm: bool,
    /// Always remove intermediate containers (always on)
    #[arg(long, hide = true)]
    force_rm: bool,
    /// PATH | URL | -
    context: String,
}

pub fn build(ctx: &Ctx, args: BuildArgs) -> Result<i32> {
    let build_args = args
        .build_args
        .iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            // `--build-arg NAME` takes NAME from this environment, if set.
            None => (a.clone(), std::env::var(a).ok()),
        })
        .collect();
    let labels = args
        .labels
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect();
    if let Some(i) = args
        .isolation
        .as_deref()
        .filter(|i| !matches!(*i, "" | "default"))
    {
        // dockerd's answer: only the default isolation exists on Linux.
        anyhow::bail!("unsupported isolation: \"{i}\"");
    }
    let opts = BuildOptions {
        tags: args.tags,
        dockerfile: args.file,
        build_args,
        target: args.target,
        no_cache: args.no_cache,
        labels,
        // `default` is the default bridge (NAT to what the host reaches), as
        // for Docker's RUN containers.
        network: args.network,
        cache_from: (!args.cache_from.is_empty()).then_some(args.cache_from),
        shm_size: args
            .shm_size
            .as_deref()
            .map(super::resources::parse_bytes)
            .transpose()?
            .unwrap_or(0) as u64,
        extra_hosts: args.add_host,
    };
    let source = if args.context == "-" {
        ContextSource::Stdin(Box::new(std::io::stdin()))
    } else if args.context.contains("://") || args.context.starts_with("git@") {
        anyhow::bail!(
            "unable to prepare context: remote contexts ({}) are not supported; clone or download it and build the directory",
            args.context
        );
    } else {
        ContextSource::Dir(PathBuf::from(&args.context))
    };
    let mut engine = ctx.engine()?;
    // With -q the progress is kept and shown only if the build fails, as the
    // docker CLI does.
    let mut captured: Vec<u8> = Vec::new();
    let stdout = std::io::stdout();
    let result = if args.quiet {
        engine.image_build(source, &opts, &mut captured)
    } else {
        let mut out = stdout.lock();
        engine.image_build(source, &opts, &mut out)
    };
    match result {
        Ok(outcome) => {
            let mut out = stdout.lock();
            for line in berth_docker::build::closing_lines(&outcome, args.quiet) {
                writeln!(out, "{line}")?;
            }
            Ok(0)
        }
        Err(e) => {
            if args.quiet {
                let _ = std::io::stderr().write_all(&captured);
            }
            match e {
                // The daemon's message, printed bare, and the command's exit code.
                berth_engine::Error::Build(BuildError::RunFailed { code, .. }) => {
                    eprintln!("{e}");
                    Err(StatusError {
                        code,
                        message: String::new(),
                    }
                    .into())
                }
                other => Err(other.into()),
            }
        }
    }
}
