//! Pseudo-terminals: the console socket on which runc hands over a
//! container's or an exec's terminal, and window sizes.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::error::RuntimeError;
use crate::oci::WindowSize;

/// Sets a terminal's size (TIOCSWINSZ); the terminal's session gets SIGWINCH.
/// A size with 0 rows or columns is ignored.
pub fn set_window_size(terminal: &impl AsFd, rows: u16, cols: u16) {
    if rows == 0 || cols == 0 {
        return;
    }
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid winsize on a descriptor we borrow.
    unsafe { libc::ioctl(terminal.as_fd().as_raw_fd(), libc::TIOCSWINSZ, &size) };
}

/// A new pseudo-terminal of `size`: (master, slave).
pub(crate) fn open_pty(size: WindowSize) -> Result<(OwnedFd, File), RuntimeError> {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .map_err(|e| RuntimeError::sys("opening a pseudo-terminal", e))?;
    grantpt(&master).map_err(|e| RuntimeError::sys("grantpt", e))?;
    unlockpt(&master).map_err(|e| RuntimeError::sys("unlockpt", e))?;
    let name = ptsname(&master, Vec::new()).map_err(|e| RuntimeError::sys("ptsname", e))?;
    let slave_path = PathBuf::from(name.to_string_lossy().into_owned());
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&slave_path)
        .map_err(|e| RuntimeError::io(&slave_path, e))?;
    set_window_size(&master, size.rows, size.cols);
    Ok((master, slave))
}

/// The socket on which the runtime hands over a process's terminal
/// (`--console-socket`): a container's, in its bundle directory, or an
/// exec's, next to the exec's other files.
pub(crate) struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
    /// Keeps the directory descriptor that `path` goes through alive.
    _dir: File,
}

impl ConsoleSocket {
    /// Listens on `dir/name`.
    pub(crate) fn bind(dir: &Path, name: &str) -> Result<ConsoleSocket, RuntimeError> {
        let socket = dir.join(name);
        let _ = std::fs::remove_file(&socket);
        let handle = File::open(dir).map_err(|e| RuntimeError::io(dir, e))?;
        // The path may be longer than sun_path allows, and the runtime is
        // another process: reach the directory through our pid.
        let path = PathBuf::from(format!(
            "/proc/{}/fd/{}/{name}",
            std::process::id(),
            handle.as_raw_fd()
        ));
        let listener = UnixListener::bind(&path).map_err(|e| RuntimeError::io(&socket, e))?;
        Ok(ConsoleSocket {
            listener,
            path,
            _dir: handle,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the terminal master the runtime sent (queued on the listening
    /// socket during `create`).
    pub(crate) fn receive(&self) -> Result<OwnedFd, RuntimeError> {
        let (stream, _) = self
            .listener
            .accept()
            .map_err(|e| RuntimeError::io(&self.path, e))?;
        recv_fd(&stream)
    }

    /// Takes the terminal master the runtime sends, waiting while
    /// `running()` says the runtime may still send it; `None` when it ended
    /// without (it failed before making the terminal).
    pub(crate) fn receive_while(
        &self,
        mut running: impl FnMut() -> bool,
    ) -> Result<Option<OwnedFd>, RuntimeError> {
        loop {
            // Asked before polling: a connection made before the runtime
            // ended is then still seen.
            let alive = running();
            let mut poll = libc::pollfd {
                fd: self.listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one pollfd of ours.
            let ready = unsafe { libc::poll(&mut poll, 1, if alive { 50 } else { 0 }) };
            if ready > 0 {
                return self.receive().map(Some);
            }
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(RuntimeError::sys("waiting for the console", e));
                }
            } else if !alive {
                return Ok(None);
            }
        }
    }
}

/// Receives one file descriptor sent with SCM_RIGHTS.
fn recv_fd(stream: &UnixStream) -> Result<OwnedFd, RuntimeError> {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut control = [0u8; 64];
    // SAFETY: msghdr points at local buffers that outlive the call.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
        let n = libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            return Err(RuntimeError::sys(
                "receiving the console",
                std::io::Error::last_os_error(),
            ));
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() || (*cmsg).cmsg_type != libc::SCM_RIGHTS {
            return Err(RuntimeError::sys(
                "receiving the console",
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the runtime sent no console descriptor",
                ),
            ));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const RawFd);
        Ok(OwnedFd::from_raw_fd(fd))
    }
}
