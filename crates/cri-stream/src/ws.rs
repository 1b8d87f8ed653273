//! WebSocket (RFC 6455, server side) carrying Kubernetes' channel protocols:
//! each message starts with its channel number (binary protocols) or the
//! number as an ASCII digit followed by base64 (`base64.` protocols); in
//! v5.channel.k8s.io the client closes a channel with `[255, channel]`.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::io::{Hangup, HangupOnDrop, Out, OutSender, StreamReader, OUT_QUEUE};

const OP_CONT: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const MAX_MESSAGE: usize = 16 << 20;
const CLOSE_SIGNAL: u8 = 255;
const LINGER: Duration = Duration::from_secs(10);

/// The `Sec-WebSocket-Accept` answer to a client's key.
pub(crate) fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// How the channels of a connection are framed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Framing {
    pub(crate) base64: bool,
}

/// Runs the channel protocol on `io`: the returned readers get what the
/// client sends on `read_channels`; `Out::Data { target: channel }` sends.
pub(crate) fn start<S>(
    io: S,
    early: Vec<u8>,
    framing: Framing,
    read_channels: &[u8],
) -> (HashMap<u8, StreamReader>, OutSender, Hangup)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (out_tx, out_rx) = mpsc::channel(OUT_QUEUE);
    let mut senders = HashMap::new();
    let mut readers = HashMap::new();
    for &c in read_channels {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.insert(c, tx);
        readers.insert(c, StreamReader::new(rx));
    }
    let hangup = Hangup::default();
    let reader = tokio::spawn(read_loop(
        std::io::Cursor::new(early).chain(read),
        framing,
        senders,
        out_tx.clone(),
        hangup.on_drop(),
    ));
    tokio::spawn(async move {
        write_loop(write, out_rx, framing).await;
        let mut reader = reader;
        if tokio::time::timeout(LINGER, &mut reader).await.is_err() {
            reader.abort();
        }
    });
    (readers, out_tx, hangup)
}

/// One message: its opcode and payload (fragments joined).
async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<(u8, Vec<u8>)> {
    let mut message = Vec::new();
    let mut first_op = None;
    loop {
        let mut head = [0u8; 2];
        r.read_exact(&mut head).await?;
        let fin = head[0] & 0x80 != 0;
        let op = head[0] & 0x0f;
        let masked = head[1] & 0x80 != 0;
        let len = match head[1] & 0x7f {
            126 => u64::from(r.read_u16().await?),
            127 => r.read_u64().await?,
            n => u64::from(n),
        } as usize;
        if len > MAX_MESSAGE || message.len() + len > MAX_MESSAGE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "websocket message too large",
            ));
        }
        let mut mask = [0u8; 4];
        if masked {
            r.read_exact(&mut mask).await?;
        }
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload).await?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        if op >= OP_CLOSE {
            // Control frames come whole, even between fragments.
            return Ok((op, payload));
        }
        if op != OP_CONT {
            first_op = Some(op);
        }
        message.extend(payload);
        if fin {
            return Ok((first_op.unwrap_or(OP_BINARY), message));
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut r: R,
    framing: Framing,
    mut senders: HashMap<u8, mpsc::UnboundedSender<Vec<u8>>>,
    out: OutSender,
    _ended: HangupOnDrop,
) {
    while let Ok((op, payload)) = read_message(&mut r).await {
        if op == OP_PING {
            if out.send(Out::Pong(payload)).await.is_err() {
                break;
            }
            continue;
        }
        match op {
            OP_CLOSE => break,
            OP_TEXT | OP_BINARY => {
                let Some((&first, rest)) = payload.split_first() else {
                    continue;
                };
                if framing.base64 {
                    let channel = first.wrapping_sub(b'0');
                    let Ok(data) = base64::engine::general_purpose::STANDARD.decode(rest) else {
                        continue;
                    };
                    if let Some(tx) = senders.get(&channel) {
                        let _ = tx.send(data);
                    }
                } else if first == CLOSE_SIGNAL {
                    if let Some(&channel) = rest.first() {
                        senders.remove(&channel);
                    }
                } else if let Some(tx) = senders.get(&first) {
                    if !rest.is_empty() {
                        let _ = tx.send(rest.to_vec());
                    }
                }
            }
            _ => {}
        }
    }
}

fn ws_frame(op: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | op];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

fn channel_message(framing: Framing, channel: u8, data: &[u8]) -> Vec<u8> {
    if framing.base64 {
        let mut text = vec![b'0' + channel];
        text.extend(
            base64::engine::general_purpose::STANDARD
                .encode(data)
                .into_bytes(),
        );
        ws_frame(OP_TEXT, &text)
    } else {
        let mut bin = vec![channel];
        bin.extend_from_slice(data);
        ws_frame(OP_BINARY, &bin)
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut w: W,
    mut rx: mpsc::Receiver<Out>,
    framing: Framing,
) {
    while let Some(msg) = rx.recv().await {
        let bytes = match msg {
            Out::Data { target, data } => channel_message(framing, target as u8, &data),
            Out::Pong(payload) => ws_frame(0xA, &payload),
            Out::Shutdown => break,
            // Channels are not closed one by one towards the client.
            Out::Fin { .. } | Out::Reply(_) => continue,
        };
        if w.write_all(&bytes).await.is_err() {
            return;
        }
        if rx.is_empty() && w.flush().await.is_err() {
            return;
        }
    }
    // A normal closure (1000).
    let _ = w
        .write_all(&ws_frame(OP_CLOSE, &1000u16.to_be_bytes()))
        .await;
    let _ = w.flush().await;
    let _ = w.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn channel_messages_are_framed_as_kubernetes_does() {
        let bin = channel_message(Framing { base64: false }, 1, b"hi");
        assert_eq!(bin, vec![0x82, 3, 1, b'h', b'i']);
        let text = channel_message(Framing { base64: true }, 1, b"hi");
        assert_eq!(text, b"\x81\x051aGk=".to_vec());
    }
}
