//! [`RuncCli`]: an [`OciRuntime`] driven through runc's command line, whose
//! grammar crun and youki share.
//!
//! Every call runs `<binary> --root <state root> --log-format json ...`. Calls
//! whose stdio belongs to the container (`create`, `exec`) also get `--log FILE`,
//! because the runtime's stderr is the container's stderr there; their error text
//! is read back from that file. Other calls capture stderr. Either way a failure
//! is classified by [`failure`], the only code in berth that reads a runtime's
//! error text, into a typed [`RuntimeError`].
//!
//! Files of the adapter's own: `init.pid`, `runtime.log` and `console.sock` in
//! the bundle; an exec's process description and log as dot files in the state
//! root (runc lists only directories there), removed when the exec ends.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use oci_spec::runtime::{LinuxResources, Process, Spec};
use serde::Deserialize;

use crate::error::RuntimeError;
use crate::oci::{Created, Exec, ExecProcess, OciRuntime, ProcessIo, State, Status, WindowSize};
use crate::sealed_exe::RuntimeCommand;
use crate::seccomp_cache::{self, Pending};
use crate::terminal::{open_pty, ConsoleSocket};

/// Runtimes berth knows by name; anything else must be an absolute path.
pub const KNOWN_RUNTIMES: &[&str] = &["runc", "crun", "youki"];
/// Searched after `$PATH`, since runc lives in /usr/sbin and a user's PATH may lack it.
const FALLBACK_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// An OCI runtime binary with runc's command line, and the state root it
/// keeps its containers in.
#[derive(Debug, Clone)]
pub struct RuncCli {
    name: String,
    binary: PathBuf,
    state_root: PathBuf,
    /// crun on a hybrid cgroup host runs where the cgroup2 mount is hidden
    /// ([`crate::crun`]).
    hide_unified: bool,
}

/// `state`'s output.
#[derive(Deserialize)]
struct StateOutput {
    id: String,
    status: String,
    #[serde(default)]
    pid: i32,
    #[serde(default)]
    bundle: PathBuf,
}

#[derive(Deserialize)]
struct LogLine {
    #[serde(default)]
    level: String,
    #[serde(default)]
    msg: String,
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A runtime's binary in `$PATH` or [`FALLBACK_DIRS`].
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_dirs)
        .chain(FALLBACK_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

/// The runtime containers get unless they name one: crun where it is
/// installed (it starts a container in a third of runc's time, and takes
/// its seccomp filter precompiled), else runc.
pub fn default_runtime() -> &'static str {
    if find_in_path("crun").is_some() {
        "crun"
    } else {
        "runc"
    }
}

/// Container ids go on the runtime's command line: refuse anything that could be
/// read as a flag or a path.
fn check_id(id: &str) -> Result<(), RuntimeError> {
    let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    if valid {
        Ok(())
    } else {
        Err(RuntimeError::invalid(format!(
            "invalid container id {id:?}"
        )))
    }
}

/// The most relevant error in runtime output: the last error/fatal JSON log
/// message, else the last non-JSON line.
fn error_message(text: &str) -> Option<String> {
    let mut last_json_error = None;
    let mut last_plain = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match serde_json::from_str::<LogLine>(line) {
            Ok(entry) if matches!(entry.level.as_str(), "error" | "fatal" | "panic") => {
                last_json_error = Some(entry.msg.trim().to_string());
            }
            Ok(_) => {}
            Err(_) => last_plain = Some(line.to_string()),
        }
    }
    last_json_error.or(last_plain).filter(|m| !m.is_empty())
}

/// The last error the runtime wrote to a `--log` file, if any.
fn error_from_log(log_file: &Path) -> Option<String> {
    std::fs::read_to_string(log_file)
        .ok()
        .and_then(|text| error_message(&text))
}

