//! A monitor's failures after the container started are not lost: each is a
//! timestamped line in the container's `monitor.log`, the container's
//! `State.Error`, and a `monitor_error` event.

mod common;

use std::path::{Path, PathBuf};

use common::Berth;

/// A runtime that is runc, except that `verb` fails while `refuse` exists.
fn refusing_runtime(dir: &Path, verb: &str) -> (PathBuf, PathBuf) {
    let runc = ["/usr/sbin/runc", "/usr/bin/runc", "/sbin/runc"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("runc installed");
    let refuse = dir.join(format!("refuse-{verb}"));
    let script = dir.join(format!("runtime-refusing-{verb}"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             if [ -e {refuse} ]; then\n\
               for a in \"$@\"; do\n\
                 if [ \"$a\" = {verb} ]; then echo '{verb} refused by the test' >&2; exit 1; fi\n\
               done\n\
             fi\n\
             exec {runc} \"$@\"\n",
            refuse = refuse.display(),
            runc = runc.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, refuse)
}

/// The last minute's `monitor_error` event of `id`: `ID ERROR`.
fn monitor_error_event(b: &Berth, id: &str) -> String {
    let events = b.ok(&[
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--filter",
        "event=monitor_error",
        "--format",
        "{{.Actor.ID}} {{index .Actor.Attributes \"error\"}}",
    ]);
    events
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no monitor_error event for {id}:\n{events}"))
        .to_string()
}

#[test]
fn a_teardown_failure_after_exit_shows_in_inspect_events_and_the_monitor_log() {
    let b = Berth::with_busybox();
    let (runtime, refuse) = refusing_runtime(b.path(), "delete");
    let runtime = runtime.to_str().unwrap();
    std::fs::write(&refuse, b"").unwrap();
    // `run` returns once the monitor has torn the container down.
    b.ok(&[
        "--runtime",
        runtime,
        "run",
        "--name",
        "torn",
        "busybox",
        "true",
    ]);
    let id = b.ok(&["inspect", "-f", "{{.Id}}", "torn"]);
    let error = b.ok(&["inspect", "-f", "{{.State.Error}}", &id]);
    assert!(
        error.contains("runtime delete") && error.contains("delete refused by the test"),
        "State.Error: {error:?}"
    );
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.ExitCode}}", &id]), "0");

    let line = monitor_error_event(&b, &id);
    assert!(line.contains("delete refused by the test"), "{line}");

    let log = std::fs::read_to_string(b.path().join("containers").join(&id).join("monitor.log"))
        .expect("monitor.log");
    let line = log
        .lines()
        .find(|l| l.contains("runtime delete"))
        .unwrap_or_else(|| panic!("no teardown line in monitor.log:\n{log}"));
    // `TIME monitor ID: MESSAGE`, the time as RFC 3339.
    let (time, rest) = line.split_once(' ').unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{line}");
    assert!(rest.starts_with(&format!("monitor {id}: ")), "{line}");

    // The next start clears it, as dockerd clears State.Error.
    std::fs::remove_file(&refuse).unwrap();
    b.ok(&["start", "-a", &id]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Error}}", &id]), "");
    b.ok(&["rm", &id]);
}

#[test]
fn a_restart_that_cannot_start_shows_in_inspect_events_and_the_monitor_log() {
    let b = Berth::with_busybox();
    let (runtime, refuse) = refusing_runtime(b.path(), "create");
    let runtime = runtime.to_str().unwrap();
    let gate = b.path().join("gate");
    std::fs::create_dir(&gate).unwrap();
    // Starts (the runtime still creates), then exits 3 once told to.
    let id = b.ok(&[
        "--runtime",
        runtime,
        "run",
        "-d",
        "--restart",
        "always",
        "-v",
        &format!("{}:/gate", gate.display()),
        "busybox",
        "sh",
        "-c",
        "until [ -e /gate/exit ]; do sleep 0.1; done; exit 3",
    ]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Error}}", &id]), "");
    std::fs::write(&refuse, b"").unwrap();
    std::fs::write(gate.join("exit"), b"").unwrap();

    // The restart's `create` is refused (the runtime's words go to the log
    // runc writes, so the error names the runtime and its call): no command
    // is waiting to hear it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let error = loop {
        let error = b.ok(&["inspect", "-f", "{{.State.Error}}", &id]);
        if error.contains("runtime-refusing-create create failed") {
            break error;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no State.Error after the failed restart: {error:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(!error.contains('\n'), "{error:?}");
    let line = monitor_error_event(&b, &id);
    assert!(
        line.contains("runtime-refusing-create create failed"),
        "{line}"
    );
    let log = std::fs::read_to_string(b.path().join("containers").join(&id).join("monitor.log"))
        .expect("monitor.log");
    assert!(
        log.contains("runtime-refusing-create create failed"),
        "{log}"
    );

    // Once the runtime creates again, the policy's next restart clears it.
    std::fs::remove_file(gate.join("exit")).unwrap();
    std::fs::remove_file(&refuse).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while b.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Error}}", &id]) != "running" {
        assert!(std::time::Instant::now() < deadline, "never restarted");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    b.ok(&["rm", "-f", &id]);
}
