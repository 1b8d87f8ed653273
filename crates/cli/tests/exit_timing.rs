//! A container's exit is recorded as soon as its process is reaped, as
//! dockerd records it, and its monitor tears it down after: commands that
//! need it torn down (`start`, `rm`) wait for that, and finish it when the
//! monitor died on the way.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{mounts_under, Berth};

#[test]
fn wait_returns_the_code_and_inspect_agrees_at_once() {
    let b = Berth::with_busybox();
    for _ in 0..5 {
        let id = b.ok(&["run", "-d", "busybox", "sh", "-c", "exit 3"]);
        assert_eq!(b.ok(&["wait", &id]), "3");
        assert_eq!(
            b.ok(&[
                "inspect",
                "--format",
                "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}",
                &id
            ]),
            "exited false 3"
        );
        assert_eq!(b.ok(&["ps", "-q", "--filter", &format!("id={id}")]), "");
        // Straight after the exit: start runs it again, rm removes it.
        b.ok(&["start", &id]);
        assert_eq!(b.ok(&["wait", &id]), "3");
        b.ok(&["rm", &id]);
    }
    assert!(
        mounts_under(b.path()).is_empty(),
        "{:?}",
        mounts_under(b.path())
    );
}

/// The process holding `lock` (the monitor holds its container's lock).
fn holder_of(lock: &Path) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|p| {
        let pid: i32 = p.file_name().to_str()?.parse().ok()?;
        let fds = std::fs::read_dir(p.path().join("fd")).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == lock))
            .then_some(pid)
    })
}

/// Runs a short container and SIGKILLs its monitor while it tears the
/// container down (after the exit is recorded); false when the teardown
/// was over before it could be caught.
fn kill_monitor_during_teardown(b: &Berth, name: &str) -> bool {
    let id = b.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3; exit 3",
    ]);
    let dir: PathBuf = b.path().join("containers").join(&id);
    let monitor = holder_of(&dir.join("monitor.lock")).expect("the monitor holds its lock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("teardown.pending").exists() {
        if Instant::now() > deadline || !Path::new(&format!("/proc/{monitor}")).exists() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(monitor, libc::SIGKILL) };
    true
}

#[test]
fn a_monitor_killed_during_teardown_leaves_what_the_next_command_finishes() {
    let b = Berth::with_busybox();
    let caught = (0..10).any(|i| {
        let name = format!("td{i}");
        if kill_monitor_during_teardown(&b, &name) {
            return true;
        }
        b.ok(&["rm", "-f", &name]);
        false
    });
    assert!(caught, "never caught a monitor during its teardown");
    let name = b.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let name = name.lines().next().unwrap();
    // The exit was recorded before the teardown began.
    assert_eq!(
        b.ok(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}}",
            name
        ]),
        "exited 3"
    );
    // The next start finishes the teardown (the published port is free
    // again) and runs it again.
    b.ok(&["start", name]);
    assert_eq!(b.ok(&["wait", name]), "3");
    b.ok(&["rm", "-f", name]);
    assert!(
        mounts_under(b.path()).is_empty(),
        "{:?}",
        mounts_under(b.path())
    );
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}
