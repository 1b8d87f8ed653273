//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"RFC3339Nano"}`. The monitor is the
//! only writer; `logs` reads (and follows) the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{ContainerError, Result};

/// Docker splits log entries at newlines and at 16 KiB.
const MAX_ENTRY: usize = 16 * 1024;

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

/// Splits a stream into json-file entries, keeping partial lines until they
/// complete (or reach 16 KiB).
pub struct LogWriter {
    file: File,
    pending: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: &Path) -> Result<LogWriter> {
        use std::os::unix::fs::OpenOptionsExt;
        // Only root reads a container's output (Docker's json logs are 0640 root:root).
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| ContainerError::io(path, e))?;
        Ok(LogWriter {
            file,
            pending: [Vec::new(), Vec::new()],
        })
    }

    /// `stream`: 1 = stdout, 2 = stderr.
    pub fn write(&mut self, stream: u8, data: &[u8]) -> std::io::Result<()> {
        let index = usize::from(stream == 2);
        let mut out = Vec::new();
        {
            let pending = &mut self.pending[index];
            pending.extend_from_slice(data);
            let mut start = 0;
            while let Some(nl) = pending[start..].iter().position(|&b| b == b'\n') {
                let end = start + nl + 1;
                encode(&mut out, stream, &pending[start..end]);
                start = end;
            }
            while pending.len() - start >= MAX_ENTRY {
                encode(&mut out, stream, &pending[start..start + MAX_ENTRY]);
                start += MAX_ENTRY;
            }
            pending.drain(..start);
        }
        self.file.write_all(&out)
    }

    /// Writes out partial lines (at the end of the container's output).
    pub fn flush(&mut self) -> std::io::Result<()> {
        let mut out = Vec::new();
        for (index, stream) in [(0usize, 1u8), (1, 2)] {
            if !self.pending[index].is_empty() {
                encode(&mut out, stream, &self.pending[index]);
                self.pending[index].clear();
            }
        }
        self.file.write_all(&out)
    }
}

fn encode(out: &mut Vec<u8>, stream: u8, line: &[u8]) {
    let entry = Entry {
        log: String::from_utf8_lossy(line).into_owned(),
        stream: if stream == 2 { "stderr" } else { "stdout" }.to_string(),
        time: berth_store::now_rfc3339(),
    };
    if serde_json::to_writer(&mut *out, &entry).is_ok() {
        out.push(b'\n');
    }
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

/// Reads the entries currently in the log, honouring `tail`/`since`/`until`,
/// and returns them with the file offset reached (to follow from).
pub fn read(path: &Path, opts: &ReadOptions) -> Result<(Vec<Entry>, u64)> {
    let (mut entries, offset) = match read_from(path, 0, opts) {
        Err(ContainerError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Vec::new(), 0))
        }
        other => other?,
    };
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
mod tests {
    use super::*;

    #[test]
    fn lines_partial_lines_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.log");
        let mut w = LogWriter::open(&path).unwrap();
        w.write(1, b"one\ntw").unwrap();
        w.write(2, b"err\n").unwrap();
        w.write(1, b"o\nthree").unwrap();
        w.flush().unwrap();
        let (all, _) = read(&path, &ReadOptions::default()).unwrap();
        let logs: Vec<_> = all
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .collect();
        assert_eq!(
            logs,
            vec![
                ("stdout", "one\n"),
                ("stderr", "err\n"),
                ("stdout", "two\n"),
                ("stdout", "three")
            ]
        );
        let (tail, offset) = read(
            &path,
            &ReadOptions {
                tail: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(tail.len(), 1);
        w.write(1, b"four\n").unwrap();
        let (more, _) = read_from(&path, offset, &ReadOptions::default()).unwrap();
        assert_eq!(more[0].log, "four\n");
    }
}
