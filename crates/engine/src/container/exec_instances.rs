//! Exec instances, as Docker has them: `exec create` records a command to run
//! in a running container, `exec start` runs it once, `exec inspect` reports
//! it (running, pid, exit code) for as long as the container exists.
//!
//! A record is a JSON file `containers/<container>/exec/<exec id>.json`: it
//! lives and dies with its container, and no process keeps it in memory (a
//! restarted `berth serve` still answers inspect for execs it ran before).
//! Lifecycle: created (not started) → running (the runtime's pid recorded)
//! → exited (exit code recorded). A record left running by a process that
//! was killed is reported as exited once its pid is gone.

use std::path::PathBuf;

use berth_container::model::{self, Status};
use berth_container::state;
use berth_store::Store;
use serde::{Deserialize, Serialize};

use crate::{Engine, Error, ErrorKind, Result};

/// What to run, as `docker exec` / `POST /containers/{id}/exec` ask.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecConfig {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    /// "" for the container's user.
    pub user: String,
    /// "" for the container's working directory.
    pub working_dir: String,
    pub tty: bool,
    pub privileged: bool,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    /// Docker's detach key sequence ("" for the default ctrl-p,ctrl-q).
    pub detach_keys: String,
    /// [rows, columns] of the terminal, when `exec start` gives none
    /// (`ConsoleSize` of the API's exec create).
    #[serde(default)]
    pub console_size: Option<[u16; 2]>,
    /// How long the process may run once started: then it is killed
    /// (SIGKILL, exit 137). `None`: as long as it likes (Docker's execs);
    /// the CRI's ExecSync has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<std::time::Duration>,
}

/// One exec instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecInstance {
    pub id: String,
    pub container_id: String,
    pub config: ExecConfig,
    pub started: bool,
    pub running: bool,
    pub exit_code: Option<i64>,
    /// The runtime's exec process while running (its stdio is the exec's
    /// terminal, which resize reaches through /proc).
    pub pid: i64,
}

fn exec_dir(store: &Store, container_id: &str) -> PathBuf {
    model::container_dir(store, container_id).join("exec")
}

fn record_path(store: &Store, container_id: &str, id: &str) -> PathBuf {
    exec_dir(store, container_id).join(format!("{id}.json"))
}

/// Exec IDs of a container, sorted (inspect's `ExecIDs`).
pub(crate) fn ids_of(store: &Store, container_id: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(exec_dir(store, container_id)) else {
        return Vec::new();
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(String::from)
        })
        .collect();
    ids.sort();
    ids
}

/// Writes a record atomically (temporary file, then rename).
pub(crate) fn save(store: &Store, rec: &ExecInstance) -> Result<()> {
    let io = |path: &std::path::Path, e: std::io::Error| {
        Error::from(berth_container::ContainerError::io(path, e))
    };
    let dir = exec_dir(store, &rec.container_id);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let path = record_path(store, &rec.container_id, &rec.id);
    let tmp = path.with_extension("tmp");
    let data = serde_json::to_vec(rec)
        .map_err(|e| Error::refused(ErrorKind::Internal, format!("exec record {}: {e}", rec.id)))?;
    std::fs::write(&tmp, data).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
}

/// Docker's action for an event that names the exec's command:
/// `exec_create: sh -c true`. Docker quirk: the entrypoint, a space and the
/// arguments, so a command without arguments leaves a trailing space.
pub(crate) fn with_command(action: &str, rec: &ExecInstance) -> String {
    match rec.config.cmd.split_first() {
        Some((first, args)) => format!("{action}: {first} {}", args.join(" ")),
        None => format!("{action}:  "),
    }
}

