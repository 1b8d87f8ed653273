//! `attach`: a session on a container's stdio, or an exec's. Its output
//! comes as typed pieces ([`Output`]), its input goes in as calls; how the
//! bytes travel (the monitor's attach socket and frames, an exec's pipes or
//! terminal) stays inside the engine.
//!
//! A container's session is one attach client of its monitor: attached at
//! once while it runs, or, for a client that attaches before it starts
//! (Docker clients send attach, then start), from the first byte of its
//! next run ([`PendingAttachment`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use berth_container::model::{Container, Paths};
use berth_container::{state, Result};
use berth_store::Store;

use super::reconcile::lookup;
use crate::monitor::client::{self, AttachWaiter};
use crate::monitor::protocol::{
    self, ENDED, EXIT, STDERR, STDIN, STDIN_ATTACH, STDIN_CLOSE, STDOUT,
};
use crate::Engine;

/// A piece of a session's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The process exited with this code (for a container with `--rm`,
    /// once it is removed); nothing follows.
    Exit(i32),
}

/// A session on a running process's stdio.
pub struct Attachment {
    output: AttachOutput,
    input: AttachInput,
}

impl Attachment {
    /// A session over a monitor's attach client `stream`.
    pub(crate) fn monitor(stream: UnixStream) -> Result<Attachment> {
        let writer = stream
            .try_clone()
            .map_err(|e| berth_container::ContainerError::sys("attach socket", e))?;
        Ok(Attachment {
            output: AttachOutput {
                source: Source::Monitor(stream),
                done: false,
            },
            input: AttachInput {
                sink: Sink::Monitor(writer),
            },
        })
    }

    /// A session over a process the engine runs itself (an exec): its
    /// output arrives on `output`, its stdin is `stdin`.
    pub(crate) fn process(output: mpsc::Receiver<Output>, stdin: Option<File>) -> Attachment {
        Attachment {
            output: AttachOutput {
                source: Source::Process(output),
                done: false,
            },
            input: AttachInput {
                sink: Sink::Process(stdin),
            },
        }
    }

    /// The output side and the input side, to be driven from two threads.
    pub fn split(self) -> (AttachOutput, AttachInput) {
        (self.output, self.input)
    }
}

/// The output side of an [`Attachment`]: an iterator of [`Output`] that
/// blocks for the next piece and ends after [`Output::Exit`] (or, without
/// it, when the process's supervisor went away).
pub struct AttachOutput {
    source: Source,
    done: bool,
}

enum Source {
    Monitor(UnixStream),
    Process(mpsc::Receiver<Output>),
}

impl Iterator for AttachOutput {
    type Item = Output;

    fn next(&mut self) -> Option<Output> {
        if self.done {
            return None;
        }
        let next = match &mut self.source {
            Source::Process(rx) => rx.recv().ok(),
            Source::Monitor(stream) => loop {
                match protocol::read_frame(stream) {
                    Ok(Some((STDOUT, data))) => break Some(Output::Stdout(data)),
                    Ok(Some((STDERR, data))) => break Some(Output::Stderr(data)),
                    Ok(Some((EXIT, code))) => {
                        let code = String::from_utf8_lossy(&code).trim().parse().unwrap_or(255);
                        break Some(Output::Exit(code));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break None,
                }
            },
        };
        self.done = matches!(next, None | Some(Output::Exit(_)));
        next
    }
}

impl AttachOutput {
    /// Reads (and drops) the output to its end; the exit code, if the
    /// process's supervisor told it.
    pub fn exit_code(self) -> Option<i32> {
        self.into_iter().find_map(|o| match o {
            Output::Exit(code) => Some(code),
            _ => None,
        })
    }
}

/// The input side of an [`Attachment`].
pub struct AttachInput {
    sink: Sink,
}

enum Sink {
    Monitor(UnixStream),
    /// The process's stdin, if it was given one.
    Process(Option<File>),
}

impl AttachInput {
    /// Declares that this session relays the user's stdin: with Docker's
    /// `StdinOnce`, its end (a closed input, a detach, a client gone)
    /// closes the container's stdin. Call before the first [`Self::stdin`].
    pub fn attach_stdin(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Monitor(stream) => protocol::write_frame(stream, STDIN_ATTACH, &[]),
            Sink::Process(_) => Ok(()),
        }
    }

