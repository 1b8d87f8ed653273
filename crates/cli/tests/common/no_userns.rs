//! A command run where the kernel gives no user namespaces, without
//! touching the host's setting: in a user namespace of the test's own that
//! maps every id to itself (berth sees the host's ids and files), with a
//! mount and pid namespace and a `/proc` of its own, whose
//! `user.max_user_namespaces` is 0 (the limit is per user namespace, and
//! only that namespace's root may set it, through a `/proc` it mounted).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Run;

/// Waits for its first line, then, in its own mount and pid namespace, sets
/// the limit and runs its arguments.
const SCRIPT: &str = r#"read go && exec unshare -m -p -f --mount-proc sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"' sh "$@""#;

/// Runs `cmd` (its program, arguments, environment and directory) there.
pub fn run(cmd: &Command) -> Run {
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(["-U", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let mut child = wrapped
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    // The maps can be written once `unshare` made the namespace.
    let pid = child.id();
    let own = std::fs::read_link("/proc/self/ns/user").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_link(format!("/proc/{pid}/ns/user")).ok() == Some(own.clone()) {
        assert!(Instant::now() < deadline, "unshare -U made no namespace");
        std::thread::sleep(Duration::from_millis(5));
    }
    for map in ["uid_map", "gid_map"] {
        std::fs::write(format!("/proc/{pid}/{map}"), "0 0 4294967295\n").expect(map);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
