//! Exec instances: `POST /containers/{id}/exec` records a command to run,
//! `POST /exec/{id}/start` runs it (once) with its stdio on the hijacked
//! connection, `GET /exec/{id}/json` reports it, `POST /exec/{id}/resize`
//! resizes its terminal.
//!
//! An exec record is a JSON file `containers/<container>/exec/<exec id>.json`:
//! it lives and dies with its container, and the server itself keeps nothing
//! (a restarted server still answers inspect for execs it ran before).
//! Lifecycle: created (not running, no exit code) → running (the runtime's
//! pid recorded) → exited (exit code recorded). A record left "running" by a
//! server that was killed is reported as exited once its pid is gone.

use std::io::{Read, Write};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_container::ContainerError;
use berth_engine::container::exec_instances::{ExecConfig, ExecInstance};
use berth_engine::container::ops;
use bollard_stubs::models::ExecStartConfig;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::query::Query;
use crate::streams::{DetachKeys, Hijack, Sink};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/containers/{id}/exec", post(create))
        .route("/exec/{id}/start", post(start))
        .route("/exec/{id}/resize", post(resize))
        .route("/exec/{id}/json", get(inspect))
}

async fn create(
    State(engine): State<Shared>,
    Path(container): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut value: Value = serde_json::from_slice(&body)?;
    // Docker quirk: old clients send Cmd as a string.
    if let Some(Value::String(s)) = value.get("Cmd") {
        let s = s.clone();
        value["Cmd"] = json!([s]);
    }
    let body: bollard_stubs::models::ExecConfig = serde_json::from_value(value)?;
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
    };
    let id = engine
        .with_engine(move |engine| Ok(engine.exec_create(&container, config)?))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}

/// Output of a running exec: (stream, bytes); stream 2 is stderr.
type Output = (u8, Vec<u8>);

async fn start(
    State(engine): State<Shared>,
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
    let size = start.console_size.clone().unwrap_or_default();
    let (rec, prepared) = engine
        .with_engine(move |engine| Ok(engine.exec_prepare(&id)?))
        .await?;
    // The process gets a terminal if the exec was created with one...
    let tty = rec.config.tty;
    let mut detach_keys =
        DetachKeys::parse(&rec.config.detach_keys).map_err(ApiError::bad_request)?;
    // Docker quirk: ...but the stream is raw only if the *start* asks for
    // it (`Tty` of the start body, which docker-py leaves false): otherwise
    // the terminal's output comes framed as stdout.
    let raw_stream = start.tty.unwrap_or(false);
    let attach_stdin = rec.config.attach_stdin && !detach;
    let config = engine.config();
    let (out_tx, out_rx) = mpsc::channel::<Output>(16);
    let (in_tx, in_rx) = mpsc::channel::<Bytes>(16);
    let rows = size.first().copied().unwrap_or(0) as u16;
    let cols = size.get(1).copied().unwrap_or(0) as u16;
    tokio::task::spawn_blocking(move || {
        run(
            config,
            rec,
            prepared,
            tty,
            attach_stdin,
            (rows, cols),
            out_tx,
            in_rx,
        )
    });
    if detach {
        // The output is dropped; the process runs on its own.
        let mut out_rx = out_rx;
        tokio::spawn(async move { while out_rx.recv().await.is_some() {} });
        return Ok(StatusCode::OK.into_response());
    }
    let (response, connect) = Hijack::new(&mut req, raw_stream).into_parts();
    tokio::spawn(async move {
        let Some((source, mut sink)) = connect.connect().await else {
            return;
        };
        let detached = std::sync::Arc::new(tokio::sync::Notify::new());
        let input = match (attach_stdin, source) {
            (true, Some(mut source)) => {
                let detached = detached.clone();
                Some(tokio::spawn(async move {
                    use tokio::io::AsyncReadExt;
                    let mut buf = vec![0u8; 32 * 1024];
                    // Dropping the sender at EOF closes the process's stdin.
                    while let Ok(n) = source.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let (data, detach) = detach_keys.filter(&buf[..n]);
                        if !data.is_empty() && in_tx.send(Bytes::from(data)).await.is_err() {
                            break;
                        }
                        if detach {
                            detached.notify_one();
                            break;
                        }
                    }
                }))
            }
            _ => {
                drop(in_tx);
                None
            }
        };
        relay_output(out_rx, &mut sink, raw_stream, &detached).await;
        if let Some(task) = input {
            task.abort();
        }
        sink.close().await;
    });
    Ok(response)
}

