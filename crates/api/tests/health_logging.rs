//! Healthchecks and logging drivers through `berth serve`, driven by the
//! real docker CLIs (Config.Healthcheck, HostConfig.LogConfig) and by
//! docker-compose, whose `depends_on: condition: service_healthy` waits on
//! `State.Health` and fails on an unhealthy dependency (on the default
//! bridge: what matters here is the waiting, not the project's network).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Server;

fn docker(bin: &Path, server: &Server, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("DOCKER_HOST", server.docker_host())
        .env("DOCKER_CONFIG", "/nonexistent-docker-config")
        .env_remove("DOCKER_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .expect("docker")
}

fn ok(bin: &Path, server: &Server, args: &[&str]) -> String {
    let out = docker(bin, server, args);
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `State.Health` of `name`, as the docker CLI shows it.
fn health(bin: &Path, server: &Server, name: &str) -> serde_json::Value {
    let text = ok(
        bin,
        server,
        &["inspect", "-f", "{{json .State.Health}}", name],
    );
    serde_json::from_str(&text).unwrap()
}

/// Polls `State.Health` of `name` until `done` holds (20 s at most).
fn wait_for(
    bin: &Path,
    server: &Server,
    name: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let h = health(bin, server, name);
        if done(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "{name}: never {what}: {h}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status_is(status: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |h| h["Status"] == status
}

#[test]
fn docker_clis_set_healthchecks_and_log_drivers() {
    for bin in common::docker_clients() {
        let server = Server::start();
        let (bin, s) = (bin.as_path(), &server);
        // The newer client also sends StartInterval (API 1.44).
        let newer = bin == Path::new("/usr/local/bin/docker");
        let mut run = vec![
            "run",
            "-d",
            "--name",
            "hc",
            "--health-cmd",
            "test -f /tmp/ok && echo fine",
            "--health-interval",
            "200ms",
            "--health-retries",
            "1",
        ];
        if newer {
            run.extend([
                "--health-start-period",
                "30s",
                "--health-start-interval",
                "100ms",
            ]);
        }
        run.extend(["busybox", "sleep", "300"]);
        ok(bin, s, &run);
        let text = ok(
            bin,
            s,
            &["inspect", "-f", "{{json .Config.Healthcheck}}", "hc"],
        );
        let config: serde_json::Value = serde_json::from_str(&text).unwrap();
        let test = serde_json::json!(["CMD-SHELL", "test -f /tmp/ok && echo fine"]);
        assert_eq!(
            (&config["Test"], &config["Interval"]),
            (&test, &200_000_000.into())
        );
        if newer {
            assert_eq!(config["StartInterval"], 100_000_000, "{config}");
            // In its start period failing checks leave it starting.
            let h = wait_for(bin, s, "hc", "checked twice", |h| {
                h["Log"].as_array().is_some_and(|l| l.len() >= 2)
            });
            assert_eq!(h["Status"], "starting", "{h}");
        } else {
            wait_for(bin, s, "hc", "unhealthy", status_is("unhealthy"));
        }
        ok(bin, s, &["exec", "hc", "touch", "/tmp/ok"]);
        let h = wait_for(bin, s, "hc", "healthy", status_is("healthy"));
        let last = h["Log"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (&last["ExitCode"], &last["Output"]),
            (&0.into(), &"fine\n".into())
        );
        let status = ok(bin, s, &["inspect", "-f", "{{.State.Health.Status}}", "hc"]);
        assert_eq!(status, "healthy");
        let ps = ok(
            bin,
            s,
            &[
                "ps",
                "--filter",
                "health=healthy",
                "--format",
                "{{.Names}} {{.Status}}",
            ],
        );
        assert!(ps.starts_with("hc Up") && ps.ends_with("(healthy)"), "{ps}");

        let until = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
        let events = ok(
            bin,
            s,
            &[
                "events",
                "--since",
                "1h",
                "--until",
                // Not "0s": the CLI sends a duration as whole seconds.
                &until,
                "--filter",
                "event=health_status",
                "--format",
                "{{.Action}}",
            ],
        );
        assert!(
            events.lines().last() == Some("health_status: healthy"),
            "{events}"
        );

        // Logging: none refuses reading, options rotate, unknown drivers fail.
        ok(
            bin,
            s,
            &[
                "run",
                "--name",
                "quiet",
                "--log-driver",
                "none",
                "busybox",
                "echo",
                "hi",
            ],
        );
        let out = docker(bin, s, &["logs", "quiet"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("configured logging driver does not support reading"),
            "{err}"
        );
        ok(
            bin,
            s,
            &[
                "run",
                "--name",
                "rot",
                "--log-opt",
                "max-size=1k",
                "--log-opt",
                "max-file=2",
                "busybox",
                "sh",
                "-c",
                "seq 1 500",
            ],
        );
        let logs = ok(bin, s, &["logs", "rot"]);
        assert!(
            logs.ends_with("500") && logs.lines().count() < 100,
            "{logs}"
        );
        let text = ok(
            bin,
            s,
            &["inspect", "-f", "{{json .HostConfig.LogConfig}}", "rot"],
        );
        let config: serde_json::Value = serde_json::from_str(&text).unwrap();
        let want =
            serde_json::json!({"Type": "json-file", "Config": {"max-file": "2", "max-size": "1k"}});
        assert_eq!(config, want);
        let out = docker(bin, s, &["run", "--log-driver", "nope", "busybox", "true"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("error looking up logging plugin nope"),
            "{err}"
        );
    }
}

const COMPOSE: &str = r#"version: "2.4"
services:
  db:
    image: busybox
    network_mode: bridge
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 30
  web:
    image: busybox
    network_mode: bridge
    command: ["sleep", "300"]
    depends_on:
      db:
        condition: service_healthy
  broken:
    image: busybox
    network_mode: bridge
    command: ["sleep", "300"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 200ms
      retries: 1
    profiles: [broken]
  after-broken:
    image: busybox
    network_mode: bridge
    command: ["sleep", "300"]
    depends_on:
      broken:
        condition: service_healthy
    profiles: [broken]
"#;

fn compose(dir: &Path, server: &Server, args: &[&str]) -> Output {
    Command::new("docker-compose")
        .current_dir(dir)
        .env("DOCKER_HOST", server.docker_host())
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .args(["-p", "healthproj"])
        .args(args)
        .output()
        .expect("docker-compose")
}

#[test]
fn compose_waits_for_a_healthy_dependency() {
    if !Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("docker-compose not installed: skipped");
        return;
    }
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), COMPOSE).unwrap();
    let out = compose(dir.path(), &server, &["up", "-d", "web"]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{text}");
    let text = server.berth_ok(&["inspect", "-f", "{{json .State.Health}}", "healthproj_db_1"]);
    let health: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(health["Status"], "healthy");
    // web was created only once db was healthy.
    let events = server.berth_ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--format",
        "{{.Actor.Attributes.name}} {{.Action}}",
    ]);
    let at = |line: &str| events.lines().position(|l| l == line);
    let healthy = at("healthproj_db_1 health_status: healthy").expect(&events);
    let created = at("healthproj_web_1 create").expect(&events);
    assert!(healthy < created, "{events}");

    let out = compose(
        dir.path(),
        &server,
        &["--profile", "broken", "up", "-d", "after-broken"],
    );
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("unhealthy"), "{text}");
    let _ = compose(
        dir.path(),
        &server,
        &["--profile", "broken", "down", "-t", "1"],
    );
}

/// A container's events as comparable lines: type, action and attributes,
/// each exec id replaced by its order of appearance; up to and including
/// the second check's `exec_die`.
fn first_checks(events: &str) -> Vec<String> {
    let mut execs: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    let mut died = 0;
    for line in events.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut attributes: Vec<String> = e["Actor"]["Attributes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().unwrap().to_string();
                if k != "execID" {
                    return format!("{k}={v}");
                }
                if !execs.contains(&v) {
                    execs.push(v.clone());
                }
                format!("execID=#{}", execs.iter().position(|x| *x == v).unwrap())
            })
            .collect();
        attributes.sort();
        assert_eq!(e["status"], e["Action"], "{line}");
        lines.push(format!(
            "{} {} from={} [{}]",
            e["Type"].as_str().unwrap(),
            e["Action"].as_str().unwrap(),
            e["from"].as_str().unwrap_or(""),
            attributes.join(" ")
        ));
        if e["Action"] == "exec_die" {
            died += 1;
            if died == 2 {
                break;
            }
        }
    }
    lines
}

