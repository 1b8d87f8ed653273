//! What a container's monitor and the processes talking to it exchange.
//!
//! # Spawning
//! The engine spawns `berth __monitor` (the container's id in [`ID_ENV`])
//! with a pipe on [`SYNC_FD`], on which
//! the monitor writes one [`StartReport`] about the container's first start,
//! and optionally a first attach client on [`ATTACH_FD`] (flagged by
//! [`ATTACH_ENV`] in its environment).
//!
//! # Attaching
//! Clients are `run` attached, `start -a`, `attach`, the API's attach and wait
//! endpoints, and the engine itself (a stop during the restart back-off).
//!
//! A client is a unix stream socket: either one end of a socketpair handed to
//! the monitor when it is spawned (so `run` misses no output), or a connection
//! to the monitor's `attach.sock`. Both directions carry frames shaped like
//! Docker's multiplexed stream: an 8-byte header `[kind, 0, 0, 0, len (u32 BE)]`
//! then `len` bytes.
//!
//! * monitor -> client: to a client it accepts on `attach.sock`, first
//!   [`LIVE`] (its output follows) or [`ENDED`] (the run's process has
//!   exited already: only what is left of its output and its exit follow,
//!   so a session should rather wait for the next start, as a Docker
//!   attach to a stopped container does); then [`STDOUT`], [`STDERR`]
//!   output; [`EXIT`] with the exit code in decimal, sent once the
//!   container has exited (and, with `--rm`, been removed); then the
//!   monitor closes the connection.
//! * client -> monitor: [`STDIN_ATTACH`] (this client relays the user's
//!   stdin), [`STDIN`] data, [`STDIN_CLOSE`] (the client's stdin hit EOF),
//!   [`RESIZE`] ("ROWS COLS") for a tty, [`CANCEL_RESTART`] (the user stopped
//!   the container: do not restart it), [`START_RESOLVER`] (`network
//!   connect`: the container needs its resolver now; the monitor answers
//!   that client with the same kind). With Docker's `StdinOnce`, the
//!   container's stdin is closed when a stdin client sends [`STDIN_CLOSE`] or
//!   goes away (detaches, dies); without it, it stays open for the next one.
//!
//! A client that must be attached before the container starts (Docker
//! clients send attach, then start) listens on a socket named
//! [`WAITER_PREFIX`]`*.sock` in the container's directory; a starting monitor
//! connects to each and treats it as an attach client from the first byte.
//!
//! Socket paths may be longer than `sun_path` allows; [`bind_short`] and
//! [`connect_short`] reach them through `/proc/self/fd`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Descriptor on which the monitor reports the first start to its spawner.
pub const SYNC_FD: RawFd = 3;
/// Descriptor of an attach client handed over at spawn time (if any).
pub const ATTACH_FD: RawFd = 4;
/// Set in the monitor's environment when [`ATTACH_FD`] is passed.
pub const ATTACH_ENV: &str = "BERTH_MONITOR_ATTACH";
/// The container's id, passed in the monitor's environment (readable by
/// root only) rather than on its command line (readable by every user).
pub const ID_ENV: &str = "BERTH_MONITOR_ID";

/// What the monitor tells its spawner about the first start.
#[derive(Serialize, Deserialize, Debug)]
pub struct StartReport {
    pub ok: bool,
    #[serde(default)]
    pub error: String,
    /// 126/127 when the command cannot run, 125 for other failures.
    #[serde(default)]
    pub code: i32,
}

/// Prefix of waiting-client socket names in a container's directory.
pub const WAITER_PREFIX: &str = "attach-wait-";

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const EXIT: u8 = 3;
pub const RESIZE: u8 = 4;
pub const STDIN_CLOSE: u8 = 5;
pub const CANCEL_RESTART: u8 = 6;
/// client -> monitor: start the container's resolver (it joined a network
/// with name resolution); monitor -> that client: done, with an empty
/// payload, or the error's text.
pub const START_RESOLVER: u8 = 7;
pub const STDIN_ATTACH: u8 = 8;
pub const LIVE: u8 = 9;
pub const ENDED: u8 = 10;

/// Largest payload a frame carries; longer writes are split.
pub const MAX_FRAME: usize = 32 * 1024;

pub fn write_frame(w: &mut impl Write, kind: u8, payload: &[u8]) -> io::Result<()> {
    for chunk in payload
        .chunks(MAX_FRAME)
        .chain(payload.is_empty().then_some(&[][..]))
    {
        let mut header = [0u8; 8];
        header[0] = kind;
        header[4..].copy_from_slice(&(chunk.len() as u32).to_be_bytes());
        w.write_all(&header)?;
        w.write_all(chunk)?;
    }
    Ok(())
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    let mut filled = 0;
    while filled < header.len() {
        match r.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "attach frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

/// Incremental frame decoder for a non-blocking reader (the monitor side).
#[derive(Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
}

impl FrameBuffer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one is buffered.
    pub fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        if self.buf.len() < 8 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if self.buf.len() < 8 + len {
            return None;
        }
        let kind = self.buf[0];
        let payload = self.buf[8..8 + len].to_vec();
        self.buf.drain(..8 + len);
        Some((kind, payload))
    }
}

/// Binds a unix socket at `path` even when the path is longer than
/// `sun_path` allows, by going through `/proc/self/fd/N` of its directory.
pub fn bind_short(path: &Path) -> io::Result<UnixListener> {
    with_short_path(path, |short| UnixListener::bind(short))
}

/// Connects to a unix socket at a possibly long `path` (see [`bind_short`]).
pub fn connect_short(path: &Path) -> io::Result<UnixStream> {
    with_short_path(path, |short| UnixStream::connect(short))
}

fn with_short_path<T>(path: &Path, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return f(path);
    };
    let dir = File::open(dir)?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
    f(&short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split() {
        let mut out = Vec::new();
        write_frame(&mut out, STDOUT, b"hello").unwrap();
        write_frame(&mut out, EXIT, b"3").unwrap();
        write_frame(&mut out, STDERR, &vec![b'x'; MAX_FRAME + 1]).unwrap();
        let mut r = &out[..];
        assert_eq!(
            read_frame(&mut r).unwrap().unwrap(),
            (STDOUT, b"hello".to_vec())
        );
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), (EXIT, b"3".to_vec()));
        assert_eq!(read_frame(&mut r).unwrap().unwrap().1.len(), MAX_FRAME);
        assert_eq!(read_frame(&mut r).unwrap().unwrap().1.len(), 1);
        assert!(read_frame(&mut r).unwrap().is_none());

        let mut fb = FrameBuffer::default();
        fb.push(&out[..5]);
        assert!(fb.next_frame().is_none());
        fb.push(&out[5..]);
        assert_eq!(fb.next_frame().unwrap(), (STDOUT, b"hello".to_vec()));
        assert_eq!(fb.next_frame().unwrap(), (EXIT, b"3".to_vec()));
    }
}
