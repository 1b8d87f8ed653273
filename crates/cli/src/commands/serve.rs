//! `berth serve`: the Docker Engine API on a unix socket (or loopback TCP),
//! so the docker CLI, docker-py or bollard drive berth. The server is
//! berth-api; this is only its flags.

use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::Ctx;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Socket(s) to listen on: unix:///path or tcp://127.0.0.1:PORT (unauthenticated)
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    hosts: Vec<String>,
    /// Group owning the unix socket(s) (mode 0660); root's group by default
    #[arg(short = 'G', long)]
    group: Option<String>,
    /// Log level: debug logs every request, warn and error every failed one
    #[arg(short = 'l', long, value_enum, default_value = "info")]
    log_level: LogLevel,
    /// Debug mode (the same as --log-level debug)
    #[arg(short = 'D', long)]
    debug: bool,
    /// Log format on stderr: text, or json (one object per line)
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// dockerd's `--log-level` values (`fatal` is `error` here: berth logs no
/// fatal events other than the errors it exits with).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// The server's log on stderr (berth-api's `tracing` events).
fn init_log(args: &ServeArgs) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match (args.debug, args.log_level) {
        (true, _) | (false, LogLevel::Debug) => LevelFilter::DEBUG,
        (false, LogLevel::Info) => LevelFilter::INFO,
        (false, LogLevel::Warn) => LevelFilter::WARN,
        (false, LogLevel::Error | LogLevel::Fatal) => LevelFilter::ERROR,
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false);
    match args.log_format {
        LogFormat::Text => builder.with_ansi(ansi).init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

pub fn serve(ctx: &Ctx, args: ServeArgs) -> Result<i32> {
    // A root refused as a whole exits as every command does (125), before
    // the server starts. Unlike dockerd (one daemon per data root, held by
    // its pid file), several servers may serve one root beside the CLI:
    // a server keeps no state of its own, every request is an engine
    // operation coordinated through the store's transactions and locks.
    ctx.engine()?;
    init_log(&args);
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
