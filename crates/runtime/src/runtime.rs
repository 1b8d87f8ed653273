//! The OCI runtime binary (runc by default, crun or youki) driven through its CLI.
//!
//! Every call runs `<binary> --root <state root> --log-format json ...`. Calls
//! whose stdio belongs to the container (`create`, `exec`) also get `--log FILE`,
//! because the runtime's stderr is the container's stderr there; their error text
//! is read back from that file. Other calls capture stderr. Either way a failure
//! becomes [`RuntimeError::Command`] carrying the runtime's own message, trimmed.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use oci_spec::runtime::LinuxResources;
use serde::Deserialize;

use crate::error::RuntimeError;

/// Runtimes berth knows by name; anything else must be an absolute path.
const KNOWN_RUNTIMES: &[&str] = &["runc", "crun", "youki"];
/// Searched after `$PATH`, since runc lives in /usr/sbin and a user's PATH may lack it.
const FALLBACK_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// An OCI runtime binary and the state root it keeps its containers in.
#[derive(Debug, Clone)]
pub struct Runtime {
    name: String,
    binary: PathBuf,
    state_root: PathBuf,
}

/// What `runtime state ID` reports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct State {
    pub id: String,
    /// `creating`, `created`, `running`, `paused` or `stopped`.
    pub status: String,
    /// The container's init process on the host; 0 once stopped.
    #[serde(default)]
    pub pid: i32,
    #[serde(default)]
    pub bundle: PathBuf,
}

#[derive(Deserialize)]
struct LogLine {
    #[serde(default)]
    level: String,
    #[serde(default)]
    msg: String,
}

