//! `logs`: a container's output as its monitor recorded it, read once or
//! followed while the container runs — the one reader behind `berth logs`
//! and `GET /containers/{id}/logs`.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_container::logs::{read, read_from, Entry, ReadOptions};
use berth_container::model::Paths;
use berth_store::FileLock;

use crate::{Engine, Result};

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
    /// Held open so that the log can still be read after the container is
    /// removed (a client may remove it as soon as it exits, before reading).
    file: Option<File>,
    monitor_lock: PathBuf,
    options: ReadOptions,
    follow: bool,
    /// `None` until the first batch (which honours `tail`).
    offset: Option<u64>,
    done: bool,
    /// Whether the container has a terminal (its output is one stream).
    pub tty: bool,
}

impl LogReader {
    fn path(&self) -> Option<PathBuf> {
        self.file
            .as_ref()
            .map(|f| PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd())))
    }

    /// The next entries: everything there on the first call; when following,
    /// blocks until more arrive. `None` once there is nothing more to read
    /// (not following, or the container stopped and its log is drained).
    pub fn next_batch(&mut self) -> Result<Option<Vec<Entry>>> {
        if self.done {
            return Ok(None);
        }
        let Some(path) = self.path() else {
            self.done = true;
            return Ok(None);
        };
        let Some(offset) = self.offset else {
            let (entries, offset) = read(&path, &self.options)?;
            self.offset = Some(offset);
            self.done = !self.follow;
            return Ok(Some(entries));
        };
        let options = ReadOptions {
            tail: None,
            ..self.options.clone()
        };
        loop {
            let running = FileLock::is_held(&self.monitor_lock);
            let (more, next) = read_from(&path, offset, &options).unwrap_or((Vec::new(), offset));
            self.offset = Some(next);
            if !more.is_empty() {
                return Ok(Some(more));
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
        // A container that has just started opens its log a moment later.
        let deadline = Instant::now() + Duration::from_secs(5);
        let file = loop {
            match File::open(&paths.log) {
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
            file,
            monitor_lock: paths.monitor_lock,
            options: ReadOptions {
                tail: req.tail,
                since: req.since,
                until: req.until,
            },
            follow: req.follow,
            offset: None,
            done: false,
            tty: c.spec.tty,
        })
    }
}
