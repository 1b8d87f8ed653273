//! Races outside clients make (docker-py removes a container right after
//! starting or killing it): `rm -f` racing `start`, through the CLI and
//! through `berth serve`, must remove the container whole and never leave
//! a mount under the root (a directory moved to the trash with its rootfs
//! still mounted was the failure). And `pause`/`unpause` killed between the
//! runtime's freezer and its record.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::crash::{assert_clean, killed_at};
use common::serve::{request, serve};
use common::{mounts_under, Berth};

fn assert_nothing_left(b: &Berth, at: &str) {
    assert_eq!(b.ok(&["ps", "-aq"]), "", "{at}: containers left");
    assert_eq!(
        mounts_under(b.path()),
        Vec::<String>::new(),
        "{at}: mounts left"
    );
    assert_clean(b, at);
}

#[test]
fn rm_f_right_after_run_d_leaves_no_mount() {
    let b = Berth::with_busybox();
    for i in 0..15 {
        let name = format!("r{i}");
        b.ok(&["run", "-d", "--name", &name, "busybox", "sleep", "60"]);
        b.ok(&["rm", "-f", &name]);
    }
    assert_nothing_left(&b, "run -d + rm -f");
}

#[test]
fn rm_f_racing_start_removes_the_container_and_leaves_no_mount() {
    let b = Berth::with_busybox();
    for i in 0..20u64 {
        let name = format!("s{i}");
        b.ok(&["create", "--name", &name, "busybox", "sleep", "60"]);
        let start = b
            .command(&["start", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // From "before the monitor exists" to "while it mounts the rootfs".
        std::thread::sleep(Duration::from_millis(i * 3));
        let rm = b.run(&["rm", "-f", &name]);
        assert_eq!(rm.code, 0, "rm -f {name}: {}", rm.stderr);
        let started = start.wait_with_output().unwrap();
        // The start either ran (and was killed) or was refused with one line.
        if !started.status.success() {
            let err = String::from_utf8_lossy(&started.stderr);
            assert_eq!(err.trim().lines().count(), 1, "start {name}: {err}");
        }
        assert_eq!(
            mounts_under(b.path()),
            Vec::<String>::new(),
            "{name}: mounts left"
        );
    }
    assert_nothing_left(&b, "start racing rm -f");
}

#[test]
fn api_delete_force_racing_start_leaves_no_mount() {
    let b = Berth::with_busybox();
    let socket = b.path().join("api.sock");
    let mut server = serve(&b, &socket);
    let create = r#"{"Image":"busybox","Cmd":["sleep","60"]}"#;
    for i in 0..20u64 {
        let (status, body) = request(
            &socket,
            "POST",
            &format!("/containers/create?name=a{i}"),
            create,
        );
        assert_eq!(status, 201, "{body}");
        let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_string();
        let start = {
            let (socket, id) = (socket.clone(), id.clone());
            std::thread::spawn(move || {
                request(&socket, "POST", &format!("/containers/{id}/start"), "")
            })
        };
        std::thread::sleep(Duration::from_millis(i * 3));
        let (status, body) = request(&socket, "DELETE", &format!("/containers/{id}?force=1"), "");
        assert_eq!(status, 204, "DELETE a{i}: {body}");
        let (status, body) = start.join().unwrap();
        assert!(
            [204, 404, 409, 500].contains(&status),
            "start a{i}: {status} {body}"
        );
        assert_eq!(
            mounts_under(b.path()),
            Vec::<String>::new(),
            "a{i}: mounts left"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_nothing_left(&b, "API start racing DELETE ?force=1");
}

#[test]
fn pause_or_unpause_killed_before_its_record_is_reconciled_by_the_next_command() {
    let b = Berth::with_busybox();
    b.ok(&["run", "-d", "--name", "pz", "busybox", "sleep", "60"]);
    let status = || b.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "pz"]);
    // Frozen by the runtime, recorded running: found, then recorded paused
    // as the kernel says (as dockerd restoring from containerd's state).
    killed_at(&b, "pause:after-freezer", &["pause", "pz"]);
    let r = b.run(&["system", "check"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("a pause or unpause was killed before its record"),
        "{}",
        r.stdout
    );
    assert_eq!(status(), "paused true");
    assert_clean(&b, "pause:after-freezer");
    b.ok(&["unpause", "pz"]);
    assert_eq!(b.ok(&["exec", "pz", "echo", "thawed"]), "thawed");

    // Thawed by the runtime, recorded paused: recorded running.
    b.ok(&["pause", "pz"]);
    killed_at(&b, "unpause:after-freezer", &["unpause", "pz"]);
    assert_eq!(status(), "running false");
    assert_eq!(b.ok(&["exec", "pz", "echo", "runs"]), "runs");
    assert_clean(&b, "unpause:after-freezer");

    // `system check --repair` repairs it as well.
    killed_at(&b, "pause:after-freezer", &["pause", "pz"]);
    let r = b.run(&["system", "check", "--repair"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.trim().ends_with("(repaired)"), "{}", r.stdout);
    assert_clean(&b, "pause repaired");
    assert_eq!(status(), "paused true");
    b.ok(&["rm", "-f", "pz"]);
    assert_nothing_left(&b, "pause");
}
