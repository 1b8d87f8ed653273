//! The monitor's own log: what went wrong inside the monitor (never the
//! container's output), one timestamped line each, in `monitor.log` in the
//! container's directory — the monitor's stderr, opened by the spawner
//! (`client::spawn`). Bounded: once it passes [`LIMIT`] it is moved to
//! `monitor.log.1` (replacing the one before) and a new file is started, so
//! a container keeps at most about twice the limit however long it runs.
//!
//! Failures that happen after `start` has returned to its caller (a teardown
//! step, `--rm`'s removal) are also recorded in the store by the monitor
//! (`state::record_monitor_error`): `inspect` shows them as `State.Error`
//! and a `monitor_error` event carries them.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

/// Size past which the log is rotated.
pub(super) const LIMIT: u64 = 256 * 1024;
/// The log's name in the container's directory.
pub(crate) const FILE: &str = "monitor.log";

/// Writes one line, `TIME monitor ID: MESSAGE`, to the monitor's log.
pub(super) fn log(id: &str, message: std::fmt::Arguments) {
    rotate_if_full(std::io::stderr().as_raw_fd());
    let line = format!("{} monitor {id}: {message}\n", berth_store::now_rfc3339());
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Moves a full log aside and puts a new one on `fd` (stderr). Only when
/// `fd` is a container's `monitor.log` (not a terminal or a pipe).
fn rotate_if_full(fd: RawFd) {
    let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else {
        return;
    };
    if path.file_name().map_or(true, |n| n != FILE) {
        return;
    }
    if std::fs::metadata(&path).map_or(true, |m| m.size() < LIMIT) {
        return;
    }
    if std::fs::rename(&path, path.with_file_name(format!("{FILE}.1"))).is_err() {
        return;
    }
    let Ok(fresh) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
    else {
        return;
    };
    // SAFETY: dup2 onto a descriptor of ours; `fresh` is closed after.
    unsafe { libc::dup2(fresh.as_raw_fd(), fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_log_is_moved_aside_and_a_new_one_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, vec![b'x'; LIMIT as usize + 1]).unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        rotate_if_full(file.as_raw_fd());
        let old = dir.path().join(format!("{FILE}.1"));
        assert_eq!(std::fs::metadata(&old).unwrap().len(), LIMIT + 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        // The descriptor now writes to the new file.
        (&file).write_all(b"next\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "next\n");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_log_under_the_limit_or_another_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join(FILE);
        std::fs::write(&small, b"one line\n").unwrap();
        let other = dir.path().join("other.log");
        std::fs::write(&other, vec![b'x'; LIMIT as usize + 1]).unwrap();
        for path in [&small, &other] {
            let file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            rotate_if_full(file.as_raw_fd());
        }
        assert!(!dir.path().join(format!("{FILE}.1")).exists());
        assert!(!dir.path().join("other.log.1").exists());
    }
}
