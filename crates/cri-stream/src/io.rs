//! The blocking ends of a stream that a [`crate::StreamRuntime`] reads and
//! writes, and the messages they exchange with a connection's writer task.

use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};

use serde::Deserialize;
use tokio::sync::mpsc;

/// The most one data frame or message carries.
const CHUNK: usize = 32 * 1024;

/// What a connection's writer task is asked to send. `target` is a SPDY
/// stream id or a WebSocket channel number.
#[derive(Debug)]
pub(crate) enum Out {
    Data {
        target: u32,
        data: Vec<u8>,
    },
    /// The end of what this side sends on `target` (SPDY: a FIN).
    Fin {
        target: u32,
    },
    /// SPDY: accept the stream the client opened (SYN_REPLY).
    Reply(u32),
    /// Answer a ping with this payload.
    Pong(Vec<u8>),
    /// Everything is sent: close this side of the connection.
    Shutdown,
}

pub(crate) type OutSender = mpsc::Sender<Out>;

/// How many messages may wait for the socket before writers block.
pub(crate) const OUT_QUEUE: usize = 64;

/// What the client sends on one stream, read from a blocking thread. It ends
/// (`read` returns 0) when the client closes its side of the stream or the
/// connection.
#[derive(Debug)]
pub struct StreamReader {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

impl StreamReader {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<Vec<u8>>) -> StreamReader {
        StreamReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for StreamReader {
    /// Blocks; call it from a thread outside the async runtime (the
    /// [`crate::StreamRuntime`] methods run on one).
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.blocking_recv() {
                Some(data) => {
                    self.buf = data;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What this side sends on one stream, written from a blocking thread.
/// Dropping it closes the stream (the client reads its end).
#[derive(Debug)]
pub struct StreamWriter {
    tx: OutSender,
    target: u32,
}

impl StreamWriter {
    pub(crate) fn new(tx: OutSender, target: u32) -> StreamWriter {
        StreamWriter { tx, target }
    }
}

impl Write for StreamWriter {
    /// Blocks while the connection is behind; fails with `BrokenPipe` once the
    /// connection is gone.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(CHUNK);
        self.tx
            .blocking_send(Out::Data {
                target: self.target,
                data: buf[..n].to_vec(),
            })
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the stream is closed"))?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let fin = Out::Fin {
            target: self.target,
        };
        // A full queue must not block a drop (it may run on an async thread):
        // the FIN then goes from a thread of its own, after the data queued.
        if let Err(mpsc::error::TrySendError::Full(fin)) = self.tx.try_send(fin) {
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                let _ = tx.blocking_send(fin);
            });
        }
    }
}

/// The end of the client's connection (closed, or gone without a word),
/// for a runtime whose session would otherwise wait on the container alone
/// (an attach to a silent container).
#[derive(Debug, Clone, Default)]
pub struct Hangup(Arc<(Mutex<bool>, Condvar)>);

impl Hangup {
    fn signal(&self) {
        let (done, cv) = &*self.0;
        *done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Blocks until the connection has ended.
    pub fn wait(&self) {
        let (done, cv) = &*self.0;
        let mut ended = done.lock().unwrap_or_else(|e| e.into_inner());
        while !*ended {
            ended = cv.wait(ended).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// A guard for a connection's reader task: its end, or its abort,
    /// signals the hangup.
    pub(crate) fn on_drop(&self) -> HangupOnDrop {
        HangupOnDrop(self.clone())
    }
}

pub(crate) struct HangupOnDrop(Hangup);

impl Drop for HangupOnDrop {
    fn drop(&mut self) {
        self.0.signal();
    }
}

/// A terminal size the client reports (remotecommand's resize stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TermSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

/// Decodes the client's resize stream (JSON objects one after another) on a
/// thread of its own, handing each size on.
pub(crate) fn resize_events(reader: StreamReader) -> std::sync::mpsc::Receiver<TermSize> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let sizes = serde_json::Deserializer::from_reader(reader).into_iter::<TermSize>();
        for size in sizes {
            let Ok(size) = size else { break };
            if tx.send(size).is_err() {
                break;
            }
        }
    });
    rx
}
