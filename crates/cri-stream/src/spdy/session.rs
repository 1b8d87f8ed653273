//! One SPDY connection: a reader task that hands out the streams the client
//! opens and feeds their data, and a writer task that sends what
//! [`Out`] messages ask for, in order.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::frame::{self, Frame, HeaderDeflater, HeaderInflater, Headers};
use crate::io::{Hangup, HangupOnDrop, Out, OutSender, StreamReader, OUT_QUEUE};

/// How long the client may keep the connection open after this side is done.
const LINGER: Duration = Duration::from_secs(10);

/// A stream the client opened (already accepted).
#[derive(Debug)]
pub(crate) struct IncomingStream {
    pub(crate) id: u32,
    pub(crate) headers: Headers,
    pub(crate) reader: StreamReader,
}

pub(crate) struct Session {
    /// The client's new streams; ends with the connection.
    pub(crate) streams: mpsc::UnboundedReceiver<IncomingStream>,
    pub(crate) out: OutSender,
    /// Signalled when the client's side of the connection ends.
    pub(crate) hangup: Hangup,
}

/// Runs SPDY on `io`; `early` are bytes already read past the HTTP request.
pub(crate) fn start<S>(io: S, early: Vec<u8>) -> Session
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (out_tx, out_rx) = mpsc::channel(OUT_QUEUE);
    let (streams_tx, streams_rx) = mpsc::unbounded_channel();
    let hangup = Hangup::default();
    let ended = hangup.on_drop();
    let reader = tokio::spawn(read_loop(
        std::io::Cursor::new(early).chain(read),
        streams_tx,
        out_tx.clone(),
        ended,
    ));
    tokio::spawn(async move {
        write_loop(write, out_rx).await;
        // The client closes once it has read everything; if it does not,
        // stop reading after a while.
        let mut reader = reader;
        if tokio::time::timeout(LINGER, &mut reader).await.is_err() {
            reader.abort();
        }
    });
    Session {
        streams: streams_rx,
        out: out_tx,
        hangup,
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut r: R,
    streams: mpsc::UnboundedSender<IncomingStream>,
    out: OutSender,
    _ended: HangupOnDrop,
) {
    let mut inflater = HeaderInflater::new();
    let mut open: HashMap<u32, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
    while let Ok(Some(f)) = frame::read_frame(&mut r, &mut inflater).await {
        match f {
            Frame::SynStream { id, fin, headers } => {
                if out.send(Out::Reply(id)).await.is_err() {
                    break;
                }
                let (tx, rx) = mpsc::unbounded_channel();
                if !fin {
                    open.insert(id, tx);
                }
                let _ = streams.send(IncomingStream {
                    id,
                    headers,
                    reader: StreamReader::new(rx),
                });
            }
            Frame::Data { id, fin, data } => {
                if let Some(tx) = open.get(&id) {
                    if !data.is_empty() {
                        let _ = tx.send(data);
                    }
                }
                if fin {
                    open.remove(&id);
                }
            }
            Frame::RstStream { id } => {
                open.remove(&id);
            }
            Frame::Ping(payload) => {
                if out.send(Out::Pong(payload)).await.is_err() {
                    break;
                }
            }
            Frame::GoAway => break,
            Frame::Other => {}
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::Receiver<Out>) {
    let mut deflater = HeaderDeflater::new();
    let mut finished: HashSet<u32> = HashSet::new();
    while let Some(msg) = rx.recv().await {
        let bytes = match msg {
            Out::Data { target, data } if !finished.contains(&target) => {
                frame::data_frame(target, false, &data)
            }
            Out::Fin { target } if finished.insert(target) => frame::data_frame(target, true, &[]),
            Out::Reply(id) => frame::syn_reply(id, &Vec::new(), &mut deflater),
            Out::Pong(payload) => frame::ping(&payload),
            Out::Shutdown => break,
            Out::Data { .. } | Out::Fin { .. } => continue,
        };
        if w.write_all(&bytes).await.is_err() {
            return;
        }
        // Write promptly: an interactive session waits for each byte.
        if rx.is_empty() && w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.flush().await;
    let _ = w.shutdown().await;
}
