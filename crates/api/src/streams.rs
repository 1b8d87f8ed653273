//! Streams between Docker clients and containers.
//!
//! * **Hijack**: Docker clients ask for a raw connection with `Upgrade: tcp`
//!   (attach, exec start) and expect `101` and then raw bytes both ways. A
//!   client that does not ask to upgrade gets `200` and the output as the
//!   response body (docker-py's non-streaming `attach`/`exec_start`). The
//!   first byte after a `101` waits until the client has read the `101`
//!   ([`crate::connection::Connection`]).
//! * **Framing**: without a tty Docker clients read the multiplexed format
//!   (8-byte header `[stream, 0, 0, 0, len BE]`, [`multiplexed`]); with a
//!   tty, raw bytes.
//! * **Relaying** ([`relay`]): an engine session ([`Attachment`], of a
//!   container or an exec) is driven from blocking threads; its output and
//!   the client's input cross to the connection through channels. The
//!   client's detach keys end the relay and leave the process running; the
//!   end of its input (CloseWrite) closes the process's stdin.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
pub use berth_docker::detach_keys::DetachKeys;
use berth_engine::container::attach::{Attachment, Output};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, Notify};

pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// Where a hijacked client's output goes.
pub enum Sink {
    Raw(WriteHalf<Upgraded>),
    Body(mpsc::Sender<Bytes>),
}

impl Sink {
    pub async fn send(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Sink::Raw(w) => {
                w.write_all(data).await?;
                w.flush().await
            }
            Sink::Body(tx) => tx
                .send(Bytes::copy_from_slice(data))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away")),
        }
    }

    /// Sends container output as the client expects it: framed unless `tty`.
    pub async fn output(&mut self, tty: bool, kind: u8, payload: &[u8]) -> io::Result<()> {
        if tty {
            self.send(payload).await
        } else {
            self.send(&multiplexed(kind, payload)).await
        }
    }

    pub async fn close(&mut self) {
        if let Sink::Raw(w) = self {
            let _ = w.shutdown().await;
        }
    }
}

/// The client's input (stdin) on a hijacked connection.
pub type Source = ReadHalf<Upgraded>;

/// A response that hands the connection over, and the way to get it.
pub struct Hijack {
    pub response: Response,
    pending: Pending,
}

enum Pending {
    Upgrade(
        hyper::upgrade::OnUpgrade,
        Option<crate::connection::Connection>,
    ),
    Body(mpsc::Sender<Bytes>),
}

impl Hijack {
    /// Answers `req`: `101` if it asked to upgrade, else `200` with a body.
    pub fn new(req: &mut Request, tty: bool) -> Hijack {
        let content_type =
            HeaderValue::from_static(if tty { RAW_STREAM } else { MULTIPLEXED_STREAM });
        let wants_upgrade = req.headers().contains_key(header::UPGRADE);
        if wants_upgrade {
            let on_upgrade = hyper::upgrade::on(&mut *req);
            let connection = req
                .extensions()
                .get::<ConnectInfo<crate::log::Client>>()
                .map(|info| info.0 .1);
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = response.headers_mut();
            h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
            h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
            h.insert(header::CONTENT_TYPE, content_type);
            Hijack {
                response,
                pending: Pending::Upgrade(on_upgrade, connection),
            }
        } else {
            let (tx, rx) = mpsc::channel::<Bytes>(16);
            let mut response = Response::new(channel_body(rx));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
            Hijack {
                response,
                pending: Pending::Body(tx),
            }
        }
    }

    /// Splits the response off; the returned future yields the connection.
    pub fn into_parts(self) -> (Response, Connect) {
        (self.response, Connect(self.pending))
    }
}

pub struct Connect(Pending);

impl Connect {
    /// The client's input (if upgraded) and output, once the 101 is sent.
    pub async fn connect(self) -> Option<(Option<Source>, Sink)> {
        match self.0 {
            Pending::Upgrade(on, connection) => {
                let upgraded = on.await.ok()?;
                if let Some(connection) = connection {
                    connection.until_read().await;
                }
                let (r, w) = tokio::io::split(TokioIo::new(upgraded));
                Some((Some(r), Sink::Raw(w)))
            }
            Pending::Body(tx) => Some((None, Sink::Body(tx))),
        }
    }
}

/// A response body fed by a channel: ends when every sender is gone.
pub fn channel_body(rx: mpsc::Receiver<Bytes>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    }))
}

/// Docker's multiplexed stream: `payload` of stream `kind` (1 stdout, 2
/// stderr) behind an 8-byte header `[kind, 0, 0, 0, len BE]`.
pub fn multiplexed(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(payload.len() + 8);
    framed.push(kind);
    framed.extend_from_slice(&[0, 0, 0]);
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

/// What an attach session forwards.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    pub tty: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub detach_keys: DetachKeys,
}

