//! Healthchecks as dockerd runs them, run by each container's monitor: the
//! check runs inside the container (its user, environment and working
//! directory), moves `State.Health` through starting -> unhealthy -> healthy
//! with Docker's FailingStreak and last-5 Log, shows in `ps` and its
//! `health=` filter and as `health_status` events; a hung check is killed at
//! its timeout; the image's HEALTHCHECK applies unless `--no-healthcheck`.

mod common;

use std::time::{Duration, Instant};

use common::Berth;
use serde_json::Value;

/// `State.Health` of `name` (`null` when it has none).
fn health(b: &Berth, name: &str) -> Value {
    serde_json::from_str(&b.ok(&["inspect", "-f", "{{json .State.Health}}", name])).unwrap()
}

/// Polls `State.Health` until `done` holds (20 s at most); returns it.
fn wait_health(b: &Berth, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let h = health(b, name);
        if done(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "{name}: never {what}: {h}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |h| h["Status"] == status
}

fn ps_status(b: &Berth, name: &str) -> String {
    b.ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name=^{name}$"),
        "--format",
        "{{.Status}}",
    ])
}

#[test]
fn checks_run_inside_the_container_and_move_its_health() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-e",
        "WHO=checker",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "--health-cmd",
        "echo \"$WHO $(pwd) $(id -u)\"; test -f /tmp/ready",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "300",
    ]);
    // No check has run yet: starting, as Docker shows it.
    let first = health(&b, "web");
    if first["Status"] == "starting" {
        assert!(ps_status(&b, "web").ends_with("(health: starting)"));
    }
    let h = wait_health(&b, "web", "unhealthy", status_is("unhealthy"));
    assert!(h["FailingStreak"].as_i64().unwrap() >= 2, "{h}");
    let last = h["Log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["ExitCode"], 1);
    assert_eq!(last["Output"], "checker /tmp 1000\n");
    for key in ["Start", "End"] {
        let t = last[key].as_str().unwrap();
        assert!(chrono_like(t), "{key}: {t}");
    }
    assert!(
        ps_status(&b, "web").ends_with("(unhealthy)"),
        "{}",
        ps_status(&b, "web")
    );
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Health.Status}}", "web"]),
        "unhealthy"
    );

    // Once the check passes: healthy, streak reset.
    b.ok(&["exec", "web", "touch", "/tmp/ready"]);
    let h = wait_health(&b, "web", "healthy", status_is("healthy"));
    assert_eq!(h["FailingStreak"], 0);
    assert!(
        ps_status(&b, "web").ends_with("(healthy)"),
        "{}",
        ps_status(&b, "web")
    );
    assert_eq!(
        b.ok(&["ps", "--filter", "health=healthy", "--format", "{{.Names}}"]),
        "web"
    );
    assert_eq!(
        b.ok(&[
            "ps",
            "--filter",
            "health=unhealthy",
            "--format",
            "{{.Names}}"
        ]),
        ""
    );
    // The Log keeps the last 5 results.
    let h = wait_health(&b, "web", "5 results", |h| {
        h["Log"]
            .as_array()
            .is_some_and(|l| l.len() == 5 && l.iter().all(|r| r["ExitCode"] == 0))
    });
    assert_eq!(h["Log"].as_array().unwrap().len(), 5);

    let events = b.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--format",
        "{{.Action}}",
    ]);
    let health_events: Vec<&str> = events
        .lines()
        .filter(|l| l.starts_with("health_status"))
        .collect();
    assert_eq!(
        health_events,
        ["health_status: unhealthy", "health_status: healthy"],
        "{events}"
    );

    let healthy = b.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "event=health_status: healthy",
        "--format",
        "{{.Actor.Attributes.name}}",
    ]);
    assert_eq!(healthy, "web");

    // Stopped, it keeps its results and reads unhealthy (as dockerd).
    b.ok(&["stop", "-t", "1", "web"]);
    let h = health(&b, "web");
    assert_eq!(h["Status"], "unhealthy");
    assert_eq!(h["Log"].as_array().unwrap().len(), 5);
}

/// An RFC 3339 time with nanoseconds, as Docker writes them.
fn chrono_like(t: &str) -> bool {
    t.len() >= 20 && t.as_bytes()[4] == b'-' && t.contains('T') && t.ends_with('Z')
}

