//! The container's stdio as the monitor holds it during a run: the read ends
//! of its stdout and stderr pipes and the write end of its stdin, or the
//! master side of its terminal.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;

use berth_container::model::Container;
use berth_container::{ContainerError, Result};
use berth_runtime::{ProcessIo, WindowSize};

use super::protocol;

pub(super) struct ContainerStdio {
    /// Read end of stdout (or the terminal's master).
    pub out: Option<File>,
    pub err: Option<File>,
    /// Write end of stdin (or the terminal's master).
    stdin: Option<File>,
    /// Docker's `StdinOnce`: the first stdin client's end closes stdin.
    stdin_once: bool,
    terminal: bool,
}

fn pipe() -> Result<(File, OwnedFd)> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| ContainerError::sys("pipe", e))?;
    Ok((File::from(read), write))
}

impl ContainerStdio {
    /// The monitor's ends for a run of `c`, and what the runtime is to give
    /// the container.
    pub(super) fn new(c: &Container) -> Result<(ContainerStdio, ProcessIo)> {
        if c.spec.tty {
            let ends = ContainerStdio {
                out: None,
                err: None,
                stdin: None,
                stdin_once: c.spec.stdin_once,
                terminal: true,
            };
            let [rows, cols] = c.spec.console_size;
            return Ok((ends, ProcessIo::Terminal(WindowSize { rows, cols })));
        }
        let (out, stdout) = pipe()?;
        let (err, stderr) = pipe()?;
        let (stdin_monitor, stdin) = if c.spec.open_stdin {
            let (read, write) = pipe()?;
            (Some(File::from(write)), Some(OwnedFd::from(read)))
        } else {
            (None, None)
        };
        let ends = ContainerStdio {
            out: Some(out),
            err: Some(err),
            stdin: stdin_monitor,
            stdin_once: c.spec.stdin_once,
            terminal: false,
        };
        let io = ProcessIo::Fds {
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
        };
        Ok((ends, io))
    }

    /// The terminal's master, once the runtime has handed it over.
    pub(super) fn set_terminal(&mut self, master: OwnedFd) {
        let master = File::from(master);
        self.stdin = master.try_clone().ok();
        self.out = Some(master);
    }

    /// Applies a frame from an attach client ([`protocol::STDIN_CLOSE`]
    /// also when a stdin client goes away).
    pub(super) fn input(&mut self, kind: u8, payload: &[u8]) {
        match kind {
            protocol::STDIN => {
                if let Some(w) = self.stdin.as_mut() {
                    if w.write_all(payload).is_err() {
                        self.stdin = None;
                    }
                }
            }
            // As dockerd: only with StdinOnce (and no tty) does a client's
            // end close the container's stdin; else the next attach uses it.
            protocol::STDIN_CLOSE if self.stdin_once && !self.terminal => self.stdin = None,
            protocol::RESIZE if self.terminal => {
                let text = String::from_utf8_lossy(payload);
                let mut parts = text
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u16>().ok());
                if let (Some(rows), Some(cols), Some(master)) =
                    (parts.next(), parts.next(), self.out.as_ref())
                {
                    berth_runtime::set_window_size(master, rows, cols);
                }
            }
            _ => {}
        }
    }
}
