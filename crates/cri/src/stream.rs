//! Exec, Attach and PortForward: berth-cri-stream's server hands out the
//! URLs ([`StreamUrls`]) and reaches the containers through the engine
//! ([`EngineStreams`]).

use std::io::{Read, Write};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use berth_cri_stream as stream;
use berth_cri_stream::{PortStream, RuntimeError, StreamIo, StreamRuntime, TermSize};
use berth_engine::container::attach::{AttachInput, AttachOutput, Output};
use berth_engine::container::exec_instances::ExecConfig;
use berth_engine::container::exec_start::ExecIo;
use berth_engine::{Config, Engine};
use tonic::Status;

use crate::{api, error, StreamUrls};

impl StreamUrls for stream::Server {
    fn exec(&self, req: &api::ExecRequest) -> Result<String, Status> {
        self.get_exec(stream::ExecRequest {
            container_id: req.container_id.clone(),
            cmd: req.cmd.clone(),
            tty: req.tty,
            stdin: req.stdin,
            stdout: req.stdout,
            stderr: req.stderr,
        })
        .map_err(error::status)
    }

    fn attach(&self, req: &api::AttachRequest) -> Result<String, Status> {
        self.get_attach(stream::AttachRequest {
            container_id: req.container_id.clone(),
            stdin: req.stdin,
            tty: req.tty,
            stdout: req.stdout,
            stderr: req.stderr,
        })
        .map_err(error::status)
    }

    fn port_forward(&self, req: &api::PortForwardRequest) -> Result<String, Status> {
        self.get_port_forward(stream::PortForwardRequest {
            pod_sandbox_id: req.pod_sandbox_id.clone(),
        })
        .map_err(error::status)
    }
}

/// How long an exec with a terminal waits for the client's size.
const FIRST_SIZE: Duration = Duration::from_secs(2);

/// The streaming server's runtime: each session opens the engine of the
/// state root `berth cri` serves.
pub struct EngineStreams {
    pub config: Config,
}

impl EngineStreams {
    fn engine(&self) -> Result<Engine, RuntimeError> {
        Ok(Engine::open(self.config.clone())?)
    }

    /// Follows the client's terminal sizes with `resize` on an engine of
    /// its own, until the client stops sending them.
    fn follow_resizes(
        &self,
        sizes: Option<Receiver<TermSize>>,
        resize: impl Fn(&mut Engine, u16, u16) + Send + 'static,
    ) {
        let (Some(sizes), Ok(mut engine)) = (sizes, self.engine()) else {
            return;
        };
        std::thread::spawn(move || {
            for size in sizes {
                resize(&mut engine, size.height, size.width);
            }
        });
    }
}

impl StreamRuntime for EngineStreams {
    fn exec(&self, container_id: &str, cmd: &[String], io: StreamIo) -> Result<i32, RuntimeError> {
        let mut engine = self.engine()?;
        let d = crate::containers::find(&mut engine, container_id).map_err(status_error)?;
        let id = engine.exec_create(
            &d.container.id,
            ExecConfig {
                cmd: cmd.to_vec(),
                tty: io.tty,
                attach_stdin: io.stdin.is_some(),
                attach_stdout: io.stdout.is_some(),
                attach_stderr: io.stderr.is_some(),
                ..ExecConfig::default()
            },
        )?;
        // The process starts at the client's size (its first resize comes at
        // once): a command that asks right away (`stty size`) sees it.
        let first = match (&io.resize, io.tty) {
            (Some(sizes), true) => sizes.recv_timeout(FIRST_SIZE).ok(),
            _ => None,
        };
        let (rows, cols) = first.map_or((0, 0), |s| (s.height, s.width));
        let session = engine.exec_start(&id, ExecIo::Streams { rows, cols })?;
        let exec_id = id.clone();
        self.follow_resizes(io.resize, move |e, rows, cols| {
            let _ = e.exec_resize(&exec_id, rows, cols);
        });
        let (output, input) = session.split();
        relay_stdin(io.stdin, input);
        Ok(relay_output(output, io.stdout, io.stderr).unwrap_or(-1))
    }

    fn attach(&self, container_id: &str, io: StreamIo) -> Result<(), RuntimeError> {
        let mut engine = self.engine()?;
        let d = crate::containers::find(&mut engine, container_id).map_err(status_error)?;
        let pending = engine.container_attach(&d.container.id)?;
        if !pending.is_running() {
            return Err(format!("container {} is not running", d.container.id).into());
        }
        let Some(session) = pending.wait() else {
            return Err(format!("container {} is gone", d.container.id).into());
        };
        let id = d.container.id.clone();
        self.follow_resizes(io.resize, move |e, rows, cols| {
            let _ = e.container_resize(&id, rows, cols);
        });
        let (output, mut input) = session.split();
        if io.stdin.is_some() {
            input.attach_stdin()?;
        }
        // A client gone without a word ends the session even while the
        // container prints nothing.
        let detacher = input.detacher()?;
        let hangup = io.hangup.clone();
        std::thread::spawn(move || {
            hangup.wait();
            detacher.detach();
        });
        relay_stdin(io.stdin, input);
        relay_output(output, io.stdout, io.stderr);
        Ok(())
    }

    fn port_forward(
        &self,
        pod_sandbox_id: &str,
        port: u16,
        stream: PortStream,
    ) -> Result<(), RuntimeError> {
        let mut engine = self.engine()?;
        let (infra, _) = crate::sandbox::find(&mut engine, pod_sandbox_id).map_err(status_error)?;
        let conn = engine.container_connect_port(&infra.container.id, port)?;
        let PortStream {
            mut reader,
            mut writer,
        } = stream;
        let mut to_pod = conn.try_clone()?;
        let upstream = std::thread::spawn(move || {
            let _ = std::io::copy(&mut reader, &mut to_pod);
            let _ = to_pod.shutdown(std::net::Shutdown::Write);
        });
        let mut from_pod = conn;
        let _ = std::io::copy(&mut from_pod, &mut writer);
        drop(writer);
        let _ = upstream.join();
        Ok(())
    }
}

/// Copies the client's stdin to the process on a thread of its own (a
/// client may keep it open after the process ends); its end closes the
/// process's stdin.
fn relay_stdin(stdin: Option<stream::StreamReader>, mut input: AttachInput) {
    let Some(mut stdin) = stdin else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if input.stdin(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = input.close_stdin();
    });
}

/// Copies the session's output to the client until it ends (or the client
/// goes away); the exit code, if the session told it.
fn relay_output(
    output: AttachOutput,
    mut stdout: Option<stream::StreamWriter>,
    mut stderr: Option<stream::StreamWriter>,
) -> Option<i32> {
    for piece in output {
        let (target, data) = match piece {
            Output::Exit(code) => return Some(code),
            Output::Stdout(data) => (stdout.as_mut(), data),
            Output::Stderr(data) => (stderr.as_mut(), data),
        };
        if let Some(w) = target {
            if w.write_all(&data).is_err() {
                return None;
            }
        }
    }
    None
}

fn status_error(s: Status) -> RuntimeError {
    s.message().to_string().into()
}
