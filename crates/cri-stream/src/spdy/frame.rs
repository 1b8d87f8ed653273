//! SPDY/3.1 frames (the subset Kubernetes' streams use) and their header
//! blocks, zlib-compressed with the SPDY dictionary as one stream per
//! direction and connection.

use std::io;

use flate2::{Compress, Compression, FlushCompress};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::dictionary::HEADER_DICTIONARY;

const VERSION: u32 = 3;
const TYPE_SYN_STREAM: u32 = 1;
const TYPE_SYN_REPLY: u32 = 2;
const TYPE_RST_STREAM: u32 = 3;
const TYPE_PING: u32 = 6;
const TYPE_GOAWAY: u32 = 7;
const TYPE_HEADERS: u32 = 8;
const FLAG_FIN: u8 = 0x01;
/// Larger frames are refused (SPDY allows 16 MiB; nobody here sends that).
const MAX_FRAME: usize = 1 << 24;

/// A header block: lower-case names, one entry per value.
pub(crate) type Headers = Vec<(String, String)>;

/// A frame as read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    SynStream {
        id: u32,
        fin: bool,
        headers: Headers,
    },
    Data {
        id: u32,
        fin: bool,
        data: Vec<u8>,
    },
    RstStream {
        id: u32,
    },
    Ping(Vec<u8>),
    GoAway,
    /// SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY...: nothing to act on.
    Other,
}

/// The first value of header `name`.
pub(crate) fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("spdy: {what}"))
}

fn u32_at(b: &[u8], at: usize) -> io::Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| invalid("short frame"))
}

