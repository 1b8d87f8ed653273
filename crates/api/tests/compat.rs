//! What Docker's own tools rely on beyond the main endpoints: answers of a
//! dockerd that is not in a swarm, compared with the dockerd on this machine
//! when it answers.

mod common;

use std::process::Command;

use common::Server;

/// (status, body) of a request on a unix socket, through curl.
fn http(socket: &std::path::Path, method: &str, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            "--unix-socket",
        ])
        .arg(socket)
        .arg(format!("http://d/v1.41{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn swarm_and_plugin_endpoints_answer_as_a_dockerd_outside_a_swarm() {
    let server = Server::start();
    let dockerd = std::path::Path::new("/var/run/docker.sock");
    let dockerd_answers = http(dockerd, "GET", "/_ping").0 == 200;
    for (method, path, status) in [
        ("GET", "/swarm", 503),
        ("POST", "/swarm/leave", 503),
        ("GET", "/services", 503),
        ("GET", "/services/x", 503),
        ("GET", "/nodes", 503),
        ("GET", "/tasks", 503),
        ("GET", "/secrets", 503),
        ("GET", "/configs", 503),
        ("GET", "/swarm/unlockkey", 503),
        ("GET", "/plugins", 200),
    ] {
        let (code, body) = http(&server.socket, method, path);
        assert_eq!(code, status, "{method} {path}: {body}");
        if dockerd_answers {
            let (their_code, their_body) = http(dockerd, method, path);
            // dockerd ends its JSON with a newline (Go's json.Encoder).
            assert_eq!(
                (code, body.trim()),
                (their_code, their_body.trim()),
                "{method} {path}"
            );
        }
    }
    let (code, body) = http(&server.socket, "POST", "/swarm/init");
    assert_eq!(code, 501, "{body}");
}

/// A volume driver there is none of: dockerd's 404 and message, nothing made.
#[test]
fn volume_create_with_an_unknown_driver_is_not_found() {
    let server = Server::start();
    let create = |socket: &std::path::Path| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
            ])
            .args([
                "-d",
                r#"{"Name":"compat-nodriver","Driver":"invalid.driver"}"#,
                "--unix-socket",
            ])
            .arg(socket)
            .arg("http://d/v1.41/volumes/create")
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let ours = create(&server.socket);
    assert!(ours.ends_with("\n404"), "{ours}");
    assert!(
        ours.contains(r#"plugin \"invalid.driver\" not found"#),
        "{ours}"
    );
    assert_eq!(
        http(&server.socket, "GET", "/volumes/compat-nodriver").0,
        404
    );
    let dockerd = std::path::Path::new("/var/run/docker.sock");
    if http(dockerd, "GET", "/_ping").0 == 200 {
        // dockerd ends its JSON with a newline (Go's json.Encoder).
        assert_eq!(ours, create(dockerd).replace("}\n\n", "}\n"));
    }
}
