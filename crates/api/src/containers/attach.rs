//! `attach`, `resize` and `logs`: a container's stdio on a hijacked
//! connection, its terminal's size, and its recorded output.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use berth_engine::container::logs::LogsRequest;

use crate::error::ApiError;
use crate::query::Query;
use crate::streams::{self, AttachOptions, Hijack};
use crate::Shared;

pub(super) async fn attach(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
    mut req: Request,
) -> Result<Response, ApiError> {
    let stream = q.bool("stream");
    let logs = q.bool("logs");
    let (stdin, stdout, stderr) = (q.bool("stdin"), q.bool("stdout"), q.bool("stderr"));
    let detach_keys = streams::DetachKeys::parse(q.get("detachKeys").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let (tty, past, pending) = server
        .with_engine(move |engine| {
            let c = engine.container_lookup(&id)?;
            let past = if logs {
                engine
                    .container_logs(&c.id, &LogsRequest::default())?
                    .next_batch()?
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            // Registered before answering: a client that attaches before it
            // starts the container sees its output from the first byte.
            let pending = if stream {
                Some(engine.container_attach(&c.id)?)
            } else {
                None
            };
            Ok((c.spec.tty, past, pending))
        })
        .await?;
    let (response, connect) = Hijack::new(&mut req, tty).into_parts();
    let opts = AttachOptions {
        tty,
        stdin,
        stdout,
        stderr,
        // Docker quirk (moby's attach copies stdin through its escape
        // filter only for a tty): without one, the keys reach the process.
        detach_keys: if tty {
            detach_keys
        } else {
            streams::DetachKeys::none()
        },
    };
    tokio::spawn(async move {
        let Some((source, mut sink)) = connect.connect().await else {
            return;
        };
        for e in past {
            let kind = if e.stream == "stderr" { 2 } else { 1 };
            let wanted = if kind == 2 { stderr } else { stdout };
            if wanted && sink.output(tty, kind, e.log.as_bytes()).await.is_err() {
                return;
            }
        }
        let attachment = match pending {
            Some(pending) => tokio::task::spawn_blocking(move || pending.wait())
                .await
                .ok()
                .flatten(),
            None => None,
        };
        match attachment {
            Some(attachment) => {
                streams::relay(attachment, source, &mut sink, opts).await;
            }
            None => sink.close().await,
        }
    });
    Ok(response)
}

pub(super) async fn resize(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let size = |n: Option<i64>| n.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    let (rows, cols) = (size(q.int("h")?), size(q.int("w")?));
    server
        .with_engine(move |engine| Ok(engine.container_resize(&id, rows, cols)?))
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// A time parameter of `logs`: RFC 3339 or Unix seconds with a fraction
/// (`0` or empty: none).
fn parse_time_param(v: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    if v.is_empty() || v == "0" {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&chrono::Utc)));
    }
    // Docker quirk: the CLI sends "SECONDS.NANOSECONDS".
    let (secs, nanos) = v.split_once('.').unwrap_or((v, "0"));
    let secs: i64 = secs
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid timestamp: {v}")))?;
    let nanos: u32 = format!("{nanos:0<9}")[..9].parse().unwrap_or(0);
    Ok(chrono::DateTime::from_timestamp(secs, nanos))
}

pub(super) async fn logs(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let follow = q.bool("follow");
    let timestamps = q.bool("timestamps");
    let tail = match q.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid value for tail: {n}")))?
                .max(0) as usize,
        ),
    };
    let request = LogsRequest {
        tail,
        since: parse_time_param(q.get("since").unwrap_or(""))?,
        until: parse_time_param(q.get("until").unwrap_or(""))?,
        follow,
    };
    // The log is opened before answering: a client may remove the container
    // as soon as it exits (docker-py's `containers.run(remove=True)` follows
    // the logs, waits, removes, and only then reads the stream).
    let mut reader = server
        .with_engine(move |engine| Ok(engine.container_logs(&id, &request)?))
        .await?;
    let tty = reader.tty;
    let content_type = if tty {
        streams::RAW_STREAM
    } else {
        streams::MULTIPLEXED_STREAM
    };
    Ok(streams::blocking_body(content_type, move |tx| {
        while let Ok(Some(entries)) = reader.next_batch() {
            for e in entries {
                let kind = if e.stream == "stderr" { 2u8 } else { 1u8 };
                if (kind == 1 && !stdout) || (kind == 2 && !stderr) {
                    continue;
                }
                let line = if timestamps {
                    format!("{} {}", e.time, e.log)
                } else {
                    e.log
                };
                let out = if tty {
                    line.into_bytes()
                } else {
                    streams::multiplexed(kind, line.as_bytes())
                };
                if tx.blocking_send(Bytes::from(out)).is_err() {
                    return;
                }
            }
            if tx.is_closed() {
                return;
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_cli_time_parameters() {
        let t = parse_time_param("1700000000.500000000").unwrap().unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_millis(), 500);
        assert!(parse_time_param("0").unwrap().is_none());
        assert!(parse_time_param("2024-01-02T03:04:05Z").unwrap().is_some());
        assert!(parse_time_param("yesterday").is_err());
    }
}
