//! The real docker CLIs (Debian's 20.10 and a 28.x when installed) against
//! `berth serve`, through SCENARIOS.md's commands.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::Server;

struct Docker<'a> {
    bin: &'a Path,
    host: String,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Docker<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin);
        cmd.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", "/nonexistent-docker-config")
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null());
        cmd
    }

    fn run_input(&self, args: &[&str], input: &[u8]) -> Out {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn docker");
        let _ = child.stdin.take().unwrap().write_all(input);
        let out = child.wait_with_output().expect("docker output");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_input(args, b"")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.code,
            0,
            "{} {args:?} failed: {}{}",
            self.bin.display(),
            out.stdout,
            out.stderr
        );
        out.stdout.trim().to_string()
    }
}

fn scenario(bin: &Path) {
    let server = Server::start();
    let d = Docker {
        bin,
        host: server.docker_host(),
    };
    let root = server.root.path().to_path_buf();
    let work = tempfile::tempdir_in(root.as_path()).unwrap();
    let w = |name: &str| work.path().join(name).to_string_lossy().into_owned();

    // Version negotiation: both clients talk to the server at their own level.
    assert_eq!(
        d.ok(&["version", "--format", "{{.Server.APIVersion}}"]),
        "1.45"
    );

    // Images: list, import (file and stdin), save, load, rmi.
    let images = d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.lines().any(|l| l == "busybox:latest"), "{images}");
    let tar = common::image_tar(false).to_string_lossy().into_owned();
    let id = d.ok(&["import", &tar, "imported:1"]);
    assert!(id.starts_with("sha256:"), "{id}");
    let input = std::fs::read(&tar).unwrap();
    let out = d.run_input(&["import", "-", "imported:2"], &input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let images = d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        images.contains("imported:1") && images.contains("imported:2"),
        "{images}"
    );
    d.ok(&["save", "-o", &w("saved.tar"), "busybox"]);
    assert!(std::fs::metadata(w("saved.tar")).unwrap().len() > 100_000);
    let untagged = d.ok(&["rmi", "imported:1", "imported:2"]);
    assert!(untagged.contains("Untagged: imported:1"), "{untagged}");
    let loaded = d.ok(&["load", "-i", &w("saved.tar")]);
    assert!(loaded.contains("Loaded image: busybox:latest"), "{loaded}");

    // run attached: output on the right streams, the container's exit code.
    let out = d.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "out\n");
    assert!(out.stderr.contains("err"), "{}", out.stderr);
    // A missing command: Docker's 127.
    let out = d.run(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(out.code, 127, "{}", out.stderr);

    // run -d with a named volume, ps, logs.
    let id = d.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-v",
        "vol1:/data",
        "busybox",
        "sh",
        "-c",
        "echo started; while true; do sleep 1; done",
    ]);
    assert_eq!(id.len(), 64, "{id}");
    let ps = d.ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.lines().any(|l| l.starts_with("web Up")), "{ps}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(d.ok(&["logs", "web"]), "started");

    // exec with stdin, exit codes.
    let out = d.run_input(
        &["exec", "-i", "web", "sh", "-c", "cat; exit 7"],
        b"hello from stdin\n",
    );
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(out.stdout, "hello from stdin\n");
    assert_eq!(
        d.ok(&["exec", "web", "cat", "/proc/1/cmdline"])
            .replace('\0', " ")
            .trim(),
        "sh -c echo started; while true; do sleep 1; done"
    );

    // cp both ways (a file and a directory).
    std::fs::write(w("in.txt"), "copied in\n").unwrap();
    d.ok(&["cp", &w("in.txt"), "web:/data/in.txt"]);
    assert_eq!(d.ok(&["exec", "web", "cat", "/data/in.txt"]), "copied in");
    assert_eq!(
        std::fs::read_to_string(root.join("volumes/vol1/_data/in.txt")).unwrap(),
        "copied in\n"
    );
    d.ok(&[
        "exec",
        "web",
        "sh",
        "-c",
        "mkdir -p /out/sub && echo deep > /out/sub/f",
    ]);
    d.ok(&["cp", "web:/out", &w("out")]);
    assert_eq!(std::fs::read_to_string(w("out/sub/f")).unwrap(), "deep\n");
    let out = d.run(&["cp", "web:/does/not/exist", &w("x")]);
    assert_ne!(out.code, 0);
    // 20.10 turns the 404 into its own text; newer clients print the server's.
    assert!(
        out.stderr.contains("Could not find the file")
            || out.stderr.contains("No such container:path"),
        "{}",
        out.stderr
    );

    // inspect with --format; a bare name is tried as each kind of object.
    assert_eq!(
        d.ok(&["inspect", "--format", "{{.State.Running}} {{.Name}}", "web"]),
        "true /web"
    );
    assert_eq!(
        d.ok(&[
            "inspect",
            "--format",
            "{{range .Mounts}}{{.Type}}:{{.Name}}{{end}}",
            "web"
        ]),
        "volume:vol1"
    );
    assert_eq!(d.ok(&["inspect", "--format", "{{.Name}}", "vol1"]), "vol1");
    assert!(d
        .ok(&["inspect", "--format", "{{.Id}}", "busybox"])
        .starts_with("sha256:"));
    let out = d.run(&["inspect", "no-such-thing"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("No such object: no-such-thing"),
        "{}",
        out.stderr
    );

    // logs -f follows until the container exits.
    d.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo t$i; sleep 0.2; done",
    ]);
    assert_eq!(d.ok(&["logs", "-f", "ticker"]), "t1\nt2\nt3");

    // run -it through a pseudo-terminal.
    let mut child = Command::new("script")
        .args([
            "-qfec",
            &format!("{} run -it --rm busybox sh", bin.display()),
            "/dev/null",
        ])
        .env("DOCKER_HOST", &d.host)
        .env("DOCKER_CONFIG", "/nonexistent-docker-config")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from bsdutils");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    stdin.write_all(b"echo inside-$((6*7))\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    stdin.write_all(b"exit 4\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inside-42"), "{text}");
    assert_eq!(out.status.code(), Some(4), "{text}");

    // exec -it.
    let mut child = Command::new("script")
        .args([
            "-qfec",
            &format!("{} exec -it web sh", bin.display()),
            "/dev/null",
        ])
        .env("DOCKER_HOST", &d.host)
        .env("DOCKER_CONFIG", "/nonexistent-docker-config")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    stdin.write_all(b"tty; echo exec-$((2+3))\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    stdin.write_all(b"exit\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("exec-5") && text.contains("/dev/pts/"),
        "{text}"
    );

    // Volumes: create, ls, inspect, in-use refusal, rm.
    assert_eq!(d.ok(&["volume", "create", "v2"]), "v2");
    let ls = d.ok(&["volume", "ls"]);
    assert!(
        ls.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["local", "v2"]),
        "{ls}"
    );
    let mountpoint = d.ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", "v2"]);
    assert_eq!(Path::new(&mountpoint), root.join("volumes/v2/_data"));
    let out = d.run(&["volume", "rm", "vol1"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("volume is in use"), "{}", out.stderr);

    // Errors carry berth's messages.
    let out = d.run(&["rm", "no-such-container"]);
    assert!(
        out.stderr.contains("No such container: no-such-container"),
        "{}",
        out.stderr
    );
    let out = d.run(&["run", "--name", "web", "busybox", "true"]);
    assert_eq!(out.code, 125);
    assert!(out.stderr.contains("is already in use"), "{}", out.stderr);

    // -p publishes a container port on the host (one of berth's choosing:
    // none another test could take first).
    d.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo hello-port > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    let port: u16 = d
        .ok(&[
            "inspect",
            "--format",
            "{{(index .NetworkSettings.Ports \"80/tcp\" 0).HostPort}}",
            "srv",
        ])
        .parse()
        .expect("a published 80/tcp");
    assert_eq!(http_get(port, "/index.html"), "hello-port\n");
    let ps = d.ok(&["ps", "--filter", "name=srv", "--format", "{{.Ports}}"]);
    assert_eq!(ps, format!("127.0.0.1:{port}->80/tcp"));
    assert_eq!(d.ok(&["port", "srv", "80"]), format!("127.0.0.1:{port}"));

    // Networks.
    let net = format!("apinet{}", port);
    d.ok(&["network", "create", &net]);
    let ls = d.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(ls.lines().any(|l| l == format!("{net} bridge")), "{ls}");
    assert!(ls.lines().any(|l| l == "bridge bridge"), "{ls}");
    assert_eq!(
        d.ok(&["network", "inspect", "--format", "{{.Name}}", &net]),
        net
    );
    d.ok(&["network", "rm", &net]);
    let out = d.run(&["network", "inspect", &net]);
    assert_ne!(out.code, 0);

    // rm -f $(docker ps -aq) empties the engine; the volumes stay until removed.
    let ids = d.ok(&["ps", "-aq"]);
    assert!(ids.lines().count() >= 2, "{ids}");
    let mut args = vec!["rm", "-f"];
    args.extend(ids.lines());
    d.ok(&args);
    assert_eq!(d.ok(&["ps", "-aq"]), "");
    d.ok(&["volume", "rm", "vol1"]);
    d.ok(&["volume", "create", "anon-test"]);
    d.ok(&["volume", "prune", "-f", "--filter", "all=true"]);
    assert_eq!(d.ok(&["volume", "ls", "-q"]), "");
}

