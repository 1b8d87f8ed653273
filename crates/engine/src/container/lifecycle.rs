//! State transitions driven by front ends: start (spawning a monitor), stop,
//! kill, restart, pause/unpause, wait, rm — and [`reconcile`], which repairs the
//! record of a container whose monitor died (SIGKILL, OOM, reboot).

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_mount::Linux;
use berth_runtime::Runtime;
use berth_store::{FileLock, Store};

use berth_container::model::{self, Container, MountKind, Paths, Status};
use crate::monitor::{self, StartReport, ATTACH_ENV, ATTACH_FD, SYNC_FD};
use berth_container::{rootfs, ContainerError, Result};

/// Finds a container and repairs its state if its monitor died.
pub fn lookup(store: &mut Store, runtime: &str, reference: &str) -> Result<Container> {
    let mut c = model::find(store, reference)?;
    reconcile(store, runtime, &mut c)?;
    Ok(c)
}

/// If `c` claims a monitor but none holds its lock, the monitor died: kill
/// what is left of the container, release its mounts and mark it exited.
pub fn reconcile(store: &mut Store, runtime: &str, c: &mut Container) -> Result<()> {
    if c.state.status == Status::Removing {
        return remove_stopped(store, c, false);
    }
    if !c.state.status.has_monitor() {
        return Ok(());
    }
    let paths = Paths::of(store, &c.id);
    if FileLock::is_held(&paths.monitor_lock) {
        return Ok(());
    }
    // Take the lock ourselves so a monitor being spawned right now cannot race us.
    let Ok(_lock) = FileLock::try_acquire(&paths.monitor_lock) else {
        return Ok(());
    };
    let latest = model::find(store, &c.id)?;
    if !latest.state.status.has_monitor() {
        *c = latest;
        return Ok(());
    }
    if let Ok(rt) = Runtime::new(runtime, &monitor::runtime_state_root()) {
        let _ = rt.kill(&c.id, libc::SIGKILL, true);
        let _ = rt.delete(&c.id, true);
    }
    // The dead monitor's veths, rules, leases and namespace (idempotent).
    let _ = berth_network::teardown(store, &c.id);
    let sys = Linux;
    for m in c.spec.mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        let _ = berth_volume::release(store, &m.name, &c.id, &sys);
    }
    rootfs::unmount(store, &c.id, &sys)?;
    let finished = berth_store::now_rfc3339();
    store.write(|tx| {
        tx.execute(
            "UPDATE containers SET status='exited', pid=0, exit_code=137, \
             error='monitor exited unexpectedly', finished_at=?2 WHERE id=?1",
            berth_store::rusqlite::params![c.id, finished],
        )
    })?;
    model::reload(store, c)
}

/// Starts a created or exited container. `attach` is handed to the monitor as
/// its first attach client, so no output is missed.
pub fn start(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    attach: Option<&UnixStream>,
) -> Result<Container> {
    let c = lookup(store, runtime, reference)?;
    match c.state.status {
        Status::Running | Status::Restarting => return Ok(c),
        Status::Paused => {
            return Err(ContainerError::Conflict(
                "cannot start a paused container, try unpause instead".into(),
            ))
        }
        Status::Removing | Status::Dead => {
            return Err(ContainerError::Conflict(format!(
                "container {} is marked for removal and cannot be started",
                c.id
            )))
        }
        Status::Created | Status::Exited => {}
    }
    let report = spawn_monitor(store.root(), runtime, &c.id, attach)?;
    if !report.ok {
        return Err(if report.code == 126 || report.code == 127 {
            ContainerError::CannotRun {
                code: report.code,
                message: report.error,
            }
        } else {
            ContainerError::Engine(report.error)
        });
    }
    // With --rm the container may already be gone again.
    model::find(store, &c.id).or(Ok(c))
}

