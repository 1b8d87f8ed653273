//! hyperium/h2#487: a client that sends the socket's path as `:authority`
//! (grpc-go in crictl, critest and kubelet up to 1.30) gets its answer.
//! The client here speaks HTTP/2 by hand, as those clients encode it.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::Server;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// HPACK literal with incremental indexing, new name (grpc-go indexes
/// `:authority`, so the next request refers to it by index).
fn indexed_literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0x40);
    for s in [name, value] {
        assert!(s.len() < 127);
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
}

fn read_frame(s: &mut UnixStream) -> (u8, u8, u32, Vec<u8>) {
    let mut head = [0u8; 9];
    s.read_exact(&mut head).expect("a frame from the server");
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).unwrap();
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    (head[3], head[4], stream, payload)
}

/// Sends Version on `stream`; returns the reply's DATA, or the error frame.
fn version(s: &mut UnixStream, stream: u32, block: &[u8]) -> Result<Vec<u8>, String> {
    s.write_all(&frame(1, 0x4, stream, block)).unwrap();
    // An empty VersionRequest: the gRPC prefix (uncompressed, length 0).
    s.write_all(&frame(0, 0x1, stream, &[0, 0, 0, 0, 0]))
        .unwrap();
    loop {
        let (kind, flags, id, payload) = read_frame(s);
        match kind {
            0 if id == stream => return Ok(payload),
            3 => return Err(format!("RST_STREAM {payload:?}")),
            7 => return Err(format!("GOAWAY {payload:?}")),
            // SETTINGS: acknowledged.
            4 if flags & 1 == 0 => s.write_all(&frame(4, 1, 0, &[])).unwrap(),
            _ => {}
        }
    }
}

#[test]
fn a_socket_path_as_authority_is_tolerated() {
    let server = Server::start();
    let mut s = UnixStream::connect(&server.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    s.write_all(&frame(4, 0, 0, &[])).unwrap();
    let authority = server.socket.display().to_string();
    let mut block = Vec::new();
    // :method POST, :scheme http (static table), then literals.
    block.extend_from_slice(&[0x83, 0x86]);
    indexed_literal(&mut block, ":path", "/runtime.v1.RuntimeService/Version");
    indexed_literal(&mut block, ":authority", &authority);
    indexed_literal(&mut block, "content-type", "application/grpc");
    indexed_literal(&mut block, "te", "trailers");
    let reply = version(&mut s, 1, &block).expect("the first request answered");
    assert!(
        String::from_utf8_lossy(&reply).contains("berth"),
        "{reply:?}"
    );
    // The second request refers to the client's dynamic table (the four
    // literals: indexes 62..65, newest first).
    let block = [0x83, 0x86, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62];
    let reply = version(&mut s, 3, &block).expect("the indexed request answered");
    assert!(
        String::from_utf8_lossy(&reply).contains("berth"),
        "{reply:?}"
    );
}
