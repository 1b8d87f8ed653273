//! Talking to a container's monitor: spawning it, attaching, resizing,
//! waiting for it to exit, attaching before the container starts.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_container::model::Paths;
use berth_container::{ContainerError, Result};
use berth_store::{FileLock, Store};

use super::protocol::{
    self, StartReport, ATTACH_ENV, ATTACH_FD, CANCEL_RESTART, ID_ENV, RESIZE, START_RESOLVER,
    SYNC_FD, WAITER_PREFIX,
};

/// Spawns the monitor of container `id` (`berth __monitor`, detached) and
/// returns its report on the first start. `attach` becomes its first attach
/// client, so that no output is missed.
pub fn spawn(
    root: &Path,
    run_dir: &Path,
    id: &str,
    attach: Option<&UnixStream>,
) -> Result<StartReport> {
    let (read_end, write_end) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| ContainerError::sys("pipe", e))?;
    let mut read_end = std::fs::File::from(read_end);
    let exe = std::env::current_exe().map_err(|e| ContainerError::io("/proc/self/exe", e))?;
    let log_path = Paths::new(&root.join("containers").join(id), id)
        .dir
        .join(super::diag::FILE);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| ContainerError::io(&log_path, e))?;
    let mut cmd = std::process::Command::new(&exe);
    cmd.arg("--root")
        .arg(root)
        .arg("--run-dir")
        .arg(run_dir)
        .arg("__monitor")
        // Not on the command line: `ps` shows that to every user.
        .env(ID_ENV, id)
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
                return Err(io::Error::last_os_error());
            }
            if libc::dup2(sync_high, SYNC_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            libc::close(sync_high);
            if let Some(fd) = attach_high {
                if libc::dup2(fd, ATTACH_FD) < 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::close(fd);
            }
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            // The monitor, and so the runtime and the container, start
            // with every signal at its default action and none blocked,
            // whatever this process inherited.
            berth_runtime::default_signals_in_child()
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
    let problem = |problem: String| ContainerError::Monitor {
        id: id.to_string(),
        problem,
    };
    if text.trim().is_empty() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(problem(format!(
            "exited without reporting: {}",
            log.lines().last().unwrap_or("no message")
        )));
    }
    serde_json::from_str(&text).map_err(|e| problem(format!("bad report: {e}")))
}

/// Waits until the monitor of container `id` has exited, up to `timeout`.
/// Returns whether it did.
pub fn wait_exit(store: &Store, id: &str, timeout: Duration) -> bool {
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

/// Connects to a running container's monitor as an attach client.
pub fn connect(attach_socket: &Path) -> io::Result<UnixStream> {
    protocol::connect_short(attach_socket)
}

/// Tells a running container's monitor its terminal's new size.
pub fn resize(attach_socket: &Path, rows: u16, cols: u16) -> io::Result<()> {
    let mut stream = connect(attach_socket)?;
    protocol::write_frame(&mut stream, RESIZE, format!("{rows} {cols}").as_bytes())
}

/// Tells the monitor of a container waiting to be restarted that the user
/// stopped it. A monitor that is gone has nothing to cancel.
pub(crate) fn cancel_restart(attach_socket: &Path) {
    if let Ok(mut stream) = connect(attach_socket) {
        let _ = protocol::write_frame(&mut stream, CANCEL_RESTART, &[]);
    }
}

/// Asks a running container's monitor to start the container's resolver
/// (it joined a network with name resolution) and waits for the answer:
/// `None` once it runs, else the monitor's error.
pub(crate) fn start_resolver(attach_socket: &Path) -> io::Result<Option<String>> {
    let mut stream = connect(attach_socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    protocol::write_frame(&mut stream, START_RESOLVER, &[])?;
    loop {
        match protocol::read_frame(&mut stream)? {
            Some((START_RESOLVER, answer)) if answer.is_empty() => return Ok(None),
            Some((START_RESOLVER, answer)) => {
                return Ok(Some(String::from_utf8_lossy(&answer).into_owned()))
            }
            // The container's output, which every client is sent.
            Some(_) => {}
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

/// A client waiting for a container's next start (Docker clients attach
/// before they start: `docker run` sends attach, then start).
///
/// The waiter listens on `containers/<id>/attach-wait-<n>.sock`; a monitor
/// starting up connects to every such socket and treats it as an attach
/// client from the first byte of output, exactly like the socketpair `run`
/// hands over. No state lives outside the container's directory.
pub struct AttachWaiter {
    listener: UnixListener,
    path: PathBuf,
}

impl AttachWaiter {
    pub fn register(container_dir: &Path) -> Result<AttachWaiter> {
        let path = container_dir.join(format!(
            "{WAITER_PREFIX}{}.sock",
            &berth_store::new_id()[..16]
        ));
        let listener = protocol::bind_short(&path).map_err(|e| ContainerError::io(&path, e))?;
        Ok(AttachWaiter { listener, path })
    }

    /// Waits up to `timeout` for a monitor to connect.
    pub fn accept(&self, timeout: Duration) -> io::Result<UnixStream> {
        let mut pfd = libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "container did not start",
            ));
        }
        self.listener.accept().map(|(s, _)| s)
    }
}

impl Drop for AttachWaiter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
