//! `POST /containers/{id}/attach` and the detach keys, through the real
//! docker CLIs: as dockerd, a container without a tty gets the keys in its
//! input (only a terminal session detaches on them).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{docker_clients, dockerd_socket, Server};

/// `docker attach` (with its default keys and with `--detach-keys`) to a
/// container without a tty that reads one line: what it read.
fn keys_reach_the_process(bin: &Path, host: &str) -> Vec<(Option<i32>, String)> {
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("DOCKER_HOST", host)
            .env("DOCKER_CONFIG", "/nonexistent-docker-config")
            .env("DOCKER_API_VERSION", "1.41")
            .env_remove("DOCKER_CONTEXT");
        cmd
    };
    let script = r#"read -r line; printf %s "$line" | od -c"#;
    let mut seen = Vec::new();
    for keys in [None, Some("ctrl-x")] {
        let out = cli(&["run", "-d", "-i", "busybox", "sh", "-c", script])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let mut args = vec!["attach"];
        args.extend(keys.map(|k| ["--detach-keys", k]).iter().flatten());
        args.push(&id);
        let mut child = cli(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"a\x10\x11b\x18c\n").unwrap();
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        let _ = cli(&["rm", "-f", &id]).output();
        seen.push((
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ));
    }
    seen
}

#[test]
fn attach_without_a_tty_passes_the_detach_keys_to_the_process() {
    let server = Server::start();
    for bin in docker_clients() {
        let ours = keys_reach_the_process(&bin, &server.docker_host());
        for (code, out) in &ours {
            assert_eq!(*code, Some(0), "{}: {out}", bin.display());
            assert!(out.contains("a 020 021   b 030   c"), "{out}");
        }
        if let Some(socket) = dockerd_socket() {
            let host = format!("unix://{}", socket.display());
            assert_eq!(
                ours,
                keys_reach_the_process(&bin, &host),
                "{}",
                bin.display()
            );
        }
    }
}