fn spawn_monitor(
    root: &Path,
    runtime: &str,
    id: &str,
    attach: Option<&UnixStream>,
) -> Result<StartReport> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 with a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(ContainerError::Engine(format!(
            "pipe: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: both fds were just created and are owned here.
    let (mut read_end, write_end) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let exe = std::env::current_exe().map_err(|e| ContainerError::io("/proc/self/exe", e))?;
    let log_path = Paths::new(&root.join("containers").join(id), id)
        .dir
        .join("monitor.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| ContainerError::io(&log_path, e))?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg("--root")
        .arg(root)
        .arg("--runtime")
        .arg(runtime)
        .arg("__monitor")
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log);
    if attach.is_some() {
        cmd.env(ATTACH_ENV, "1");
    }
    let sync_fd = write_end.as_raw_fd();
    let attach_fd = attach.map(|a| a.as_raw_fd());
    // SAFETY: only async-signal-safe calls (fcntl, dup2, close, setsid) between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Move both out of the way first: either may already sit on 3 or 4.
            let sync_high = libc::fcntl(sync_fd, libc::F_DUPFD, 10);
            let attach_high = attach_fd.map(|fd| libc::fcntl(fd, libc::F_DUPFD, 10));
            if sync_high < 0 || attach_high.is_some_and(|fd| fd < 0) {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(sync_high, SYNC_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(sync_high);
            if let Some(fd) = attach_high {
                if libc::dup2(fd, ATTACH_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
            }
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| ContainerError::io(&exe, e))?;
    drop(write_end);
    // The first monitor process forks the real one and exits at once.
    child.wait().map_err(|e| ContainerError::io(&exe, e))?;
    let mut text = String::new();
    read_end
        .read_to_string(&mut text)
        .map_err(|e| ContainerError::io(&log_path, e))?;
    if text.trim().is_empty() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(ContainerError::Engine(format!(
            "the monitor of container {id} exited without reporting: {}",
            log.lines().last().unwrap_or("no message")
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| ContainerError::Engine(format!("bad report from the monitor of {id}: {e}")))
}

/// Waits until the container's monitor has exited, up to `timeout`.
/// Returns whether it did.
fn wait_monitor(store: &Store, id: &str, timeout: Duration) -> bool {
    let lock = Paths::of(store, id).monitor_lock;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if !FileLock::is_held(&lock) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn mark_stopped_by_user(store: &mut Store, id: &str) -> Result<()> {
    store.write(|tx| tx.execute("UPDATE containers SET stopped_by_user=1 WHERE id=?1", [id]))?;
    Ok(())
}

fn runtime_for(runtime: &str) -> Result<Runtime> {
    Ok(Runtime::new(runtime, &monitor::runtime_state_root())?)
}

/// `stop`: the stop signal (image STOPSIGNAL or SIGTERM), then SIGKILL after
/// `timeout` seconds (default: the container's stop timeout or 10).
pub fn stop(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    timeout: Option<i64>,
) -> Result<Container> {
    let c = lookup(store, runtime, reference)?;
    if !c.state.status.has_monitor() {
        return Ok(c);
    }
    mark_stopped_by_user(store, &c.id)?;
    let rt = runtime_for(runtime)?;
    if c.state.status == Status::Paused {
        let _ = rt.resume(&c.id);
    }
    let signal = if c.spec.stop_signal.is_empty() {
        libc::SIGTERM
    } else {
        berth_runtime::parse_signal(&c.spec.stop_signal)?
    };
    let seconds = timeout.or(c.spec.stop_timeout).unwrap_or(10);
    if c.state.status != Status::Restarting {
        let _ = rt.kill(&c.id, signal, false);
    }
    if seconds < 0 || !wait_monitor(store, &c.id, Duration::from_secs(seconds.max(0) as u64)) {
        let _ = rt.kill(&c.id, libc::SIGKILL, true);
        if !wait_monitor(store, &c.id, Duration::from_secs(30)) {
            return Err(ContainerError::Engine(format!(
                "container {} did not stop after SIGKILL",
                c.id
            )));
        }
    }
    model::find(store, &c.id).or(Ok(c))
}

/// `kill -s SIGNAL`.
pub fn kill(store: &mut Store, runtime: &str, reference: &str, signal: &str) -> Result<Container> {
    let c = lookup(store, runtime, reference)?;
    let signal = berth_runtime::parse_signal(signal)?;
    if !matches!(c.state.status, Status::Running | Status::Paused) {
        return Err(ContainerError::Conflict(format!(
            "Cannot kill container: {}: container {} is not running",
            reference, c.id
        )));
    }
    if signal == libc::SIGKILL || signal == libc::SIGTERM {
        mark_stopped_by_user(store, &c.id)?;
    }
    runtime_for(runtime)?.kill(&c.id, signal, false)?;
    if signal == libc::SIGKILL {
        wait_monitor(store, &c.id, Duration::from_secs(10));
    }
    Ok(c)
}

pub fn pause(store: &mut Store, runtime: &str, reference: &str) -> Result<Container> {
    let c = lookup(store, runtime, reference)?;
    match c.state.status {
        Status::Running => {}
        Status::Paused => {
            return Err(ContainerError::Conflict(format!(
                "Container {} is already paused",
                c.id
            )))
        }
        _ => {
            return Err(ContainerError::Conflict(format!(
                "Container {} is not running",
                c.id
            )))
        }
    }
    runtime_for(runtime)?.pause(&c.id)?;
    store.write(|tx| tx.execute("UPDATE containers SET status='paused' WHERE id=?1", [&c.id]))?;
    Ok(c)
}

pub fn unpause(store: &mut Store, runtime: &str, reference: &str) -> Result<Container> {
    let c = lookup(store, runtime, reference)?;
    if c.state.status != Status::Paused {
        return Err(ContainerError::Conflict(format!(
            "Container {} is not paused",
            c.id
        )));
    }
    runtime_for(runtime)?.resume(&c.id)?;
    store.write(|tx| {
        tx.execute(
            "UPDATE containers SET status='running' WHERE id=?1",
            [&c.id],
        )
    })?;
    Ok(c)
}

/// `wait`: blocks until the container is not running; returns its exit code.
pub fn wait(store: &mut Store, runtime: &str, reference: &str) -> Result<i32> {
    let c = lookup(store, runtime, reference)?;
    if c.state.status.has_monitor() {
        wait_monitor(store, &c.id, Duration::from_secs(u64::MAX / 4));
    }
    match model::find(store, &c.id) {
        Ok(mut latest) => {
            reconcile(store, runtime, &mut latest)?;
            Ok(latest.state.exit_code)
        }
        // Removed on exit (--rm): the code is gone with it, as with Docker's
        // `wait` racing an auto-remove.
        Err(ContainerError::NotFound(_)) => Ok(c.state.exit_code),
        Err(e) => Err(e),
    }
}

/// `rm [-f] [-v]`.
pub fn remove(
    store: &mut Store,
    runtime: &str,
    reference: &str,
    force: bool,
    volumes: bool,
) -> Result<()> {
    let c = lookup(store, runtime, reference)?;
    if c.state.status.has_monitor() {
        if !force {
            let what = if c.state.status == Status::Paused {
                "paused"
            } else {
                "running"
            };
            return Err(ContainerError::Conflict(format!(
                "cannot remove container \"{}\": container is {what}: stop the container before removing or force remove",
                c.slash_name()
            )));
        }
        mark_stopped_by_user(store, &c.id)?;
        let rt = runtime_for(runtime)?;
        if c.state.status == Status::Paused {
            let _ = rt.resume(&c.id);
        }
        let _ = rt.kill(&c.id, libc::SIGKILL, true);
        if !wait_monitor(store, &c.id, Duration::from_secs(30)) {
            return Err(ContainerError::Engine(format!(
                "could not kill container {}",
                c.id
            )));
        }
    }
    match model::find(store, &c.id) {
        Ok(latest) => remove_stopped(store, &latest, volumes),
        Err(ContainerError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a container that has no monitor: rootfs unmounted, directory and
/// rows deleted, anonymous volumes too if `volumes`. Crash-safe: the row is
/// marked `removing` first; the directory is moved to tmp/ (swept at open)
/// before the rows go, so a rerun (via [`reconcile`]) finishes the job.
pub fn remove_stopped(store: &mut Store, c: &Container, volumes: bool) -> Result<()> {
    store.write(|tx| {
        tx.execute(
            "UPDATE containers SET status='removing' WHERE id=?1",
            [&c.id],
        )
    })?;
    rootfs::unmount(store, &c.id, &Linux)?;
    let dir = c.dir(store);
    let trash = store.tmp_dir().join(format!("removed-{}", c.id));
    match std::fs::rename(&dir, &trash) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ContainerError::io(&dir, e)),
    }
    store.write(|tx| tx.execute("DELETE FROM containers WHERE id=?1", [&c.id]))?;
    if trash.exists() {
        std::fs::remove_dir_all(&trash).map_err(|e| ContainerError::io(&trash, e))?;
    }
    if volumes {
        for m in c
            .spec
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Volume && m.anonymous)
        {
            // Still used by another container (--volumes-from): keep it, as Docker does.
            match berth_volume::remove(store, &m.name, false) {
                Ok(()) => {}
                Err(
                    berth_volume::VolumeError::InUse { .. }
                    | berth_volume::VolumeError::NotFound(_),
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    berth_image::gc_layers(store)?;
    Ok(())
}

/// Renames a container; the new name must be free.
pub fn rename(store: &mut Store, reference: &str, new_name: &str) -> Result<()> {
    let c = model::find(store, reference)?;
    let new_name = new_name.trim_start_matches('/');
    if !berth_container::names::is_valid_name(new_name) {
        return Err(ContainerError::InvalidName(new_name.to_string()));
    }
    if new_name == c.name {
        return Err(ContainerError::Conflict(format!(
            "Renaming a container with the same name as its current name"
        )));
    }
    store.write(|tx| {
        let taken: Option<String> = berth_store::rusqlite::OptionalExtension::optional(
            tx.query_row("SELECT id FROM containers WHERE name=?1", [new_name], |r| {
                r.get(0)
            }),
        )?;
        if let Some(id) = taken {
            return Err(ContainerError::NameInUse {
                name: new_name.to_string(),
                id,
            });
        }
        tx.execute(
            "UPDATE containers SET name=?2 WHERE id=?1",
            [&c.id, new_name],
        )?;
        Ok(())
    })
}
