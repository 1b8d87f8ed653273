//! hyperium/h2#487: gRPC clients up to Kubernetes 1.30 (crictl, critest,
//! kubelet) send the unix socket's path as the HTTP/2 `:authority`, which
//! is no URI authority, and h2 answers the request with PROTOCOL_ERROR.
//!
//! [`Tolerant`] wraps each accepted connection and rewrites what the client
//! sends before h2 reads it: every header block (HEADERS and its
//! CONTINUATIONs) is decoded with the client's HPACK state and encoded
//! again as literals that never enter the server's dynamic table (so the
//! server's table stays empty and consistent whatever the client indexed),
//! with an `:authority` that is not a valid authority replaced by
//! `localhost`. Every other frame passes through unchanged; what the server
//! sends is not touched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const PREFACE_LEN: usize = 24;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The server's SETTINGS_MAX_FRAME_SIZE (the protocol's default, h2's).
const MAX_FRAME: usize = 16_384;

/// A header block being collected (HEADERS, then CONTINUATIONs).
struct Block {
    stream: u32,
    flags: u8,
    priority: Option<[u8; 5]>,
    fragment: Vec<u8>,
}

/// A server connection whose client's header blocks are made acceptable.
pub struct Tolerant<S> {
    inner: S,
    /// Read from the client, not yet processed.
    input: Vec<u8>,
    /// Processed, for the server.
    output: Vec<u8>,
    sent: usize,
    preface_done: bool,
    block: Option<Block>,
    decoder: hpack::Decoder<'static>,
}

impl<S> Tolerant<S> {
    pub fn new(inner: S) -> Tolerant<S> {
        Tolerant {
            inner,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            preface_done: false,
            block: None,
            decoder: hpack::Decoder::new(),
        }
    }

    /// Moves what can be processed from `input` to `output`; false when
    /// more input is needed.
    fn process(&mut self) -> io::Result<bool> {
        if !self.preface_done {
            if self.input.len() < PREFACE_LEN {
                return Ok(false);
            }
            self.output.extend(self.input.drain(..PREFACE_LEN));
            self.preface_done = true;
            return Ok(true);
        }
        if self.input.len() < 9 {
            return Ok(false);
        }
        let len = u32::from_be_bytes([0, self.input[0], self.input[1], self.input[2]]) as usize;
        if self.input.len() < 9 + len {
            return Ok(false);
        }
        let frame: Vec<u8> = self.input.drain(..9 + len).collect();
        let (kind, flags) = (frame[3], frame[4]);
        let stream = u32::from_be_bytes([frame[5], frame[6], frame[7], frame[8]]) & 0x7fff_ffff;
        let payload = &frame[9..];
        match kind {
            HEADERS => {
                let mut at = 0;
                let mut pad = 0;
                if flags & PADDED != 0 {
                    pad = *payload
                        .first()
                        .ok_or_else(|| broken("empty padded HEADERS"))?
                        as usize;
                    at = 1;
                }
                let mut priority = None;
                if flags & PRIORITY != 0 {
                    let p = payload
                        .get(at..at + 5)
                        .ok_or_else(|| broken("short HEADERS"))?;
                    priority = Some([p[0], p[1], p[2], p[3], p[4]]);
                    at += 5;
                }
                let end = payload.len().checked_sub(pad).filter(|e| *e >= at);
                let end = end.ok_or_else(|| broken("HEADERS padding past its end"))?;
                self.block = Some(Block {
                    stream,
                    flags,
                    priority,
                    fragment: payload[at..end].to_vec(),
                });
            }
            CONTINUATION => match &mut self.block {
                Some(b) if b.stream == stream => b.fragment.extend_from_slice(payload),
                _ => return Err(broken("CONTINUATION without HEADERS")),
            },
            _ => {
                self.output.extend_from_slice(&frame);
                return Ok(true);
            }
        }
        if flags & END_HEADERS != 0 {
            if let Some(block) = self.block.take() {
                self.emit(block)?;
            }
        }
        Ok(true)
    }

    /// Decodes a block, fixes its authority and writes it as literals.
    fn emit(&mut self, block: Block) -> io::Result<()> {
        let mut encoded = Vec::with_capacity(block.fragment.len() * 2);
        self.decoder
            .decode_with_cb(&block.fragment, |name, value| {
                let value: &[u8] = if &*name == b":authority" && !valid_authority(&value) {
                    b"localhost"
                } else {
                    &value
                };
                literal(&mut encoded, &name, value);
            })
            .map_err(|e| broken(&format!("undecodable header block: {e:?}")))?;
        let mut chunks = encoded.chunks(MAX_FRAME - 5).peekable();
        let mut first = true;
        loop {
            let chunk = chunks.next().unwrap_or_default();
            let last = chunks.peek().is_none();
            let mut flags = if last { END_HEADERS } else { 0 };
            let mut payload = Vec::with_capacity(chunk.len() + 5);
            let kind = if first {
                flags |= block.flags & END_STREAM;
                if let Some(p) = block.priority {
                    flags |= PRIORITY;
                    payload.extend_from_slice(&p);
                }
                HEADERS
            } else {
                CONTINUATION
            };
            payload.extend_from_slice(chunk);
            let len = (payload.len() as u32).to_be_bytes();
            self.output
                .extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
            self.output.extend_from_slice(&block.stream.to_be_bytes());
            self.output.extend_from_slice(&payload);
            first = false;
            if last {
                return Ok(());
            }
        }
    }
}

fn broken(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("HTTP/2 from the client: {what}"),
    )
}

fn valid_authority(value: &[u8]) -> bool {
    http::uri::Authority::try_from(value).is_ok()
}

/// HPACK's "literal header field without indexing, new name", strings raw.
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    for s in [name, value] {
        integer(out, s.len(), 7, 0);
        out.extend_from_slice(s);
    }
}

/// HPACK's integer with an `n`-bit prefix (RFC 7541 §5.1).
fn integer(out: &mut Vec<u8>, mut value: usize, n: u32, high: u8) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(high | value as u8);
        return;
    }
    out.push(high | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

impl<S: AsyncRead + Unpin> AsyncRead for Tolerant<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.sent < this.output.len() {
                let n = buf.remaining().min(this.output.len() - this.sent);
                buf.put_slice(&this.output[this.sent..this.sent + n]);
                this.sent += n;
                if this.sent == this.output.len() {
                    this.output.clear();
                    this.sent = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.process()? {
                continue;
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if read.filled().is_empty() => {
                    // The client closed: what is left goes as it is.
                    this.output.append(&mut this.input);
                    if this.output.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                }
                Poll::Ready(Ok(())) => this.input.extend_from_slice(read.filled()),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tolerant<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Tolerant<tokio::net::UnixStream> {
    type ConnectInfo = <tokio::net::UnixStream as tonic::transport::server::Connected>::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_rfc_7541s_examples() {
        let mut out = Vec::new();
        integer(&mut out, 10, 5, 0);
        assert_eq!(out, [10]);
        out.clear();
        integer(&mut out, 1337, 5, 0);
        assert_eq!(out, [31, 154, 10]);
    }

    #[test]
    fn a_socket_path_is_no_authority() {
        assert!(!valid_authority(b"/run/berth/cri.sock"));
        assert!(valid_authority(b"localhost"));
        assert!(valid_authority(b"127.0.0.1:10010"));
    }
}
