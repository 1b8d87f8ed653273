//! The controlling terminal: raw mode for `-t` sessions and its size.

use std::os::fd::AsRawFd;

/// Puts stdin's terminal in raw mode until dropped (if stdin is a terminal).
pub struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    pub fn enable() -> Option<RawMode> {
        let fd = std::io::stdin().as_raw_fd();
        // SAFETY: termios calls on our own stdin with a local struct.
        unsafe {
            if libc::isatty(fd) == 0 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(fd, libc::TCSANOW, &raw);
            Some(RawMode { saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring the attributes read in `enable`.
        unsafe { libc::tcsetattr(std::io::stdin().as_raw_fd(), libc::TCSANOW, &self.saved) };
    }
}

/// (rows, cols) of the terminal on stdout or stdin.
pub fn size() -> Option<(u16, u16)> {
    for fd in [std::io::stdout().as_raw_fd(), std::io::stdin().as_raw_fd()] {
        // SAFETY: TIOCGWINSZ into a local winsize.
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            if libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_row > 0 {
                return Some((ws.ws_row, ws.ws_col));
            }
        }
    }
    None
}

pub fn stdout_is_terminal() -> bool {
    // SAFETY: isatty on our stdout.
    unsafe { libc::isatty(std::io::stdout().as_raw_fd()) == 1 }
}
