//! The server against bytes a real client sent: client-go's SPDY executor
//! (cri-tools v1.32's vendored client-go) opening the error, stdout and
//! stderr streams of an exec, header blocks compressed with the SPDY
//! dictionary (fixtures/client-go-exec.spdy, recorded through a proxy).
//! Also the HTTP answers kubelet's streaming server gives.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use berth_cri_stream::{ExecRequest, Server};

const CLIENT_GO_EXEC: &[u8] = include_bytes!("fixtures/client-go-exec.spdy");

fn exec_url(server: &Server, cmd: &str) -> String {
    server
        .get_exec(ExecRequest {
            container_id: "c1".into(),
            cmd: vec!["sh".into(), "-c".into(), cmd.into()],
            stdout: true,
            stderr: true,
            ..Default::default()
        })
        .unwrap()
}

/// Sends `head` for `url` and returns the connection and the answer's head.
fn request(url: &str, headers: &str) -> (TcpStream, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut conn = TcpStream::connect(host).unwrap();
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut b).unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    (conn, String::from_utf8(head).unwrap())
}

const SPDY_UPGRADE: &str = "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v5.channel.k8s.io\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n";

/// What the server sent on each stream (DATA payloads joined) until it
/// closed the connection.
fn data_by_stream(conn: &mut TcpStream) -> HashMap<u32, Vec<u8>> {
    let mut all = Vec::new();
    conn.read_to_end(&mut all).unwrap();
    let mut out: HashMap<u32, Vec<u8>> = HashMap::new();
    let mut at = 0;
    while at + 8 <= all.len() {
        let len = u32::from_be_bytes([0, all[at + 5], all[at + 6], all[at + 7]]) as usize;
        if all[at] & 0x80 == 0 {
            let id = u32::from_be_bytes([all[at], all[at + 1], all[at + 2], all[at + 3]]);
            out.entry(id)
                .or_default()
                .extend_from_slice(&all[at + 8..at + 8 + len]);
        }
        at += 8 + len;
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn client_go_exec_streams_get_output_and_status() {
    let server = common::server().await;
    let url = exec_url(&server, "echo out; echo err >&2; exit 3");
    let got = tokio::task::spawn_blocking(move || {
        let (mut conn, head) = request(&url, SPDY_UPGRADE);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        // client-go offers v5 first; the SPDY protocols here end at v4.
        assert!(
            head.contains("X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"),
            "{head}"
        );
        conn.write_all(CLIENT_GO_EXEC).unwrap();
        data_by_stream(&mut conn)
    })
    .await
    .unwrap();
    // The recorded client opened error = 1, stdout = 3, stderr = 5.
    assert_eq!(String::from_utf8_lossy(&got[&3]), "out\n");
    assert_eq!(String::from_utf8_lossy(&got[&5]), "err\n");
    assert_eq!(
        String::from_utf8_lossy(&got[&1]),
        r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_kubelets() {
    let server = common::server().await;
    let url = exec_url(&server, "true");
    let (status, second) = tokio::task::spawn_blocking(move || {
        let (_, no_upgrade) = request(&url, "");
        // The token is spent by the refused request too, as kubelet's is.
        let (_, second) = request(&url, SPDY_UPGRADE);
        (no_upgrade, second)
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 400 "), "{status}");
    assert!(second.starts_with("HTTP/1.1 404 "), "{second}");

    let url = exec_url(&server, "true");
    let forbidden = tokio::task::spawn_blocking(move || {
        let (mut conn, head) = request(
            &url,
            "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v9.channel.k8s.io\r\n",
        );
        let mut body = String::new();
        conn.read_to_string(&mut body).unwrap();
        head + &body
    })
    .await
    .unwrap();
    assert!(forbidden.starts_with("HTTP/1.1 403 "), "{forbidden}");
    assert!(
        forbidden.contains(
            "unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io]"
        ),
        "{forbidden}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_kubelet_refuses_get_no_url() {
    let server = common::server().await;
    let bad = |tty, stdin, stdout, stderr, id: &str| {
        server
            .get_exec(ExecRequest {
                container_id: id.into(),
                cmd: vec!["true".into()],
                tty,
                stdin,
                stdout,
                stderr,
            })
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        bad(true, false, true, true, "c"),
        "tty and stderr cannot both be true"
    );
    assert_eq!(
        bad(false, false, false, false, "c"),
        "one of stdin, stdout, or stderr must be set"
    );
    assert_eq!(
        bad(false, false, true, false, ""),
        "missing required container_id"
    );
}
