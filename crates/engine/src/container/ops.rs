//! Operations on an existing container that are not state transitions:
//! `exec`, `cp`, `diff`, `commit`, `export`, `top`, `stats`. Paths inside the
//! container are always resolved inside its root (berth-archive's openat2
//! RESOLVE_IN_ROOT), never by following a symlink out of it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use berth_mount::Linux;
use berth_runtime::Runtime;
use berth_store::Store;

use crate::container::lifecycle::lookup;
use berth_container::model::{self, Container, Paths, Status};
use crate::monitor;
use berth_container::{rootfs, ContainerError, Result};

/// `exec` options, as Docker's.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub detach: bool,
    pub privileged: bool,
}

fn require_running(c: &Container) -> Result<()> {
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
fn live_root(c: &Container) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root", c.state.pid))
}

/// Runs a process in a running container with this process's stdio; returns
/// its exit status (Docker's 126/127 when it cannot be run).
pub fn exec(store: &mut Store, runtime: &str, reference: &str, req: &ExecRequest) -> Result<i32> {
    let prepared = prepare_exec(store, runtime, reference, req)?;
    let stdin = if req.interactive || req.tty {
        std::process::Stdio::inherit()
    } else {
        std::process::Stdio::null()
    };
    let mut child = prepared.spawn(
        None,
        req.detach,
        stdin,
        std::process::Stdio::inherit(),
        std::process::Stdio::inherit(),
    )?;
    let status = child
        .wait()
        .map_err(|e| ContainerError::io(prepared.runtime.binary(), e))?;
    prepared.finish(status)
}

/// An exec whose process description is written and checked, ready to be
/// spawned with whatever stdio the front end has (its terminal for the CLI, a
/// hijacked connection for the API). Its files are removed on
/// [`PreparedExec::finish`] or drop.
pub struct PreparedExec {
    pub container: Container,
    runtime: Runtime,
    process_path: PathBuf,
}

/// Validates an exec request against a running container and writes its
/// OCI process file.
pub fn prepare_exec(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    req: &ExecRequest,
) -> Result<PreparedExec> {
    let c = lookup(store, runtime, reference)?;
    require_running(&c)?;
    if req.cmd.is_empty() {
        return Err(ContainerError::InvalidArgument(
            "No exec command specified".into(),
        ));
    }
    let root = live_root(&c);
    let user_spec = req.user.clone().unwrap_or_else(|| c.spec.user.clone());
    let user = berth_runtime::resolve_user(&root, &user_spec)?;
    let mut env = c.spec.env.clone();
    env.push(format!("HOSTNAME={}", c.spec.hostname));
    if req.tty {
        env.push("TERM=xterm".into());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            if user.home.is_empty() {
                "/"
            } else {
                &user.home
            }
        ));
    }
    for e in &req.env {
        let key = e.split('=').next().unwrap_or_default();
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    let cwd = req
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| {
            if c.spec.working_dir.is_empty() {
                "/".into()
            } else {
                c.spec.working_dir.clone()
            }
        });
    let host = &c.spec.host;
    let process = berth_runtime::build_exec_process(
        &req.cmd,
        &env,
        &cwd,
        &user,
        req.tty,
        req.privileged || host.privileged,
        &host.cap_add,
        &host.cap_drop,
        host.security.no_new_privileges,
    )?;
    let paths = Paths::of(store, &c.id);
    let process_path = paths
        .dir
        .join(format!("exec-{}.json", &berth_store::new_id()[..12]));
    let json = serde_json::to_vec(&process).map_err(|e| ContainerError::Engine(e.to_string()))?;
    std::fs::write(&process_path, json).map_err(|e| ContainerError::io(&process_path, e))?;
    let rt = Runtime::new(runtime, &monitor::runtime_state_root())?;
    Ok(PreparedExec {
        container: c,
        runtime: rt,
        process_path,
    })
}

impl PreparedExec {
    /// Starts `runtime exec`. With a tty (and no console socket) the runtime
    /// needs a terminal as its own stdio: see [`PreparedExec::spawn_pty`].
    pub fn spawn(
        &self,
        console_socket: Option<&Path>,
        detach: bool,
        stdin: std::process::Stdio,
        stdout: std::process::Stdio,
        stderr: std::process::Stdio,
    ) -> Result<std::process::Child> {
        Ok(self.runtime.exec(
            &self.container.id,
            &self.process_path,
            console_socket,
            detach,
            None,
            stdin,
            stdout,
            stderr,
        )?)
    }

