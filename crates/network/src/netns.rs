//! Persistent network namespaces: `<run dir>/netns/<container id>`, a bind
//! mount of the namespace of a short-lived thread that unshared it, as
//! `ip netns add` makes them. The mount keeps the namespace alive without any
//! process in it, so it exists before the container's init and can be torn
//! down after it, by whichever berth process comes along.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use berth_mount::{Linux, Mount, Syscalls};

use crate::{NetworkError, Result};

/// Where a container's own network namespace is mounted, in the run
/// directory of its berth root.
pub fn path(run_dir: &Path, container_id: &str) -> PathBuf {
    run_dir.join("netns").join(container_id)
}

/// Whether the container's namespace is mounted (it is "up").
pub fn exists(run_dir: &Path, container_id: &str) -> bool {
    is_mounted(&path(run_dir, container_id))
}

/// Whether a namespace file is mounted (its container is up).
pub(crate) fn is_mounted(target: &Path) -> bool {
    berth_mount::is_mountpoint(target).unwrap_or(false)
}

/// Creates the namespace at `target` with `lo` up.
pub(crate) fn create(target: &Path) -> Result<()> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(target)
        .map_err(|e| NetworkError::io(target, e))?;
    let mount_target = target.to_path_buf();
    // Namespaces are per thread: the new one is entered by a thread of its own,
    // which exits once the namespace is pinned by the bind mount.
    let outcome = std::thread::spawn(move || -> Result<()> {
        rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET)
            .map_err(|e| NetworkError::io(&mount_target, e.into()))?;
        loopback_up().map_err(|e| NetworkError::io("lo", e))?;
        let own = PathBuf::from("/proc/thread-self/ns/net");
        Linux.mount(&Mount::bind(&own, &mount_target, false))?;
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| {
        Err(NetworkError::Conflict(
            "network namespace thread panicked".into(),
        ))
    });
    if outcome.is_err() {
        let _ = std::fs::remove_file(target);
    }
    outcome
}

/// Unmounts and deletes the namespace file; a missing one is fine.
pub(crate) fn remove(target: &Path) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    Linux.unmount(target, true)?;
    match std::fs::remove_file(target) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetworkError::io(target, e)),
        _ => Ok(()),
    }
}

/// `ip link set lo up` in the calling thread's namespace (SIOCSIFFLAGS).
fn loopback_up() -> std::io::Result<()> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    // SAFETY: ifreq is plain data; the ioctls read/write only that struct.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