/// What a failed call's error text means. This is the one place in berth
/// that reads a runtime's error text: runc, crun and youki word these alike
/// (`exec: "x": executable file not found in $PATH`, crun's ``executable
/// file `x` not found in $PATH``, `permission denied`, `container does not
/// exist`). For the calls that start a process, a missing file is the
/// command's only when the message names `command` (the process's
/// `args[0]`), as dockerd decides its 127: a mount destination the runtime
/// cannot find is the runtime's failure (125). For the others, a missing
/// file is the container's.
pub(crate) fn failure(
    runtime: &str,
    action: &'static str,
    message: String,
    command: Option<&str>,
) -> RuntimeError {
    // runc prefixes some messages with "runc create failed: "; Display adds
    // that prefix, so keep it once.
    let prefix = format!("{runtime} {action} failed: ");
    let message = match message.strip_prefix(&prefix) {
        Some(rest) => rest.to_string(),
        None => message,
    };
    let message = crate::crun::runc_words(&message).unwrap_or(message);
    let lower = message.to_lowercase();
    let starts_process = matches!(action, "create" | "start" | "exec");
    let missing_file = lower.contains("no such file or directory");
    let names_command = command.is_some_and(|c| !c.is_empty() && lower.contains(&c.to_lowercase()));
    let runtime = runtime.to_string();
    if starts_process
        && names_command
        && (missing_file
            || lower.contains("executable file not found")
            || lower.contains("not found in $path"))
    {
        RuntimeError::CommandNotFound {
            runtime,
            action,
            message,
        }
    } else if starts_process
        && (lower.contains("permission denied") || lower.contains("exec format error"))
    {
        RuntimeError::CannotExecute {
            runtime,
            action,
            message,
        }
    } else if lower.contains("does not exist") || (missing_file && !starts_process) {
        RuntimeError::NotFound {
            runtime,
            action,
            message,
        }
    } else {
        RuntimeError::Command {
            runtime,
            action,
            message,
        }
    }
}

/// The `args[0]` of the container's process, from its bundle's spec.
fn bundle_command(bundle: &Path) -> Option<String> {
    let spec = Spec::load(bundle.join("config.json")).ok()?;
    spec.process().as_ref()?.args().as_ref()?.first().cloned()
}

/// The descriptors of [`ProcessIo::Fds`] (stdin, stdout, stderr), or the
/// size of a [`ProcessIo::Terminal`].
fn fds_or_terminal(io: ProcessIo) -> Result<[Option<OwnedFd>; 3], WindowSize> {
    match io {
        ProcessIo::Fds {
            stdin,
            stdout,
            stderr,
        } => Ok([stdin, stdout, stderr]),
        ProcessIo::Terminal(size) => Err(size),
    }
}

/// Hands the runtime's child these as stdin, stdout and stderr (`None`: /dev/null).
fn set_stdio(command: &mut Command, fds: [Option<OwnedFd>; 3]) {
    let [stdin, stdout, stderr] = fds.map(|fd| fd.map_or_else(Stdio::null, Stdio::from));
    command.stdin(stdin).stdout(stdout).stderr(stderr);
}

/// The OCI `consoleSize` of a terminal of `size`.
fn console_box(size: WindowSize) -> Result<oci_spec::runtime::Box, RuntimeError> {
    oci_spec::runtime::BoxBuilder::default()
        .height(u64::from(size.rows))
        .width(u64::from(size.cols))
        .build()
        .map_err(|e| RuntimeError::invalid(format!("console size: {e}")))
}

/// Unique names for exec files of concurrent execs of this process.
static EXEC_SERIAL: AtomicU64 = AtomicU64::new(0);

/// An exec's process description, runtime log and pid file, removed when
/// dropped.
struct ExecFiles {
    process: PathBuf,
    log: PathBuf,
    pid: PathBuf,
    /// The name of its console socket, for [`ProcessIo::Terminal`].
    console: String,
}

impl Drop for ExecFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.process);
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(&self.pid);
        if let Some(dir) = self.pid.parent() {
            let _ = std::fs::remove_file(dir.join(&self.console));
        }
    }
}

