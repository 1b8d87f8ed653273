//! The streaming server against client-go's own executors (what crictl and
//! kubelet use), through a small Go program built from cri-tools' vendored
//! client-go: `$BERTH_STREAM_CLIENT exec|pf spdy|websocket URL [stdin] [tty]`.
//! Skipped when BERTH_STREAM_CLIENT is not set.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

use berth_cri_stream::{ExecRequest, PortForwardRequest};

fn client() -> Option<String> {
    let c = std::env::var("BERTH_STREAM_CLIENT").ok();
    if c.is_none() {
        eprintln!("BERTH_STREAM_CLIENT not set: skipped");
    }
    c
}

fn exec_req(cmd: &[&str], stdin: bool, tty: bool) -> ExecRequest {
    ExecRequest {
        container_id: "c1".into(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin,
        stdout: true,
        stderr: !tty,
    }
}

async fn run(client: &str, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(client)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_output_and_exit_code_over_both_transports() {
    let Some(c) = client() else { return };
    let server = common::server().await;
    for transport in ["spdy", "websocket"] {
        let url = server
            .get_exec(exec_req(
                &["sh", "-c", "echo out; echo err >&2; exit 3"],
                false,
                false,
            ))
            .unwrap();
        let out = run(&c, &["exec", transport, &url], b"").await;
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n", "{transport}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("err\n"), "{transport}: {err}");
        assert_eq!(out.status.code(), Some(3), "{transport}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_stdin_reaches_the_command() {
    let Some(c) = client() else { return };
    let server = common::server().await;
    let input = vec![b'x'; 200_000];
    // v5 over WebSocket closes stdin; SPDY closes the stream.
    for transport in ["spdy", "websocket"] {
        let url = server
            .get_exec(exec_req(&["wc", "-c"], true, false))
            .unwrap();
        let out = run(&c, &["exec", transport, &url, "stdin"], &input).await;
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "200000",
            "{transport}"
        );
        assert_eq!(out.status.code(), Some(0));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tty_session_gets_the_terminal_size() {
    let Some(c) = client() else { return };
    let server = common::server().await;
    for transport in ["spdy", "websocket"] {
        let url = server
            .get_exec(exec_req(&["show-size"], false, true))
            .unwrap();
        let out = run(&c, &["exec", transport, &url, "tty"], b"").await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "91x37",
            "{transport}: {err} {:?}",
            out.status
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_works_once() {
    let Some(c) = client() else { return };
    let server = common::server().await;
    let url = server.get_exec(exec_req(&["true"], false, false)).unwrap();
    assert_eq!(
        run(&c, &["exec", "spdy", &url], b"").await.status.code(),
        Some(0)
    );
    let again = run(&c, &["exec", "spdy", &url], b"").await;
    assert_eq!(again.status.code(), Some(100));
}

#[tokio::test(flavor = "multi_thread")]
async fn port_forward_reaches_the_port() {
    let Some(c) = client() else { return };
    let server = common::server().await;
    // The "pod"'s service: answers one line per connection.
    let service = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = service.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in service.incoming().take(2) {
            let mut conn = conn.unwrap();
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf).unwrap();
            conn.write_all(b"pong:").unwrap();
            conn.write_all(&buf).unwrap();
        }
    });
    let local = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = local.local_addr().unwrap().port();
    drop(local);
    let url = server
        .get_port_forward(PortForwardRequest {
            pod_sandbox_id: "p1".into(),
        })
        .unwrap();
    let mut child = Command::new(&c)
        .args(["pf", "spdy", &url, &format!("{local_port}:{port}")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut conn = None;
        for _ in 0..100 {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", local_port)) {
                conn = Some(s);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut conn = conn.expect("the client listens");
        conn.write_all(b"ping!").unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answers.push(answer);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answers, ["pong:ping!", "pong:ping!"]);
}
