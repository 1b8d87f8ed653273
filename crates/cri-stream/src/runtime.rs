//! What the streaming server asks of the container runtime behind it.

use std::sync::mpsc::Receiver;

use crate::io::{Hangup, StreamReader, StreamWriter, TermSize};

/// An error a runtime reports; its text reaches the client (kubelet writes
/// it to the stream's error channel the same way).
pub type RuntimeError = Box<dyn std::error::Error + Send + Sync>;

/// The streams of one exec or attach session, as the client asked for them
/// (the CRI request's `stdin`/`stdout`/`stderr`/`tty`).
#[derive(Debug)]
pub struct StreamIo {
    /// The client's input; ends when the client closes its stdin.
    pub stdin: Option<StreamReader>,
    pub stdout: Option<StreamWriter>,
    /// Never set with `tty` (the terminal carries both outputs).
    pub stderr: Option<StreamWriter>,
    pub tty: bool,
    /// The client's terminal sizes, when `tty` (the first arrives at once
    /// with kubectl and crictl).
    pub resize: Option<Receiver<TermSize>>,
    /// Signalled when the client's connection ends.
    pub hangup: Hangup,
}

/// One forwarded connection: what the client sends, and where the answer
/// goes. Dropping `writer` closes the client's end of the connection.
#[derive(Debug)]
pub struct PortStream {
    pub reader: StreamReader,
    pub writer: StreamWriter,
}

/// The container runtime behind a [`crate::Server`].
///
/// Lifecycle: the CRI server answers `Exec`/`Attach`/`PortForward` with a URL
/// from [`crate::Server::get_exec`] and friends; the client connects to it
/// (at most once, within the token's lifetime); once the client has opened
/// the streams the request named, the server calls one of these methods on a
/// blocking thread and keeps the connection open until it returns. Each
/// method owns its streams: it returns when the process (exec), the attach
/// session or the forwarded connection is over, having dropped or finished
/// with the writers. It must not wait for the client's stdin to end: a client
/// may keep stdin open after the process exits. The server then reports the
/// outcome to the client (exit code or error) and closes the connection.
pub trait StreamRuntime: Send + Sync + 'static {
    /// Run `cmd` in container `container_id` with `io`; the command's exit
    /// code. An `Err` is a failure to run it at all.
    fn exec(&self, container_id: &str, cmd: &[String], io: StreamIo) -> Result<i32, RuntimeError>;

    /// Connect `io` to the running container's main process until it exits
    /// or the client goes away (`io.hangup`, even if the container is
    /// silent).
    fn attach(&self, container_id: &str, io: StreamIo) -> Result<(), RuntimeError>;

    /// Connect `stream` to `port` on the loopback of the pod sandbox's
    /// network namespace, copying both ways until both directions end.
    fn port_forward(
        &self,
        pod_sandbox_id: &str,
        port: u16,
        stream: PortStream,
    ) -> Result<(), RuntimeError>;
}
