//! The attach protocol between a container's monitor and its clients (`run`
//! attached, `start -a`, `attach`, the API's attach endpoint).
//!
//! A client is a unix stream socket: either one end of a socketpair handed to
//! the monitor when it is spawned (so `run` misses no output), or a connection
//! to the monitor's `attach.sock`. Both directions carry frames shaped like
//! Docker's multiplexed stream: an 8-byte header `[kind, 0, 0, 0, len (u32 BE)]`
//! then `len` bytes.
//!
//! * monitor -> client: [`STDOUT`], [`STDERR`] output; [`EXIT`] with the exit
//!   code in decimal, sent once the container has exited (and, with `--rm`,
//!   been removed); then the monitor closes the connection.
//! * client -> monitor: [`STDIN`] data, [`STDIN_CLOSE`] (the client's stdin hit
//!   EOF: close the container's stdin), [`RESIZE`] ("ROWS COLS") for a tty.

use std::io::{self, Read, Write};

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const EXIT: u8 = 3;
pub const RESIZE: u8 = 4;
pub const STDIN_CLOSE: u8 = 5;

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

/// A client waiting for a container's next start (Docker clients attach
/// before they start: `docker run` sends attach, then start).
///
/// The waiter listens on `containers/<id>/attach-wait-<n>.sock`; a monitor
/// starting up connects to every such socket and treats it as an attach
/// client from the first byte of output, exactly like the socketpair `run`
/// hands over. No state lives outside the container's directory.
pub struct AttachWaiter {
    listener: std::os::unix::net::UnixListener,
    path: std::path::PathBuf,
}

/// Prefix of waiting-client socket names in a container's directory.
pub const WAITER_PREFIX: &str = "attach-wait-";

impl AttachWaiter {
    pub fn register(container_dir: &std::path::Path) -> berth_container::Result<AttachWaiter> {
        let path = container_dir.join(format!(
            "{WAITER_PREFIX}{}.sock",
            &berth_store::new_id()[..16]
        ));
        let listener = crate::monitor::bind_short(&path)?;
        Ok(AttachWaiter { listener, path })
    }

    /// Waits up to `timeout` for a monitor to connect.
    pub fn accept(
        &self,
        timeout: std::time::Duration,
    ) -> io::Result<std::os::unix::net::UnixStream> {
        use std::os::fd::AsRawFd;
        let mut pfd = libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "container did not start",
            ));
        }
        self.listener.accept().map(|(s, _)| s)
    }
}

impl Drop for AttachWaiter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Connects to every waiting client in `container_dir` (called by a starting monitor).
pub fn connect_waiters(container_dir: &std::path::Path) -> Vec<std::os::unix::net::UnixStream> {
    let Ok(entries) = std::fs::read_dir(container_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(WAITER_PREFIX))
        .filter_map(|e| {
            let path = e.path();
            let stream = crate::monitor::connect_short(&path).ok();
            let _ = std::fs::remove_file(&path);
            stream
        })
        .collect()
}
