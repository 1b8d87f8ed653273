//! `logs`: the container's output as its monitor recorded it, read once or
//! followed.

use std::io::Write;

use anyhow::{anyhow, bail, Result};
use berth_engine::container::logs::LogsRequest;
use clap::Args;

use crate::Ctx;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    follow: bool,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time
    #[arg(long)]
    until: Option<String>,
    container: String,
}

/// Docker's time filter values: RFC 3339, a unix timestamp, or a duration ago ("10m", "1h30m").
fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return chrono::DateTime::from_timestamp(secs as i64, 0)
            .ok_or_else(|| anyhow!("invalid time: {s}"));
    }
    let mut total = 0f64;
    let mut number = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            number.push(ch);
            continue;
        }
        let n: f64 = number
            .parse()
            .map_err(|_| anyhow!("invalid time value: {s}"))?;
        number.clear();
        total += n * match ch {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => bail!("invalid time value: {s}"),
        };
    }
    if !number.is_empty() {
        bail!("invalid time value: {s}");
    }
    Ok(chrono::Utc::now() - chrono::Duration::milliseconds((total * 1000.0) as i64))
}

pub fn logs(ctx: &Ctx, args: LogsArgs) -> Result<i32> {
    let request = LogsRequest {
        tail: match args.tail.as_str() {
            "all" | "" => None,
            n => Some(
                n.parse()
                    .map_err(|_| anyhow!("invalid value for tail: {n}"))?,
            ),
        },
        since: args.since.as_deref().map(parse_time).transpose()?,
        until: args.until.as_deref().map(parse_time).transpose()?,
        follow: args.follow,
    };
    let mut reader = ctx.engine()?.container_logs(&args.container, &request)?;
    while let Some(entries) = reader.next_batch()? {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        for e in entries {
            let line = if args.timestamps {
                format!("{} {}", e.time, e.log)
            } else {
                e.log
            };
            let _ = if e.stream == "stderr" {
                err.write_all(line.as_bytes())
            } else {
                out.write_all(line.as_bytes())
            };
        }
        let _ = out.flush();
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let t = parse_time("10m").unwrap();
        let ago = chrono::Utc::now() - t;
        assert!((599..=601).contains(&ago.num_seconds()));
        assert!(parse_time("10x").is_err());
    }
}