/// Where [`Runtime::exec`] has the runtime log for a given process file: the same
/// path with `.log` appended. Read it with [`Runtime::error_from_log`] when the
/// exec's exit status says the runtime failed.
pub fn exec_log_path(process_json: &Path) -> PathBuf {
    let mut os = process_json.as_os_str().to_owned();
    os.push(".log");
    PathBuf::from(os)
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
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

fn not_found_message(message: &str) -> bool {
    message.contains("does not exist") || message.contains("No such file or directory")
}

impl Runtime {
    /// Finds the runtime (`runc`, `crun`, `youki` in `$PATH` or the sbin/bin
    /// directories, or an absolute path) and creates `state_root` if needed.
    pub fn new(name: &str, state_root: &Path) -> Result<Runtime, RuntimeError> {
        let binary = if name.starts_with('/') {
            let path = PathBuf::from(name);
            if !is_executable_file(&path) {
                return Err(RuntimeError::RuntimeNotFound(format!(
                    "OCI runtime {name}: not an executable file"
                )));
            }
            path
        } else if KNOWN_RUNTIMES.contains(&name) {
            let path_dirs = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path_dirs)
                .chain(FALLBACK_DIRS.iter().map(PathBuf::from))
                .map(|dir| dir.join(name))
                .find(|candidate| is_executable_file(candidate))
                .ok_or_else(|| {
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
        };
        let display_name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_root)
            .map_err(|e| RuntimeError::io(state_root, e))?;
        Ok(Runtime {
            name: display_name,
            binary,
            state_root: state_root.to_path_buf(),
        })
    }

    /// The runtime's short name (`runc`, or the file name of an absolute path).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    pub fn state_root(&self) -> &Path {
        &self.state_root
    }

    fn command(&self, log_file: Option<&Path>) -> Command {
        let mut command = Command::new(&self.binary);
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

    fn failure(
        &self,
        action: &str,
        message: Option<String>,
        status: std::process::ExitStatus,
    ) -> RuntimeError {
        // runc already prefixes some messages with "runc create failed: "; our
        // Display adds that prefix, so keep it once.
        let prefix = format!("{} {action} failed: ", self.name);
        let message = message.unwrap_or_else(|| status.to_string());
        let message = message
            .strip_prefix(&prefix)
            .unwrap_or(&message)
            .to_string();
        RuntimeError::Command {
            runtime: self.name.clone(),
            action: action.to_string(),
            message,
        }
    }

    /// Runs a call whose output we own; returns stdout on success.
    fn run(
        &self,
        action: &str,
        args: &[&str],
        stdin_bytes: Option<&[u8]>,
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
            Err(self.failure(action, error_message(&stderr), output.status))
        }
    }

    /// The last error the runtime wrote to a `--log` file, if any.
    pub fn error_from_log(log_file: &Path) -> Option<String> {
        std::fs::read_to_string(log_file)
            .ok()
            .and_then(|text| error_message(&text))
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

    /// `create --bundle B --pid-file P [--console-socket S] ID`. The given stdio is
    /// inherited by the container's process (unless it has a terminal, which is
    /// sent over the console socket). The runtime's log goes to `B/runtime.log`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<(), RuntimeError> {
        check_id(id)?;
        let log_file = bundle.join("runtime.log");
        Self::fresh_log(&log_file)?;
        let mut command = self.command(Some(&log_file));
        command
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(pid_file);
        if let Some(socket) = console_socket {
            command.arg("--console-socket").arg(socket);
        }
        command.arg(id).stdin(stdin).stdout(stdout).stderr(stderr);
        let status = command
            .status()
            .map_err(|e| self.spawn_error("create", e))?;
        if status.success() {
            Ok(())
        } else {
            Err(self.failure("create", Self::error_from_log(&log_file), status))
        }
    }

    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        self.run("start", &["start", id], None).map(drop)
    }

    /// Sends `signal` to the container's init, or to all its processes with `all`.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), RuntimeError> {
        check_id(id)?;
        let signal = signal.to_string();
        let mut args = vec!["kill"];
        if all {
            args.push("--all");
        }
        args.extend([id, signal.as_str()]);
        self.run("kill", &args, None).map(drop)
    }

    /// Removes the runtime's state (and with `force` kills a live container first).
    /// A container the runtime does not know is already deleted: that is success.
    pub fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
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
            Ok(_) => Ok(()),
            Err(RuntimeError::Command { message, .. }) if not_found_message(&message) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        self.run("pause", &["pause", id], None).map(drop)
    }

    pub fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        check_id(id)?;
        self.run("resume", &["resume", id], None).map(drop)
    }

    /// The runtime's view of the container; `None` when it does not know it.
    pub fn state(&self, id: &str) -> Result<Option<State>, RuntimeError> {
        check_id(id)?;
        if !self.state_root.join(id).exists() {
            return Ok(None);
        }
        let output = match self.run("state", &["state", id], None) {
            Ok(output) => output,
            Err(RuntimeError::Command { message, .. }) if not_found_message(&message) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        serde_json::from_slice(&output.stdout)
            .map(Some)
            .map_err(|e| RuntimeError::BadOutput {
                runtime: self.name.clone(),
                action: "state".into(),
                detail: e.to_string(),
            })
    }

    /// Host pids of the container's processes.
    pub fn ps(&self, id: &str) -> Result<Vec<i32>, RuntimeError> {
        check_id(id)?;
        let output = self.run("ps", &["ps", "--format", "json", id], None)?;
        let text = String::from_utf8_lossy(&output.stdout);
        // runc prints `null` for a container without processes.
        let pids: Option<Vec<i32>> =
            serde_json::from_str(text.trim()).map_err(|e| RuntimeError::BadOutput {
                runtime: self.name.clone(),
                action: "ps".into(),
                detail: e.to_string(),
            })?;
        Ok(pids.unwrap_or_default())
    }

    /// `exec --process P [--detach] [--console-socket S] [--pid-file F] ID`, spawned
    /// with the given stdio. Without `detach` the child lives as long as the process
    /// and exits with its status (the runtime's own failures exit 255; their text
    /// is in [`exec_log_path`]`(P)`). With `detach` it exits once the process runs.
    #[allow(clippy::too_many_arguments)]
    pub fn exec(
        &self,
        id: &str,
        process_json: &Path,
        console_socket: Option<&Path>,
        detach: bool,
        pid_file: Option<&Path>,
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Child, RuntimeError> {
        check_id(id)?;
        let log_file = exec_log_path(process_json);
        Self::fresh_log(&log_file)?;
        let mut command = self.command(Some(&log_file));
        command.arg("exec").arg("--process").arg(process_json);
        if detach {
            command.arg("--detach");
        }
        if let Some(socket) = console_socket {
            command.arg("--console-socket").arg(socket);
        }
        if let Some(pid_file) = pid_file {
            command.arg("--pid-file").arg(pid_file);
        }
        command.arg(id).stdin(stdin).stdout(stdout).stderr(stderr);
        command.spawn().map_err(|e| self.spawn_error("exec", e))
    }

    /// `exec` in the foreground, with `configure` applied to the command just
    /// before it is spawned (the API makes the runtime the session leader of
    /// a pseudo-terminal it owns).
    pub fn exec_with(
        &self,
        id: &str,
        process_json: &Path,
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
        configure: impl FnOnce(&mut Command),
    ) -> Result<Child, RuntimeError> {
        check_id(id)?;
        let log_file = exec_log_path(process_json);
        Self::fresh_log(&log_file)?;
        let mut command = self.command(Some(&log_file));
        command
            .arg("exec")
            .arg("--process")
            .arg(process_json)
            .arg(id)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr);
        configure(&mut command);
        command.spawn().map_err(|e| self.spawn_error("exec", e))
    }

    /// Changes a running container's cgroup limits (`update --resources -`).
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<(), RuntimeError> {
        check_id(id)?;
        let json = serde_json::to_vec(resources)
            .map_err(|e| RuntimeError::invalid(format!("serializing resources: {e}")))?;
        self.run("update", &["update", "--resources", "-", id], Some(&json))
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_prefers_json_errors() {
        let text = "{\"level\":\"warning\",\"msg\":\"meh\"}\n\
                    {\"level\":\"error\",\"msg\":\"container does not exist \",\"time\":\"x\"}\n";
        assert_eq!(error_message(text).unwrap(), "container does not exist");
        assert_eq!(error_message("plain failure\n\n").unwrap(), "plain failure");
        assert_eq!(error_message(""), None);
    }

    #[test]
    fn ids_that_look_like_flags_are_refused() {
        for bad in ["", "-h", "--all", "a/b", "../x", "a b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        check_id("0123abcdef").unwrap();
        check_id("berth-test_1.2").unwrap();
    }

    #[test]
    fn unknown_runtime_names_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let err = Runtime::new("docker", root.path()).unwrap_err();
        assert!(
            err.to_string().contains("unknown OCI runtime \"docker\""),
            "{err}"
        );
        let err = Runtime::new("/nonexistent/runc", root.path()).unwrap_err();
        assert!(err.to_string().contains("not an executable file"), "{err}");
    }

    #[test]
    fn exec_log_sits_next_to_the_process_file() {
        assert_eq!(
            exec_log_path(Path::new("/run/x/exec-1.json")),
            PathBuf::from("/run/x/exec-1.json.log")
        );
    }
}