/// A foreground or detached `exec` child.
struct RuncExec {
    child: Child,
    runtime: String,
    /// The process's `args[0]`, which a failure to run it names.
    command: Option<String>,
    files: ExecFiles,
}

impl ExecProcess for RuncExec {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The runtime exits with the process's status, or 255 for its own
    /// failures, whose text is in its log.
    fn wait(&mut self) -> Result<i32, RuntimeError> {
        let status = self
            .child
            .wait()
            .map_err(|e| RuntimeError::sys("waiting for exec", e))?;
        self.exit_status(status)
    }

    fn try_wait(&mut self) -> Result<Option<i32>, RuntimeError> {
        match self.child.try_wait() {
            Ok(Some(status)) => self.exit_status(status).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(RuntimeError::sys("waiting for exec", e)),
        }
    }

    /// The process's host pid is in the pid file once the runtime started
    /// it: the runtime, its parent, then reaps it and exits (killed with
    /// it, the runtime would leave it a zombie until the container's init
    /// reaps it). Before that, the runtime's own process is killed.
    fn kill(&mut self) {
        match std::fs::read_to_string(&self.files.pid)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
            .filter(|pid| *pid > 0)
        {
            // SAFETY: kill with a pid the runtime reported for a process it
            // still waits for (so the pid cannot have been reused).
            Some(pid) => unsafe {
                libc::kill(pid, libc::SIGKILL);
            },
            None => {
                let _ = self.child.kill();
            }
        }
    }
}

impl RuncExec {
    fn exit_status(&self, status: std::process::ExitStatus) -> Result<i32, RuntimeError> {
        use std::os::unix::process::ExitStatusExt;
        let code = status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(255);
        match error_from_log(&self.files.log) {
            Some(message) if code == 255 => Err(failure(
                &self.runtime,
                "exec",
                message,
                self.command.as_deref(),
            )),
            _ => Ok(code),
        }
    }
}

/// The executable of runtime `name` (`runc`, `crun`, `youki` or an absolute
/// path), or why there is none.
pub fn runtime_binary(name: &str) -> Result<PathBuf, RuntimeError> {
    Ok(if name.starts_with('/') {
        let path = PathBuf::from(name);
        if !is_executable_file(&path) {
            return Err(RuntimeError::RuntimeNotFound(format!(
                "OCI runtime {name}: not an executable file"
            )));
        }
        path
    } else if KNOWN_RUNTIMES.contains(&name) {
        find_in_path(name).ok_or_else(|| {
            RuntimeError::RuntimeNotFound(format!(
                "OCI runtime \"{name}\" not found in $PATH or {} (is it installed?)",
                FALLBACK_DIRS.join(", ")
            ))
        })?
    } else {
        return Err(RuntimeError::RuntimeNotFound(format!(
            "unknown OCI runtime \"{name}\": use {} or an absolute path",
            KNOWN_RUNTIMES.join(", ")
        )));
    })
}