    /// Starts `runtime exec` for a tty process on a new pseudo-terminal of its
    /// own (the runtime relays between it and the container's console, and
    /// follows its size on SIGWINCH); returns the child and the terminal's
    /// master side, which the caller reads and writes.
    pub fn spawn_pty(&self, rows: u16, cols: u16) -> Result<(std::process::Child, std::fs::File)> {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let pty_err = |what: &str, e: rustix::io::Errno| {
            ContainerError::Engine(format!("{what}: {}", std::io::Error::from(e)))
        };
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .map_err(|e| pty_err("opening a pseudo-terminal", e))?;
        grantpt(&master).map_err(|e| pty_err("grantpt", e))?;
        unlockpt(&master).map_err(|e| pty_err("unlockpt", e))?;
        let name = ptsname(&master, Vec::new()).map_err(|e| pty_err("ptsname", e))?;
        let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&slave_path)
            .map_err(|e| ContainerError::io(&slave_path, e))?;
        let master = std::fs::File::from(master);
        set_window_size(&master, rows, cols);
        let dup = |f: &std::fs::File| {
            f.try_clone()
                .map(std::process::Stdio::from)
                .map_err(|e| ContainerError::io(&slave_path, e))
        };
        let mut command_stdio = (dup(&slave)?, dup(&slave)?, dup(&slave)?);
        drop(slave);
        // The runtime must own the terminal (session leader, controlling
        // tty) to get SIGWINCH when the size changes.
        let child = self.runtime.exec_with(
            &self.container.id,
            &self.process_path,
            std::mem::replace(&mut command_stdio.0, std::process::Stdio::null()),
            std::mem::replace(&mut command_stdio.1, std::process::Stdio::null()),
            std::mem::replace(&mut command_stdio.2, std::process::Stdio::null()),
            |cmd| {
                // SAFETY: setsid and ioctl are async-signal-safe.
                unsafe {
                    cmd.pre_exec(|| {
                        if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        Ok(())
                    });
                }
            },
        )?;
        Ok((child, master))
    }

    /// Turns the runtime's exit status into the process's exit code (or the
    /// 126/127 error when it could not be run) and removes the exec's files.
    pub fn finish(self, status: std::process::ExitStatus) -> Result<i32> {
        let code = status.code().unwrap_or(255);
        let log = berth_runtime::exec_log_path(&self.process_path);
        let result = if code == 255 {
            match Runtime::error_from_log(&log) {
                Some(message) => {
                    let lower = message.to_lowercase();
                    let code = if lower.contains("not found") || lower.contains("no such file") {
                        127
                    } else {
                        126
                    };
                    Err(ContainerError::CannotRun {
                        code,
                        message: format!("OCI runtime exec failed: {message}"),
                    })
                }
                None => Ok(code),
            }
        } else {
            Ok(code)
        };
        let _ = std::fs::remove_file(&log);
        result
    }
}

impl Drop for PreparedExec {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.process_path);
    }
}

/// Sets a terminal's size (TIOCSWINSZ); the terminal's session gets SIGWINCH.
pub fn set_window_size(terminal: &impl std::os::fd::AsRawFd, rows: u16, cols: u16) {
    if rows == 0 || cols == 0 {
        return;
    }
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize on a terminal descriptor.
    unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSWINSZ, &size) };
}

/// Runs `f` with a root directory through which the container's filesystem,
/// volumes and binds included, can be reached: the live root of a running
/// container, or the rootfs with its storage mounted for a stopped one.
fn with_root<T>(store: &Store, c: &Container, f: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    if c.state.status == Status::Running || c.state.status == Status::Paused {
        f(&live_root(c))
    } else {
        rootfs::with_mounted_storage(store, c, &Linux, f)
    }
}

/// `cp HOST_PATH CONTAINER:PATH`.
pub fn copy_in(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    host_src: &Path,
    dest: &str,
    follow: bool,
    archive: bool,
) -> Result<()> {
    let c = lookup(store, runtime, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::copy_into_root(
            root, host_src, dest, follow, archive,
        )?)
    })
}

