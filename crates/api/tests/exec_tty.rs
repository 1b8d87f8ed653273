//! Execs with a terminal over `berth serve`, as docker-py and the docker
//! CLI run them: create with `Tty`, start on a hijacked connection read to
//! its end. Short runs keep all their output, the terminal has the client's
//! size from the start (create's or start's `ConsoleSize`) and follows a
//! resize, and the session ends when the process exits even if something
//! it left in the background holds the terminal.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{json_request, Server};
use serde_json::{json, Value};

/// Creates an exec of `cmd` with a terminal in `container`; `extra` keys
/// are added to the body.
fn create_exec(socket: &Path, container: &str, cmd: &[&str], extra: Value) -> String {
    let mut body = json!({
        "Cmd": cmd, "Tty": true, "AttachStdout": true, "AttachStderr": true,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (code, created) = json_request(
        socket,
        "POST",
        &format!("/containers/{container}/exec"),
        &body,
    );
    assert_eq!(code, 201, "exec create: {created}");
    created["Id"].as_str().unwrap().to_string()
}

/// A started exec's hijacked connection.
struct Session(UnixStream);

impl Session {
    /// `POST /exec/{id}/start` with `body`, upgraded as the docker CLI does.
    fn start(socket: &Path, id: &str, body: Value) -> Session {
        let mut s = UnixStream::connect(socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let body = body.to_string();
        write!(
            s,
            "POST /v1.41/exec/{id}/start HTTP/1.1\r\nHost: d\r\n\
             Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // The response's head, up to its blank line.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).unwrap(), 1, "head: {head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        Session(s)
    }

    /// Everything until the server closes the stream, and how long it took.
    fn read_to_end(mut self) -> (String, Duration) {
        let started = Instant::now();
        let mut out = Vec::new();
        self.0.read_to_end(&mut out).expect("the stream ends");
        (
            String::from_utf8_lossy(&out).into_owned(),
            started.elapsed(),
        )
    }
}

fn exit_code(socket: &Path, id: &str) -> Value {
    let (code, inspect) = json_request(socket, "GET", &format!("/exec/{id}/json"), &json!({}));
    assert_eq!(code, 200, "{inspect}");
    inspect["ExitCode"].clone()
}

fn running_container(server: &Server) -> String {
    server.berth_ok(&["run", "-d", "--network", "none", "busybox", "sleep", "600"])
}

const RUNS: usize = 60;

/// docker-py's test_exec_command_tty_stream_no_demux and
/// test_exec_start_socket, in a loop: every short run shows its output.
#[test]
fn short_tty_execs_keep_their_output() {
    let server = Server::start();
    let c = running_container(&server);
    let mut lost = Vec::new();
    for i in 0..RUNS {
        let script = format!("printf out-{i}-end");
        let stdin = i % 2 == 0;
        let id = create_exec(
            &server.socket,
            &c,
            &["sh", "-c", &script],
            json!({"AttachStdin": stdin}),
        );
        let (out, _) = Session::start(&server.socket, &id, json!({"Tty": true})).read_to_end();
        let code = exit_code(&server.socket, &id);
        if !out.contains(&format!("out-{i}-end")) || code != json!(0) {
            lost.push((i, out, code));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {RUNS} runs lost output: {lost:?}",
        lost.len()
    );
}

#[test]
fn the_terminal_has_the_clients_size_from_the_start_and_follows_a_resize() {
    let server = Server::start();
    let c = running_container(&server);
    let socket = &server.socket;
    // The process's first look at its terminal, under runc, which sizes it
    // before the process starts (crun 1.8.1 sizes an exec's terminal once
    // the process runs: see the CLI's exec_tty_output).
    let runc = server.berth_ok(&[
        "run",
        "-d",
        "--runtime",
        "runc",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    // Create's size, when start gives none.
    let id = create_exec(
        socket,
        &runc,
        &["stty", "size"],
        json!({"ConsoleSize": [37, 91]}),
    );
    let (out, _) = Session::start(socket, &id, json!({"Tty": true})).read_to_end();
    assert_eq!(out.trim(), "37 91");
    // Start's size wins.
    let id = create_exec(
        socket,
        &runc,
        &["stty", "size"],
        json!({"ConsoleSize": [37, 91]}),
    );
    let (out, _) =
        Session::start(socket, &id, json!({"Tty": true, "ConsoleSize": [20, 70]})).read_to_end();
    assert_eq!(out.trim(), "20 70");
    // Under the default runtime, asked a moment later.
    let id = create_exec(
        socket,
        &c,
        &["sh", "-c", "sleep 0.5; stty size"],
        json!({"ConsoleSize": [37, 91]}),
    );
    let (out, _) = Session::start(socket, &id, json!({"Tty": true})).read_to_end();
    assert_eq!(out.trim(), "37 91");
    // A resize right after start, as the docker CLI does, and a later one.
    let id = create_exec(
        socket,
        &c,
        &["sh", "-c", "stty size; sleep 1; stty size"],
        json!({}),
    );
    let session = Session::start(socket, &id, json!({"Tty": true}));
    let resize = |h: u16, w: u16| {
        let (code, body) = json_request(
            socket,
            "POST",
            &format!("/exec/{id}/resize?h={h}&w={w}"),
            &json!({}),
        );
        assert_eq!(code, 200, "resize: {body}");
    };
    resize(30, 80);
    std::thread::sleep(Duration::from_millis(300));
    resize(50, 120);
    let (out, _) = session.read_to_end();
    let sizes: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(sizes.last(), Some(&"50 120"), "{out:?}");
}

#[test]
fn the_session_ends_when_the_process_exits() {
    let server = Server::start();
    let c = running_container(&server);
    // The background process ignores the hangup and keeps the terminal.
    let id = create_exec(
        &server.socket,
        &c,
        &["sh", "-c", "trap '' HUP; sleep 30 & echo hi"],
        json!({}),
    );
    let (out, took) = Session::start(&server.socket, &id, json!({"Tty": true})).read_to_end();
    assert_eq!(out.trim(), "hi");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(exit_code(&server.socket, &id), json!(0));
}

#[test]
fn a_command_that_cannot_run_is_told_once() {
    let server = Server::start();
    let c = running_container(&server);
    let id = create_exec(&server.socket, &c, &["nonexist"], json!({}));
    let (out, _) = Session::start(&server.socket, &id, json!({"Tty": true})).read_to_end();
    assert_eq!(
        out.matches("executable file not found").count(),
        1,
        "{out:?}"
    );
    assert_eq!(exit_code(&server.socket, &id), json!(126));
}
