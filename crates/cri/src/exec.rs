//! ExecSync: a command in a running container, its output collected.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_engine::container::attach::Output;
use berth_engine::container::exec_instances::ExecConfig;
use berth_engine::container::exec_start::ExecIo;
use berth_engine::Engine;
use tonic::Status;

use crate::api;
use crate::containers;
use crate::error::{self, invalid};

/// The CRI's limit on what ExecSync returns per stream (kubelet's 16 MiB).
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

pub fn exec_sync(
    engine: &mut Engine,
    req: api::ExecSyncRequest,
) -> Result<api::ExecSyncResponse, Status> {
    if req.cmd.is_empty() {
        return Err(invalid("ExecSync needs a command"));
    }
    let d = containers::find(engine, &req.container_id)?;
    // The engine kills the process at the timeout; the call then fails as
    // the CRI asks (containerd's and CRI-O's DeadlineExceeded).
    let timeout = (req.timeout > 0).then(|| Duration::from_secs(req.timeout as u64));
    let started = Instant::now();
    let id = engine
        .exec_create(
            &d.container.id,
            ExecConfig {
                cmd: req.cmd.clone(),
                attach_stdout: true,
                attach_stderr: true,
                timeout,
                ..ExecConfig::default()
            },
        )
        .map_err(error::status)?;
    let session = engine
        .exec_start(&id, ExecIo::Streams { rows: 0, cols: 0 })
        .map_err(error::status)?;
    let (output, input) = session.split();
    drop(input);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = api::ExecSyncResponse::default();
        for piece in output {
            match piece {
                Output::Stdout(data) => append(&mut out.stdout, &data),
                Output::Stderr(data) => append(&mut out.stderr, &data),
                Output::Exit(code) => out.exit_code = code,
            }
        }
        let _ = tx.send(out);
    });
    let result = rx
        .recv()
        .map_err(|_| Status::internal("the exec session ended without its output"))?;
    match timeout {
        Some(timeout) if started.elapsed() >= timeout => Err(Status::deadline_exceeded(format!(
            "command {:?} timed out after {}s",
            req.cmd, req.timeout
        ))),
        _ => Ok(result),
    }
}

fn append(buf: &mut Vec<u8>, data: &[u8]) {
    let room = MAX_OUTPUT.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
}