/// The body of `GET path` on 127.0.0.1:port, retried while the server starts.
fn http_get(port: u16, path: &str) -> String {
    use std::io::Read;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut text = String::new();
            if s.read_to_string(&mut text).is_ok() && text.starts_with("HTTP/1") {
                return text
                    .split_once("\r\n\r\n")
                    .map(|(_, b)| b.to_string())
                    .unwrap_or_default();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing answers on port {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// One docker CLI command per step of the events scenario, with `{}`
/// standing for the scenario's name prefix.
const EVENT_STEPS: &[&[&str]] = &[
    &[
        "run",
        "--name",
        "{}a",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ],
    &["create", "--name", "{}s", "busybox", "echo", "hello-start"],
    &["start", "-a", "{}s"],
    &["run", "-d", "--name", "{}b", "busybox", "sleep", "100"],
    &["exec", "{}b", "true"],
    &["exec", "{}b", "sh", "-c", "exit 3"],
    &["rename", "{}b", "{}c"],
    &["kill", "{}c"],
    &["restart", "-t", "1", "{}c"],
    &["restart", "-t", "1", "{}c"],
    &["commit", "-m", "snap", "{}c", "{}img"],
    &["rm", "-f", "{}c"],
    &["rm", "{}a"],
    &["rm", "{}s"],
    &["run", "--rm", "--name", "{}w", "busybox", "true"],
];

/// Runs [`EVENT_STEPS`] on an engine; returns each step's (exit code,
/// stdout) and the engine's container events for them, one normalized line
/// each: the container's name without the prefix, the action and the
/// attributes (IDs as `*`).
fn event_scenario(d: &Docker, prefix: &str) -> (Vec<(i32, String)>, Vec<String>) {
    let now = || {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
    };
    let since = now();
    let mut results = Vec::new();
    for step in EVENT_STEPS {
        let args: Vec<String> = step.iter().map(|a| a.replace("{}", prefix)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = d.run(&args);
        // IDs differ between engines; names carry the prefix.
        let stdout = if matches!(args[0], "commit" | "create") || args[1] == "-d" {
            String::new()
        } else {
            out.stdout.trim().replace(prefix, "")
        };
        results.push((out.code, stdout));
    }
    let _ = d.run(&["rmi", &format!("{prefix}img")]);
    // Docker quirk: the docker CLI sends a relative time in whole seconds,
    // so `--until 0s` leaves out what happened since the second began.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let events = |since: &str| {
        d.ok(&[
            "events",
            "--since",
            since,
            "--until",
            "0s",
            "--filter",
            "type=container",
            "--filter",
            &format!("container={prefix}"),
            "--format",
            "{{json .}}",
        ])
    };
    // `--since` as an absolute time with a fraction, and relative.
    let listed = events(&since);
    assert_eq!(listed, events("5m"));
    // `--since 0`: from the beginning (the API's since=0).
    assert_eq!(listed, events("0"));
    let strip = |v: &str| {
        v.replacen(&format!("/{prefix}"), "/", 1)
            .replacen(prefix, "", 1)
    };
    let events = listed
        .lines()
        .map(|line| {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            let attrs = e["Actor"]["Attributes"].as_object().unwrap();
            let mut shown = Vec::new();
            for (k, v) in attrs {
                let v = v.as_str().unwrap();
                match k.as_str() {
                    "name" => {}
                    "image" => assert_eq!(v, "busybox", "{line}"),
                    "execID" | "imageID" => shown.push(format!("{k}=*")),
                    _ => shown.push(format!("{k}={}", strip(v))),
                }
            }
            shown.sort();
            let name = strip(attrs["name"].as_str().unwrap());
            format!(
                "{name} {} {}",
                e["Action"].as_str().unwrap(),
                shown.join(" ")
            )
            .trim_end()
            .to_string()
        })
        .collect();
    (results, events)
}

/// The events dockerd 20.10 records for [`EVENT_STEPS`] (when no dockerd
/// answers on this machine to compare with).
const DOCKERD_EVENTS: &[&str] = &[
    "a create",
    "a attach",
    "a start",
    "a die exitCode=3",
    "s create",
    "s attach",
    "s start",
    "s die exitCode=0",
    "b create",
    "b start",
    "b exec_create: true  execID=*",
    "b exec_start: true  execID=*",
    "b exec_die execID=* exitCode=0",
    "b exec_create: sh -c exit 3 execID=*",
    "b exec_start: sh -c exit 3 execID=*",
    "b exec_die execID=* exitCode=3",
    "c rename oldName=/b",
    "c kill signal=9",
    "c die exitCode=137",
    "c start",
    "c restart",
    "c kill signal=15",
    "c kill signal=9",
    "c die exitCode=137",
    "c stop",
    "c start",
    "c restart",
    "c pause",
    "c commit comment=snap imageID=* imageRef=img:latest",
    "c unpause",
    "c kill signal=9",
    "c die exitCode=137",
    "c destroy",
    "a destroy",
    "s destroy",
    "w create",
    "w attach",
    "w start",
    "w die exitCode=0",
    "w destroy",
];

/// Run (attached before the start), start -a, exec, rename, kill, restart
/// (of a stopped and of a running container), commit, rm and run --rm: the
/// same output and exit codes as dockerd, and the same events from
/// `docker events --since/--until`.
fn events_as_dockerd(bin: &Path) {
    let server = Server::start();
    let berth = Docker {
        bin,
        host: server.docker_host(),
    };
    // One prefix per scenario: both CLIs' scenarios run at once.
    static SCENARIOS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SCENARIOS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let prefix = format!("berthev{}n{n}-", std::process::id());
    let (results, events) = event_scenario(&berth, &prefix);
    assert_eq!(results[0], (3, "out".to_string()));
    assert_eq!(results[2], (0, "hello-start".to_string()));
    assert_eq!(results[5].0, 3);
    assert_eq!(events, DOCKERD_EVENTS, "berth's events");
    let dockerd = Docker {
        bin,
        host: "unix:///var/run/docker.sock".into(),
    };
    if dockerd.run(&["image", "inspect", "busybox:latest"]).code != 0 {
        eprintln!("no dockerd with busybox:latest: compared with dockerd 20.10's recorded events");
        return;
    }
    let (their_results, their_events) = event_scenario(&dockerd, &prefix);
    assert_eq!(results, their_results);
    assert_eq!(events, their_events, "dockerd's events");
}

#[test]
fn events_as_dockerd_20_10_cli() {
    events_as_dockerd(Path::new("/usr/bin/docker"));
}

#[test]
fn events_as_dockerd_current_cli() {
    let bin = Path::new("/usr/local/bin/docker");
    if bin.exists() {
        events_as_dockerd(bin);
    }
}

#[test]
fn debian_docker_20_10_cli() {
    let bin = Path::new("/usr/bin/docker");
    assert!(
        bin.exists(),
        "Debian's docker.io is needed: scripts/install-deps.sh"
    );
    scenario(bin);
}

#[test]
fn current_docker_cli_when_installed() {
    let bin = Path::new("/usr/local/bin/docker");
    if !bin.exists() {
        eprintln!("no /usr/local/bin/docker on this machine: only Debian's 20.10 client is tested");
        return;
    }
    scenario(bin);
}

/// Short attached runs, with and without `--rm`: every one prints its
/// output and exits with its command's status, and inspect right after the
/// run reads the exit; the recorded create as the CLI asked. The same on
/// dockerd when it answers.
fn short_runs(d: &Docker) -> Vec<String> {
    let mut seen = Vec::new();
    for i in 0..10 {
        let name = format!("short-{}-{i}", std::process::id());
        let rm = if i % 2 == 0 { "--rm" } else { "--name" };
        let mut args = vec!["run", rm];
        if rm == "--name" {
            args.push(&name);
        }
        let script = format!("echo out-{i}; exit 3");
        args.extend(["busybox", "sh", "-c", &script]);
        let out = d.run(&args);
        seen.push(format!("{} {}", out.code, out.stdout.trim()));
        if rm == "--name" {
            let fmt = "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} \
                       {{.Config.AttachStdout}} {{.HostConfig.NetworkMode}}";
            seen.push(d.ok(&["inspect", "--format", fmt, &name]));
            d.ok(&["rm", &name]);
        }
    }
    let id = d.ok(&[
        "run",
        "-d",
        "--cap-add",
        "net_admin",
        "busybox",
        "sleep",
        "100",
    ]);
    let fmt = "{{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.HostConfig.NetworkMode}} \
               {{.HostConfig.CapAdd}} {{.HostConfig.CgroupnsMode}} {{json .Config.Env}}";
    seen.push(d.ok(&["inspect", "--format", fmt, &id]));
    d.ok(&["rm", "-f", &id]);
    seen
}

#[test]
fn short_attached_runs_as_dockerd() {
    let server = Server::start();
    for bin in ["/usr/bin/docker", "/usr/local/bin/docker"] {
        let bin = Path::new(bin);
        if !bin.exists() {
            continue;
        }
        let ours = short_runs(&Docker {
            bin,
            host: server.docker_host(),
        });
        assert_eq!(ours[0], "3 out-0");
        assert_eq!(ours[2], "exited false 3 true default");
        let dockerd = Docker {
            bin,
            host: "unix:///var/run/docker.sock".into(),
        };
        if dockerd.run(&["image", "inspect", "busybox"]).code == 0 {
            assert_eq!(ours, short_runs(&dockerd), "{} on dockerd", bin.display());
        }
    }
}

/// Legacy links' names: what `GET /containers/json` lists (through
/// `docker ps --no-trunc` and the default `ps`) while the parents run,
/// once one is stopped and once one is removed.
fn link_names(d: &Docker, p: &str) -> Vec<String> {
    let (child, a, b) = (format!("{p}-zz"), format!("{p}-aa"), format!("{p}-bb"));
    d.ok(&["run", "-d", "--name", &child, "busybox", "sleep", "100"]);
    for (parent, alias) in [(&a, "x"), (&b, "y")] {
        let link = format!("{child}:{alias}");
        d.ok(&[
            "run", "-d", "--name", parent, "--link", &link, "busybox", "sleep", "100",
        ]);
    }
    let filter = format!("name={p}-");
    let names = |extra: &[&str]| {
        let mut args = vec!["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"];
        args.extend_from_slice(extra);
        let mut rows: Vec<String> = d.ok(&args).lines().map(|l| l.replace(p, "P")).collect();
        rows.sort();
        rows.join(" ")
    };
    let mut seen = vec![names(&[]), names(&["--no-trunc"])];
    d.ok(&["stop", "-t", "0", &a]);
    seen.push(names(&["--no-trunc"]));
    d.ok(&["rm", "-f", &a]);
    seen.push(names(&["--no-trunc"]));
    d.ok(&["rm", "-f", &b, &child]);
    seen
}

#[test]
fn link_names_listed_as_dockerd() {
    let server = Server::start();
    let bin = Path::new("/usr/bin/docker");
    if !bin.exists() {
        return;
    }
    let p = format!("ln{}", std::process::id());
    let ours = link_names(
        &Docker {
            bin,
            host: server.docker_host(),
        },
        &p,
    );
    assert_eq!(
        ours,
        [
            "P-aa P-bb P-zz",
            "P-aa P-aa/x,P-bb/y,P-zz P-bb",
            "P-aa P-aa/x,P-bb/y,P-zz P-bb",
            "P-bb P-bb/y,P-zz",
        ]
    );
    let dockerd = Docker {
        bin,
        host: "unix:///var/run/docker.sock".into(),
    };
    if dockerd.run(&["image", "inspect", "busybox"]).code == 0 {
        assert_eq!(ours, link_names(&dockerd, &format!("berthtest-{p}")));
    }
}
