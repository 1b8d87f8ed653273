//! `exec -t` on a user's terminal: a tty exec's output arrives whole, every
//! time (a short `printf` run many times must show its text and exit 0;
//! crun's own relay of an exec's terminal lost it about 1 run in 12); the
//! process's terminal has the user's size from its start and follows it; a
//! command that cannot run is told once, as dockerd tells it; the exec ends
//! when its process exits, whatever it left in the background.

mod common;

use common::terminal::OnTerminal;
use common::Berth;
use std::time::{Duration, Instant};

const RUNS: usize = 120;

#[test]
fn exec_tty_output_is_never_lost() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    let mut lost = Vec::new();
    for i in 0..RUNS {
        let script = format!("printf out-{i}-end");
        let mut t = OnTerminal::spawn(b.command(&["exec", "-t", &id, "sh", "-c", &script]));
        let status = t.status();
        let seen = t.seen();
        if status != 0 || !seen.contains(&format!("out-{i}-end")) {
            lost.push((i, status, seen));
        }
    }
    b.ok(&["rm", "-f", &id]);
    assert!(
        lost.is_empty(),
        "{} of {RUNS} runs lost their output: {lost:?}",
        lost.len()
    );
}

#[test]
fn exec_t_has_the_users_terminal_size_from_the_start_and_follows_it() {
    let b = Berth::with_busybox();
    // The process's first look at its terminal: under runc, which sizes
    // the terminal (the process's consoleSize) before it starts the
    // process. crun 1.8.1 sizes an exec's terminal from its own side once
    // the process runs, and a process this quick may then see 0x0: under
    // crun the size is asked a moment later.
    let runc = b.ok(&["run", "-d", "--runtime", "runc", "busybox", "sleep", "600"]);
    let mut t = OnTerminal::spawn_sized(b.command(&["exec", "-t", &runc, "stty", "size"]), 37, 91);
    assert_eq!(t.status(), 0, "{}", t.seen());
    assert_eq!(t.seen().trim(), "37 91");
    b.ok(&["rm", "-f", &runc]);
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    let asked_later = ["sh", "-c", "sleep 0.5; stty size"];
    let mut t = OnTerminal::spawn_sized(
        b.command(&[&["exec", "-t", &id][..], &asked_later].concat()),
        37,
        91,
    );
    assert_eq!(t.status(), 0, "{}", t.seen());
    assert_eq!(t.seen().trim(), "37 91");
    // Without -i too, a change of the user's terminal reaches the exec's.
    let script = "stty size; echo ready; sleep 2; stty size";
    let mut t =
        OnTerminal::spawn_sized(b.command(&["exec", "-t", &id, "sh", "-c", script]), 37, 91);
    t.expect("ready");
    t.resize(50, 120);
    assert_eq!(t.status(), 0, "{}", t.seen());
    let seen = t.seen();
    let sizes: Vec<&str> = seen.lines().map(str::trim).collect();
    assert_eq!(sizes, ["37 91", "ready", "50 120"], "{seen:?}");
    b.ok(&["rm", "-f", &id]);
}

/// dockerd's words and status, printed once (crun also wrote its own on the
/// process's terminal or stderr).
#[test]
fn a_command_that_cannot_run_is_told_once_as_dockerd_tells_it() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    let cases = [
        (
            "nonexist",
            "exec: \"nonexist\": executable file not found in $PATH",
        ),
        ("/etc/passwd", "exec: \"/etc/passwd\": permission denied"),
        (
            "/nope",
            "exec: \"/nope\": stat /nope: no such file or directory",
        ),
    ];
    for (command, words) in cases {
        let told = format!(
            "OCI runtime exec failed: exec failed: unable to start container process: {words}: unknown"
        );
        let mut t = OnTerminal::spawn(b.command(&["exec", "-t", &id, command]));
        assert_eq!(t.status(), 126, "{}", t.seen());
        assert_eq!(t.seen().trim(), told);
        let out = b.command(&["exec", &id, command]).output().unwrap();
        assert_eq!(out.status.code(), Some(126));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim(), told);
        assert!(out.stdout.is_empty());
    }
    b.ok(&["rm", "-f", &id]);
}

#[test]
fn exec_t_ends_when_its_process_exits_whatever_it_left_behind() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    for script in [
        "trap '' HUP; sleep 30 & echo hi",
        "setsid sleep 30 & echo hi",
    ] {
        let started = Instant::now();
        let mut t = OnTerminal::spawn(b.command(&["exec", "-t", &id, "sh", "-c", script]));
        assert_eq!(t.status(), 0, "{}", t.seen());
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{script}: {:?}",
            started.elapsed()
        );
        assert_eq!(t.seen().trim(), "hi");
    }
    b.ok(&["rm", "-f", &id]);
}
