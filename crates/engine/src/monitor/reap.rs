//! Reaping by pid.
//!
//! The monitor is a child subreaper: the container's init becomes its child
//! when the runtime's `create` exits, and so do the container's processes
//! that outlive their pid namespace's init. The [`Reaper`] waits only for the
//! pids it was given ([`Reaper::track`]: the container's init, later a
//! healthcheck's process) and for zombies that came out of another pid
//! namespace (started inside the container); a child of the monitor's own
//! that it does not track (a runtime command, a network helper) is left to
//! whoever waits for it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

use berth_container::{ContainerError, Result};

/// SIGCHLD as a descriptor for the poll loop (a signalfd; the signal is
/// blocked so that it is only seen there).
pub(super) struct ChildSignals {
    fd: OwnedFd,
}

impl ChildSignals {
    pub(super) fn new() -> Result<ChildSignals> {
        // SAFETY: sigset manipulation on a local, then sigprocmask/signalfd.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGCHLD);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                return Err(ContainerError::sys(
                    "signalfd",
                    std::io::Error::last_os_error(),
                ));
            }
            Ok(ChildSignals {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// Consumes the pending notifications (then [`Reaper::reap`]).
    pub(super) fn drain(&self) {
        let mut info = [0u8; 128];
        // SAFETY: reading into a local buffer from our non-blocking signalfd.
        while unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), info.len()) } > 0 {
        }
    }
}

impl AsRawFd for ChildSignals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The pids whose exit the monitor waits for.
pub(super) struct Reaper {
    tracked: Vec<i32>,
    /// The monitor's own pid namespace (its nsfs inode).
    own_pid_ns: Option<u64>,
}

/// A tracked pid that exited, with its exit status (128+N when killed by
/// signal N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exited {
    pub pid: i32,
    pub status: i32,
}

fn pid_ns(pid: &str) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/pid"))
        .ok()
        .map(|m| m.ino())
}

/// Decodes a `waitpid` status.
fn exit_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

/// This process's children that are zombies.
fn zombie_children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|pid| {
            // `pid (comm) S ...`: the state follows the last ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().next().map(|s| s == "Z")
                })
                .unwrap_or(false)
        })
        .collect()
}

impl Reaper {
    pub(super) fn new() -> Reaper {
        Reaper {
            tracked: Vec::new(),
            own_pid_ns: pid_ns("self"),
        }
    }

    /// Waits for `pid`'s exit from now on.
    pub(super) fn track(&mut self, pid: i32) {
        if !self.tracked.contains(&pid) {
            self.tracked.push(pid);
        }
    }

    /// Reaps the tracked pids that exited, and the zombies from another pid
    /// namespace; returns the former. A tracked pid that is no longer a child
    /// (nothing to wait for) is reported with status 255.
    pub(super) fn reap(&mut self) -> Vec<Exited> {
        let mut exited = Vec::new();
        self.tracked.retain(|&pid| {
            let mut status = 0;
            // SAFETY: waitpid on one pid with a valid out pointer.
            match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
                0 => true,
                -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {
                    true
                }
                -1 => {
                    exited.push(Exited { pid, status: 255 });
                    false
                }
                _ => {
                    exited.push(Exited {
                        pid,
                        status: exit_status(status),
                    });
                    false
                }
            }
        });
        // A tracked pid that exited after the loop above is reaped by the next
        // call, with its status.
        for pid in zombie_children()
            .into_iter()
            .filter(|pid| !self.tracked.contains(pid))
        {
            let from_container =
                pid_ns(&pid.to_string()).is_some_and(|ns| Some(ns) != self.own_pid_ns);
            if from_container {
                let mut status = 0;
                // SAFETY: waitpid on one zombie child with a valid out pointer.
                unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            }
        }
        exited
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::{Duration, Instant};

    fn wait_until_zombie(pid: i32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !zombie_children().contains(&pid) {
            assert!(Instant::now() < deadline, "{pid} never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    // The reaper under test waits for the tracked children.
    #[allow(clippy::zombie_processes)]
    fn only_tracked_pids_are_reaped() {
        let mut reaper = Reaper::new();
        let tracked = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let killed = Command::new("sleep").arg("60").spawn().unwrap();
        // A child the container's init did not start: someone else's to wait for.
        let mut other = Command::new("true").spawn().unwrap();
        reaper.track(tracked.id() as i32);
        reaper.track(killed.id() as i32);
        wait_until_zombie(tracked.id() as i32);
        wait_until_zombie(other.id() as i32);

        assert_eq!(
            reaper.reap(),
            [Exited {
                pid: tracked.id() as i32,
                status: 3
            }]
        );
        // SAFETY: kill with a valid pid and signal.
        unsafe { libc::kill(killed.id() as i32, libc::SIGKILL) };
        wait_until_zombie(killed.id() as i32);
        assert_eq!(
            reaper.reap(),
            [Exited {
                pid: killed.id() as i32,
                status: 128 + libc::SIGKILL
            }]
        );
        assert!(reaper.reap().is_empty());
        // Not stolen: its owner still gets its status.
        assert!(other.wait().unwrap().success());
    }
}
