//! Swarm's network settings through the Engine API, compared with dockerd
//! outside a swarm when it answers: `Attachable` and `Scope: local` kept and
//! shown, the swarm scope, ingress and overlay refused with dockerd's
//! messages, `?scope=` on inspect; and a legacy link's name in
//! `DELETE /containers/PARENT/ALIAS` (with `link=1` the link goes, without
//! it the linked container).

mod common;

use std::path::Path;

use common::{dockerd_socket as dockerd, json_request as request, Server};
use serde_json::{json, Value};

const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";

#[test]
fn swarm_network_settings_are_refused_and_local_ones_shown_as_dockerd() {
    let server = Server::start();
    let name = format!("scopenet{}", std::process::id());
    let refused: &[(Value, u16, &str)] = &[
        (
            json!({"Scope": "swarm"}),
            403,
            "cannot create a swarm scoped network when swarm is not active",
        ),
        (
            json!({"Ingress": true}),
            403,
            "Ingress network can only be global scope network",
        ),
        (
            json!({"Ingress": true, "Scope": "swarm"}),
            403,
            "Ingress network can only be global scope network",
        ),
        (
            json!({"Driver": "overlay", "Scope": "local"}),
            403,
            "cannot downgrade network scope for overlay networks",
        ),
        (
            json!({"Driver": "overlay", "Scope": "swarm"}),
            403,
            "cannot create a swarm scoped network when swarm is not active",
        ),
        // dockerd answers these with 500, its swarm endpoints with 503;
        // berth answers 503 for all (the node is no manager: unavailable).
        (json!({"Driver": "overlay"}), 503, NOT_A_MANAGER),
        (
            json!({"Driver": "overlay", "Ingress": true}),
            503,
            NOT_A_MANAGER,
        ),
        (json!({"Scope": "global"}), 503, NOT_A_MANAGER),
    ];
    let mut engines = vec![server.socket.clone()];
    engines.extend(dockerd().map(Path::to_path_buf));
    for socket in &engines {
        let is_dockerd = socket.as_path() != server.socket.as_path();
        for (settings, status, message) in refused {
            let mut body = settings.clone();
            body["Name"] = json!(name);
            let (code, answer) = request(socket, "POST", "/networks/create", &body);
            let expected = if is_dockerd && *status == 503 {
                500
            } else {
                *status
            };
            assert_eq!(code, expected, "{}: {body}: {answer}", socket.display());
            assert_eq!(answer["message"], *message, "{}: {body}", socket.display());
        }
        let body = json!({"Name": name, "Attachable": true, "Scope": "local"});
        let (code, answer) = request(socket, "POST", "/networks/create", &body);
        assert_eq!(code, 201, "{}: {answer}", socket.display());
        let (_, n) = request(socket, "GET", &format!("/networks/{name}"), &Value::Null);
        let shown = (&n["Scope"], &n["Attachable"], &n["Ingress"]);
        assert_eq!(shown, (&json!("local"), &json!(true), &json!(false)));
        for (scope, status) in [("local", 200), ("swarm", 404), ("global", 404)] {
            let path = format!("/networks/{name}?scope={scope}");
            let (code, answer) = request(socket, "GET", &path, &Value::Null);
            assert_eq!(code, status, "{}: {scope}: {answer}", socket.display());
            if status == 404 {
                let message = format!("network {name} not found");
                assert_eq!(answer["message"], json!(message), "{}", socket.display());
            }
        }
        request(socket, "DELETE", &format!("/networks/{name}"), &Value::Null);
    }
}

#[test]
fn a_link_name_stands_for_the_linked_container() {
    let server = Server::start();
    let p = format!("apilk{}", std::process::id());
    let (child, parent) = (format!("{p}1"), format!("{p}2"));
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.extend(["busybox", "sleep", "60"]);
        server.berth_ok(&args);
    };
    run(&child, &[]);
    run(&parent, &["--link", &format!("{child}:db")]);
    let socket = &server.socket;
    let path = format!("/containers/{parent}/db?link=1");
    let (code, answer) = request(socket, "DELETE", &path, &Value::Null);
    assert_eq!(code, 204, "{answer}");
    let (code, answer) = request(socket, "DELETE", &path, &Value::Null);
    assert_eq!(
        (code, &answer["message"]),
        (404, &json!(format!("No such container: {parent}/db")))
    );
    let (_, c) = request(
        socket,
        "GET",
        &format!("/containers/{parent}/json"),
        &Value::Null,
    );
    assert_eq!(c["HostConfig"]["Links"], Value::Null);
    // Without `link`, the name removes the container it stands for.
    server.berth_ok(&["rm", "-f", &parent]);
    run(&parent, &["--link", &format!("{child}:db")]);
    let path = format!("/containers/{parent}/db?force=1");
    let (code, answer) = request(socket, "DELETE", &path, &Value::Null);
    assert_eq!(code, 204, "{answer}");
    let (code, _) = request(
        socket,
        "GET",
        &format!("/containers/{child}/json"),
        &Value::Null,
    );
    assert_eq!(code, 404, "the linked container is removed");
    server.berth_ok(&["rm", "-f", &parent]);
}
