//! `logs`: a container's output as its monitor recorded it, read once or
//! followed while the container runs — the one reader behind `berth logs`
//! and `GET /containers/{id}/logs`. It reads the rotated files (oldest
//! first) and then the live one; while following, it moves on to the new
//! live file when the monitor rotates it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_container::logs::{read_from, read_with_live, Entry, LogDriver, ReadOptions};
use berth_container::model::{Paths, Status};
use berth_store::FileLock;

use crate::{Engine, Error, ErrorKind, Result};

pub use berth_container::logs::Entry as LogEntry;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct LogsRequest {
    /// Only the last `tail` entries of what is there now.
    pub tail: Option<usize>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Keep reading what the container writes until it stops.
    pub follow: bool,
}

/// An open log. [`LogReader::next_batch`] returns what is there, then (when
/// following) what arrives, until the container stops.
pub struct LogReader {
    /// The live log's path.
    path: PathBuf,
    /// The live log, held open so that it can still be read after the
    /// container is removed (a client may remove it as soon as it exits,
    /// before reading) or the file rotated.
    file: Option<File>,
    monitor_lock: PathBuf,
    options: ReadOptions,
    follow: bool,
    /// `None` until the first batch (which honours `tail`).
    offset: Option<u64>,
    /// The time of the last entry returned (times are fixed-width RFC 3339
    /// in UTC, so they order as text).
    last_time: Option<String>,
    done: bool,
    /// Whether the container has a terminal (its output is one stream).
    pub tty: bool,
}

impl LogReader {
    fn held_path(&self) -> Option<PathBuf> {
        self.file
            .as_ref()
            .map(|f| PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd())))
    }

    /// Whether the file at the live path is no longer the one held (the
    /// monitor rotated it).
    fn rotated(&self) -> bool {
        let inode = |m: std::fs::Metadata| (m.dev(), m.ino());
        match (&self.file, std::fs::metadata(&self.path)) {
            (Some(held), Ok(now)) => held.metadata().map(inode).ok() != Some(inode(now)),
            _ => false,
        }
    }

    fn batch(&mut self, entries: Vec<Entry>) -> Option<Vec<Entry>> {
        if let Some(last) = entries.last() {
            self.last_time = Some(last.time.clone());
        }
        Some(entries)
    }

    /// The next entries: everything there on the first call; when following,
    /// blocks until more arrive. `None` once there is nothing more to read
    /// (not following, or the container stopped and its log is drained).
    pub fn next_batch(&mut self) -> Result<Option<Vec<Entry>>> {
        if self.done {
            return Ok(None);
        }
        let Some(held) = self.held_path() else {
            self.done = true;
            return Ok(None);
        };
        let Some(offset) = self.offset else {
            let (entries, offset) = read_with_live(&self.path, &held, &self.options)?;
            self.offset = Some(offset);
            self.done = !self.follow;
            return Ok(self.batch(entries));
        };
        let options = ReadOptions {
            tail: None,
            ..self.options.clone()
        };
        let mut offset = offset;
        loop {
            let running = FileLock::is_held(&self.monitor_lock);
            let rotated = self.rotated();
            let Some(held) = self.held_path() else {
                self.done = true;
                return Ok(None);
            };
            let (more, next) = read_from(&held, offset, &options).unwrap_or((Vec::new(), offset));
            offset = next;
            self.offset = Some(next);
            if !more.is_empty() {
                return Ok(self.batch(more));
            }
            if rotated {
                // The held file is drained (it was complete before the
                // rotation was seen), but the monitor may have rotated more
                // than once since: what followed its last entry is in the
                // rotated files and the new live one.
                let Ok(live) = File::open(&self.path) else {
                    // Between a rename and the new file: look again.
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let held = PathBuf::from(format!("/proc/self/fd/{}", live.as_raw_fd()));
                let (entries, next) = read_with_live(&self.path, &held, &options)?;
                self.file = Some(live);
                offset = next;
                self.offset = Some(next);
                let after = self.last_time.clone().unwrap_or_default();
                let fresh: Vec<Entry> = entries.into_iter().filter(|e| e.time > after).collect();
                if !fresh.is_empty() {
                    return Ok(self.batch(fresh));
                }
                continue;
            }
            if !running {
                self.done = true;
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Engine {
    /// `logs`: opens a container's log.
    pub fn container_logs(&mut self, reference: &str, req: &LogsRequest) -> Result<LogReader> {
        let c = self.container_lookup(reference)?;
        let paths = Paths::of(&self.store, &c.id);
        let settings = c.spec.host.log_config.settings()?;
        // The none driver keeps nothing: dockerd's refusal; a CRI log is
        // kubelet's to read (and rotate), in a format of its own.
        let path = settings
            .path(&paths)
            .filter(|_| settings.driver != LogDriver::Cri);
        let Some(path) = path else {
            return Err(Error::refused(
                ErrorKind::NotImplemented,
                "configured logging driver does not support reading",
            ));
        };
        // A container that has just started opens its log a moment later.
        let deadline = Instant::now() + Duration::from_secs(5);
        let file = loop {
            match File::open(&path) {
                Ok(f) => break Some(f),
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        && req.follow
                        && FileLock::is_held(&paths.monitor_lock)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => break None,
            }
        };
        Ok(LogReader {
            path,
            file,
            monitor_lock: paths.monitor_lock,
            options: ReadOptions {
                tail: req.tail,
                since: req.since,
                until: req.until,
            },
            follow: req.follow,
            offset: None,
            last_time: None,
            done: false,
            tty: c.spec.tty,
        })
    }

    /// `ReopenContainerLog` (the CRI): the running container's CRI log is
    /// started anew at its path, which kubelet has just renamed away.
    pub fn container_reopen_log(&mut self, reference: &str) -> Result<()> {
        let c = self.container_lookup(reference)?;
        let settings = c.spec.host.log_config.settings()?;
        let path = settings
            .path(&Paths::of(&self.store, &c.id))
            .filter(|_| settings.driver == LogDriver::Cri)
            .ok_or_else(|| {
                Error::refused(
                    ErrorKind::InvalidArgument,
                    format!("container {} does not log in the CRI format", c.id),
                )
            })?;
        if c.state.status != Status::Running {
            return Err(Error::refused(
                ErrorKind::Conflict,
                format!("container {} is not running", c.id),
            ));
        }
        Ok(berth_container::logs::start_cri_log(&path)?)
    }
}