impl RuncCli {
    /// Finds the runtime (`runc`, `crun`, `youki` in `$PATH` or the sbin/bin
    /// directories, or an absolute path) and creates `state_root` if needed.
    pub fn new(name: &str, state_root: &Path) -> Result<RuncCli, RuntimeError> {
        let binary = runtime_binary(name)?;
        let display_name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_root)
            .map_err(|e| RuntimeError::io(state_root, e))?;
        let hide_unified = display_name == "crun" && crate::crun::is_hybrid();
        Ok(RuncCli {
            name: display_name,
            binary,
            state_root: state_root.to_path_buf(),
            hide_unified,
        })
    }

    /// crun takes the container's seccomp filter compiled ([`seccomp_cache`]);
    /// runc and youki compile it themselves at every create.
    fn precompiled_seccomp(&self, bundle: &Path) -> Result<Option<Pending>, RuntimeError> {
        if self.name == "crun" {
            seccomp_cache::prepare(&self.binary, &self.state_root, bundle)
        } else {
            Ok(None)
        }
    }

    fn command(&self, log_file: Option<&Path>) -> RuntimeCommand {
        let mut command = RuntimeCommand::new(&self.binary, self.name == "crun"); // sealed_exe.rs
        if self.hide_unified {
            crate::crun::hide_unified(&mut command);
        }
        command.arg("--root").arg(&self.state_root);
        if let Some(log) = log_file {
            command.arg("--log").arg(log);
        }
        command.arg("--log-format").arg("json");
        command
    }

    fn spawn_error(&self, action: &str, e: std::io::Error) -> RuntimeError {
        RuntimeError::io(
            &self.binary,
            std::io::Error::new(e.kind(), format!("running {action}: {e}")),
        )
    }

    fn failed(
        &self,
        action: &'static str,
        message: Option<String>,
        status: std::process::ExitStatus,
        command: Option<&str>,
    ) -> RuntimeError {
        failure(
            &self.name,
            action,
            message.unwrap_or_else(|| status.to_string()),
            command,
        )
    }

    /// Runs a call whose output we own; returns its output on success.
    fn run(
        &self,
        action: &'static str,
        args: &[&str],
        stdin_bytes: Option<&[u8]>,
    ) -> Result<Output, RuntimeError> {
        self.run_starting(action, args, stdin_bytes, || None)
    }

    /// [`Self::run`] for a call that starts the container's process:
    /// `command` (asked only on failure) is the process's `args[0]`.
    fn run_starting(
        &self,
        action: &'static str,
        args: &[&str],
        stdin_bytes: Option<&[u8]>,
        process_command: impl FnOnce() -> Option<String>,
    ) -> Result<Output, RuntimeError> {
        let mut command = self.command(None);
        command
            .args(args)
            .stdin(if stdin_bytes.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| self.spawn_error(action, e))?;
        if let (Some(bytes), Some(mut stdin)) = (stdin_bytes, child.stdin.take()) {
            stdin
                .write_all(bytes)
                .map_err(|e| self.spawn_error(action, e))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| self.spawn_error(action, e))?;
        if output.status.success() {
            Ok(output)
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let command = process_command();
            Err(self.failed(
                action,
                error_message(&stderr),
                output.status,
                command.as_deref(),
            ))
        }
    }

    fn fresh_log(log_file: &Path) -> Result<(), RuntimeError> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(log_file)
            .map(drop)
            .map_err(|e| RuntimeError::io(log_file, e))
    }

    /// Writes `process` where `exec --process` reads it, with a fresh log next to it.
    fn exec_files(&self, id: &str, process: &Process) -> Result<ExecFiles, RuntimeError> {
        let serial = EXEC_SERIAL.fetch_add(1, Ordering::Relaxed);
        let stem = format!(".exec-{id}-{}-{serial}", std::process::id());
        let files = ExecFiles {
            process: self.state_root.join(format!("{stem}.json")),
            log: self.state_root.join(format!("{stem}.log")),
            pid: self.state_root.join(format!("{stem}.pid")),
            console: format!("{stem}.sock"),
        };
        let json = serde_json::to_vec(process)
            .map_err(|e| RuntimeError::invalid(format!("serializing the exec process: {e}")))?;
        std::fs::write(&files.process, json).map_err(|e| RuntimeError::io(&files.process, e))?;
        Self::fresh_log(&files.log)?;
        Ok(files)
    }
}

impl OciRuntime for RuncCli {
    /// The runtime's short name (`runc`, or the file name of an absolute path).
    fn name(&self) -> &str {
        &self.name
    }

