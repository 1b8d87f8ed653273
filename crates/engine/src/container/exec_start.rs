//! `exec start`: runs an exec instance, once, as a session. The engine
//! records what Docker reports about it: `exec_start` and the process's pid
//! when it runs, its exit code and `exec_die` when it ends (before the
//! session's output ends, so that a client that inspects the exec then sees
//! the code).

use std::fs::File;
use std::io::Read;
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

use berth_container::ContainerError;
use berth_store::Store;

use super::attach::{Attachment, Output};
use super::exec::{prepare_exec, ExecStdio, PreparedExec};
use super::exec_instances::{load, record, save, with_command, ExecInstance};
use crate::{Engine, Error, ErrorKind, Result};

/// Where an exec's stdio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecIo {
    /// This process's own stdout and stderr, and its stdin when the exec
    /// attaches it or has a terminal (a CLI's terminal or pipes). The
    /// session yields the exit, after a message on stderr if the process
    /// could not run.
    Inherit,
    /// As [`ExecIo::Inherit`], but the session ends as soon as the process
    /// runs: it goes on on its own, and its exit is not recorded (`exec -d`
    /// of a front end that does not stay).
    InheritDetached,
    /// Through the session: pipes, or a terminal of this size when the exec
    /// has a tty.
    Streams { rows: u16, cols: u16 },
}

impl Engine {
    /// `exec start`: runs the exec instance `id` (an instance runs once).
    pub fn exec_start(&mut self, id: &str, io: ExecIo) -> Result<Attachment> {
        let (rec, prepared) = self.exec_begin(id)?;
        self.exec_run(rec, Ok(prepared), io)
    }

    /// Checks that the instance `id` may start and that its process can be
    /// built, then records it as started (`exec_start`).
    pub(super) fn exec_begin(&mut self, id: &str) -> Result<(ExecInstance, PreparedExec)> {
        let mut rec = load(&self.store, id)?;
        if rec.started {
            return Err(Error::refused(
                ErrorKind::Conflict,
                format!("Exec command {} has already run", rec.id),
            ));
        }
        let prepared = prepare_exec(
            &mut self.store,
            &self.config.run_dir,
            &rec.container_id,
            &rec.config,
        )?;
        rec.started = true;
        save(&self.store, &rec)?;
        record(
            &mut self.store,
            &rec,
            &with_command("exec_start", &rec),
            vec![],
        )?;
        Ok((rec, prepared))
    }

    /// Spawns a started instance's process (or records why it could not
    /// be built) with `io` as its stdio.
    pub(super) fn exec_run(
        &mut self,
        mut rec: ExecInstance,
        prepared: berth_container::Result<PreparedExec>,
        io: ExecIo,
    ) -> Result<Attachment> {
        let config = &rec.config;
        let stdio = match io {
            ExecIo::Inherit | ExecIo::InheritDetached => ExecStdio::Inherit {
                stdin: config.attach_stdin || config.tty,
            },
            ExecIo::Streams { rows, cols } if config.tty => ExecStdio::Terminal { rows, cols },
            ExecIo::Streams { .. } => ExecStdio::Pipes {
                stdin: config.attach_stdin,
            },
        };
        let attach_stdin = config.attach_stdin;
        let detach = io == ExecIo::InheritDetached;
        let (out, output) = mpsc::sync_channel(16);
        let session = |stdin| Attachment::process(output, stdin);
        let spawned =
            prepared.and_then(|prepared| prepared.spawn(&rec.container_id, stdio, detach));
        let mut running = match spawned {
            Ok(running) => running,
            Err(e) => {
                finish(&mut self.store, &mut rec, Err(e), &out);
                return Ok(session(None));
            }
        };
        rec.running = true;
        rec.pid = running.pid() as i64;
        save(&self.store, &rec)?;
        if detach {
            match running.wait() {
                Ok(code) => {
                    let _ = out.send(Output::Exit(code));
                }
                Err(e) => finish(&mut self.store, &mut rec, Err(e), &out),
            }
            return Ok(session(None));
        }
        let mut pumps = Vec::new();
        let mut stdin = running.stdin.take();
        if let Some(terminal) = running.terminal.take() {
            let reader = terminal
                .try_clone()
                .map_err(|e| ContainerError::sys("duplicating the exec's terminal", e))?;
            pumps.push(pump(reader, Output::Stdout, out.clone()));
            stdin = attach_stdin.then_some(terminal);
        }
        if let Some(stdout) = running.stdout.take() {
            pumps.push(pump(stdout, Output::Stdout, out.clone()));
        }
        if let Some(stderr) = running.stderr.take() {
            pumps.push(pump(stderr, Output::Stderr, out.clone()));
        }
        let engine = self.config.clone();
        std::thread::spawn(move || {
            let status = running.wait();
            // Its files in the runtime's state go now, before the session
            // hears the exit (the CLI exits at once then).
            drop(running);
            for p in pumps {
                let _ = p.join();
            }
            match Engine::open(engine) {
                Ok(mut engine) => finish(&mut engine.store, &mut rec, status, &out),
                Err(_) => {
                    let _ = out.send(Output::Exit(exit_code(&status)));
                }
            }
        });
        Ok(session(stdin))
    }
}

/// Docker quirk: an exec that cannot start exits 126, whatever the reason
/// (`run` tells 127, a missing command, apart).
fn exit_code(status: &berth_container::Result<i32>) -> i32 {
    *status.as_ref().unwrap_or(&126)
}

/// Records the end of the exec (its exit code, `exec_die`), then ends its
/// session with the code (after the reason on stderr if it could not run).
fn finish(
    store: &mut Store,
    rec: &mut ExecInstance,
    status: berth_container::Result<i32>,
    out: &SyncSender<Output>,
) {
    let code = exit_code(&status);
    if let Err(e) = status {
        let _ = out.send(Output::Stderr(format!("{e}\n").into_bytes()));
    }
    rec.running = false;
    rec.exit_code = Some(code.into());
    if save(store, rec).is_ok() {
        let _ = record(store, rec, "exec_die", vec![("exitCode", code.to_string())]);
    }
    let _ = out.send(Output::Exit(code));
}

/// Copies what the process writes to the session, as `kind`; once the
/// session is gone, reads on and drops it, so that the process never blocks
/// on a full pipe.
fn pump(mut from: File, kind: fn(Vec<u8>) -> Output, to: SyncSender<Output>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        let mut listened = true;
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if listened && to.send(kind(buf[..n].to_vec())).is_err() {
                        listened = false;
                    }
                }
            }
        }
    })
}
