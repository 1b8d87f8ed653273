//! Testcontainers for Python (4.15, pinned) against `berth serve`: the
//! driver `testcontainers/driver.py` runs what its users do, step by step
//! (containers with environment, ports, tmpfs, binds and volumes, every wait
//! strategy, exec, logs, copies in and out, images built from a path,
//! networks, the generic ServerContainer), and every step must pass. After
//! it the root must hold nothing Testcontainers made. The same driver runs
//! on dockerd when it answers with busybox:latest, as the reference.
//!
//! Testcontainers lives in the virtualenv scripts/testcontainers-venv.sh
//! makes (scripts/install-deps.sh runs it); the test makes it when missing,
//! and is skipped, saying why, only when PyPI cannot be reached.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Server;

const VENV: &str = "/opt/berth-testcontainers";

/// The virtualenv's python, made first if missing; None (printed) when
/// its packages cannot be fetched.
fn venv_python() -> Option<PathBuf> {
    let script = common::workspace().join("scripts/testcontainers-venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(VENV)
        .output()
        .expect("testcontainers-venv.sh");
    match out.status.code() {
        Some(0) => Some(Path::new(VENV).join("bin/python")),
        // The script's "packages unreachable" exit: nothing to run here.
        Some(3) => {
            eprintln!(
                "SKIPPED: Testcontainers cannot be installed (no PyPI): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        _ => panic!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Runs the driver against `host`; returns (passed, total, its output).
fn drive(python: &Path, host: &str) -> (usize, usize, String) {
    let config = tempfile::tempdir().unwrap();
    // Bounded: a step that hangs fails the test instead of the whole suite.
    let out: Output = Command::new("timeout")
        .arg("600")
        .arg(python)
        .arg(common::workspace().join("crates/api/tests/testcontainers/driver.py"))
        .env("DOCKER_HOST", host)
        // docker-py reads the client config (proxies it would put in every
        // container's environment): an empty one of its own.
        .env("DOCKER_CONFIG", config.path())
        .env("TESTCONTAINERS_RYUK_DISABLED", "true")
        .output()
        .expect("run the Testcontainers driver");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("testcontainers: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.split_once('/'))
        .and_then(|(p, t)| Some((p.parse().ok()?, t.parse().ok()?)));
    let (passed, total) = summary.unwrap_or_else(|| panic!("the driver did not finish:\n{text}"));
    (passed, total, text)
}

fn lines(server: &Server, args: &[&str]) -> Vec<String> {
    server
        .berth_ok(args)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn testcontainers_python_passes_every_step() {
    let Some(python) = venv_python() else {
        return;
    };
    let server = Server::start();
    let (passed, total, text) = drive(&python, &server.docker_host());
    eprintln!("{text}");
    if let Some(socket) = common::dockerd_socket() {
        let dockerd = format!("unix://{}", socket.display());
        let has_busybox = Command::new("docker")
            .args(["-H", &dockerd, "image", "inspect", "busybox:latest"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has_busybox {
            let (theirs, _, their_text) = drive(&python, &dockerd);
            eprintln!(
                "dockerd:\n{}\nTestcontainers steps passed: berth {passed}/{total}, dockerd {theirs}/{total}",
                their_text.lines().filter(|l| l.starts_with("FAIL")).collect::<Vec<_>>().join("\n")
            );
        }
    }
    assert!(total >= 24, "the driver ran only {total} steps:\n{text}");
    assert_eq!(passed, total, "steps failed on berth:\n{text}");
    // Everything the steps made went with them (Ryuk is off: stop() and
    // the context managers are what clean up).
    assert_eq!(lines(&server, &["ps", "-aq"]), Vec::<String>::new());
    assert_eq!(
        lines(&server, &["volume", "ls", "-q"]),
        Vec::<String>::new()
    );
    assert_eq!(
        lines(&server, &["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        ["busybox:latest"]
    );
    assert_eq!(
        lines(&server, &["network", "ls", "--format", "{{.Name}}"]).len(),
        3,
        "networks left: {:?}",
        lines(&server, &["network", "ls"])
    );
}