/// Reads one frame; `None` at the end of the connection between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    inflater: &mut HeaderInflater,
) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    r.read_exact(&mut head[1..]).await?;
    let w0 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let flags = head[4];
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    if len > MAX_FRAME {
        return Err(invalid("frame too large"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    let fin = flags & FLAG_FIN != 0;
    if w0 & 0x8000_0000 == 0 {
        return Ok(Some(Frame::Data {
            id: w0 & 0x7fff_ffff,
            fin,
            data: body,
        }));
    }
    let frame = match w0 & 0xffff {
        TYPE_SYN_STREAM => {
            let id = u32_at(&body, 0)? & 0x7fff_ffff;
            let block = body.get(10..).ok_or_else(|| invalid("short SYN_STREAM"))?;
            let headers = decode_block(&inflater.inflate(block)?)?;
            Frame::SynStream { id, fin, headers }
        }
        TYPE_SYN_REPLY | TYPE_HEADERS => {
            // Read to keep the compression stream in step.
            let block = body.get(4..).ok_or_else(|| invalid("short header frame"))?;
            inflater.inflate(block)?;
            Frame::Other
        }
        TYPE_RST_STREAM => Frame::RstStream {
            id: u32_at(&body, 0)? & 0x7fff_ffff,
        },
        TYPE_PING => Frame::Ping(body),
        TYPE_GOAWAY => Frame::GoAway,
        _ => Frame::Other,
    };
    Ok(Some(frame))
}

fn control(kind: u32, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(0x8000_0000 | (VERSION << 16) | kind).to_be_bytes());
    out.extend_from_slice(&((u32::from(flags) << 24) | body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A DATA frame (at most 16 MiB of `data`).
pub(crate) fn data_frame(id: u32, fin: bool, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&(id & 0x7fff_ffff).to_be_bytes());
    let flags = if fin { FLAG_FIN } else { 0 };
    out.extend_from_slice(&((u32::from(flags) << 24) | data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// A SYN_REPLY with `headers`.
pub(crate) fn syn_reply(id: u32, headers: &Headers, deflater: &mut HeaderDeflater) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend(deflater.deflate(&encode_block(headers)));
    control(TYPE_SYN_REPLY, 0, &body)
}

pub(crate) fn ping(payload: &[u8]) -> Vec<u8> {
    control(TYPE_PING, 0, payload)
}

pub(crate) fn encode_block(headers: &Headers) -> Vec<u8> {
    let mut out = (headers.len() as u32).to_be_bytes().to_vec();
    for (name, value) in headers {
        out.extend_from_slice(&(name.len() as u32).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

pub(crate) fn decode_block(b: &[u8]) -> io::Result<Headers> {
    let count = u32_at(b, 0)? as usize;
    let mut at = 4;
    let field = |at: &mut usize| -> io::Result<String> {
        let n = u32_at(b, *at)? as usize;
        let s = b
            .get(*at + 4..*at + 4 + n)
            .ok_or_else(|| invalid("short header block"))?;
        *at += 4 + n;
        Ok(String::from_utf8_lossy(s).into_owned())
    };
    let mut out = Vec::new();
    for _ in 0..count.min(1024) {
        let name = field(&mut at)?.to_ascii_lowercase();
        let value = field(&mut at)?;
        // Several values of one name are separated by NUL.
        for v in value.split('\0') {
            out.push((name.clone(), v.to_string()));
        }
    }
    Ok(out)
}

/// The peer's header compression stream. zlib with a preset dictionary: the
/// output window starts out holding the dictionary, so back-references into it
/// resolve (miniz_oxide's non-wrapping mode checks distances against it).
pub(crate) struct HeaderInflater {
    state: Box<DecompressorOxide>,
    window: Vec<u8>,
    zlib_header: Vec<u8>,
}

impl HeaderInflater {
    pub(crate) fn new() -> HeaderInflater {
        HeaderInflater {
            state: Box::default(),
            window: HEADER_DICTIONARY.to_vec(),
            zlib_header: Vec::new(),
        }
    }

    pub(crate) fn inflate(&mut self, mut input: &[u8]) -> io::Result<Vec<u8>> {
        // The zlib header (2 bytes, 4 more naming the dictionary) comes once.
        while self.zlib_header.len() < 2 || self.wants_dict_id() {
            let Some((&b, rest)) = input.split_first() else {
                return Ok(Vec::new());
            };
            self.zlib_header.push(b);
            input = rest;
        }
        let start = self.window.len();
        let mut pos = start;
        loop {
            if self.window.len() < pos + 4096 {
                self.window.resize(pos + 4096, 0);
            }
            let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
                | inflate_flags::TINFL_FLAG_HAS_MORE_INPUT;
            let (status, read, written) =
                decompress(&mut self.state, input, &mut self.window, pos, flags);
            input = &input[read..];
            pos += written;
            match status {
                TINFLStatus::HasMoreOutput => continue,
                TINFLStatus::NeedsMoreInput | TINFLStatus::Done if input.is_empty() => break,
                TINFLStatus::NeedsMoreInput | TINFLStatus::Done => continue,
                _ => return Err(invalid("bad compressed header block")),
            }
        }
        self.window.truncate(pos);
        let out = self.window[start..].to_vec();
        // Keep deflate's 32 KiB window only.
        if self.window.len() > 64 * 1024 {
            let cut = self.window.len() - 32 * 1024;
            self.window.drain(..cut);
        }
        Ok(out)
    }

    fn wants_dict_id(&self) -> bool {
        self.zlib_header.len() >= 2 && self.zlib_header[1] & 0x20 != 0 && self.zlib_header.len() < 6
    }
}

/// This side's header compression stream: plain zlib, sync-flushed after
/// each block. (It never refers to the dictionary, which a reader holding
/// the dictionary accepts.)
pub(crate) struct HeaderDeflater(Compress);

impl HeaderDeflater {
    pub(crate) fn new() -> HeaderDeflater {
        HeaderDeflater(Compress::new(Compression::default(), true))
    }

    pub(crate) fn deflate(&mut self, mut input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + 64);
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(256);
            }
            let before = self.0.total_in();
            // Compressing into a Vec cannot fail.
            let _ = self.0.compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(self.0.total_in() - before) as usize..];
            if input.is_empty() && out.capacity() > out.len() {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_spdy3s() {
        // zlib's id of the dictionary, as peers name it in their zlib header.
        let (mut a, mut b) = (1u32, 0u32);
        for &x in HEADER_DICTIONARY {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(HEADER_DICTIONARY.len(), 1423);
        assert_eq!((b << 16) | a, 0xe3c6_a7c2);
    }

    #[test]
    fn header_blocks_round_trip_through_compression() {
        let mut d = HeaderDeflater::new();
        let mut i = HeaderInflater::new();
        for n in 0..3 {
            let h: Headers = vec![
                ("streamtype".into(), "stdout".into()),
                ("port".into(), format!("{n}")),
            ];
            let block = d.deflate(&encode_block(&h));
            assert_eq!(decode_block(&i.inflate(&block).unwrap()).unwrap(), h);
        }
    }
}
