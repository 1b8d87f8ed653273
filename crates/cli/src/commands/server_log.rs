//! The log of berth's servers (`berth serve`, `berth cri`) on stderr, as
//! dockerd's: `--log-level`, `--debug`, `--log-format text|json`. The
//! servers' libraries emit `tracing` events; this installs the subscriber.

use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub struct LogArgs {
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

/// Installs the server's log on stderr.
pub fn init(args: &LogArgs) {
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
