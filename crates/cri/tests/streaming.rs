//! Exec and PortForward of `berth cri` through its streaming server, with
//! client-go's executors and port-forwarder (what crictl and kubelet use):
//! a small Go program built from cri-tools' vendored client-go,
//! `$BERTH_STREAM_CLIENT exec|pf spdy|websocket URL [stdin]` (see
//! crates/cri-stream/tests/client_go.rs). Skipped when BERTH_STREAM_CLIENT
//! is not set.

mod common;

use std::io::{BufRead, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use berth_cri::api;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn exec_and_port_forward_reach_the_pod() {
    let Ok(client) = std::env::var("BERTH_STREAM_CLIENT") else {
        eprintln!("BERTH_STREAM_CLIENT not set: skipped");
        return;
    };
    let server = Server::start();
    let mut c = server.client().await;
    let logs = tempfile::tempdir().unwrap();
    let pod_config = pod_config("stream", logs.path());
    let pod = c
        .runtime
        .run_pod_sandbox(api::RunPodSandboxRequest {
            config: Some(pod_config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    let script = "while true; do echo pong | nc -l -p 8080; done";
    let id = c
        .runtime
        .create_container(api::CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config("server", script)),
            sandbox_config: Some(pod_config),
        })
        .await
        .unwrap()
        .into_inner()
        .container_id;
    c.runtime
        .start_container(api::StartContainerRequest {
            container_id: id.clone(),
        })
        .await
        .unwrap();

    // Exec: both streams, stdin and the exit code, over both transports.
    for transport in ["spdy", "websocket"] {
        let url = c
            .runtime
            .exec(api::ExecRequest {
                container_id: id.clone(),
                cmd: ["sh", "-c", "hostname; read x; echo got $x >&2; exit 3"]
                    .map(String::from)
                    .to_vec(),
                stdin: true,
                stdout: true,
                stderr: true,
                tty: false,
            })
            .await
            .unwrap()
            .into_inner()
            .url;
        let mut child = Command::new(&client)
            .args(["exec", transport, &url, "stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "stream-host\n",
            "{transport}: {err}"
        );
        assert!(err.starts_with("got hi\n"), "{transport}: {err}");
        assert_eq!(out.status.code(), Some(3), "{transport}: {err}");
    }

    // PortForward: the pod's port 8080 on its own loopback (not published).
    let url = c
        .runtime
        .port_forward(api::PortForwardRequest {
            pod_sandbox_id: pod.clone(),
            port: vec![8080],
        })
        .await
        .unwrap()
        .into_inner()
        .url;
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let local_port = held.local_addr().unwrap().port();
    drop(held);
    let mut child = Command::new(&client)
        .args(["pf", "spdy", &url, &format!("{local_port}:8080")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut conn = None;
    for _ in 0..100 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", local_port)) {
            conn = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut conn = conn.expect("the client listens");
    conn.write_all(b"ping\n").unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(conn)
        .read_line(&mut answer)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answer, "pong\n");
}
