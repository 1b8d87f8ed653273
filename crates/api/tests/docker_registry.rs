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
