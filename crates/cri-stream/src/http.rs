//! The HTTP request that opens a stream connection, and the answers to it.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const MAX_HEAD: usize = 64 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// Every value of header `name`, comma-separated lists split.
    pub(crate) fn values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .iter()
            .any(|v| v.eq_ignore_ascii_case(token))
    }

    /// `Connection: Upgrade` with `Upgrade: websocket`.
    pub(crate) fn is_websocket(&self) -> bool {
        self.has_token("connection", "upgrade") && self.has_token("upgrade", "websocket")
    }

    /// `Connection: Upgrade` with `Upgrade: SPDY/3.1`.
    pub(crate) fn is_spdy(&self) -> bool {
        self.has_token("connection", "upgrade") && self.has_token("upgrade", "SPDY/3.1")
    }
}

/// Reads the request head; the bytes read past it come back with it.
pub(crate) async fn read_request<R: AsyncRead + Unpin>(
    r: &mut R,
) -> io::Result<(Request, Vec<u8>)> {
    tokio::time::timeout(HEAD_TIMEOUT, read_head(r))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no request"))?
}

async fn read_head<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<(Request, Vec<u8>)> {
    let mut buf = Vec::with_capacity(2048);
    loop {
        let mut chunk = [0u8; 2048];
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no request"));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let request = Request {
                    method: req.method.unwrap_or("").to_string(),
                    path: req.path.unwrap_or("").to_string(),
                    headers: req
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                };
                return Ok((request, buf[len..].to_vec()));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
            Ok(httparse::Status::Partial) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request too large",
                ))
            }
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
    }
}

/// A plain-text error answer, as Go's `http.Error` writes it.
pub(crate) async fn error<W: AsyncWrite + Unpin>(
    w: &mut W,
    status: &str,
    extra_headers: &[(&str, &str)],
    message: &str,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n",
        message.len() + 1
    );
    for (n, v) in extra_headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes()).await?;
    w.write_all(message.as_bytes()).await?;
    w.write_all(b"\n").await?;
    w.shutdown().await
}

/// `101 Switching Protocols` with `headers`.
pub(crate) async fn switching<W: AsyncWrite + Unpin>(
    w: &mut W,
    headers: &[(&str, &str)],
) -> io::Result<()> {
    let mut head = String::from("HTTP/1.1 101 Switching Protocols\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes()).await?;
    w.flush().await
}

/// The first protocol the client lists that the server speaks (the client's
/// order wins, as in Kubernetes' `httpstream.Handshake`).
pub(crate) fn negotiate<'a>(client: &[String], server: &[&'a str]) -> Option<&'a str> {
    client
        .iter()
        .find_map(|c| server.iter().find(|s| **s == c.as_str()).copied())
}
