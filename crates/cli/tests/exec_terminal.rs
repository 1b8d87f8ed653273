//! `exec -it` on a real terminal: the detach keys (default ctrl-p,ctrl-q,
//! `--detach-keys`, the docker CLI config's `detachKeys`) end the client and
//! leave the process running, whose exit is still recorded; without a tty
//! the keys reach the process. Each case runs the same against dockerd
//! when it answers.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::terminal::OnTerminal;
use common::{docker, dockerd_answers, Berth};

/// One interactive session: a shell answers, then `keys` are typed. Returns
/// the client's exit status and what the terminal showed after the answer.
fn session(mut cmd: Command, keys: &[u8]) -> (i32, String) {
    cmd.arg("sh");
    let mut t = OnTerminal::spawn(cmd);
    t.expect("# ");
    t.type_keys(b"echo answer-$((40+2))\r");
    t.expect("answer-42\r\n");
    let before = t.seen().len();
    t.type_keys(keys);
    let status = t.status();
    (status, t.seen()[before..].to_string())
}

fn shells(list: &str) -> usize {
    list.lines()
        .filter(|l| l.trim_end().ends_with(" sh"))
        .count()
}

/// The engine under test: `exec -it ... sh` in `container`, `ps` there.
struct Side<'a> {
    exec: Box<dyn Fn(&[&str]) -> Command + 'a>,
    ps: Box<dyn Fn() -> String + 'a>,
}

/// Every way to detach, then a shell that exits on its own: status and the
/// closing text are Docker's, and detached shells run on.
fn detach_cases(side: &Side) -> Vec<(i32, String, usize)> {
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        r#"{"detachKeys": "ctrl-y,a"}"#,
    )
    .unwrap();
    let mut results = Vec::new();
    let cases: [(&[&str], &[u8], bool); 4] = [
        (&[], b"\x10\x11", false),
        (&["--detach-keys", "ctrl-x"], b"\x18", false),
        (&[], b"\x19a", true),
        (&[], b"exit 7\r", false),
    ];
    for (flags, keys, with_config) in cases {
        let mut cmd = (side.exec)(flags);
        if with_config {
            cmd.env("DOCKER_CONFIG", config.path());
        }
        let (status, tail) = session(cmd, keys);
        results.push((
            status,
            tail.trim_start_matches("/ # ").to_string(),
            shells(&(side.ps)()),
        ));
    }
    results
}

#[test]
fn exec_it_detaches_on_the_detach_keys_and_leaves_the_process_running() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    let berth = Side {
        exec: Box::new(|flags: &[&str]| {
            let mut args = vec!["exec", "-it"];
            args.extend_from_slice(flags);
            args.push(&id);
            b.command(&args)
        }),
        ps: Box::new(|| b.ok(&["exec", &id, "ps"])),
    };
    let results = detach_cases(&berth);
    let detached = (1, "read escape sequence\r\n".to_string());
    let expected = vec![
        (detached.0, detached.1.clone(), 1),
        (detached.0, detached.1.clone(), 2),
        (detached.0, detached.1.clone(), 3),
        (7, "exit 7\r\n".to_string(), 3),
    ];
    assert_eq!(results, expected);
    // A detached exec is still running, and its end is recorded.
    let ps = b.ok(&["exec", &id, "ps", "-o", "pid,args"]);
    let pid = ps.lines().find(|l| l.trim_end().ends_with(" sh")).unwrap();
    let pid = pid.split_whitespace().next().unwrap();
    b.ok(&["exec", &id, "kill", "-9", pid]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let died = b.ok(&[
            "events",
            "--since",
            "5m",
            "--until",
            "0s",
            "--filter",
            "event=exec_die",
            "--format",
            "{{.Actor.Attributes.exitCode}}",
        ]);
        if died.lines().any(|code| code == "137") {
            break;
        }
        assert!(Instant::now() < deadline, "no exec_die 137 in {died:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    if !dockerd_answers() {
        return;
    }
    let Some(cid) = docker(&["run", "-d", "busybox", "sleep", "600"]) else {
        return;
    };
    let cid = cid.trim().to_string();
    let dockerd = Side {
        exec: Box::new(|flags: &[&str]| {
            let mut cmd = Command::new("docker");
            cmd.args(["exec", "-it"]).args(flags).arg(&cid);
            cmd
        }),
        ps: Box::new(|| docker(&["exec", &cid, "ps"]).unwrap_or_default()),
    };
    let theirs = detach_cases(&dockerd);
    docker(&["rm", "-f", &cid]);
    assert_eq!(results, theirs, "berth, then dockerd");
}

#[test]
fn exec_without_a_tty_passes_the_detach_keys_to_the_process() {
    let b = Berth::with_busybox();
    let id = b.ok(&["run", "-d", "busybox", "sleep", "600"]);
    let input = b"a\x10\x11b\x18c";
    let run = |cmd: &mut Command| {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let ours = run(b
        .command(&["exec", "-i", "--detach-keys", "ctrl-x", &id, "od", "-c"])
        .stdin(Stdio::piped()));
    assert_eq!(ours.0, Some(0));
    assert!(ours.1.contains("a 020 021   b 030   c"), "{}", ours.1);
    let ours_default = run(b
        .command(&["exec", "-i", &id, "od", "-c"])
        .stdin(Stdio::piped()));
    assert_eq!(ours_default, ours);
    // Bad keys are refused when the exec is created, with Docker's words.
    let r = b.fails(&["exec", "--detach-keys", "ctrl-1", &id, "true"]);
    assert!(
        r.stderr.contains("Invalid escape keys (ctrl-1) provided"),
        "{}",
        r.stderr
    );
    if !dockerd_answers() {
        return;
    }
    let Some(cid) = docker(&["run", "-d", "busybox", "sleep", "600"]) else {
        return;
    };
    let cid = cid.trim().to_string();
    let theirs = run(Command::new("docker").args([
        "exec",
        "-i",
        "--detach-keys",
        "ctrl-x",
        &cid,
        "od",
        "-c",
    ]));
    docker(&["rm", "-f", &cid]);
    assert_eq!(ours, theirs, "berth, then dockerd");
}

/// Every exec's files (its process.json, runtime log and pid file, under the
/// runtime's state directory) are gone once it ends: 20 execs of each kind
/// (plain, failing, with stdin, detached) leave nothing behind.
#[test]
fn execs_leave_no_files_behind() {
    fn exec_files(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".exec-") {
                found.push(entry.path().display().to_string());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                exec_files(&entry.path(), found);
            }
        }
    }
    let b = Berth::with_busybox();
    b.ok(&["run", "-d", "--name", "ef", "busybox", "sleep", "300"]);
    for i in 0..20 {
        match i % 4 {
            0 => assert_eq!(b.ok(&["exec", "ef", "echo", "hi"]), "hi"),
            1 => assert_eq!(b.run(&["exec", "ef", "sh", "-c", "exit 3"]).code, 3),
            2 => assert_eq!(
                b.run_with_stdin(&["exec", "-i", "ef", "cat"], b"in").stdout,
                "in"
            ),
            _ => assert_eq!(b.ok(&["exec", "-d", "ef", "true"]), ""),
        }
    }
    // A detached exec's runtime exits once the process started.
    std::thread::sleep(Duration::from_millis(500));
    let mut found = Vec::new();
    exec_files(&b.run_dir(), &mut found);
    exec_files(b.path(), &mut found);
    assert!(found.is_empty(), "{} left: {found:?}", found.len());
    b.ok(&["rm", "-f", "ef"]);
}
