//! The server's log on stderr, as dockerd's: a failing request leaves a line
//! with its error at the default level; `--log-level debug` (or `-D`) adds
//! one line per request with its status, duration and client; `--log-format
//! json` writes the same as one JSON object per line.

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;

/// The status of a GET on the server's socket.
fn get(socket: &Path, path: &str) -> u16 {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--unix-socket",
        ])
        .arg(socket)
        .arg(format!("http://d{path}"))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[test]
fn a_failing_request_is_logged_with_its_error_and_a_good_one_is_not() {
    let mut server = Server::start();
    let log = server.root.path().join("serve.log");
    server.respawn_logging(&[], &log);
    assert_eq!(get(&server.socket, "/v1.41/containers/json"), 200);
    assert_eq!(
        get(&server.socket, "/v1.41/containers/no-such-box/json"),
        404
    );
    // The line is written before the response is sent.
    let text = read(&log);
    let line = text
        .lines()
        .find(|l| l.contains("no-such-box"))
        .unwrap_or_else(|| panic!("no line for the failed request in:\n{text}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains(
            "Handler for GET /v1.41/containers/no-such-box/json returned error: \
             No such container: no-such-box"
        ),
        "{line}"
    );
    assert!(line.contains("status=404"), "{line}");
    assert!(line.contains("client=uid:0,pid:"), "{line}");
    // At the default level (info) a request that succeeded leaves nothing.
    assert!(
        !text.contains("/v1.41/containers/json"),
        "a good request logged at info:\n{text}"
    );
}

#[test]
fn debug_logs_every_request_and_json_lines_parse() {
    let mut server = Server::start();
    let log = server.root.path().join("serve-debug.log");
    server.respawn_logging(&["-D"], &log);
    assert_eq!(get(&server.socket, "/v1.41/_ping"), 200);
    let text = read(&log);
    let line = text
        .lines()
        .find(|l| l.contains("GET /v1.41/_ping 200"))
        .unwrap_or_else(|| panic!("no debug line for /_ping in:\n{text}"));
    assert!(line.contains("DEBUG"), "{line}");
    assert!(line.contains("duration_ms="), "{line}");

    let log = server.root.path().join("serve-json.log");
    server.respawn_logging(&["--log-level", "debug", "--log-format", "json"], &log);
    assert_eq!(get(&server.socket, "/v1.41/volumes/no-such-vol"), 404);
    let text = read(&log);
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let failed = objects
        .iter()
        .find(|o| o["level"] == "WARN" && o["status"] == 404)
        .unwrap_or_else(|| panic!("no WARN object with status 404 in:\n{text}"));
    assert_eq!(failed["method"], "GET", "{failed}");
    assert_eq!(failed["path"], "/v1.41/volumes/no-such-vol", "{failed}");
    assert!(
        failed["message"]
            .as_str()
            .is_some_and(|m| m.contains("returned error: get no-such-vol: no such volume")),
        "{failed}"
    );
    assert!(
        objects
            .iter()
            .any(|o| o["level"] == "DEBUG" && o["status"] == 404 && o["duration_ms"].is_number()),
        "no DEBUG request object in:\n{text}"
    );
}

#[test]
fn an_unknown_log_level_is_refused_before_serving() {
    let server = Server::start();
    let out = server.berth(&[
        "serve",
        "-H",
        "unix:///nonexistent/x.sock",
        "--log-level",
        "loud",
    ]);
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loud"), "{stderr}");
}