/// `cp CONTAINER:PATH HOST_PATH`.
pub fn copy_out(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    src: &str,
    host_dest: &Path,
    follow: bool,
) -> Result<()> {
    let c = lookup(store, runtime, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::copy_from_root(root, src, host_dest, follow)?)
    })
}

/// `cp CONTAINER:PATH -`: a tar stream of the path.
pub fn archive_out(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    src: &str,
    follow: bool,
    out: impl Write,
) -> Result<()> {
    let c = lookup(store, runtime, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::archive_path(root, src, follow, out)?)
    })
}

/// `cp - CONTAINER:DIR`: extracts a tar stream into a directory.
pub fn archive_in(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    dir: &str,
    input: impl std::io::Read,
    no_overwrite_dir_non_dir: bool,
    archive: bool,
) -> Result<()> {
    let c = lookup(store, runtime, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::extract_to_dir(
            root,
            dir,
            input,
            no_overwrite_dir_non_dir,
            archive,
        )?)
    })
}

/// `stat` of a path in the container (the API's archive HEAD).
pub fn stat(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    path: &str,
) -> Result<berth_archive::PathStat> {
    let c = lookup(store, runtime, reference)?;
    with_root(store, &c, |root| {
        Ok(berth_archive::stat_in_root(root, path)?)
    })
}

/// `diff`: changes of the writable layer against the image.
pub fn diff(
    store: &mut Store,
    runtime: &str,
    reference: &str,
) -> Result<Vec<berth_archive::Change>> {
    let c = lookup(store, runtime, reference)?;
    let paths = Paths::of(store, &c.id);
    let lowers = model::rootfs_lowers(store, &c.id)?;
    Ok(berth_archive::changes(&paths.upper, &lowers)?)
}

/// `export`: the container's filesystem (without volumes) as a tar stream.
pub fn export(store: &mut Store, runtime: &str, reference: &str, out: impl Write) -> Result<()> {
    let c = lookup(store, runtime, reference)?;
    rootfs::with_mounted(store, &c.id, &Linux, |root| {
        berth_archive::pack_tree(root, out)?;
        Ok(())
    })
}

/// `commit` options.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub reference: Option<String>,
    pub changes: Vec<String>,
    pub message: String,
    pub author: String,
    pub pause: bool,
}

/// `commit`: a new image from the container's writable layer, its config taken
/// from the container's (Cmd, Env, Entrypoint...) with `changes` applied.
pub fn commit(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    req: &CommitRequest,
) -> Result<String> {
    let c = lookup(store, runtime, reference)?;
    let parent = berth_image::resolve(store, &c.image_id)?;
    let rt = Runtime::new(runtime, &monitor::runtime_state_root())?;
    let paused = req.pause && c.state.status == Status::Running && rt.pause(&c.id).is_ok();
    let config = container_image_config(&c);
    let upper = Paths::of(store, &c.id).upper;
    let container = berth_image::CommitContainer {
        id: &c.id,
        config: &config,
    };
    let result = berth_image::commit(
        store,
        &parent,
        &upper,
        &req.changes,
        &req.message,
        &req.author,
        Some(container),
        req.reference.as_deref(),
    );
    if paused {
        let _ = rt.resume(&c.id);
    }
    Ok(result?)
}

/// The image config a commit starts from: the container's own configuration.
fn container_image_config(c: &Container) -> berth_image::ContainerConfig {
    let s = &c.spec;
    berth_image::ContainerConfig {
        hostname: s.hostname.clone(),
        user: s.user.clone(),
        env: Some(s.env.clone()),
        cmd: (!s.cmd.is_empty()).then(|| s.cmd.clone()),
        entrypoint: (!s.entrypoint.is_empty()).then(|| s.entrypoint.clone()),
        working_dir: s.working_dir.clone(),
        labels: (!s.labels.is_empty()).then(|| s.labels.clone().into_iter().collect()),
        exposed_ports: (!s.exposed_ports.is_empty()).then(|| {
            s.exposed_ports
                .iter()
                .map(|p| (p.clone(), berth_image::config::Empty {}))
                .collect()
        }),
        volumes: (!s.image_volumes.is_empty()).then(|| {
            s.image_volumes
                .iter()
                .map(|v| (v.clone(), berth_image::config::Empty {}))
                .collect()
        }),
        stop_signal: s.stop_signal.clone(),
        tty: s.tty,
        open_stdin: s.open_stdin,
        image: c.image_ref.clone(),
        ..Default::default()
    }
}

