//! An exec's process: one more process in a running container, built and
//! checked, then spawned with the stdio its session asks for (the caller's
//! own, pipes, or a terminal).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_container::model::{Container, Status};
use berth_container::{ContainerError, Result};
use berth_runtime::oci_spec::runtime::Process;
use berth_runtime::{ExecProcess, OciRuntime, ProcessIo, RuntimeError, WindowSize};
use berth_store::Store;

use super::exec_instances::ExecConfig;
use super::reconcile::lookup;
use super::runtime::{docker_exit_status, runtime_of};

pub(super) fn require_running(c: &Container) -> Result<()> {
    match c.state.status {
        Status::Running => Ok(()),
        Status::Paused => Err(ContainerError::Conflict(format!(
            "container {} is paused, unpause the container before exec",
            c.id
        ))),
        _ => Err(ContainerError::Conflict(format!(
            "container {} is not running",
            c.id
        ))),
    }
}

/// The container's root as its processes see it (with all its mounts).
pub(super) fn live_root(c: &Container) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root", c.state.pid))
}

/// An exec whose process is built and checked, ready to be spawned with
/// whatever stdio the front end has.
pub(crate) struct PreparedExec {
    runtime: Box<dyn OciRuntime>,
    process: Process,
    /// The container's root as its processes see it.
    root: PathBuf,
}

/// The stdio of an exec's process.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ExecStdio {
    /// This process's own stdout and stderr, and its stdin if `stdin` (the
    /// CLI's terminal or pipes; with a tty the runtime relays between it and
    /// the process's terminal).
    Inherit { stdin: bool },
    /// New pipes, whose other ends come back in [`RunningExec`]; stdin only
    /// if `stdin`.
    Pipes { stdin: bool },
    /// A new terminal of this size, whose master comes back in
    /// [`RunningExec::terminal`].
    Terminal { rows: u16, cols: u16 },
}

/// A started exec and the caller's ends of its stdio.
pub(crate) struct RunningExec {
    process: Box<dyn ExecProcess>,
    pub stdin: Option<File>,
    pub stdout: Option<File>,
    pub stderr: Option<File>,
    pub terminal: Option<File>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| ContainerError::sys("pipe", e))
}

fn dup(fd: impl AsFd) -> Result<OwnedFd> {
    fd.as_fd()
        .try_clone_to_owned()
        .map_err(|e| ContainerError::sys("dup", e))
}

/// The exec's process could not run: Docker's 127 when its command does
/// not exist, 126 for any other failure of the runtime's. A command that
/// could not be started reads as dockerd words it (runc's text in
/// containerd's: `OCI runtime exec failed: exec failed: unable to start
/// container process: exec: "x": executable file not found in $PATH:
/// unknown`).
pub(crate) fn exec_failure(e: RuntimeError) -> ContainerError {
    const RUNC: &str = "exec failed: unable to start container process: ";
    match (e.runtime_message(), docker_exit_status(&e)) {
        (Some(message), Some(code)) => ContainerError::CannotRun {
            code,
            message: format!(
                "OCI runtime exec failed: {RUNC}{}: unknown",
                message.strip_prefix(RUNC).unwrap_or(message)
            ),
        },
        (Some(message), None) => ContainerError::CannotRun {
            code: 126,
            message: format!("OCI runtime exec failed: {message}"),
        },
        (None, _) => e.into(),
    }
}

impl PreparedExec {
    /// Starts the process. With `detach`, [`RunningExec::wait`] returns as
    /// soon as it runs.
    pub(crate) fn spawn(self, id: &str, stdio: ExecStdio, detach: bool) -> Result<RunningExec> {
        // The caller's ends: stdin, stdout, stderr.
        let mut ends: [Option<File>; 3] = [None, None, None];
        let io = match stdio {
            ExecStdio::Inherit { stdin } => ProcessIo::Fds {
                stdin: if stdin {
                    Some(dup(std::io::stdin())?)
                } else {
                    None
                },
                stdout: Some(dup(std::io::stdout())?),
                stderr: Some(dup(std::io::stderr())?),
            },
            ExecStdio::Pipes { stdin } => {
                let stdin = if stdin {
                    let (read, write) = pipe()?;
                    ends[0] = Some(File::from(write));
                    Some(read)
                } else {
                    None
                };
                let (out_read, out_write) = pipe()?;
                let (err_read, err_write) = pipe()?;
                ends[1] = Some(File::from(out_read));
                ends[2] = Some(File::from(err_read));
                ProcessIo::Fds {
                    stdin,
                    stdout: Some(out_write),
                    stderr: Some(err_write),
                }
            }
            ExecStdio::Terminal { rows, cols } => ProcessIo::Terminal(WindowSize { rows, cols }),
        };
        // A command that cannot run is told before the runtime runs: crun
        // would also tell it on the process's stderr (the user saw it twice).
        if let Some(command) = self.process.args().as_ref().and_then(|a| a.first()) {
            let env = self.process.env().clone().unwrap_or_default();
            let cwd = self.process.cwd().to_string_lossy();
            berth_runtime::check_command_in_root(
                self.runtime.name(),
                &self.root,
                command,
                &env,
                &cwd,
            )
            .map_err(exec_failure)?;
        }
        let exec = self
            .runtime
            .exec(id, &self.process, io, detach)
            .map_err(exec_failure)?;
        let [stdin, stdout, stderr] = ends;
        Ok(RunningExec {
            process: exec.process,
            stdin,
            stdout,
            stderr,
            terminal: exec.terminal.map(File::from),
        })
    }
}

