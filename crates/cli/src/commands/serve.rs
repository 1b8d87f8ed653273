//! `berth serve`: the Docker Engine API on a unix socket (or loopback TCP),
//! so the docker CLI, docker-py or bollard drive berth. The server is
//! berth-api; this is only its flags.

use anyhow::Result;
use clap::Args;

use crate::Ctx;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Socket(s) to listen on: unix:///path or tcp://127.0.0.1:PORT (unauthenticated)
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Group owning the unix socket(s) (mode 0660); root's group by default
    #[arg(short = 'G', long)]
    group: Option<String>,
    #[command(flatten)]
    log: super::server_log::LogArgs,
}

pub fn serve(ctx: &Ctx, args: ServeArgs) -> Result<i32> {
    // A root refused as a whole exits as every command does (125), before
    // the server starts. Unlike dockerd (one daemon per data root, held by
    // its pid file), several servers may serve one root beside the CLI:
    // a server keeps no state of its own, every request is an engine
    // operation coordinated through the store's transactions and locks.
    ctx.engine()?;
    super::server_log::init(&args.log);
    berth_api::serve(berth_api::ServeOptions {
        config: ctx.config(),
        // A rootless berth's socket is the user's own (Docker's rootless
        // mode: $XDG_RUNTIME_DIR/docker.sock).
        hosts: match (&ctx.rootless_socket, args.hosts.is_empty()) {
            (Some(socket), true) => vec![format!("unix://{}", socket.display())],
            _ => args.hosts,
        },
        group: args.group,
    })?;
    Ok(0)
}
