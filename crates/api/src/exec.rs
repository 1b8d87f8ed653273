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
use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_engine::container::{lifecycle, ops};
use berth_container::{model, ContainerError, Status};
use berth_store::Store;
use bollard_stubs::models::{ExecConfig, ExecStartConfig};
use serde::{Deserialize, Serialize};
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExecRecord {
    id: String,
    container_id: String,
    config: ExecConfig,
    running: bool,
    started: bool,
    exit_code: Option<i64>,
    /// The runtime's (`runc exec`) pid while running: its stdio is the
    /// exec's terminal, which resize reaches through /proc.
    pid: i64,
}

fn exec_dir(store: &Store, container_id: &str) -> PathBuf {
    model::container_dir(store, container_id).join("exec")
}

/// Exec IDs of a container (inspect's `ExecIDs`).
pub fn ids_of(store: &Store, container_id: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(exec_dir(store, container_id)) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(String::from)
        })
        .collect();
    ids.sort();
    ids
}

fn record_path(store: &Store, container_id: &str, id: &str) -> PathBuf {
    exec_dir(store, container_id).join(format!("{id}.json"))
}

fn save(store: &Store, rec: &ExecRecord) -> Result<(), ApiError> {
    let dir = exec_dir(store, &rec.container_id);
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::engine(format!("{}: {e}", dir.display())))?;
    let path = record_path(store, &rec.container_id, &rec.id);
    let tmp = path.with_extension("tmp");
    let data = serde_json::to_vec(rec).map_err(|e| ApiError::engine(e.to_string()))?;
    std::fs::write(&tmp, data).map_err(|e| ApiError::engine(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| ApiError::engine(format!("{}: {e}", path.display())))
}

fn no_such_exec(id: &str) -> ApiError {
    ApiError::not_found(format!("No such exec instance: {id}"))
}

fn load(store: &Store, id: &str) -> Result<ExecRecord, ApiError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(no_such_exec(id));
    }
    let containers = store.containers_dir();
    let entries = std::fs::read_dir(&containers)
        .map_err(|e| ApiError::engine(format!("{}: {e}", containers.display())))?;
    for entry in entries.flatten() {
        let path = entry.path().join("exec").join(format!("{id}.json"));
        if let Ok(data) = std::fs::read(&path) {
            let mut rec: ExecRecord = serde_json::from_slice(&data)
                .map_err(|e| ApiError::engine(format!("{}: {e}", path.display())))?;
            if rec.running && !pid_alive(rec.pid) {
                rec.running = false;
            }
            return Ok(rec);
        }
    }
    Err(no_such_exec(id))
}

fn pid_alive(pid: i64) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
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
    let config: ExecConfig = serde_json::from_value(value)?;
    if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let id = engine
        .with_store(move |store, runtime| {
            let c = lifecycle::lookup(store, runtime, &container)?;
            match c.state.status {
                Status::Running => {}
                Status::Paused => {
                    return Err(ApiError::conflict(format!(
                        "Container {} is paused, unpause the container before exec",
                        c.id
                    )))
                }
                _ => {
                    return Err(ApiError::conflict(format!(
                        "Container {} is not running",
                        c.id
                    )))
                }
            }
            let rec = ExecRecord {
                id: berth_store::new_id(),
                container_id: c.id.clone(),
                config,
                running: false,
                started: false,
                exit_code: None,
                pid: 0,
            };
            save(store, &rec)?;
            Ok(rec.id)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"Id": id}))).into_response())
}