/// What the client's input asks of the session.
enum Input {
    Data(Vec<u8>),
    /// The client's input ended: close the process's stdin.
    Close,
    /// The relay is over (detach keys, the client went away, the process
    /// exited): leave the process running.
    Detach,
}

/// Relays between a client and an engine session until the process exits,
/// the client goes away or types the detach keys. Returns the exit code if
/// the session told it.
pub async fn relay(
    attachment: Attachment,
    source: Option<Source>,
    sink: &mut Sink,
    opts: AttachOptions,
) -> Option<i32> {
    let (output, mut input) = attachment.split();
    if opts.stdin && source.is_some() {
        // Its end closes the container's stdin with Docker's StdinOnce.
        let _ = input.attach_stdin();
    }
    let (out_tx, mut out_rx) = mpsc::channel::<Output>(16);
    tokio::task::spawn_blocking(move || {
        for piece in output {
            if out_tx.blocking_send(piece).is_err() {
                break;
            }
        }
    });
    let (in_tx, mut in_rx) = mpsc::channel::<Input>(16);
    tokio::task::spawn_blocking(move || {
        while let Some(request) = in_rx.blocking_recv() {
            let written = match request {
                Input::Data(data) => input.stdin(&data),
                Input::Close => input.close_stdin(),
                Input::Detach => break,
            };
            if written.is_err() {
                break;
            }
        }
        input.detach();
    });
    let detached = Arc::new(Notify::new());
    let reader = match (opts.stdin, source) {
        (true, Some(mut source)) => {
            let detached = detached.clone();
            let mut keys = opts.detach_keys.clone();
            let in_tx = in_tx.clone();
            Some(tokio::spawn(async move {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match source.read(&mut buf).await {
                        Ok(0) | Err(_) => {
                            // The client closed its stdin (CloseWrite).
                            let _ = in_tx.send(Input::Close).await;
                            break;
                        }
                        Ok(n) => {
                            let (data, detach) = keys.filter(&buf[..n]);
                            if !data.is_empty() && in_tx.send(Input::Data(data)).await.is_err() {
                                break;
                            }
                            if detach {
                                detached.notify_one();
                                break;
                            }
                        }
                    }
                }
            }))
        }
        _ => None,
    };
    let mut code = None;
    loop {
        let piece = tokio::select! {
            piece = out_rx.recv() => piece,
            _ = detached.notified() => break,
        };
        let (kind, data) = match piece {
            Some(Output::Stdout(data)) => (1, data),
            Some(Output::Stderr(data)) => (2, data),
            Some(Output::Exit(exit)) => {
                code = Some(exit);
                break;
            }
            None => break,
        };
        let wanted = if kind == 1 { opts.stdout } else { opts.stderr };
        if wanted && sink.output(opts.tty, kind, &data).await.is_err() {
            break;
        }
    }
    if let Some(task) = reader {
        task.abort();
    }
    let _ = in_tx.send(Input::Detach).await;
    sink.close().await;
    code
}

/// A response with a body streamed from a blocking producer.
pub fn blocking_body<F>(content_type: &'static str, produce: F) -> Response
where
    F: FnOnce(mpsc::Sender<Bytes>) + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::task::spawn_blocking(move || produce(tx));
    let mut response = Response::new(channel_body(rx));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A `Write` that feeds a response body from a blocking thread.
pub struct ChannelWriter(pub mpsc::Sender<Bytes>);

impl io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A `Read` over a request body, for blocking consumers (load, import, cp).
pub struct BodyReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl BodyReader {
    /// Starts copying `body` into a channel; read it from a blocking thread.
    pub fn new(body: Body) -> BodyReader {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let mut stream = body.into_data_stream();
            // Read to the end even when the reader stopped early (a tar's end
            // marker arrives before the client's padding): a server that stops
            // reading makes the client fail with "broken pipe" although its
            // request was handled.
            let mut reader_gone = false;
            while let Some(chunk) = stream.next().await {
                let item = chunk.map_err(|e| e.to_string());
                let failed = item.is_err();
                if !reader_gone && tx.send(item).await.is_err() {
                    reader_gone = true;
                }
                if failed {
                    break;
                }
            }
        });
        BodyReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl BodyReader {
    /// Reads what is left of the body and drops it: a client writes its
    /// whole request (a tar's padding after its end marker included) before
    /// it reads the answer.
    pub fn drain(&mut self) {
        let _ = io::copy(self, &mut io::sink());
    }
}

impl io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}
