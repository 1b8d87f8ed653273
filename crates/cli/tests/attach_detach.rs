//! `run -it`, `attach` and `start -ai` on a real terminal: the detach keys
//! (default ctrl-p,ctrl-q, `--detach-keys`, the docker CLI config's
//! `detachKeys`) end the client and leave the container running, with the
//! docker CLI's status and words (`run`/`start`: 0 and nothing, `attach`: 1
//! and "read escape sequence"); without a tty the keys reach the process.
//! The same steps run against dockerd when it answers.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::terminal::OnTerminal;
use common::{docker, dockerd_answers, Berth};

/// Types a command to the shell on `t` and waits for its answer, so that
/// the shell is known to be reading before the keys are typed.
fn shell_answers(t: &mut OnTerminal) {
    t.type_keys(b"echo answer-$((40+2))\r");
    t.expect("answer-42\r\n");
}

/// Starts `cmd` on a terminal; if `prompt`, waits for the shell's prompt;
/// then a command answers and `keys` are typed. The client's status, and
/// what the terminal showed after the answer.
fn session(cmd: Command, prompt: bool, keys: &[u8]) -> (i32, String) {
    let mut t = OnTerminal::spawn(cmd);
    if prompt {
        t.expect("# ");
    }
    shell_answers(&mut t);
    let before = t.seen().len();
    t.type_keys(keys);
    let status = t.status();
    (status, t.seen()[before..].to_string())
}

/// One engine's client: a command with these arguments (and the docker
/// CLI's config directory), and whether a container runs.
struct Side<'a> {
    cli: Box<dyn Fn(&[&str], &std::path::Path) -> Command + 'a>,
}

impl Side<'_> {
    fn ok(&self, args: &[&str], config: &std::path::Path) -> String {
        let out = (self.cli)(args, config).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// Each way to detach from each verb, and a shell that exits on its own:
/// (status, closing text, whether the container then runs).
fn detach_steps(side: &Side, name: &str) -> Vec<(i32, String, String)> {
    let config = tempfile::tempdir().unwrap();
    let custom = tempfile::tempdir().unwrap();
    std::fs::write(
        custom.path().join("config.json"),
        r#"{"detachKeys": "ctrl-y,a"}"#,
    )
    .unwrap();
    let running = || {
        side.ok(
            &["inspect", "-f", "{{.State.Running}}", name],
            config.path(),
        )
    };
    let mut steps = Vec::new();
    let mut step = |args: &[&str], cfg: &std::path::Path, prompt: bool, keys: &[u8]| {
        let (status, tail) = session((side.cli)(args, cfg), prompt, keys);
        steps.push((
            status,
            tail.trim_start_matches("/ # ").to_string(),
            running(),
        ));
    };
    let (cfg, custom) = (config.path(), custom.path());
    step(
        &["run", "-it", "--name", name, "busybox", "sh"],
        cfg,
        true,
        b"\x10\x11",
    );
    step(&["attach", name], cfg, false, b"\x10\x11");
    step(
        &["attach", "--detach-keys", "ctrl-x", name],
        cfg,
        false,
        b"\x18",
    );
    step(&["attach", name], custom, false, b"\x19a");
    side.ok(&["kill", name], cfg);
    step(&["start", "-ai", name], cfg, true, b"\x10\x11");
    step(
        &["start", "-ai", "--detach-keys", "ctrl-x", name],
        cfg,
        false,
        b"\x18",
    );
    step(&["attach", name], cfg, false, b"exit 3\r");
    steps.push((
        0,
        side.ok(&["inspect", "-f", "{{.State.ExitCode}}", name], cfg),
        running(),
    ));
    steps
}

#[test]
fn run_attach_and_start_detach_on_the_keys_and_leave_the_container_running() {
    let b = Berth::with_busybox();
    let name = format!("detach-{}", std::process::id());
    let berth = Side {
        cli: Box::new(|args: &[&str], config: &std::path::Path| {
            let mut cmd = b.command(args);
            cmd.env("DOCKER_CONFIG", config);
            cmd
        }),
    };
    let ours = detach_steps(&berth, &name);
    let (on, off) = ("true".to_string(), "false".to_string());
    let escape = "read escape sequence\r\n".to_string();
    assert_eq!(
        ours,
        vec![
            (0, String::new(), on.clone()),
            (1, escape.clone(), on.clone()),
            (1, escape.clone(), on.clone()),
            (1, escape.clone(), on.clone()),
            (0, String::new(), on.clone()),
            (0, String::new(), on.clone()),
            (3, "exit 3\r\n".to_string(), off.clone()),
            (0, "3".to_string(), off),
        ]
    );
    if !dockerd_answers() {
        return;
    }
    let dockerd = Side {
        cli: Box::new(|args: &[&str], config: &std::path::Path| {
            let mut cmd = Command::new("docker");
            cmd.args(args).env("DOCKER_CONFIG", config);
            cmd
        }),
    };
    let theirs = detach_steps(&dockerd, &name);
    docker(&["rm", "-f", &name]);
    assert_eq!(ours, theirs, "berth, then dockerd");
}

/// `attach` to a container without a tty, the keys in its input: what the
/// process read.
fn attach_without_tty(cli: &dyn Fn(&[&str]) -> Command) -> (Option<i32>, String) {
    let script = r#"read -r line; printf %s "$line" | od -c"#;
    let out = cli(&["run", "-d", "-i", "busybox", "sh", "-c", script])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut child = cli(&["attach", &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a\x10\x11b\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let _ = cli(&["rm", "-f", &id]).output();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn attach_without_a_tty_passes_the_detach_keys_to_the_process() {
    let b = Berth::with_busybox();
    let ours = attach_without_tty(&|args: &[&str]| b.command(args));
    assert_eq!(ours.0, Some(0));
    assert!(ours.1.contains("a 020 021   b"), "{}", ours.1);
    // Bad keys are refused before anything is created.
    let r = b.fails(&["run", "--detach-keys", "ctrl-1", "busybox", "true"]);
    assert!(
        r.stderr.contains("Invalid escape keys (ctrl-1) provided"),
        "{}",
        r.stderr
    );
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    if !dockerd_answers() {
        return;
    }
    let theirs = attach_without_tty(&|args: &[&str]| {
        let mut cmd = Command::new("docker");
        cmd.args(args);
        cmd
    });
    assert_eq!(ours, theirs, "berth, then dockerd");
}
