//! Exec instances: `POST /containers/{id}/exec` records a command to run,
//! `POST /exec/{id}/start` runs it (once) with its stdio on the hijacked
//! connection, `GET /exec/{id}/json` reports it, `POST /exec/{id}/resize`
//! resizes its terminal.
//!
//! Exec instances are the engine's (`berth_engine::container::exec_instances`):
//! the server itself keeps nothing, and a restarted server still answers
//! inspect for execs it ran before.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::container::exec_instances::ExecConfig;
use berth_engine::container::exec_start::ExecIo;
use bollard_stubs::models::ExecStartConfig;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Query;
use crate::streams::{self, AttachOptions, DetachKeys, Hijack};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/resize", post(resize))
        .route("/exec/{id}/json", get(inspect))
}

async fn create(
    State(server): State<Shared>,
    Path(container): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut value: Value = serde_json::from_slice(&body)?;
    // Docker quirk: old clients send Cmd as a string.
    if let Some(Value::String(s)) = value.get("Cmd") {
        let s = s.clone();
        value["Cmd"] = json!([s]);
    }
    // Docker quirk: dockerd matches body fields case-insensitively (Go's
    // JSON decoding), and docker-py sends its configured `detachKeys` so.
    if let Some(object) = value.as_object_mut() {
        if let Some(keys) = object.remove("detachKeys") {
            object.entry("DetachKeys").or_insert(keys);
        }
    }
    let body: bollard_stubs::models::ExecConfig = serde_json::from_value(value)?;
    if let Some(keys) = &body.detach_keys {
        DetachKeys::parse(keys).map_err(ApiError::bad_request)?;
    }
    let config = ExecConfig {
        cmd: body.cmd.unwrap_or_default(),
        env: body.env.unwrap_or_default(),
        user: body.user.unwrap_or_default(),
        working_dir: body.working_dir.unwrap_or_default(),
        tty: body.tty.unwrap_or(false),
        privileged: body.privileged.unwrap_or(false),
        attach_stdin: body.attach_stdin.unwrap_or(false),
        attach_stdout: body.attach_stdout.unwrap_or(false),
        attach_stderr: body.attach_stderr.unwrap_or(false),
        detach_keys: body.detach_keys.unwrap_or_default(),
        console_size: console_size(body.console_size.as_deref()),
        timeout: None,
    };
    let id = server
        .with_engine(move |engine| Ok(engine.exec_create(&container, config)?))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}

async fn start(
    State(server): State<Shared>,
    Path(id): Path<String>,
    mut req: Request,
) -> Result<Response, ApiError> {
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let start: ExecStartConfig = if body.iter().all(u8::is_ascii_whitespace) {
        ExecStartConfig::default()
    } else {
        serde_json::from_slice(&body)?
    };
    let detach = start.detach.unwrap_or(false);
    let [rows, cols] = console_size(start.console_size.as_deref()).unwrap_or_default();
    let io = ExecIo::Streams { rows, cols };
    let (rec, detach_keys, attachment) = server
        .with_engine(move |engine| {
            let rec = engine.exec_inspect(&id)?;
            let mut keys =
                DetachKeys::parse(&rec.config.detach_keys).map_err(ApiError::bad_request)?;
            // Docker quirk: without a tty the keys reach the process.
            if !rec.config.tty {
                keys = DetachKeys::none();
            }
            let attachment = engine.exec_start(&id, io)?;
            Ok((rec, keys, attachment))
        })
        .await?;
    if detach {
        // The process runs on its own; its output is dropped.
        tokio::task::spawn_blocking(move || attachment.split().0.for_each(drop));
        return Ok(StatusCode::OK.into_response());
    }
    // Docker quirk: the process gets a terminal if the exec was created with
    // one, but the stream is raw only if the *start* asks for it (`Tty` of
    // the start body, which docker-py leaves false): otherwise the
    // terminal's output comes framed as stdout.
    let raw_stream = start.tty.unwrap_or(false);
    let opts = AttachOptions {
        tty: raw_stream,
        stdin: rec.config.attach_stdin,
        stdout: true,
        stderr: true,
        detach_keys,
    };
    let (response, connect) = Hijack::new(&mut req, raw_stream).into_parts();
    tokio::spawn(async move {
        let Some((source, mut sink)) = connect.connect().await else {
            return;
        };
        streams::relay(attachment, source, &mut sink, opts).await;
    });
    Ok(response)
}

/// `ConsoleSize` ([height, width]) of an exec's create or start, if any.
fn console_size(size: Option<&[usize]>) -> Option<[u16; 2]> {
    let clamp = |v: usize| v.min(u16::MAX as usize) as u16;
    match size? {
        [rows, cols] if *rows > 0 && *cols > 0 => Some([clamp(*rows), clamp(*cols)]),
        _ => None,
    }
}

async fn resize(
    State(server): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let h = q.int("h")?.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    let w = q.int("w")?.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    server
        .with_engine(move |engine| Ok(engine.exec_resize(&id, h, w)?))
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn inspect(
    State(server): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = server
        .with_engine(move |engine| Ok(engine.exec_inspect(&id)?))
        .await?;
    let cmd = &rec.config.cmd;
    Ok(Json(json!({
        "ID": rec.id,
        "Running": rec.running,
        "ExitCode": rec.exit_code,
        "ProcessConfig": {
            "tty": rec.config.tty,
            "entrypoint": cmd.first().cloned().unwrap_or_default(),
            "arguments": cmd.iter().skip(1).collect::<Vec<_>>(),
            "privileged": rec.config.privileged,
            "user": rec.config.user,
        },
        "OpenStdin": rec.config.attach_stdin,
        "OpenStderr": rec.config.attach_stderr,
        "OpenStdout": rec.config.attach_stdout,
        "CanRemove": false,
        "ContainerID": rec.container_id,
        "DetachKeys": rec.config.detach_keys,
        "Pid": if rec.running { rec.pid } else { 0 },
    })))
}