#[test]
fn a_hung_check_is_killed_at_its_timeout() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "hung",
        "--health-cmd",
        "echo started; exec sleep 1000",
        "--health-interval",
        "200ms",
        "--health-timeout",
        "500ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "300",
    ]);
    let h = wait_health(&b, "hung", "unhealthy", status_is("unhealthy"));
    let first = &h["Log"][0];
    assert_eq!(first["ExitCode"], -1, "{h}");
    assert_eq!(
        first["Output"],
        "Health check exceeded timeout (500ms): started\n"
    );
    // The check's process itself is gone, not only the runtime's exec.
    let start = chrono_ms(first["Start"].as_str().unwrap());
    let end = chrono_ms(first["End"].as_str().unwrap());
    assert!(
        (500..5000).contains(&(end - start)),
        "took {} ms",
        end - start
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let top = b.ok(&["top", "hung"]);
        let hung = top.lines().filter(|l| l.ends_with("sleep 1000")).count();
        // At most the check that runs now (a newer one than the first).
        if hung <= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "hung checks pile up:\n{top}");
        std::thread::sleep(Duration::from_millis(100));
    }
    b.ok(&["rm", "-f", "hung"]);
}

/// Milliseconds of an RFC 3339 time within its day (enough for a duration).
fn chrono_ms(t: &str) -> i64 {
    let time = &t[11..t.len() - 1];
    let mut parts = time.split(':');
    let h: i64 = parts.next().unwrap().parse().unwrap();
    let m: i64 = parts.next().unwrap().parse().unwrap();
    let s: f64 = parts.next().unwrap().parse().unwrap();
    (h * 3600 + m * 60) * 1000 + (s * 1000.0) as i64
}

#[test]
fn the_images_healthcheck_applies_unless_disabled() {
    let b = Berth::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nHEALTHCHECK --interval=200ms --start-period=60s --retries=1 CMD test -f /tmp/up\n",
    )
    .unwrap();
    b.ok(&["build", "-q", "-t", "checked", ctx.path().to_str().unwrap()]);

    // Failures inside the start period do not count: it stays starting.
    b.ok(&["run", "-d", "--name", "img", "checked", "sleep", "300"]);
    let h = wait_health(&b, "img", "checked twice", |h| {
        h["Log"].as_array().is_some_and(|l| l.len() >= 2)
    });
    assert_eq!(
        (&h["Status"], &h["FailingStreak"]),
        (&"starting".into(), &0.into()),
        "{h}"
    );
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Healthcheck.Test}}", "img"]),
        r#"["CMD-SHELL","test -f /tmp/up"]"#
    );
    b.ok(&["exec", "img", "touch", "/tmp/up"]);
    wait_health(&b, "img", "healthy", status_is("healthy"));

    // A request's fields override the image's, the rest is kept.
    b.ok(&[
        "create",
        "--name",
        "over",
        "--health-retries",
        "7",
        "checked",
    ]);
    let config: Value =
        serde_json::from_str(&b.ok(&["inspect", "-f", "{{json .Config.Healthcheck}}", "over"]))
            .unwrap();
    assert_eq!(config["Retries"], 7);
    assert_eq!(config["Interval"], 200_000_000);

    // --no-healthcheck: nothing runs, no State.Health, health=none.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "off",
        "--no-healthcheck",
        "checked",
        "sleep",
        "300",
    ]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{json .Config.Healthcheck.Test}}", "off"]),
        r#"["NONE"]"#
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(health(&b, "off"), Value::Null);
    assert!(ps_status(&b, "off").starts_with("Up ") && !ps_status(&b, "off").contains('('));
    assert_eq!(
        b.ok(&["ps", "--filter", "health=none", "--format", "{{.Names}}"]),
        "off"
    );
    b.ok(&["rm", "-f", "img", "off", "over"]);
}

#[test]
fn bad_settings_are_refused_with_dockers_words() {
    let b = Berth::with_busybox();
    for (args, words) in [
        (
            &["--no-healthcheck", "--health-cmd", "true"][..],
            "--no-healthcheck conflicts with --health-* options",
        ),
        (
            &["--health-interval=-1s"][..],
            "--health-interval cannot be negative",
        ),
        (
            &["--health-cmd", "true", "--health-timeout", "10us"][..],
            "Timeout in Healthcheck cannot be less than 1ms",
        ),
        (&["--health-interval", "soon"][..], "invalid duration"),
    ] {
        let mut cmd = vec!["create"];
        cmd.extend_from_slice(args);
        cmd.push("busybox");
        let r = b.fails(&cmd);
        assert!(r.stderr.contains(words), "{args:?}: {}", r.stderr);
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "", "nothing was created");
}
