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

/// docker-py's `create_container(runtime=...)` sends `Runtime` beside
/// `Config`'s fields, not in `HostConfig`: the container runs under the
/// runtime asked for (runc keeps a `state.json`, crun a `status` file).
#[test]
fn a_runtime_sent_beside_the_config_is_the_one_that_runs() {
    let server = Server::start();
    let (code, created) = common::json_request(
        &server.socket,
        "POST",
        "/containers/create",
        &serde_json::json!({"Image": "busybox", "Cmd": ["sleep", "60"], "Runtime": "runc"}),
    );
    assert_eq!(code, 201, "{created}");
    let id = created["Id"].as_str().unwrap().to_string();
    server.berth_ok(&["start", &id]);
    assert_eq!(
        server.berth_ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", &id]),
        "runc"
    );
    let run_dir = &server.env()[0].1;
    let out = Command::new("find")
        .arg(run_dir)
        .args(["-maxdepth", "4", "-path"])
        .arg(format!("*/{id}/state.json"))
        .output()
        .expect("find");
    assert!(
        !String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "no runc state for {id} under {}",
        run_dir.display()
    );
    server.berth_ok(&["rm", "-f", &id]);
}
