//! The docker CLI's image verbs through `berth serve` against a loopback
//! `docker-registry`: push, pull (with its JSON progress), `run` of an image
//! that is not there (the CLI pulls it on 404), and a registry that is not
//! there (Docker's `errorDetail`).

mod common;
// Shared with the CLI's registry tests, which use all of it.
#[allow(dead_code)]
#[path = "../../cli/tests/common/registry.rs"]
mod registry;

use std::path::Path;
use std::process::{Command, Output};

use common::{docker_clients, Server};
use registry::{Registry, RegistryOptions};

fn docker(cli: &Path, server: &Server, args: &[&str]) -> Output {
    Command::new(cli)
        .env("DOCKER_HOST", server.docker_host())
        // No credentials of this machine's user.
        .env("DOCKER_CONFIG", server.root.path().join("docker-config"))
        .args(args)
        .output()
        .expect("docker")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn docker_push_pull_and_run_of_a_missing_image() {
    let clients = docker_clients();
    assert!(
        !clients.is_empty(),
        "no docker CLI on this machine (apt-get install docker.io)"
    );
    let registry = Registry::start(RegistryOptions::default());
    let server = Server::start();
    for (i, cli) in clients.iter().enumerate() {
        let image = format!("{}/app{i}:v1", registry.host);
        let out = docker(cli, &server, &["tag", "busybox:latest", &image]);
        assert!(out.status.success(), "{}", text(&out));
        let out = docker(cli, &server, &["push", &image]);
        let pushed = text(&out);
        assert!(out.status.success(), "{} push: {pushed}", cli.display());
        assert!(pushed.contains("The push refers to repository"), "{pushed}");
        assert!(pushed.contains("v1: digest: sha256:"), "{pushed}");
        let out = docker(cli, &server, &["rmi", &image]);
        assert!(out.status.success(), "{}", text(&out));
        let out = docker(cli, &server, &["pull", &image]);
        let pulled = text(&out);
        assert!(out.status.success(), "{} pull: {pulled}", cli.display());
        assert!(pulled.contains("Digest: sha256:"), "{pulled}");
        assert!(
            pulled.contains(&format!("Downloaded newer image for {image}"))
                || pulled.contains("Image is up to date"),
            "{pulled}"
        );
        // `run` of an image that is not there: the CLI pulls it, then runs it.
        let out = docker(cli, &server, &["rmi", &image]);
        assert!(out.status.success(), "{}", text(&out));
        let out = docker(
            cli,
            &server,
            &["run", "--rm", &image, "echo", "pulled and ran"],
        );
        assert!(
            out.status.success(),
            "{} run: {}",
            cli.display(),
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("pulled and ran"),
            "{}",
            text(&out)
        );
    }
    // A registry that does not answer: one line, a failure, nothing made.
    let out = docker(&clients[0], &server, &["pull", "127.0.0.1:9/nothing:here"]);
    assert!(!out.status.success());
    assert!(
        text(&out).to_lowercase().contains("connection refused"),
        "{}",
        text(&out)
    );
}

/// The JSON messages of a streamed image request (`push`, `create`).
fn progress_messages(server: &Server, path: &str) -> Vec<serde_json::Value> {
    let out = Command::new("curl")
        .args(["-sS", "-X", "POST", "-H"])
        // `{}`: no credentials, as the docker CLI sends for a public registry.
        .arg("X-Registry-Auth: e30=")
        .arg("--unix-socket")
        .arg(&server.socket)
        .arg(format!("http://d/v1.41{path}"))
        .output()
        .expect("curl");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Messages of `status` with bytes: (current, total) of each.
fn bytes_of(messages: &[serde_json::Value], status: &str) -> Vec<(u64, u64)> {
    messages
        .iter()
        .filter(|m| m["status"] == status)
        .filter_map(|m| {
            let detail = &m["progressDetail"];
            Some((detail["current"].as_u64()?, detail["total"].as_u64()?))
        })
        .collect()
}

#[test]
fn push_and_pull_stream_bytes_per_layer_as_progress_detail() {
    let registry = Registry::start(RegistryOptions::default());
    let server = Server::start();
    let repo = format!("{}/progress", registry.host);
    server.berth_ok(&["tag", "busybox:latest", &format!("{repo}:v1")]);

    let pushed = progress_messages(&server, &format!("/images/{repo}/push?tag=v1"));
    let layers: Vec<&serde_json::Value> =
        pushed.iter().filter(|m| m["status"] == "Pushed").collect();
    assert!(!layers.is_empty(), "{pushed:?}");
    let pushing = bytes_of(&pushed, "Pushing");
    assert!(
        !pushing.is_empty(),
        "no Pushing with progressDetail: {pushed:?}"
    );
    assert!(
        pushing
            .iter()
            .all(|&(current, total)| total > 0 && current <= total),
        "{pushing:?}"
    );
    for layer in layers {
        assert_eq!(layer["progressDetail"], serde_json::json!({}), "{layer}");
        assert_eq!(layer["id"].as_str().unwrap().len(), 12, "{layer}");
    }

    // Its layer gone too, so the pull downloads it.
    server.berth_ok(&["rmi", &format!("{repo}:v1"), "busybox:latest"]);
    let pulled = progress_messages(&server, &format!("/images/create?fromImage={repo}&tag=v1"));
    let downloading = bytes_of(&pulled, "Downloading");
    // Each layer's bytes as they arrive, up to all of them, with the text
    // bar old clients print.
    assert!(
        downloading
            .iter()
            .any(|&(current, total)| total > 0 && current == total),
        "{pulled:?}"
    );
    assert!(
        downloading.iter().all(|&(current, total)| current <= total),
        "{downloading:?}"
    );
    let bar = pulled
        .iter()
        .find(|m| m["status"] == "Downloading")
        .and_then(|m| m["progress"].as_str())
        .unwrap_or_else(|| panic!("no text bar: {pulled:?}"));
    assert!(bar.starts_with('[') && bar.contains('/'), "{bar}");
    let complete = pulled
        .iter()
        .find(|m| m["status"] == "Pull complete")
        .unwrap_or_else(|| panic!("no Pull complete: {pulled:?}"));
    assert_eq!(complete["progressDetail"], serde_json::json!({}));
}
