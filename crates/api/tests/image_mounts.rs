//! Image mounts over the API (`HostConfig.Mounts[].Type = "image"` with
//! `ImageOptions.Subpath`, Docker 28) and berth's volume re-seeding
//! endpoints (`GET /volumes/{name}/diff`, `POST /volumes/{name}/seed`),
//! through a real `berth serve`.

mod common;

use common::{json_request as request, Server};
use serde_json::{json, Value};

#[test]
fn an_image_mount_is_applied_and_inspected_as_dockerd_28() {
    let server = Server::start();
    let s = &server.socket;
    let (code, created) = request(
        s,
        "POST",
        "/containers/create",
        &json!({
            "Image": "busybox",
            "Cmd": ["sh", "-c", "ls /img; touch /img/t"],
            "HostConfig": {"NetworkMode": "none", "Mounts": [{
                "Type": "image", "Source": "busybox", "Target": "/img",
                "ImageOptions": {"Subpath": "etc"}}]}
        }),
    );
    assert_eq!(code, 201, "{created}");
    let id = created["Id"].as_str().unwrap().to_string();
    let (code, _) = request(s, "POST", &format!("/containers/{id}/start"), &json!({}));
    assert_eq!(code, 204);
    let (_, waited) = request(s, "POST", &format!("/containers/{id}/wait"), &json!({}));
    assert_eq!(waited["StatusCode"], 1, "touch in a read-only mount fails");
    let logs = server.berth_ok(&["logs", &id]);
    assert!(logs.contains("passwd"), "{logs}");
    let (_, inspect) = request(s, "GET", &format!("/containers/{id}/json"), &Value::Null);
    assert_eq!(
        inspect["Mounts"],
        json!([{"Type": "image", "Name": "busybox", "Source": "", "Destination": "/img",
                "Mode": "", "RW": false, "Propagation": "rprivate"}])
    );
    assert_eq!(
        inspect["HostConfig"]["Mounts"][0]["ImageOptions"]["Subpath"],
        "etc"
    );
    // An escaping subpath: dockerd's 400, nothing created.
    let (code, refused) = request(
        s,
        "POST",
        "/containers/create",
        &json!({"Image": "busybox", "HostConfig": {"Mounts": [{
            "Type": "image", "Source": "busybox", "Target": "/img",
            "ImageOptions": {"Subpath": "../etc"}}]}}),
    );
    assert_eq!(code, 400, "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("subpath must be a relative path"));
}

#[test]
fn volumes_are_compared_and_seeded_over_the_api() {
    let server = Server::start();
    let s = &server.socket;
    server.berth_ok(&["volume", "create", "etc"]);
    server.berth_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "etc:/etc",
        "busybox",
        "rm",
        "/etc/passwd",
    ]);
    let (code, diff) = request(
        s,
        "GET",
        "/volumes/etc/diff?source=busybox:/etc",
        &Value::Null,
    );
    assert_eq!(code, 200, "{diff}");
    assert!(
        diff.as_array()
            .unwrap()
            .contains(&json!({"Path": "/passwd", "Kind": 2})),
        "{diff}"
    );
    let (code, seeded) = request(
        s,
        "POST",
        "/volumes/etc/seed?source=busybox:/etc&mode=only-missing",
        &Value::Null,
    );
    assert_eq!(code, 200, "{seeded}");
    assert_eq!(seeded["Applied"], json!([{"Path": "/passwd", "Kind": 2}]));
    let (code, bad) = request(
        s,
        "POST",
        "/volumes/etc/seed?source=busybox:etc",
        &Value::Null,
    );
    assert_eq!(code, 400, "{bad}");
    let (code, bad) = request(
        s,
        "POST",
        "/volumes/etc/seed?source=busybox:/etc&mode=all",
        &Value::Null,
    );
    assert_eq!(code, 400, "{bad}");
}
