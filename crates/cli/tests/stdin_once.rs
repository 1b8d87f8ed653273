//! Docker's `StdinOnce`, compared with dockerd when it answers: `run -i`
//! and `create -i` set it, and the container's stdin is closed when the
//! first client attached to it with stdin ends (closes its input, or is
//! killed); `run -d -i` does not, and its stdin stays open from one
//! `attach` to the next. A client attached without stdin closes nothing.

mod common;

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Berth;

/// Reads lines and echoes them; says EOF when its stdin ends.
const READER: &str = "while read l; do echo got $l; done; echo EOF";

struct Engine<'a> {
    who: &'static str,
    command: &'a dyn Fn(&[&str]) -> Command,
}

impl Engine<'_> {
    fn ok(&self, args: &[&str]) -> String {
        let out = (self.command)(args).output().expect("spawn");
        assert!(
            out.status.success(),
            "{}: {args:?}: {}",
            self.who,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A client of `args` whose stdin the test writes.
    fn client(&self, args: &[&str]) -> Child {
        (self.command)(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    }

    fn status(&self, name: &str) -> String {
        self.ok(&["inspect", "-f", "{{.State.Status}}", name])
    }

    /// Waits (up to 20s) until `name`'s logs are `want`.
    fn logs_become(&self, name: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let logs = self.ok(&["logs", name]);
            if logs == want {
                return;
            }
            assert!(Instant::now() < deadline, "{}: logs {logs:?}", self.who);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 20s) until `name` has exited.
    fn exits(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.status(name) != "exited" {
            assert!(Instant::now() < deadline, "{}: {name} still runs", self.who);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn send(client: &mut Child, line: &str) {
    let stdin = client.stdin.as_mut().unwrap();
    stdin.write_all(line.as_bytes()).unwrap();
    stdin.flush().unwrap();
}

fn end(mut client: Child) {
    let _ = client.kill();
    let _ = client.wait();
}

fn scenario(e: &Engine, p: &str) {
    let who = e.who;
    let config = "{{.Config.OpenStdin}} {{.Config.StdinOnce}} {{.Config.AttachStdin}}";

    // `run -d -i`: no StdinOnce; stdin outlives each attach, even one
    // whose input ended.
    let kept = format!("{p}kept");
    e.ok(&[
        "run", "-d", "-i", "--name", &kept, "busybox", "sh", "-c", READER,
    ]);
    assert_eq!(
        e.ok(&["inspect", "-f", config, &kept]),
        "true false false",
        "{who}"
    );
    let mut first = e.client(&["attach", &kept]);
    send(&mut first, "one\n");
    e.logs_become(&kept, "got one");
    drop(first.stdin.take());
    std::thread::sleep(Duration::from_millis(500));
    end(first);
    let mut second = e.client(&["attach", &kept]);
    send(&mut second, "two\n");
    e.logs_become(&kept, "got one\ngot two");
    end(second);
    assert_eq!(e.status(&kept), "running", "{who}");

    // `create -i`: StdinOnce. An attach without stdin closes nothing; the
    // first stdin client's end (here: killed) closes it.
    let once = format!("{p}once");
    e.ok(&[
        "create", "-i", "--name", &once, "busybox", "sh", "-c", READER,
    ]);
    assert_eq!(
        e.ok(&["inspect", "-f", config, &once]),
        "true true true",
        "{who}"
    );
    e.ok(&["start", &once]);
    let watcher = e.client(&["attach", "--no-stdin", &once]);
    std::thread::sleep(Duration::from_millis(500));
    end(watcher);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(e.status(&once), "running", "{who}");
    let mut client = e.client(&["attach", &once]);
    send(&mut client, "one\n");
    e.logs_become(&once, "got one");
    end(client);
    e.exits(&once);
    e.logs_become(&once, "got one\nEOF");

    // `run -i`: StdinOnce; the run's input ending ends the container's.
    let run = format!("{p}run");
    let mut client = e.client(&["run", "-i", "--name", &run, "busybox", "sh", "-c", READER]);
    send(&mut client, "one\n");
    drop(client.stdin.take());
    assert!(client.wait().unwrap().success(), "{who}");
    e.logs_become(&run, "got one\nEOF");
    assert_eq!(
        e.ok(&["inspect", "-f", config, &run]),
        "true true true",
        "{who}"
    );

    e.ok(&["rm", "-f", &kept, &once, &run]);
}

#[test]
fn stdin_once_closes_stdin_with_the_first_client_as_docker_does() {
    let b = Berth::with_busybox();
    let p = format!("so{}", std::process::id());
    let berth = |args: &[&str]| b.command(args);
    scenario(
        &Engine {
            who: "berth",
            command: &berth,
        },
        &p,
    );
    if common::dockerd_answers() && common::docker(&["image", "inspect", "busybox"]).is_some() {
        let docker = |args: &[&str]| {
            let mut c = Command::new("docker");
            c.args(args);
            c
        };
        scenario(
            &Engine {
                who: "dockerd",
                command: &docker,
            },
            &format!("berthtest-{p}"),
        );
    }
}
