//! An exec a front end can detach from (`exec -it`, whose user may type the
//! detach keys): its process's terminal is held by a small process of its
//! own, `berth __exec` (the exec's id in its environment), not by the front
//! end. As dockerd's shim holds an exec's stdio, the holder outlives the
//! front end: a detached exec runs on, its output drained, and its exit is
//! still recorded (`exec_die`, the exit code in `exec inspect`).
//!
//! The front end and the holder talk over a socketpair (the holder's fd 3)
//! in the monitor's attach frames ([`crate::monitor::protocol`]): stdin and
//! stdin-close one way, output and the exit code the other. The front end
//! detaches by closing its end.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;

use berth_container::ContainerError;

use super::attach::{Attachment, Output};
use super::exec::prepare_exec;
use super::exec_instances::load;
use super::exec_start::ExecIo;
use crate::monitor::protocol::{self, EXIT, STDERR, STDIN, STDIN_CLOSE, STDOUT};
use crate::{Config, Engine, Result};

/// The exec's id, in the holder's environment.
const ID_ENV: &str = "BERTH_EXEC_ID";
/// "ROWS COLS" of the exec's terminal, in the holder's environment.
const SIZE_ENV: &str = "BERTH_EXEC_SIZE";
/// The holder's end of the socketpair.
const SESSION_FD: RawFd = 3;

impl Engine {
    /// `exec start` for a front end that may detach from the session (it
    /// ends the session with [`super::attach::AttachInput::detach`]): the
    /// process's stdio (a terminal of `rows` x `cols` when the exec has a
    /// tty) is held by `berth __exec`, which runs it to its end.
    pub fn exec_start_detachable(&mut self, id: &str, rows: u16, cols: u16) -> Result<Attachment> {
        let (rec, _) = self.exec_begin(id)?;
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| ContainerError::sys("socketpair", e))?;
        let exe = std::env::current_exe().map_err(|e| ContainerError::io("/proc/self/exe", e))?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("--root")
            .arg(&self.config.root)
            .arg("--run-dir")
            .arg(&self.config.run_dir)
            .arg("__exec")
            .env(ID_ENV, &rec.id)
            .env(SIZE_ENV, format!("{rows} {cols}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let fd = theirs.as_raw_fd();
        // SAFETY: only async-signal-safe calls (dup2, setsid, raw
        // rt_sigaction) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // dup2 clears close-on-exec on the copy; a socket already
                // on fd 3 gets it cleared by hand.
                let moved = if fd == SESSION_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, SESSION_FD)
                };
                if moved < 0 || libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                // Signals at their defaults, none blocked (and so the
                // runtime it starts, and the exec'd process).
                berth_runtime::default_signals_in_child()
            });
        }
        // The holder is reaped by whoever inherits it once this process ends;
        // a front end that stays reaps nothing it does not wait for.
        cmd.spawn()
            .map_err(|e| ContainerError::sys("spawning the exec's holder", e))?;
        drop(theirs);
        Ok(Attachment::monitor(ours)?)
    }
}

/// `berth __exec`: holds the stdio of the exec named in its environment
/// (already started by [`Engine::exec_start_detachable`]) and relays it to
/// the front end on fd 3 while that stays; runs until the process ends.
pub fn main(config: Config) -> i32 {
    let (Ok(id), Ok(size)) = (std::env::var(ID_ENV), std::env::var(SIZE_ENV)) else {
        return 125;
    };
    let (rows, cols) = size
        .split_once(' ')
        .map(|(r, c)| (r.parse().unwrap_or(0), c.parse().unwrap_or(0)))
        .unwrap_or((0, 0));
    // SAFETY: fd 3 was set up by the spawner for this process alone; nothing
    // this process starts may inherit it.
    let session = unsafe {
        libc::fcntl(SESSION_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        UnixStream::from_raw_fd(SESSION_FD)
    };
    let attachment = match hold(config, &id, rows, cols) {
        Ok(attachment) => attachment,
        Err(e) => {
            let mut session = session;
            let _ = protocol::write_frame(&mut session, STDERR, format!("{e}\n").as_bytes());
            let _ = protocol::write_frame(&mut session, EXIT, b"126");
            return 1;
        }
    };
    let (output, mut input) = attachment.split();
    if let Ok(mut from) = session.try_clone() {
        std::thread::spawn(move || {
            while let Ok(Some((kind, data))) = protocol::read_frame(&mut from) {
                let written = match kind {
                    STDIN => input.stdin(&data),
                    STDIN_CLOSE => input.close_stdin(),
                    _ => Ok(()),
                };
                if written.is_err() {
                    break;
                }
            }
            // The front end detached or went away: the process runs on (a
            // terminal stays open: the output side holds it too).
            input.detach();
        });
    }
    // Once the front end is gone, the output is read on and dropped, so that
    // the process never blocks on it.
    let mut to = Some(session);
    for piece in output {
        let (kind, data) = match piece {
            Output::Stdout(data) => (STDOUT, data),
            Output::Stderr(data) => (STDERR, data),
            Output::Exit(code) => (EXIT, code.to_string().into_bytes()),
        };
        if let Some(session) = to.as_mut() {
            if protocol::write_frame(session, kind, &data).is_err() {
                to = None;
            }
        }
    }
    0
}

fn hold(config: Config, id: &str, rows: u16, cols: u16) -> Result<Attachment> {
    let mut engine = Engine::open(config)?;
    let rec = load(&engine.store, id)?;
    let prepared = prepare_exec(
        &mut engine.store,
        &engine.config.run_dir,
        &rec.container_id,
        &rec.config,
    );
    engine.exec_run(rec, prepared, ExecIo::Streams { rows, cols })
}
