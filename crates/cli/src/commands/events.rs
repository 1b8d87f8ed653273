//! `berth events`: what happened to containers, images, volumes and networks,
//! whichever process did it, as the docker CLI shows it.

use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, Result};
use berth_engine::events::{EventFilter, EventsRequest, Next};
use clap::Args;

use crate::format::Format;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long)]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    until: Option<String>,
}

pub fn events(ctx: &Ctx, args: EventsArgs) -> Result<i32> {
    let now = chrono::Utc::now();
    let filters = crate::commands::filter_pairs(&args.filter)?;
    let request = EventsRequest {
        since: args
            .since
            .as_deref()
            .map(|s| timestamp(s, now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| timestamp(s, now))
            .transpose()?,
        filter: EventFilter::parse(filters),
    };
    let format = args.format.as_deref().map(Format::parse).transpose()?;
    let mut stream = ctx.engine()?.events(request)?;
    let stdout = std::io::stdout();
    loop {
        match stream.next_within(Duration::from_secs(3600))? {
            Next::Event(e) => {
                let line = match &format {
                    Some(f) => f.render(&berth_docker::events::message(&e))?,
                    None => berth_docker::events::line(&e),
                };
                let mut out = stdout.lock();
                // A reader that went away (`| head`) ends the stream.
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    return Ok(0);
                }
            }
            Next::Idle => {}
            Next::End => return Ok(0),
        }
    }
}

/// The docker CLI's `--since`/`--until` values: a Go duration before now
/// (`10m`, `1h30m`), a Unix time (`1700000000[.123]`), or an RFC 3339 time
/// (with or without seconds' fraction, zone or time); as nanoseconds.
fn timestamp(value: &str, now: chrono::DateTime<chrono::Utc>) -> Result<i64> {
    let bad = || anyhow!("invalid value for timestamp: {value:?}");
    // Docker's CLI reads "0", a valid Go duration, as the Unix time 0: the
    // beginning of the log (`--since 0`), not now.
    if let Some(d) = berth_engine::units::parse_go_duration(value).filter(|_| value != "0") {
        return Ok(now.timestamp_nanos_opt().unwrap_or(0) - d);
    }
    if let Some((secs, frac)) = value.split_once('.').or(Some((value, ""))) {
        if !secs.is_empty()
            && secs.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= 9
        {
            let secs: i64 = secs.parse().map_err(|_| bad())?;
            let nanos: i64 = format!("{frac:0<9}").parse().unwrap_or(0);
            return Ok(secs * 1_000_000_000 + nanos);
        }
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .map(|t| t.and_utc())
        })
        .map_err(|_| bad())?;
    parsed.timestamp_nanos_opt().ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_as_the_docker_cli_reads_them() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:10:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let at = |s| timestamp(s, now).unwrap();
        assert_eq!(at("10m"), at("2026-01-01T00:00:00Z"));
        assert_eq!(at("1h30m"), at("2025-12-31T22:40:00Z"));
        assert_eq!(at("1767225600"), at("2026-01-01T00:00:00Z"));
        assert_eq!(at("1767225600.5") - at("1767225600"), 500_000_000);
        assert_eq!(at("2026-01-01"), at("2026-01-01T00:00:00Z"));
        assert!(timestamp("yesterday", now).is_err());
    }
}