/// Records an exec instance's event `action` on its container, with its
/// `execID`.
pub(crate) fn record(
    store: &mut Store,
    rec: &ExecInstance,
    action: &str,
    mut extra: Vec<(&'static str, String)>,
) -> Result<()> {
    extra.push(("execID", rec.id.clone()));
    store.write(|tx| state::record(tx, &rec.container_id, action, extra))?;
    Ok(())
}

fn no_such_exec(id: &str) -> Error {
    Error::refused(ErrorKind::NotFound, format!("No such exec instance: {id}"))
}

/// Finds an exec instance by its full ID.
pub(crate) fn load(store: &Store, id: &str) -> Result<ExecInstance> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(no_such_exec(id));
    }
    let containers = store.containers_dir();
    let entries = std::fs::read_dir(&containers)
        .map_err(|e| berth_container::ContainerError::io(&containers, e))?;
    for entry in entries.flatten() {
        let path = entry.path().join("exec").join(format!("{id}.json"));
        if let Ok(data) = std::fs::read(&path) {
            let mut rec: ExecInstance = serde_json::from_slice(&data).map_err(|e| {
                Error::from(berth_container::ContainerError::Corrupt {
                    id: id.to_string(),
                    reason: format!("{}: {e}", path.display()),
                })
            })?;
            if rec.running && !pid_alive(rec.pid) {
                rec.running = false;
            }
            return Ok(rec);
        }
    }
    Err(no_such_exec(id))
}

fn pid_alive(pid: i64) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

impl Engine {
    /// `exec create`: records `config` for a running container; returns the
    /// exec's ID.
    pub fn exec_create(&mut self, container: &str, config: ExecConfig) -> Result<String> {
        if config.cmd.is_empty() {
            return Err(Error::refused(
                ErrorKind::InvalidArgument,
                "No exec command specified",
            ));
        }
        let c = self.container_lookup(container)?;
        match c.state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(Error::refused(
                    ErrorKind::Conflict,
                    format!(
                        "Container {} is paused, unpause the container before exec",
                        c.id
                    ),
                ))
            }
            _ => {
                return Err(Error::refused(
                    ErrorKind::Conflict,
                    format!("Container {} is not running", c.id),
                ))
            }
        }
        let rec = ExecInstance {
            id: berth_store::new_id(),
            container_id: c.id.clone(),
            config,
            started: false,
            running: false,
            exit_code: None,
            pid: 0,
        };
        save(&self.store, &rec)?;
        record(
            &mut self.store,
            &rec,
            &with_command("exec_create", &rec),
            vec![],
        )?;
        Ok(rec.id)
    }

    /// `exec inspect`.
    pub fn exec_inspect(&mut self, id: &str) -> Result<ExecInstance> {
        load(&self.store, id)
    }
}

impl Engine {
    /// `exec resize`: the terminal of a running tty exec.
    pub fn exec_resize(&mut self, id: &str, rows: u16, cols: u16) -> Result<()> {
        let rec = load(&self.store, id)?;
        let not_running = |detail: String| {
            Error::refused(
                ErrorKind::Conflict,
                format!("Exec {} is not running{detail}", rec.id),
            )
        };
        if !rec.running {
            return Err(not_running(String::new()));
        }
        if rec.config.tty && !super::exec_terminals::resize(&rec.id, rows, cols) {
            let terminal = exec_terminal(rec.pid).map_err(|e| not_running(format!(": {e}")))?;
            berth_runtime::set_window_size(&terminal, rows, cols);
        }
        Ok(())
    }
}

/// The terminal of the exec whose runtime is `pid`: the runtime's stdin
/// when it relays a terminal of ours, else the terminal it handed over,
/// open in the process it started (its child).
fn exec_terminal(pid: i64) -> std::io::Result<std::fs::File> {
    let open = |path: String| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
    };
    let is_terminal = |f: &std::fs::File| {
        use std::io::IsTerminal;
        f.is_terminal()
    };
    let own = open(format!("/proc/{pid}/fd/0"))?;
    if is_terminal(&own) {
        return Ok(own);
    }
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))?;
    for child in children.split_whitespace() {
        for fd in 0..3 {
            if let Ok(f) = open(format!("/proc/{child}/fd/{fd}")) {
                if is_terminal(&f) {
                    return Ok(f);
                }
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "its terminal is gone",
    ))
}