    /// Writes to the process's stdin (nothing happens if it has none).
    pub fn stdin(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::Monitor(stream) => protocol::write_frame(stream, STDIN, data),
            Sink::Process(Some(stdin)) => stdin.write_all(data).and_then(|()| stdin.flush()),
            Sink::Process(None) => Ok(()),
        }
    }

    /// The user's input ended. An exec's stdin is closed; a container's is
    /// closed only with Docker's `StdinOnce` (a terminal stays open).
    pub fn close_stdin(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Monitor(stream) => protocol::write_frame(stream, STDIN_CLOSE, &[]),
            Sink::Process(stdin) => {
                stdin.take();
                Ok(())
            }
        }
    }

    /// Ends the session; the process runs on. A container's output side
    /// ends at once; an exec's keeps its output until the exec ends.
    pub fn detach(self) {
        if let Sink::Monitor(stream) = self.sink {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// A handle that detaches from another thread (the user's connection
    /// went away while the output side waits on a silent container).
    pub fn detacher(&self) -> io::Result<Detacher> {
        Ok(Detacher(match &self.sink {
            Sink::Monitor(stream) => Some(stream.try_clone()?),
            Sink::Process(_) => None,
        }))
    }
}

/// See [`AttachInput::detacher`].
pub struct Detacher(Option<UnixStream>);

impl Detacher {
    /// As [`AttachInput::detach`]; nothing for an exec.
    pub fn detach(self) {
        if let Some(stream) = self.0 {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A session that begins with the container's current run, or, if it has
/// none, with its next one.
pub struct PendingAttachment {
    link: Link,
}

enum Link {
    Now(UnixStream),
    Next {
        waiter: AttachWaiter,
        container_dir: PathBuf,
    },
}

/// How long a session waits for a run it found over to be recorded so.
const RECORDED_END_WAIT: Duration = Duration::from_secs(5);

/// Waits (up to [`RECORDED_END_WAIT`]) until `c`'s run, which its monitor
/// has just said is over, is recorded over, so a client that attaches and
/// then inspects (compose's dockerpty: "start again unless Running") sees
/// the container stopped and starts the next run this session waits for.
/// Without it, under load, a second attach could wait for a start that
/// the client, still seeing Running, never made.
fn await_recorded_end(store: &Store, c: &Container) {
    let deadline = std::time::Instant::now() + RECORDED_END_WAIT;
    let mut now = c.clone();
    // The same run, still recorded running (a restart is a new start time).
    let unrecorded = |now: &Container| {
        now.state.status == berth_container::model::Status::Running
            && now.state.started_at == c.state.started_at
    };
    while unrecorded(&now) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        if berth_container::model::reload(store, &mut now).is_err() {
            return;
        }
    }
}

impl PendingAttachment {
    /// To `c`'s current run if its monitor answers, else to its next run.
    pub(crate) fn of(store: &Store, c: &Container) -> Result<PendingAttachment> {
        let paths = Paths::of(store, &c.id);
        if c.state.status.has_monitor() {
            if let Ok(stream) = client::connect(&paths.attach_socket) {
                return Ok(PendingAttachment {
                    link: Link::Now(stream),
                });
            }
        }
        Self::next_run(paths)
    }

    /// A session on `c`'s output: as [`Self::of`], but a run whose process
    /// has exited already (its monitor still draining and recording it)
    /// counts as over, and the session waits for the next start, as a
    /// Docker attach to a stopped container does. Without this, a client
    /// that starts, attaches, then starts again if inspect finds the
    /// container stopped (compose's dockerpty) would be on the ended run
    /// and miss the next one's output.
    pub(crate) fn session(store: &Store, c: &Container) -> Result<PendingAttachment> {
        let paths = Paths::of(store, &c.id);
        if c.state.status.has_monitor() {
            if let Ok(mut stream) = client::connect(&paths.attach_socket) {
                // The monitor greets at once unless it is between runs.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let greeting = protocol::read_frame(&mut stream);
                let _ = stream.set_read_timeout(None);
                match greeting {
                    Ok(Some((ENDED, _))) | Ok(None) => await_recorded_end(store, c),
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => await_recorded_end(store, c),
                    // LIVE, or no answer in time: this run's session.
                    _ => {
                        return Ok(PendingAttachment {
                            link: Link::Now(stream),
                        })
                    }
                }
            }
        }
        Self::next_run(paths)
    }

    /// To the container's next run (its monitor picks the waiter up at
    /// start).
    fn next_run(paths: Paths) -> Result<PendingAttachment> {
        Ok(PendingAttachment {
            link: Link::Next {
                waiter: AttachWaiter::register(&paths.dir)?,
                container_dir: paths.dir,
            },
        })
    }

    /// Whether the session has begun (the container runs).
    pub fn is_running(&self) -> bool {
        matches!(self.link, Link::Now(_))
    }

    /// Blocks until the session begins: at once while the container runs,
    /// else when it next starts. `None` if the container is removed first.
    pub fn wait(self) -> Option<Attachment> {
        let stream = match self.link {
            Link::Now(stream) => stream,
            Link::Next {
                waiter,
                container_dir,
            } => loop {
                match waiter.accept(Duration::from_millis(250)) {
                    Ok(stream) => break stream,
                    Err(e) if e.kind() == io::ErrorKind::TimedOut && container_dir.exists() => {}
                    Err(_) => return None,
                }
            },
        };
        Attachment::monitor(stream).ok()
    }
}

/// Records Docker's `attach` event of `c`.
pub(crate) fn record_attach(store: &mut Store, c: &Container) -> Result<()> {
    store.write(|tx| state::record(tx, &c.id, "attach", vec![]))
}

impl Engine {
    /// `attach`: a session on the container's stdio, from its current run
    /// or, if it is not running (or its process has just exited), from its
    /// next start (Docker clients attach before they start). Records
    /// Docker's `attach` event.
    pub fn container_attach(&mut self, reference: &str) -> crate::Result<PendingAttachment> {
        let c = lookup(&mut self.store, &self.config.run_dir, reference)?;
        let pending = PendingAttachment::session(&self.store, &c)?;
        record_attach(&mut self.store, &c)?;
        Ok(pending)
    }
}