/// Forwards the exec's output until it ends, the client goes away or it
/// types the detach keys; what the process writes after that is drained so
/// that it never blocks on a full pipe.
async fn relay_output(
    mut out: mpsc::Receiver<Output>,
    sink: &mut Sink,
    tty: bool,
    detached: &tokio::sync::Notify,
) {
    loop {
        let item = tokio::select! {
            item = out.recv() => item,
            _ = detached.notified() => break,
        };
        let Some((kind, data)) = item else { return };
        if sink.output(tty, kind, &data).await.is_err() {
            break;
        }
    }
    tokio::spawn(async move { while out.recv().await.is_some() {} });
}

fn pump(
    mut from: impl Read + Send + 'static,
    kind: u8,
    to: mpsc::Sender<Output>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.blocking_send((kind, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

fn feed(
    mut to: impl Write + Send + 'static,
    mut from: mpsc::Receiver<Bytes>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while let Some(data) = from.blocking_recv() {
            if to.write_all(&data).and_then(|_| to.flush()).is_err() {
                break;
            }
        }
    })
}

/// Runs a prepared exec to its end (blocking): spawns it on pipes or a pty,
/// records its pid and then its exit code. The output channel closes only
/// after the exit code is recorded, so a client that inspects the exec once
/// the stream ends sees it.
#[allow(clippy::too_many_arguments)]
fn run(
    config: berth_engine::Config,
    mut rec: ExecInstance,
    prepared: ops::PreparedExec,
    tty: bool,
    attach_stdin: bool,
    (rows, cols): (u16, u16),
    out: mpsc::Sender<Output>,
    input: mpsc::Receiver<Bytes>,
) {
    let Ok(mut engine) = berth_engine::Engine::open(config) else {
        return;
    };
    let stdio = if tty {
        ops::ExecStdio::Terminal { rows, cols }
    } else {
        ops::ExecStdio::Pipes {
            stdin: attach_stdin,
        }
    };
    let spawned = prepared.spawn(stdio, false).and_then(|mut running| {
        let mut readers = Vec::new();
        let mut stdin = running.stdin.take();
        if let Some(master) = running.terminal.take() {
            let reader = master
                .try_clone()
                .map_err(|e| ContainerError::sys("duplicating the terminal", e))?;
            readers.push(pump(reader, 1, out.clone()));
            stdin = attach_stdin.then_some(master);
        }
        if let Some(o) = running.stdout.take() {
            readers.push(pump(o, 1, out.clone()));
        }
        if let Some(e) = running.stderr.take() {
            readers.push(pump(e, 2, out.clone()));
        }
        if let Some(i) = stdin {
            feed(i, input);
        }
        Ok((running, readers))
    });
    let (mut running, readers) = match spawned {
        Ok(x) => x,
        Err(e) => {
            let _ = out.blocking_send((2, format!("{e}\n").into_bytes()));
            let _ = engine.exec_exited(&mut rec, 126);
            return;
        }
    };
    let _ = engine.exec_running(&mut rec, running.pid() as i64);
    let status = running.wait();
    for r in readers {
        let _ = r.join();
    }
    let code = match status {
        Ok(code) => code,
        // Docker quirk: an exec that cannot start exits 126, whatever the
        // reason (`run` distinguishes 127 for a missing command).
        Err(ContainerError::CannotRun { message, .. }) => {
            let _ = out.blocking_send((2, format!("{message}\n").into_bytes()));
            126
        }
        Err(e) => {
            let _ = out.blocking_send((2, format!("{e}\n").into_bytes()));
            126
        }
    };
    let _ = engine.exec_exited(&mut rec, code as i64);
    drop(out);
}

async fn resize(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    q: Query,
) -> Result<Response, ApiError> {
    let h = q.int("h")?.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    let w = q.int("w")?.unwrap_or(0).clamp(0, u16::MAX as i64) as u16;
    engine
        .with_engine(move |engine| Ok(engine.exec_resize(&id, h, w)?))
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = engine
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
