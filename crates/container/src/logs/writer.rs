//! The monitor's log writer: the container's output as json-file entries,
//! rotated as dockerd's `loggerutils.LogFile` rotates them.
//!
//! Before an entry is written, a file that has reached `max-size` is rotated:
//! `NAME.{max-file - 1}` is deleted, `NAME.i` becomes `NAME.{i+1}`, `NAME`
//! becomes `NAME.1` and a new `NAME` is started (with `max-file` 1, `NAME`
//! is truncated instead). So, as with Docker, a file ends at most one entry
//! past `max-size`. With `compress`, `NAME.1` is gzipped to `NAME.1.gz` at
//! once (Docker does it in the background), with the last entry's time in
//! the gzip header's extra field as Docker writes it (`{"lastTime":...}`).
//!
//! The `cri` driver writes the CRI format instead (`TIME STREAM F|P text`,
//! one line per entry, `P` for a line split at 16 KiB or left unfinished)
//! and never rotates: kubelet renames the file and asks for a reopen, so
//! before each batch the writer checks that its path still names the file
//! it holds and opens a new one if not (`ReopenContainerLog`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::config::{LogDriver, LogSettings};
use super::rotated_name;
use crate::{ContainerError, Result};

/// Docker splits log entries at newlines and at 16 KiB.
const MAX_ENTRY: usize = 16 * 1024;

/// An entry as written: Docker's field order (log, stream, attrs, time).
#[derive(Serialize)]
struct OutEntry<'a> {
    log: &'a str,
    stream: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attrs: Option<&'a BTreeMap<String, String>>,
    time: &'a str,
}

/// Splits a stream into json-file entries, keeping partial lines until they
/// complete (or reach 16 KiB), and rotates the file.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    /// Bytes in the live file.
    size: u64,
    max_size: Option<u64>,
    max_file: u32,
    compress: bool,
    attrs: Option<BTreeMap<String, String>>,
    /// The time of the last entry written (for a compressed file's header).
    last_time: String,
    pending: [Vec<u8>; 2],
    /// The CRI format, and the (device, inode) of the file held.
    cri: Option<(u64, u64)>,
}

/// Only root reads a container's output (Docker's logs are 0640 root:root).
fn open_log(path: &Path, truncate: bool) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(!truncate)
        .write(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
        .map_err(|e| ContainerError::io(path, e))
}

/// `ReopenContainerLog`: a CRI log that kubelet renamed starts anew at
/// `path` at once (kubelet looks for it as soon as the call returns); the
/// monitor's writer, which follows the path, writes there from its next
/// entry on.
/// (Also before a container starts: kubelet reads the log at once.)
pub fn start_cri_log(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ContainerError::io(dir, e))?;
    }
    open_log(path, false).map(drop)
}

