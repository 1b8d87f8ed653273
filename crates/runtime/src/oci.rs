//! [`OciRuntime`]: what berth asks of an OCI runtime, in typed terms.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxResources, Process};

use crate::error::RuntimeError;

/// An OCI runtime: creates, runs and removes containers described by bundles.
///
/// # Lifecycle
/// A container `id` goes through
///
/// ```text
/// create ──> start ──> running ──(its init exits)──> stopped ──> delete
///                       │    ▲
///                 pause │    │ resume
///                       ▼    │
///                       paused
/// ```
///
/// * [`create`](OciRuntime::create) sets up the namespaces, cgroup and rootfs of
///   the bundle and leaves its process waiting; it returns the process's host
///   pid (whose parent is the caller, or its nearest child subreaper) and,
///   for [`ProcessIo::Terminal`], the terminal's master side.
/// * [`start`](OciRuntime::start) lets the process run its program.
/// * [`kill`](OciRuntime::kill) signals it any time after `create`.
/// * [`pause`](OciRuntime::pause) / [`resume`](OciRuntime::resume) freeze and
///   thaw a running container; [`update`](OciRuntime::update) changes its
///   cgroup limits; [`exec`](OciRuntime::exec) runs one more process in it;
///   [`ps`](OciRuntime::ps) lists its processes' host pids. All need it running.
/// * [`delete`](OciRuntime::delete) removes what `create` made once the
///   container is stopped (with `force`, killing it first); deleting a
///   container the runtime does not know succeeds.
/// * [`state`](OciRuntime::state) reports it at any time (`None` when unknown).
///
/// The caller reaps the container's init; the runtime keeps no other record
/// berth relies on. Failures are typed: a missing executable is
/// [`RuntimeError::CommandNotFound`], one that cannot run
/// [`RuntimeError::CannotExecute`], an unknown container
/// [`RuntimeError::NotFound`].
pub trait OciRuntime: std::fmt::Debug + Send + Sync {
    /// The name containers record (`runc`, `crun`, `youki`, or an absolute path).
    fn name(&self) -> &str;

    fn create(&self, id: &str, bundle: &Path, io: ProcessIo) -> Result<Created, RuntimeError>;

    fn start(&self, id: &str) -> Result<(), RuntimeError>;

    /// Sends `signal` to the container's init, or with `all` to every process in it.
    fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), RuntimeError>;

    fn pause(&self, id: &str) -> Result<(), RuntimeError>;

    fn resume(&self, id: &str) -> Result<(), RuntimeError>;

    fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError>;

    fn state(&self, id: &str) -> Result<Option<State>, RuntimeError>;

    /// Host pids of the container's processes.
    fn ps(&self, id: &str) -> Result<Vec<i32>, RuntimeError>;

    /// Starts `process` in the running container. With `detach` the returned
    /// process's [`wait`](ExecProcess::wait) returns 0 as soon as it runs.
    fn exec(
        &self,
        id: &str,
        process: &Process,
        io: ProcessIo,
        detach: bool,
    ) -> Result<Exec, RuntimeError>;

    /// Changes a running container's cgroup limits.
    fn update(&self, id: &str, resources: &LinuxResources) -> Result<(), RuntimeError>;
}

/// The stdio of a container's init or of an exec'd process.
#[derive(Debug)]
pub enum ProcessIo {
    /// The process's stdin, stdout and stderr (`None`: /dev/null), handed
    /// over: pipes, files, or the caller's own terminal. For a process whose
    /// spec asks for a terminal, the runtime stays in the foreground and
    /// relays between these and the process's terminal, whose size follows
    /// `stdin`'s when that is a terminal (runc's foreground `exec -t`).
    Fds {
        stdin: Option<OwnedFd>,
        stdout: Option<OwnedFd>,
        stderr: Option<OwnedFd>,
    },
    /// A new terminal of this size (0 rows or columns: left as the runtime
    /// makes it) for a process whose spec asks for one; its master side comes
    /// back in [`Created::terminal`] or [`Exec::terminal`].
    Terminal(WindowSize),
}

impl ProcessIo {
    /// Every descriptor /dev/null.
    pub fn null() -> ProcessIo {
        ProcessIo::Fds {
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }
}

/// A terminal's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
}

/// A created container.
#[derive(Debug)]
pub struct Created {
    /// Host pid of the container's init.
    pub pid: i32,
    /// The master side of its terminal, for [`ProcessIo::Terminal`].
    pub terminal: Option<OwnedFd>,
}

/// A started exec.
pub struct Exec {
    pub process: Box<dyn ExecProcess>,
    /// The master side of its terminal, for [`ProcessIo::Terminal`].
    pub terminal: Option<OwnedFd>,
}

/// A process started by [`OciRuntime::exec`].
pub trait ExecProcess: Send {
    /// Host pid of the process that holds the exec's stdio (for a runtime
    /// that relays a terminal, the runtime's own process).
    fn pid(&self) -> i32;

    /// Waits for the process to end: its exit status (128+N when killed by
    /// signal N), or the runtime's error when it could not be started.
    fn wait(&mut self) -> Result<i32, RuntimeError>;

    /// [`wait`](ExecProcess::wait) without blocking: `None` while it runs.
    fn try_wait(&mut self) -> Result<Option<i32>, RuntimeError>;

    /// Kills the process (SIGKILL; the runtime's process that waits for it
    /// then exits, or is killed if it had not started it yet);
    /// [`wait`](ExecProcess::wait) then reports it killed.
    fn kill(&mut self);
}

/// What [`OciRuntime::state`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub id: String,
    pub status: Status,
    /// The container's init process on the host; 0 once stopped.
    pub pid: i32,
    pub bundle: PathBuf,
}

/// A container's status as the OCI runtime spec names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "creating" => Status::Creating,
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "stopped" => Status::Stopped,
            _ => return None,
        })
    }
}