    /// `create --bundle B --pid-file B/init.pid [--console-socket S] ID`; the
    /// runtime's log goes to `B/runtime.log`.
    fn create(&self, id: &str, bundle: &Path, io: ProcessIo) -> Result<Created, RuntimeError> {
        check_id(id)?;
        let log_file = bundle.join("runtime.log");
        let pid_file = bundle.join("init.pid");
        let _ = std::fs::remove_file(&pid_file);
        Self::fresh_log(&log_file)?;
        let compile = self.precompiled_seccomp(bundle)?;
        let mut command = self.command(Some(&log_file));
        command
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file);
        let console = match fds_or_terminal(io) {
            Ok(fds) => {
                set_stdio(&mut command, fds);
                None
            }
            Err(size) => {
                // The runtime connects and sends the terminal's master during
                // `create`; the listening socket queues it until we accept.
                let console = ConsoleSocket::bind(bundle, "console.sock")?;
                pass_terminal(&mut command, &console);
                Some((console, size))
            }
        };
        command.arg(id);
        let status = command
            .status()
            .map_err(|e| self.spawn_error("create", e))?;
        if !status.success() {
            let command = bundle_command(bundle);
            return Err(self.failed(
                "create",
                error_from_log(&log_file),
                status,
                command.as_deref(),
            ));
        }
        if let Some(pending) = compile {
            pending.store(&self.state_root.join(id).join("seccomp.bpf"));
        }
        let terminal = match console {
            Some((console, size)) => {
                let master = console.receive()?;
                crate::terminal::set_window_size(&master, size.rows, size.cols);
                Some(master)
            }
            None => None,
        };
        let text =
            std::fs::read_to_string(&pid_file).map_err(|e| RuntimeError::io(&pid_file, e))?;
        let pid = text.trim().parse().map_err(|_| RuntimeError::BadOutput {
            runtime: self.name.clone(),
            action: "create",
            detail: format!("{}: not a pid: {text:?}", pid_file.display()),
        })?;
        Ok(Created { pid, terminal })
    }

    fn start(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        let command = || {
            let state = self.state(id).ok().flatten()?;
            bundle_command(&state.bundle)
        };
        self.run_starting("start", &["start", id], None, command)
            .map(drop)
    }

    fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), RuntimeError> {
        check_id(id)?;
        let signal = signal.to_string();
        let mut args = vec!["kill"];
        if all {
            args.push("--all");
        }
        args.extend([id, signal.as_str()]);
        self.run("kill", &args, None).map(drop)
    }

    fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        check_id(id)?;
        if !self.state_root.join(id).exists() {
            return Ok(());
        }
        let args: &[&str] = if force {
            &["delete", "--force", id]
        } else {
            &["delete", id]
        };
        match self.run("delete", args, None) {
            Ok(_) | Err(RuntimeError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        self.run("pause", &["pause", id], None).map(drop)
    }

    fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        self.run("resume", &["resume", id], None).map(drop)
    }

    fn state(&self, id: &str) -> Result<Option<State>, RuntimeError> {
        check_id(id)?;
        if !self.state_root.join(id).exists() {
            return Ok(None);
        }
        let output = match self.run("state", &["state", id], None) {
            Ok(output) => output,
            Err(RuntimeError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad_output = |detail: String| RuntimeError::BadOutput {
            runtime: self.name.clone(),
            action: "state",
            detail,
        };
        let state: StateOutput =
            serde_json::from_slice(&output.stdout).map_err(|e| bad_output(e.to_string()))?;
        let status = Status::parse(&state.status)
            .ok_or_else(|| bad_output(format!("unknown status {:?}", state.status)))?;
        Ok(Some(State {
            id: state.id,
            status,
            pid: state.pid,
            bundle: state.bundle,
        }))
    }

    fn ps(&self, id: &str) -> Result<Vec<i32>, RuntimeError> {
        check_id(id)?;
        let output = self.run("ps", &["ps", "--format", "json", id], None)?;
        let text = String::from_utf8_lossy(&output.stdout);
        // runc prints `null` for a container without processes.
        let pids: Option<Vec<i32>> =
            serde_json::from_str(text.trim()).map_err(|e| RuntimeError::BadOutput {
                runtime: self.name.clone(),
                action: "ps",
                detail: e.to_string(),
            })?;
        Ok(pids.unwrap_or_default())
    }

    /// `exec --process P --pid-file F [--detach] ID`. Without `detach` the child lives as
    /// long as the process and exits with its status. For
    /// [`ProcessIo::Terminal`] the runtime hands the process's terminal over
    /// `--console-socket` (its master comes back in [`Exec::terminal`]; the
    /// runtime's own stdio is /dev/null).
    fn exec(
        &self,
        id: &str,
        process: &Process,
        io: ProcessIo,
        detach: bool,
    ) -> Result<Exec, RuntimeError> {
        check_id(id)?;
        let sized;
        let process = match &io {
            // The terminal has its size before the process starts (a size
            // set once the runtime hands the terminal over comes too late
            // for a short process that asks for it at once).
            ProcessIo::Terminal(size) if size.rows > 0 && size.cols > 0 => {
                let mut p = process.clone();
                p.set_console_size(Some(console_box(*size)?));
                sized = p;
                &sized
            }
            _ => process,
        };
        let files = self.exec_files(id, process)?;
        let mut command = self.command(Some(&files.log));
        command
            .arg("exec")
            .arg("--process")
            .arg(&files.process)
            .arg("--pid-file")
            .arg(&files.pid);
        if detach {
            command.arg("--detach");
        }
        let mut relayed = None;
        let console = match fds_or_terminal(io) {
            Ok(fds) => {
                set_stdio(&mut command, fds);
                None
            }
            Err(size) if self.name != "crun" => {
                // runc refuses a console socket to a foreground exec: it
                // gets a terminal of ours as its stdio, as session leader,
                // and relays it (following its size on SIGWINCH).
                let (master, slave) = open_pty(size)?;
                let dup = |f: &std::fs::File| {
                    f.try_clone()
                        .map(Stdio::from)
                        .map_err(|e| RuntimeError::sys("duplicating the terminal", e))
                };
                command
                    .stdin(dup(&slave)?)
                    .stdout(dup(&slave)?)
                    .stderr(dup(&slave)?);
                // SAFETY: setsid and ioctl are async-signal-safe.
                unsafe {
                    command.pre_exec(|| {
                        if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
                relayed = Some(master);
                None
            }
            Err(size) => {
                // The process's own terminal comes to us, and its output is
                // read from it to the end: a runtime relaying it (crun 1.8)
                // may lose what the process wrote just before exiting.
                let console = ConsoleSocket::bind(&self.state_root, &files.console)?;
                pass_terminal(&mut command, &console);
                Some((console, size))
            }
        };
        command.arg(id);
        let mut child = command.spawn().map_err(|e| self.spawn_error("exec", e))?;
        // The command keeps the child's ends of the stdio until dropped.
        drop(command);
        let terminal = match console {
            Some((console, size)) => {
                let master = console.receive_while(|| matches!(child.try_wait(), Ok(None)));
                let master = match master {
                    Ok(master) => master,
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(e);
                    }
                };
                if let Some(master) = &master {
                    crate::terminal::set_window_size(master, size.rows, size.cols);
                }
                master
            }
            None => relayed,
        };
        Ok(Exec {
            process: Box::new(RuncExec {
                child,
                runtime: self.name.clone(),
                command: process.args().as_ref().and_then(|a| a.first().cloned()),
                files,
            }),
            terminal,
        })
    }

    /// `update --resources - ID`.
    fn update(&self, id: &str, resources: &LinuxResources) -> Result<(), RuntimeError> {
        check_id(id)?;
        let json = serde_json::to_vec(resources)
            .map_err(|e| RuntimeError::invalid(format!("serializing resources: {e}")))?;
        self.run("update", &["update", "--resources", "-", id], Some(&json))
            .map(drop)
    }
}

/// The runtime sends the process's terminal over `console` (the process's
/// stdio is that terminal, none of the runtime's own).
fn pass_terminal(command: &mut Command, console: &ConsoleSocket) {
    command
        .arg("--console-socket")
        .arg(console.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
}

#[cfg(test)]
#[path = "runc_tests.rs"]
mod tests;
