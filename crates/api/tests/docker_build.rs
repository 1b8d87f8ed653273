//! `docker build` through `berth serve` (`POST /build`), with each docker CLI
//! on this machine: tags, build args, a failing RUN's exit status, `-q`,
//! the RUN containers' `--add-host`/`--shm-size`, red stderr, `--cache-from`,
//! `builder prune`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{docker_clients, Server};

fn docker(cli: &Path, server: &Server, args: &[&str]) -> Output {
    Command::new(cli)
        .env("DOCKER_HOST", server.docker_host())
        // The classic builder: the 20.10 CLI would otherwise ask for BuildKit.
        .env("DOCKER_BUILDKIT", "0")
        .args(args)
        .output()
        .expect("docker")
}

#[test]
fn docker_build_runs_the_classic_builder() {
    let clients = docker_clients();
    assert!(
        !clients.is_empty(),
        "no docker CLI on this machine (apt-get install docker.io)"
    );
    let server = Server::start();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nARG X=1\nCOPY hello /hello\nRUN echo built $X > /f\nCMD cat /f /hello\n",
    )
    .unwrap();
    std::fs::write(ctx.path().join("hello"), "hello from the context\n").unwrap();
    let failing = tempfile::tempdir().unwrap();
    std::fs::write(
        failing.path().join("Dockerfile"),
        "FROM busybox\nRUN exit 3\n",
    )
    .unwrap();
    let context = ctx.path().to_str().unwrap();
    for (i, cli) in clients.iter().enumerate() {
        let tag = format!("built{i}:v1");
        let out = docker(
            cli,
            &server,
            &["build", "-t", &tag, "--build-arg", "X=7", context],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {stdout}{}",
            cli.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("Step 4/5 : RUN echo built $X > /f"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("Successfully tagged {tag}")),
            "{stdout}"
        );
        let run = docker(cli, &server, &["run", "--rm", &tag]);
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            "built 7\nhello from the context\n",
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        // -q prints only the image ID.
        let quiet = docker(cli, &server, &["build", "-q", context]);
        let id = String::from_utf8_lossy(&quiet.stdout).trim().to_string();
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id:?}");
        // A failing RUN: its message, and its status as the CLI's.
        let out = docker(cli, &server, &["build", failing.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{}", cli.display());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
            "{text}"
        );
    }
    // RUN containers get the build's --add-host and --shm-size; their
    // stderr comes back red, as from dockerd; --cache-from limits the cache
    // to the chains of the images named.
    let settings = tempfile::tempdir().unwrap();
    std::fs::write(
        settings.path().join("Dockerfile"),
        "FROM busybox\nRUN grep -q '^10.0.0.1\\sh$' /etc/hosts && df -k /dev/shm | grep -q ' 71680 ' && echo oops >&2\n",
    )
    .unwrap();
    let settings = settings.path().to_str().unwrap();
    let args = [
        "build",
        "--no-cache",
        "--add-host",
        "h:10.0.0.1",
        "--shm-size",
        "70m",
        "-t",
        "settings:1",
        settings,
    ];
    let out = docker(&clients[0], &server, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("\x1b[91moops\n\x1b[0m"), "{text:?}");
    let cached = |cache_from: &str| {
        let out = docker(
            &clients[0],
            &server,
            &[
                "build",
                "--cache-from",
                cache_from,
                "--add-host",
                "h:10.0.0.1",
                "--shm-size",
                "70m",
                settings,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).contains("Using cache")
    };
    assert!(cached("settings:1"));
    assert!(!cached("no-such-image"));
    // `builder prune` empties the classic builder's cache: the steps'
    // untagged images go, the tagged images stay and still run.
    let rebuilt = |server: &Server| {
        let out = docker(
            &clients[0],
            server,
            &["build", "--build-arg", "X=7", context],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).contains("Using cache")
    };
    assert!(rebuilt(&server));
    let out = docker(&clients[0], &server, &["builder", "prune", "-f"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Total reclaimed space"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let run = docker(&clients[0], &server, &["run", "--rm", "built0:v1"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!rebuilt(&server));
    // What berth cannot do is refused, not ignored.
    let out = docker(&clients[0], &server, &["build", "--memory", "64m", context]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("memory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
