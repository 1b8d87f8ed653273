//! A command on a pseudo-terminal of its own, as a user's shell runs it:
//! what it shows, keys typed to it, its exit status.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A command running on a new terminal (its controlling one), and
/// everything it wrote there.
pub struct OnTerminal {
    child: Child,
    master: File,
    seen: Arc<Mutex<Vec<u8>>>,
    /// Reads the terminal until every process has closed it.
    reader: std::thread::JoinHandle<()>,
}

impl OnTerminal {
    pub fn spawn(cmd: Command) -> OnTerminal {
        OnTerminal::spawn_sized(cmd, 0, 0)
    }

    /// On a terminal of `rows` x `cols` from the start.
    pub fn spawn_sized(mut cmd: Command, rows: u16, cols: u16) -> OnTerminal {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both were just opened by openpty.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        cmd.stdin(io(&slave)).stdout(io(&slave)).stderr(io(&slave));
        // SAFETY: setsid and ioctl only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(slave);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), seen.clone());
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnTerminal {
            child,
            master,
            seen,
            reader,
        }
    }

    pub fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal shows `text`.
    pub fn expect(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.seen().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in {:?}",
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resizes the terminal (its foreground process gets SIGWINCH).
    pub fn resize(&self, rows: u16, cols: u16) {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ from a local winsize on our own descriptor.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }

    pub fn type_keys(&mut self, keys: &[u8]) {
        self.master.write_all(keys).unwrap();
    }

    /// Returns once what the command wrote before it exited has been read:
    /// the reader is done (the terminal closed), or the terminal holds no
    /// unread input and the reader has appended what it took (a process
    /// the command left behind may keep the terminal open).
    fn drained(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let pending = || {
            let mut n: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int for our own descriptor.
            unsafe { libc::ioctl(self.master.as_raw_fd(), libc::FIONREAD, &mut n) };
            n
        };
        let mut last = usize::MAX;
        while !self.reader.is_finished() && Instant::now() < deadline {
            let len = self.seen.lock().unwrap().len();
            if pending() == 0 && len == last {
                return;
            }
            last = len;
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The command's exit status, within 20 s, once all it wrote is seen.
    pub fn status(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drained();
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "still running: {:?}",
                self.seen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