impl RunningExec {
    /// Host pid of the process holding the exec's stdio (the runtime's, for
    /// a terminal it relays).
    pub(crate) fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// Waits for the process: its exit status, or Docker's 126/127 error when
    /// it could not be run.
    pub(crate) fn wait(&mut self) -> Result<i32> {
        self.process.wait().map_err(exec_failure)
    }

    /// [`wait`](RunningExec::wait), killing the process (and the runtime's
    /// process that waits for it) once it has run for `timeout`.
    pub(crate) fn wait_at_most(&mut self, timeout: std::time::Duration) -> Result<i32> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(code) = self.process.try_wait().map_err(exec_failure)? {
                return Ok(code);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                self.process.kill();
                return self.wait();
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
        }
    }
}

/// Validates an exec request against a running container and builds its
/// OCI process.
pub(crate) fn prepare_exec(
    store: &mut Store,
    run_dir: &Path,
    reference: &str,
    req: &ExecConfig,
) -> Result<PreparedExec> {
    let c = lookup(store, run_dir, reference)?;
    require_running(&c)?;
    let root = live_root(&c);
    let process = exec_process(&c, &root, req)?;
    let runtime = runtime_of(&c, run_dir)?;
    Ok(PreparedExec {
        runtime,
        process,
        root,
    })
}

/// `user_spec` resolved in `c` (whose processes see `root` as their root),
/// with the container's extra groups and its group policy: the identity its
/// processes and its execs get.
fn process_user(c: &Container, root: &Path, user_spec: &str) -> Result<berth_runtime::User> {
    Ok(berth_runtime::resolve_container_user(
        root,
        user_spec,
        &c.spec.host.modes.group_add,
        !c.spec.host.modes.strict_groups,
    )?)
}

impl crate::Engine {
    /// The identity (uid, gid, supplementary groups) a running container's
    /// processes have, resolved in its root as at its start; `None` when it
    /// is not running (its root is not mounted).
    pub fn container_process_user(
        &mut self,
        reference: &str,
    ) -> crate::Result<Option<berth_runtime::User>> {
        let c = self.container_lookup(reference)?;
        if c.state.status != Status::Running {
            return Ok(None);
        }
        let root = live_root(&c);
        match process_user(&c, &root, &c.spec.user) {
            Ok(user) => Ok(Some(user)),
            // It exited since its record was read: its root went with it.
            Err(_) if !root.exists() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The OCI process of an exec in `c` (whose processes see `root` as their
/// root): the container's user, environment and working directory unless
/// the request says otherwise, as Docker's. The monitor's healthchecks run
/// through it too.
pub(crate) fn exec_process(c: &Container, root: &Path, req: &ExecConfig) -> Result<Process> {
    if req.cmd.is_empty() {
        return Err(ContainerError::InvalidArgument(
            "No exec command specified".into(),
        ));
    }
    let user_spec = if req.user.is_empty() {
        &c.spec.user
    } else {
        &req.user
    };
    let user = process_user(c, root, user_spec)?;
    let mut env = super::env::process_env(
        &c.spec.hostname,
        req.tty,
        Vec::new(),
        &[&c.spec.env, &req.env],
    );
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(user.home_env());
    }
    let cwd = [&req.working_dir, &c.spec.working_dir]
        .into_iter()
        .find(|w| !w.is_empty())
        .map_or("/", |w| w.as_str());
    // Through the running container's own symlinks and mounts (CVE-2024-21626).
    berth_runtime::check_cwd_in_root(&root, cwd)?;
    let host = &c.spec.host;
    let process = berth_runtime::build_exec_process(
        &req.cmd,
        &env,
        cwd,
        &user,
        req.tty,
        req.privileged || host.privileged,
        &host.cap_add,
        &host.cap_drop,
        host.security.no_new_privileges,
    )?;
    Ok(process)
}