impl LogWriter {
    /// Appends to the log at `path`, rotating as `settings` say and adding
    /// `attrs` to every entry.
    pub fn open(
        path: &Path,
        settings: &LogSettings,
        attrs: BTreeMap<String, String>,
    ) -> Result<LogWriter> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ContainerError::io(dir, e))?;
        }
        let file = open_log(path, false)?;
        let meta = file.metadata().map_err(|e| ContainerError::io(path, e))?;
        let size = meta.len();
        let cri = (settings.driver == LogDriver::Cri).then(|| file_id(&meta));
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            max_size: settings.max_size,
            max_file: settings.max_file,
            compress: settings.compress,
            attrs: (!attrs.is_empty()).then_some(attrs),
            last_time: String::new(),
            pending: [Vec::new(), Vec::new()],
            cri,
        })
    }

    /// A CRI log whose path names another file now (kubelet rotated it)
    /// or none: the writer moves to a new file at the path.
    fn follow_rename(&mut self) -> std::io::Result<()> {
        let Some(held) = self.cri else {
            return Ok(());
        };
        if std::fs::metadata(&self.path).is_ok_and(|m| file_id(&m) == held) {
            return Ok(());
        }
        self.file = open_log(&self.path, false).map_err(std::io::Error::other)?;
        let meta = self.file.metadata()?;
        self.size = meta.len();
        self.cri = Some(file_id(&meta));
        Ok(())
    }

    /// `stream`: 1 = stdout, 2 = stderr.
    pub fn write(&mut self, stream: u8, data: &[u8]) -> std::io::Result<()> {
        self.follow_rename()?;
        let index = usize::from(stream == 2);
        let mut pending = std::mem::take(&mut self.pending[index]);
        pending.extend_from_slice(data);
        let mut start = 0;
        let mut out = Vec::new();
        let mut result = Ok(());
        loop {
            let end = match pending[start..].iter().position(|&b| b == b'\n') {
                Some(nl) => start + nl + 1,
                None if pending.len() - start >= MAX_ENTRY => start + MAX_ENTRY,
                None => break,
            };
            result = result.and(self.entry(&mut out, stream, &pending[start..end]));
            start = end;
        }
        pending.drain(..start);
        self.pending[index] = pending;
        result.and(self.write_out(&mut out))
    }

    /// Writes out partial lines (at the end of the container's output).
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.follow_rename()?;
        let mut out = Vec::new();
        let mut result = Ok(());
        for (index, stream) in [(0usize, 1u8), (1, 2)] {
            let pending = std::mem::take(&mut self.pending[index]);
            if !pending.is_empty() {
                result = result.and(self.entry(&mut out, stream, &pending));
            }
        }
        result.and(self.write_out(&mut out))
    }

    /// Adds one entry to `out`, first rotating (after writing `out`) when the
    /// file has reached its maximum size.
    fn entry(&mut self, out: &mut Vec<u8>, stream: u8, line: &[u8]) -> std::io::Result<()> {
        let mut result = Ok(());
        if self
            .max_size
            .is_some_and(|max| self.size + out.len() as u64 >= max)
        {
            result = self.write_out(out).and_then(|()| self.rotate());
        }
        let time = berth_store::now_rfc3339();
        let stream_name = if stream == 2 { "stderr" } else { "stdout" };
        if self.cri.is_some() {
            let (text, tag) = match line.strip_suffix(b"\n") {
                Some(text) => (text, 'F'),
                None => (line, 'P'),
            };
            out.extend_from_slice(format!("{time} {stream_name} {tag} ").as_bytes());
            out.extend_from_slice(text);
            out.push(b'\n');
            return result;
        }
        let entry = OutEntry {
            log: &String::from_utf8_lossy(line),
            stream: stream_name,
            attrs: self.attrs.as_ref(),
            time: &time,
        };
        if serde_json::to_writer(&mut *out, &entry).is_ok() {
            out.push(b'\n');
        }
        self.last_time = time;
        result
    }

    fn write_out(&mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(out);
        self.size += out.len() as u64;
        out.clear();
        result
    }

    /// Shifts the rotated files and starts a new live file.
    fn rotate(&mut self) -> std::io::Result<()> {
        let name = &self.path;
        if self.max_file >= 2 {
            let last = rotated_name(name, self.max_file - 1, self.compress);
            remove_if_present(&last)?;
            for i in (2..self.max_file).rev() {
                rename_if_present(
                    &rotated_name(name, i - 1, self.compress),
                    &rotated_name(name, i, self.compress),
                )?;
            }
            rename_if_present(name, &rotated_name(name, 1, false))?;
        }
        self.file = open_log(name, true).map_err(std::io::Error::other)?;
        self.size = 0;
        if self.max_file >= 2 && self.compress {
            compress(&rotated_name(name, 1, false), &self.last_time)?;
        }
        Ok(())
    }
}

fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_present(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Gzips `path` to `path.gz` and removes `path`.
fn compress(path: &Path, last_time: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let mut input = File::open(path)?;
    let output = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&gz_name)?;
    let extra = serde_json::json!({ "lastTime": last_time }).to_string();
    let mut gz = flate2::GzBuilder::new()
        .extra(extra.into_bytes())
        .write(output, flate2::Compression::fast());
    std::io::copy(&mut input, &mut gz)?;
    gz.finish()?;
    std::fs::remove_file(path)
}
