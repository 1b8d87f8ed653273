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
            // The process's terminal comes to this process, which copies its
            // output to the session to the end (a runtime's relay may lose
            // the last of it).
            ExecIo::Inherit if config.tty => {
                let (rows, cols) = own_terminal_size();
                ExecStdio::Terminal { rows, cols }
            }
            ExecIo::Inherit | ExecIo::InheritDetached => ExecStdio::Inherit {
                stdin: config.attach_stdin || config.tty,
            },
            ExecIo::Streams { rows, cols } if config.tty => {
                let [rows, cols] = match config.console_size {
                    Some(size) if rows == 0 || cols == 0 => size,
                    _ => [rows, cols],
                };
                ExecStdio::Terminal { rows, cols }
            }
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
        // Closed once the process has exited: the terminal's output is then
        // read to what is there, not to its end (a process the command left
        // in the background may hold the terminal open).
        let (exited, exit_seen) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| ContainerError::sys("pipe", e))?;
        let mut terminal_id = None;
        if let Some(terminal) = running.terminal.take() {
            let dup = |f: &File| {
                f.try_clone()
                    .map_err(|e| ContainerError::sys("duplicating the exec's terminal", e))
            };
            super::exec_terminals::register(&rec.id, dup(&terminal)?);
            terminal_id = Some(rec.id.clone());
            pumps.push(pump_terminal(dup(&terminal)?, exited, out.clone()));
            stdin = attach_stdin.then_some(terminal);
        } else {
            drop(exited);
        }
        if let Some(stdout) = running.stdout.take() {
            pumps.push(pump(stdout, Output::Stdout, out.clone()));
        }
        if let Some(stderr) = running.stderr.take() {
            pumps.push(pump(stderr, Output::Stderr, out.clone()));
        }
        let engine = self.config.clone();
        let timeout = config.timeout;
        std::thread::spawn(move || {
            let status = match timeout {
                Some(timeout) => running.wait_at_most(timeout),
                None => running.wait(),
            };
            drop(exit_seen);
            if let Some(id) = terminal_id {
                super::exec_terminals::unregister(&id);
            }
            // The runtime's files go before the session ends (a front end
            // may exit as soon as it has the code).
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

/// The size of this process's terminal (its stdout's, else its stdin's);
/// 0x0 when it has none.
fn own_terminal_size() -> (u16, u16) {
    for fd in [1, 0] {
        // SAFETY: TIOCGWINSZ into a local winsize.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0 {
            return (size.ws_row, size.ws_col);
        }
    }
    (0, 0)
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

/// Copies what the process writes on its terminal to the session, until
/// the terminal's end or, once `exited` reads its end (the process has
/// exited), what is left in it; once the session is gone, reads on and
/// drops it.
fn pump_terminal(
    from: File,
    exited: std::os::fd::OwnedFd,
    to: SyncSender<Output>,
) -> JoinHandle<()> {
    use std::os::fd::AsRawFd;
    std::thread::spawn(move || {
        let mut from = from;
        let mut buf = vec![0u8; 32 * 1024];
        let mut listened = true;
        let mut draining = false;
        loop {
            if !draining {
                let mut fds = [
                    libc::pollfd {
                        fd: from.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    },
                    libc::pollfd {
                        fd: exited.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    },
                ];
                // SAFETY: poll on two pollfds of ours.
                if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                    if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    break;
                }
                if fds[1].revents != 0 {
                    // What the process wrote is in the terminal already (a
                    // read flushes the terminal's pending input): read
                    // without waiting until there is no more.
                    // SAFETY: F_SETFL on our own descriptor.
                    unsafe {
                        let flags = libc::fcntl(from.as_raw_fd(), libc::F_GETFL);
                        libc::fcntl(from.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
                    }
                    draining = true;
                } else if fds[0].revents == 0 {
                    continue;
                }
            }
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if listened && to.send(Output::Stdout(buf[..n].to_vec())).is_err() {
                        listened = false;
                    }
                }
            }
        }
    })
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