#[test]
fn healthchecks_emit_dockers_exec_and_health_events() {
    let server = Server::start();
    let name = format!("hc-events-{}", std::process::id());
    let run = [
        "run",
        "-d",
        "--name",
        &name,
        "-l",
        "k=v",
        "--health-cmd",
        "exit 0",
        "--health-interval",
        "300ms",
        "busybox",
        "sleep",
        "60",
    ];
    let since = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs())
    .to_string();
    server.berth_ok(&run);
    let two_checks = |inspect: &dyn Fn() -> String| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while serde_json::from_str::<serde_json::Value>(&inspect()).unwrap()["Log"]
            .as_array()
            .map_or(0, Vec::len)
            < 2
        {
            assert!(Instant::now() < deadline, "fewer than 2 checks");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let health_of = |args: &[&str]| server.berth_ok(args);
    two_checks(&|| health_of(&["inspect", "-f", "{{json .State.Health}}", &name]));
    // The window ends a second from now (`--until` has whole seconds):
    // both answer what happened up to then.
    let soon = || {
        (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1)
        .to_string()
    };
    let until = soon();
    let filter = format!("container={name}");
    let events = [
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &filter,
        "--format",
        "{{json .}}",
    ];
    let ours = first_checks(&server.berth_ok(&events));
    let expected_exec = "container exec_create: /bin/sh -c exit 0 from=busybox";
    assert_eq!(ours.len(), 9, "{ours:#?}");
    assert!(ours[2].starts_with(expected_exec), "{ours:#?}");
    assert!(ours[5].contains("health_status: healthy"), "{ours:#?}");
    // GET /events, through each docker CLI.
    for bin in common::docker_clients() {
        let theirs = first_checks(&ok(&bin, &server, &events));
        assert_eq!(theirs, ours, "{} on berth serve", bin.display());
    }
    // dockerd, the same container.
    let Some(dockerd) = common::docker_clients().into_iter().next() else {
        return;
    };
    let reference = |args: &[&str]| {
        Command::new(&dockerd)
            .args(args)
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let since = (soon().parse::<u64>().unwrap() - 1).to_string();
    if reference(&run).is_none() {
        return; // dockerd does not answer
    }
    two_checks(&|| {
        reference(&["inspect", "-f", "{{json .State.Health}}", &name]).unwrap_or_default()
    });
    let until = soon();
    let mut events = events;
    events[2] = &since;
    events[4] = &until;
    let theirs = reference(&events).map(|e| first_checks(&e));
    reference(&["rm", "-f", &name]);
    assert_eq!(theirs, Some(ours), "dockerd, then berth");
}