/// `top`: the container's processes as `ps -ef` (or the given ps options) shows them.
pub fn top(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    ps_args: &[String],
) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let c = lookup(store, runtime, reference)?;
    require_running(&c)?;
    let rt = Runtime::new(runtime, &monitor::runtime_state_root())?;
    let pids = rt.ps(&c.id)?;
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| ContainerError::io("ps", e))?;
    if !output.status.success() {
        return Err(ContainerError::Engine(format!(
            "ps: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let Some(pid_col) = header.iter().position(|h| h == "PID") else {
        return Err(ContainerError::InvalidArgument(
            "Couldn't find PID field in ps output".into(),
        ));
    };
    let columns = header.len();
    let mut rows = Vec::new();
    for line in lines {
        let mut fields: Vec<String> = line.split_whitespace().map(String::from).collect();
        if fields.len() > columns {
            let rest = fields.split_off(columns - 1).join(" ");
            fields.push(rest);
        }
        let is_ours = fields
            .get(pid_col)
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| pids.contains(&p));
        if is_ours {
            rows.push(fields);
        }
    }
    Ok((header, rows))
}

/// One sample of a container's resource usage (`stats --no-stream`).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub cpu_percent: f64,
    pub memory_usage: u64,
    pub memory_limit: u64,
    pub pids: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn cpu_usage_ns(id: &str) -> Option<u64> {
    read_u64(&format!(
        "/sys/fs/cgroup/cpu,cpuacct/berth/{id}/cpuacct.usage"
    ))
    .or_else(|| read_u64(&format!("/sys/fs/cgroup/cpuacct/berth/{id}/cpuacct.usage")))
    .or_else(|| {
        let text = std::fs::read_to_string(format!("/sys/fs/cgroup/berth/{id}/cpu.stat")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|us| us * 1000)
    })
}

/// Samples usage twice, `interval` apart, to compute CPU percent like Docker.
pub fn stats(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    interval: std::time::Duration,
) -> Result<(Container, Stats)> {
    let c = lookup(store, runtime, reference)?;
    if c.state.status != Status::Running && c.state.status != Status::Paused {
        return Ok((c, Stats::default()));
    }
    let id = &c.id;
    let t0 = std::time::Instant::now();
    let cpu0 = cpu_usage_ns(id).unwrap_or(0);
    std::thread::sleep(interval);
    let cpu1 = cpu_usage_ns(id).unwrap_or(cpu0);
    let elapsed = t0.elapsed().as_nanos().max(1) as f64;
    let memory_usage = read_u64(&format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.usage_in_bytes"
    ))
    .or_else(|| read_u64(&format!("/sys/fs/cgroup/berth/{id}/memory.current")))
    .unwrap_or(0);
    let host_memory = host_memory_bytes();
    let memory_limit = read_u64(&format!(
        "/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes"
    ))
    .unwrap_or(host_memory)
    .min(host_memory);
    let pids = read_u64(&format!("/sys/fs/cgroup/pids/berth/{id}/pids.current")).unwrap_or(0);
    let (net_rx, net_tx) = net_bytes(c.state.pid);
    Ok((
        c,
        Stats {
            cpu_percent: (cpu1.saturating_sub(cpu0)) as f64 / elapsed * 100.0,
            memory_usage,
            memory_limit,
            pids,
            net_rx,
            net_tx,
            block_read: 0,
            block_write: 0,
        },
    ))
}

fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Bytes received/sent on the container's interfaces other than lo.
fn net_bytes(pid: i32) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/dev")) else {
        return (0, 0);
    };
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .filter(|(iface, _)| iface.trim() != "lo")
        .fold((0, 0), |(rx, tx), (_, rest)| {
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (
                rx + f.first().copied().unwrap_or(0),
                tx + f.get(8).copied().unwrap_or(0),
            )
        })
}
