//! A timer the monitor's poll loop waits on like any other descriptor (a
//! timerfd on the monotonic clock): the restart back-off now, healthchecks
//! later. Idle, it costs one descriptor and no thread.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use berth_container::{ContainerError, Result};

pub(super) struct Timer {
    fd: OwnedFd,
}

impl Timer {
    /// A disarmed timer.
    pub(super) fn new() -> Result<Timer> {
        // SAFETY: timerfd_create with constant flags; the fd is owned below.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_CLOEXEC | libc::TFD_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(ContainerError::sys(
                "timerfd_create",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: fd was just created and is owned by nobody else.
        Ok(Timer {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Fires once, `after` from now (a zero duration fires at once);
    /// replaces any earlier arming.
    pub(super) fn arm(&self, after: Duration) -> Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: a valid itimerspec on our timerfd.
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(ContainerError::sys(
                "timerfd_settime",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Whether it fired since it was armed (consumes the expiry).
    pub(super) fn expired(&self) -> bool {
        let mut count = 0u64;
        // SAFETY: reading 8 bytes into a u64 from our non-blocking timerfd.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut count as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        n == std::mem::size_of::<u64>() as isize && count > 0
    }
}

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn readable(timer: &Timer, timeout_ms: i32) -> bool {
        let mut pfd = libc::pollfd {
            fd: timer.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) == 1 }
    }

    #[test]
    fn fires_once_after_its_delay() {
        let timer = Timer::new().unwrap();
        assert!(!timer.expired());
        let armed = Instant::now();
        timer.arm(Duration::from_millis(30)).unwrap();
        assert!(!readable(&timer, 0));
        assert!(readable(&timer, 5000));
        assert!(armed.elapsed() >= Duration::from_millis(30));
        assert!(timer.expired());
        assert!(!timer.expired(), "one-shot");
        assert!(!readable(&timer, 60));

        // Re-arming replaces the earlier deadline.
        timer.arm(Duration::from_secs(3600)).unwrap();
        timer.arm(Duration::from_millis(10)).unwrap();
        assert!(readable(&timer, 5000));
        assert!(timer.expired());
    }
}