fn request_of(cfg: &ExecConfig) -> ops::ExecRequest {
    ops::ExecRequest {
        cmd: cfg.cmd.clone().unwrap_or_default(),
        env: cfg.env.clone().unwrap_or_default(),
        user: cfg.user.clone().filter(|u| !u.is_empty()),
        working_dir: cfg.working_dir.clone().filter(|w| !w.is_empty()),
        tty: cfg.tty.unwrap_or(false),
        interactive: cfg.attach_stdin.unwrap_or(false),
        detach: false,
        privileged: cfg.privileged.unwrap_or(false),
    }
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
        .with_store(move |store, runtime| {
            let mut rec = load(store, &id)?;
            if rec.started {
                return Err(ApiError::conflict(format!(
                    "Exec command {} has already run",
                    rec.id
                )));
            }
            let prepared =
                ops::prepare_exec(store, runtime, &rec.container_id, &request_of(&rec.config))?;
            rec.started = true;
            save(store, &rec)?;
            Ok((rec, prepared))
        })
        .await?;
    // The process gets a terminal if the exec was created with one...
    let tty = rec.config.tty.unwrap_or(false);
    let mut detach_keys = DetachKeys::parse(rec.config.detach_keys.as_deref().unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    // Docker quirk: ...but the stream is raw only if the *start* asks for
    // it (`Tty` of the start body, which docker-py leaves false): otherwise
    // the terminal's output comes framed as stdout.
    let raw_stream = start.tty.unwrap_or(false);
    let attach_stdin = rec.config.attach_stdin.unwrap_or(false) && !detach;
    let root = engine.root.clone();
    let (out_tx, out_rx) = mpsc::channel::<Output>(16);
    let (in_tx, in_rx) = mpsc::channel::<Bytes>(16);
    let rows = size.first().copied().unwrap_or(0) as u16;
    let cols = size.get(1).copied().unwrap_or(0) as u16;
    tokio::task::spawn_blocking(move || {
        run(
            root,
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
    root: PathBuf,
    mut rec: ExecRecord,
    prepared: ops::PreparedExec,
    tty: bool,
    attach_stdin: bool,
    (rows, cols): (u16, u16),
    out: mpsc::Sender<Output>,
    input: mpsc::Receiver<Bytes>,
) {
    let Ok(store) = Store::open(&root) else {
        return;
    };
    let spawned = if tty {
        prepared.spawn_pty(rows, cols).and_then(|(child, master)| {
            let reader = master
                .try_clone()
                .map_err(|e| ContainerError::Engine(format!("pty: {e}")))?;
            let readers = vec![pump(reader, 1, out.clone())];
            if attach_stdin {
                feed(master, input);
            }
            Ok((child, readers))
        })
    } else {
        let stdin = if attach_stdin {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        };
        prepared
            .spawn(
                None,
                false,
                stdin,
                std::process::Stdio::piped(),
                std::process::Stdio::piped(),
            )
            .map(|mut child| {
                let mut readers = Vec::new();
                if let Some(o) = child.stdout.take() {
                    readers.push(pump(o, 1, out.clone()));
                }
                if let Some(e) = child.stderr.take() {
                    readers.push(pump(e, 2, out.clone()));
                }
                if let Some(i) = child.stdin.take() {
                    feed(i, input);
                }
                (child, readers)
            })
    };
    let (mut child, readers) = match spawned {
        Ok(x) => x,
        Err(e) => {
            let _ = out.blocking_send((2, format!("{e}\n").into_bytes()));
            rec.exit_code = Some(126);
            let _ = save(&store, &rec);
            return;
        }
    };
    rec.running = true;
    rec.pid = child.id() as i64;
    let _ = save(&store, &rec);
    let status = child.wait();
    for r in readers {
        let _ = r.join();
    }
    let code = match status {
        Ok(status) => match prepared.finish(status) {
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
        },
        Err(_) => 126,
    };
    rec.running = false;
    rec.exit_code = Some(code as i64);
    let _ = save(&store, &rec);
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
        .with_store(move |store, _| {
            let rec = load(store, &id)?;
            if !rec.running {
                return Err(ApiError::conflict(format!(
                    "Exec {} is not running",
                    rec.id
                )));
            }
            if rec.config.tty.unwrap_or(false) {
                // The runtime's stdin is the exec's terminal: resizing it
                // sends the runtime SIGWINCH, and it resizes the container's.
                let path = format!("/proc/{}/fd/0", rec.pid);
                let terminal = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|e| {
                        ApiError::conflict(format!("Exec {} is not running: {e}", rec.id))
                    })?;
                ops::set_window_size(&terminal, h, w);
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let rec = engine.with_store(move |store, _| load(store, &id)).await?;
    let cmd = rec.config.cmd.clone().unwrap_or_default();
    Ok(Json(json!({
        "ID": rec.id,
        "Running": rec.running,
        "ExitCode": rec.exit_code,
        "ProcessConfig": {
            "tty": rec.config.tty.unwrap_or(false),
            "entrypoint": cmd.first().cloned().unwrap_or_default(),
            "arguments": cmd.iter().skip(1).collect::<Vec<_>>(),
            "privileged": rec.config.privileged.unwrap_or(false),
            "user": rec.config.user.clone().unwrap_or_default(),
        },
        "OpenStdin": rec.config.attach_stdin.unwrap_or(false),
        "OpenStderr": rec.config.attach_stderr.unwrap_or(false),
        "OpenStdout": rec.config.attach_stdout.unwrap_or(false),
        "CanRemove": false,
        "ContainerID": rec.container_id,
        "DetachKeys": rec.config.detach_keys.clone().unwrap_or_default(),
        "Pid": if rec.running { rec.pid } else { 0 },
    })))
}
