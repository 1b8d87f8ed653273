//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","attrs":{...},"time":"RFC3339Nano"}`.
//! The monitor is the only writer ([`LogWriter`], which rotates the file as
//! [`LogSettings`] say); `logs` reads the live file and the rotated ones
//! (`NAME.1`, `NAME.2.gz`, ...) in order, and follows the live one.

pub mod config;
mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{ContainerError, Result};

pub use config::{LogConfig, LogDriver, LogSettings};
pub use writer::{start_cri_log, LogWriter};

/// One entry of a log.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    /// The `labels`/`env`/`tag` attributes of the entry (`logs --details`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
    pub time: String,
}

/// The name of the `n`th rotated file of the log `name` (`NAME.n`, or
/// `NAME.n.gz` when compressed).
pub(crate) fn rotated_name(name: &Path, n: u32, compressed: bool) -> PathBuf {
    let mut s = name.as_os_str().to_owned();
    s.push(format!(".{n}{}", if compressed { ".gz" } else { "" }));
    PathBuf::from(s)
}

/// The rotated files of the log `name` that exist, oldest first.
fn rotated_files(name: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for n in 1.. {
        let plain = rotated_name(name, n, false);
        let gz = rotated_name(name, n, true);
        // While a rotated file is being compressed both may exist: the
        // plain one is complete.
        match (plain.exists(), gz.exists()) {
            (true, _) => found.push(plain),
            (false, true) => found.push(gz),
            (false, false) => break,
        }
    }
    found.reverse();
    found
}

/// The entries of a rotated file (gzipped or not) that `opts` keeps.
fn read_rotated(path: &Path, opts: &ReadOptions) -> Result<Vec<Entry>> {
    let file = File::open(path).map_err(|e| ContainerError::io(path, e))?;
    let mut text = String::new();
    let read = if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        BufReader::new(file).read_to_string(&mut text)
    };
    read.map_err(|e| ContainerError::io(path, e))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<Entry>(line).ok())
        .filter(|entry| keep(entry, opts))
        .collect())
}

/// Options of `logs`.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub tail: Option<usize>,
    /// Only entries at or after this RFC 3339 time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

fn keep(entry: &Entry, opts: &ReadOptions) -> bool {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(&entry.time) else {
        return true;
    };
    let t = t.with_timezone(&chrono::Utc);
    opts.since.is_none_or(|s| t >= s) && opts.until.is_none_or(|u| t <= u)
}

/// Reads the entries currently in the log `path` and its rotated files,
/// oldest first, honouring `tail`/`since`/`until`; returns them with the
/// offset reached in the live file (to follow from). The live file is read
/// at `live` (e.g. `/proc/self/fd/N` of a descriptor held open), the rotated
/// ones are found next to `path`.
pub fn read_with_live(path: &Path, live: &Path, opts: &ReadOptions) -> Result<(Vec<Entry>, u64)> {
    let (mut entries, offset) = match read_from(live, 0, opts) {
        Err(ContainerError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            (Vec::new(), 0)
        }
        other => other?,
    };
    // Newest rotated files first, until `tail` is met.
    for rotated in rotated_files(path).iter().rev() {
        if opts.tail.is_some_and(|t| entries.len() >= t) {
            break;
        }
        let older = match read_rotated(rotated, opts) {
            // Rotated away (or compressed) meanwhile.
            Err(ContainerError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                continue
            }
            other => other?,
        };
        entries.splice(0..0, older);
    }
    if let Some(tail) = opts.tail {
        let skip = entries.len().saturating_sub(tail);
        entries.drain(..skip);
    }
    Ok((entries, offset))
}

/// Reads complete entries appended after `offset`; returns them and the new
/// offset (a partial last line is left for the next read).
pub fn read_from(path: &Path, offset: u64, opts: &ReadOptions) -> Result<(Vec<Entry>, u64)> {
    let mut file = File::open(path).map_err(|e| ContainerError::io(path, e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| ContainerError::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut new_offset = offset;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| ContainerError::io(path, e))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        new_offset += n as u64;
        if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
            if keep(&entry, opts) {
                entries.push(entry);
            }
        }
    }
    Ok((entries, new_offset))
}

#[cfg(test)]
mod tests;
