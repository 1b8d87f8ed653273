//! Containers end to end: SCENARIOS.md §1 (the writable layer) and §2
//! (configuration from outside), Docker's confinement, the monitor outliving
//! the CLI, reconciliation after a monitor dies, and concurrency.

mod common;

use common::{mounts_under, Berth};

#[test]
fn writes_land_in_the_container_layer_and_die_with_it() {
    let b = Berth::with_busybox();
    // Seed 004: exec a write, rm -f, a new container from the image has no trace.
    let id = b.ok(&["run", "-d", "-i", "busybox"]);
    b.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo hi > /hello && rm /etc/group && echo x >> /etc/passwd",
    ]);
    assert_eq!(b.ok(&["exec", &id, "cat", "/hello"]), "hi");
    let diff = b.ok(&["diff", &id]);
    assert!(diff.contains("A /hello"), "{diff}");
    assert!(diff.contains("D /etc/group"), "{diff}");
    assert!(diff.contains("C /etc/passwd"), "{diff}");
    // A container that changes nothing has an empty diff: the runtime's mount
    // points live in the init layer, as in Docker.
    b.ok(&["run", "--name", "untouched", "busybox", "true"]);
    assert_eq!(b.ok(&["diff", "untouched"]), "");
    // A second container of the same image sees none of it.
    let other = b.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /hello; ls /etc/group",
    ]);
    assert!(
        other.stderr.contains("No such file") || other.stdout.contains("No such file"),
        "{}",
        other.stderr
    );
    assert!(other.stdout.contains("/etc/group"));
    // Stop/start keeps the layer.
    b.ok(&["stop", "-t", "1", &id]);
    b.ok(&["start", &id]);
    assert_eq!(b.ok(&["exec", &id, "cat", "/hello"]), "hi");
    let upper = b.ok(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", &id]);
    assert!(std::path::Path::new(&upper).join("hello").exists());
    // rm -f removes it with the writable layer.
    b.ok(&["rm", "-f", &id]);
    assert!(!std::path::Path::new(&upper).exists());
    let fresh = b.run(&["run", "--rm", "busybox", "cat", "/hello"]);
    assert_eq!(fresh.code, 1);
    assert!(
        mounts_under(b.path()).is_empty(),
        "{:?}",
        mounts_under(b.path())
    );
}

#[test]
fn cp_into_a_container_is_gone_after_replacement() {
    // Seed 001: cp a file in, rm -f, run a new one: the image's file is back.
    let b = Berth::with_busybox();
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("index.html");
    std::fs::write(&page, "changed\n").unwrap();
    b.ok(&["run", "-d", "--name", "web", "busybox", "sleep", "300"]);
    b.ok(&[
        "exec",
        "web",
        "sh",
        "-c",
        "mkdir -p /www && echo original > /www/index.html",
    ]);
    b.ok(&["cp", page.to_str().unwrap(), "web:/etc/motd"]);
    assert_eq!(b.ok(&["exec", "web", "cat", "/etc/motd"]), "changed");
    b.ok(&["rm", "-f", "web"]);
    b.ok(&["run", "-d", "--name", "web", "busybox", "sleep", "300"]);
    let out = work.path().join("out");
    let r = b.run(&["cp", "web:/etc/motd", out.to_str().unwrap()]);
    assert_ne!(r.code, 0, "the copied file must be gone");
    b.ok(&["cp", "web:/etc/passwd", out.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("root:x:0:0"));
}

#[test]
fn commit_makes_a_new_image_version_and_leaves_the_old_one() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "--name",
        "builder",
        "busybox",
        "sh",
        "-c",
        "echo v2 > /version",
    ]);
    let id = b.ok(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/version\"]",
        "-m",
        "v2",
        "builder",
        "app:v2",
    ]);
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(b.ok(&["run", "--rm", "app:v2"]), "v2");
    let old = b.run(&["run", "--rm", "busybox", "cat", "/version"]);
    assert_ne!(old.code, 0);
    let layers = b.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", "app:v2"]);
    assert_eq!(layers, "2");
}

#[test]
fn configuration_comes_from_outside() {
    let b = Berth::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\nOVERRIDE=file\n").unwrap();
    let out = b.ok(&[
        "run",
        "--rm",
        "-e",
        "GREETING=hello",
        "--env-file",
        env_file.to_str().unwrap(),
        "-e",
        "OVERRIDE=flag",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "-h",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo $GREETING $FROM_FILE $OVERRIDE $(pwd) $(id -u) $(hostname) $HOSTNAME",
    ]);
    assert_eq!(out, "hello yes flag /tmp 65534 box box");
    // --entrypoint replaces the image's and discards its CMD.
    assert_eq!(
        b.ok(&["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"]),
        "a b"
    );
    assert_eq!(
        b.ok(&["run", "--rm", "--entrypoint", "pwd", "busybox"]),
        "/"
    );
    // Default PATH and the container's own exit code.
    let r = b.run(&["run", "--rm", "busybox", "sh", "-c", "echo $PATH; exit 3"]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stdout.trim(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    // Random Docker-style names.
    let id = b.ok(&["create", "busybox"]);
    let name = b.ok(&["inspect", "-f", "{{.Name}}", &id]);
    let (adjective, surname) = name
        .trim_start_matches('/')
        .split_once('_')
        .expect("adjective_surname");
    assert!(!adjective.is_empty() && !surname.is_empty());
    // Stdin through `run -i`.
    let r = b.run_with_stdin(
        &["run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z"],
        b"cattle\n",
    );
    assert_eq!(r.stdout.trim(), "CATTLE");
}

#[test]
fn bad_input_gets_dockers_errors_and_exit_codes() {
    let b = Berth::with_busybox();
    let r = b.fails(&["run", "--rm", "nosuchimage"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("No such image"), "{}", r.stderr);
    let r = b.fails(&["run", "--rm", "busybox", "nosuchcommand"]);
    assert_eq!(r.code, 127, "{}", r.stderr);
    assert!(
        r.stderr.contains("executable file not found"),
        "{}",
        r.stderr
    );
    let r = b.fails(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(r.code, 126, "{}", r.stderr);
    assert_eq!(
        b.ok(&["ps", "-aq"]),
        "",
        "--rm containers that failed to start are removed"
    );
    b.ok(&["create", "--name", "taken", "busybox"]);
    let r = b.fails(&["create", "--name", "taken", "busybox"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("is already in use"), "{}", r.stderr);
    let r = b.fails(&["run", "--memory", "lots", "busybox"]);
    assert_eq!(r.code, 125);
    let r = b.fails(&["run", "--bogus-flag", "busybox"]);
    assert_eq!(r.code, 125);
    let r = b.fails(&["start", "nosuchcontainer"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("No such container: nosuchcontainer"),
        "{}",
        r.stderr
    );
    b.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "100"]);
    let r = b.fails(&["rm", "busy"]);
    assert!(
        r.stderr
            .contains("stop the container before removing or force remove"),
        "{}",
        r.stderr
    );
    let r = b.fails(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert!(r.stderr.contains("Conflicting options"), "{}", r.stderr);
}

#[test]
fn dockers_default_confinement_is_visible_inside() {
    let b = Berth::with_busybox();
    let status = b.ok(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "-E",
        "^Cap(Bnd|Eff)",
        "/proc/self/status",
    ]);
    assert!(status.contains("CapBnd:\t00000000a80425fb"), "{status}");
    assert!(status.contains("CapEff:\t00000000a80425fb"), "{status}");
    let sys = b.run(&["run", "--rm", "busybox", "sh", "-c", "touch /sys/x"]);
    assert!(
        sys.stderr.contains("Read-only file system"),
        "{}",
        sys.stderr
    );
    // Masked /proc paths read as empty.
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "cat /proc/keys /proc/timer_list | wc -c"
        ]),
        "0"
    );
    let mounts = b.ok(&["run", "--rm", "busybox", "cat", "/proc/mounts"]);
    for m in [
        "/dev/shm",
        "/dev/pts",
        "/dev/mqueue",
        "/etc/hosts",
        "/etc/hostname",
        "/etc/resolv.conf",
    ] {
        assert!(mounts.contains(m), "{m} missing in {mounts}");
    }
    let shm = b.ok(&["run", "--rm", "busybox", "df", "-k", "/dev/shm"]);
    assert!(shm.contains("65536"), "{shm}");
    let caps = b.ok(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_ADMIN",
        "busybox",
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    assert!(caps.contains("0000000000001000"), "{caps}");
    let ro = b.run(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert!(ro.stderr.contains("Read-only file system"), "{}", ro.stderr);
    let nnp = b.ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    assert!(nnp.ends_with('1'), "{nnp}");
    let pids = b.ok(&["run", "--rm", "--init", "busybox", "ps", "-o", "pid,args"]);
    assert!(pids.contains("/sbin/docker-init"), "{pids}");
    let lim = b.ok(&["run", "--rm", "--memory", "64m", "--pids-limit", "50", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max"]);
    assert!(lim.contains("67108864") && lim.contains("50"), "{lim}");
}

#[test]
fn a_container_outlives_the_cli_and_a_dead_monitor_is_reconciled() {
    let b = Berth::with_busybox();
    let id = b.ok(&[
        "run",
        "-d",
        "--name",
        "longlived",
        "busybox",
        "sh",
        "-c",
        "echo started; sleep 300",
    ]);
    // Later, separate processes see it running with its output logged.
    let ps = b.ok(&["ps", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(ps, "longlived running");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(b.ok(&["logs", "longlived"]), "started");
    let state = b.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Running}}", &id]);
    assert_eq!(state, "running true");
    // Kill the monitor: the next command must not report it running forever.
    let lock = b.path().join("containers").join(&id).join("monitor.lock");
    assert!(lock.exists());
    let monitor_pid: i32 = monitor_pid(&lock).expect("monitor holds its lock");
    unsafe { libc::kill(monitor_pid, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let state = b.ok(&["inspect", "-f", "{{.State.Status}}", &id]);
    assert_eq!(state, "exited");
    assert_eq!(b.ok(&["ps", "-q"]), "");
    // Reconciled fully: it can be started again and removed without leaks.
    b.ok(&["start", &id]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Status}}", &id]),
        "running"
    );
    b.ok(&["rm", "-f", &id]);
    assert!(mounts_under(b.path()).is_empty());
}

/// The pid of the process holding a flock on `path` (from /proc/locks).
fn monitor_pid(path: &std::path::Path) -> Option<i32> {
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(path).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (pid, dev_inode) = (f.get(4)?, f.get(5)?);
        (dev_inode.rsplit(':').next()? == inode.to_string()).then(|| pid.parse().ok())?
    })
}

#[test]
fn twenty_containers_in_parallel_run_and_are_removable() {
    let b = Berth::with_busybox();
    let root = b.path().to_path_buf();
    let env = b.env();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let root = root.clone();
            let env = env.clone();
            std::thread::spawn(move || {
                std::process::Command::new(common::bin())
                    .arg("--root")
                    .arg(&root)
                    .envs(env)
                    .args([
                        "run",
                        "-d",
                        "--name",
                        &format!("par{i}"),
                        "busybox",
                        "sleep",
                        "300",
                    ])
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(b.ok(&["ps", "-q"]).lines().count(), 20);
    let ids = b.ok(&["ps", "-aq"]);
    let mut args = vec!["rm", "-f"];
    args.extend(ids.lines());
    b.ok(&args);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert!(
        mounts_under(b.path()).is_empty(),
        "{:?}",
        mounts_under(b.path())
    );
    let left = std::fs::read_dir(b.path().join("containers"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}

#[test]
fn lifecycle_commands_follow_docker() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    b.ok(&["pause", "svc"]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Status}}", "svc"]),
        "paused"
    );
    b.ok(&["unpause", "svc"]);
    let top = b.ok(&["top", "svc"]);
    assert!(top.contains("PID") && top.contains("sh -c"), "{top}");
    b.ok(&["stop", "svc"]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.ExitCode}}", "svc"]), "7");
    b.ok(&["rename", "svc", "svc2"]);
    b.ok(&["start", "svc2"]);
    b.ok(&["kill", "svc2"]);
    assert_eq!(b.ok(&["wait", "svc2"]), "137");
    // Restart policy: on-failure:2 runs three times in all.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    for _ in 0..100 {
        if b.ok(&["inspect", "-f", "{{.State.Status}}", "flaky"]) == "exited"
            && b.ok(&["logs", "flaky"]).lines().count() == 3
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(b.ok(&["logs", "flaky"]).lines().count(), 3);
    assert_eq!(b.ok(&["inspect", "-f", "{{.RestartCount}}", "flaky"]), "2");
    // ps filters, -q, -l, --format table.
    assert_eq!(
        b.ok(&["ps", "-a", "-q", "-f", "name=flaky"])
            .lines()
            .count(),
        1
    );
    assert_eq!(
        b.ok(&["ps", "-a", "-f", "status=exited", "--format", "{{.Names}}"])
            .lines()
            .count(),
        2
    );
    let table = b.ok(&["ps", "-a", "--format", "table {{.Names}}\\t{{.Status}}"]);
    assert!(table.starts_with("NAMES"), "{table}");
    let header = b.ok(&["ps", "-a"]);
    assert!(
        header
            .starts_with("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES")
            || header.starts_with("CONTAINER ID"),
        "{header}"
    );
    // export is a tar of the filesystem.
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("fs.tar");
    b.ok(&["export", "-o", tar.to_str().unwrap(), "flaky"]);
    let list = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout)
        .lines()
        .any(|l| l.trim_start_matches("./") == "bin/busybox"));
}

#[test]
fn tty_runs_through_a_real_pty() {
    let b = Berth::with_busybox();
    // `script` gives berth a terminal; the container must see one too.
    let cmd = format!(
        "{} --root {} run --rm -it busybox sh -c 'tty; stty size'",
        common::bin().display(),
        b.path().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .env("COLUMNS", "100")
        .env("LINES", "40")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(out.status.success(), "{text}");
    // Input typed at the terminal reaches the container.
    let cmd = format!(
        "printf 'echo typed-$((6*7))\\nexit 4\\n' | {} --root {} run --rm -i -t busybox sh",
        common::bin().display(),
        b.path().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qfec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("typed-42"), "{text}");
}

#[test]
fn start_attach_logs_and_streams() {
    let b = Berth::with_busybox();
    let id = b.ok(&[
        "create",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    let r = b.run(&["start", "-a", "talker"]);
    assert_eq!(r.code, 3);
    assert_eq!(r.stdout.trim(), "out");
    assert_eq!(r.stderr.trim(), "err");
    // logs: streams kept apart, --tail, -t timestamps, --since in the future shows nothing.
    let r = b.run(&["logs", &id]);
    assert_eq!((r.stdout.trim(), r.stderr.trim()), ("out", "err"));
    let r = b.run(&["logs", "--tail", "1", &id]);
    assert_eq!(r.stdout.trim().len() + r.stderr.trim().len(), 3);
    let stamped = b.ok(&["logs", "-t", &id]);
    assert!(
        stamped.starts_with("20") && stamped.ends_with(" out"),
        "{stamped}"
    );
    assert_eq!(b.ok(&["logs", "--since", "2099-01-01T00:00:00Z", &id]), "");
    let json = std::fs::read_to_string(
        b.path()
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log")),
    )
    .unwrap();
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert!(first["log"].is_string() && first["stream"].is_string() && first["time"].is_string());
    // logs -f follows until the container exits.
    b.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo tick$i; sleep 0.2; done",
    ]);
    let followed = b.ok(&["logs", "-f", "ticker"]);
    assert_eq!(followed, "tick1\ntick2\ntick3");
}

#[test]
fn exec_flags_and_exit_codes() {
    let b = Berth::with_busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "host",
        "-e",
        "FROM_RUN=1",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(
        b.ok(&[
            "exec",
            "-e",
            "X=y",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "host",
            "sh",
            "-c",
            "echo $X $FROM_RUN $(pwd) $(id -u)"
        ]),
        "y 1 /tmp 65534"
    );
    let r = b.run(&["exec", "host", "sh", "-c", "exit 9"]);
    assert_eq!(r.code, 9);
    let r = b.run(&["exec", "host", "nosuchcmd"]);
    assert!(r.code == 126 || r.code == 127, "{} {}", r.code, r.stderr);
    let r = b.run_with_stdin(&["exec", "-i", "host", "cat"], b"piped\n");
    assert_eq!(r.stdout.trim(), "piped");
    b.ok(&["exec", "-d", "host", "sh", "-c", "sleep 0.2; echo bg > /bg"]);
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(b.ok(&["exec", "host", "cat", "/bg"]), "bg");
    let stats = b.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "host",
    ]);
    assert!(stats.starts_with("host "), "{stats}");
    b.ok(&["stop", "-t", "0", "host"]);
    let r = b.fails(&["exec", "host", "true"]);
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
}

#[test]
fn cp_tar_streams_both_ways() {
    let b = Berth::with_busybox();
    b.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "300"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("payload")).unwrap();
    std::fs::write(dir.path().join("payload/a.txt"), "A").unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .args(["-cf", "-", "payload"])
        .output()
        .unwrap()
        .stdout;
    let r = b.run_with_stdin(&["cp", "-", "box:/tmp"], &tar);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(b.ok(&["exec", "box", "cat", "/tmp/payload/a.txt"]), "A");
    let out = b
        .command(&["cp", "box:/tmp/payload", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut archive = tar::Archive::new(&out.stdout[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.trim_end_matches('/') == "payload"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "payload/a.txt"), "{names:?}");
    // A symlink in the container pointing at / must not let cp write to the host.
    b.ok(&["exec", "box", "ln", "-s", "/", "/tmp/escape"]);
    let name = format!("berth-cp-marker-{}", std::process::id());
    let marker = dir.path().join(&name);
    std::fs::write(&marker, "m").unwrap();
    b.ok(&["cp", marker.to_str().unwrap(), "box:/tmp/escape/root/"]);
    assert!(
        !std::path::Path::new("/root").join(&name).exists(),
        "cp wrote through the symlink to the host"
    );
    assert_eq!(b.ok(&["exec", "box", "cat", &format!("/root/{name}")]), "m");
}

#[test]
fn killing_the_attached_cli_leaves_the_container_running() {
    let b = Berth::with_busybox();
    let mut child = b
        .command(&[
            "run",
            "--name",
            "orphaned",
            "busybox",
            "sh",
            "-c",
            "sleep 300",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if b.ok(&["ps", "-q", "-f", "name=orphaned"]).len() == 12 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Status}}", "orphaned"]),
        "running"
    );
    b.ok(&["rm", "-f", "orphaned"]);
    assert!(mounts_under(b.path()).is_empty());
}

#[test]
fn rm_and_ps_run_concurrently() {
    let b = Berth::with_busybox();
    for i in 0..10 {
        b.ok(&["create", "--name", &format!("c{i}"), "busybox", "true"]);
    }
    let root = b.path().to_path_buf();
    let env = b.env();
    let lister = std::thread::spawn(move || {
        for _ in 0..20 {
            let out = std::process::Command::new(common::bin())
                .arg("--root")
                .arg(&root)
                .envs(env.clone())
                .args(["ps", "-a"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
    for i in 0..10 {
        b.ok(&["rm", &format!("c{i}")]);
    }
    lister.join().unwrap();
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn cp_reaches_the_volumes_of_a_stopped_container() {
    // Docker mounts a stopped container's volumes for `cp`: the copy lands in
    // the volume, not in the container layer under it.
    let b = Berth::with_busybox();
    b.ok(&[
        "create",
        "--name",
        "stopped",
        "-v",
        "kept:/data",
        "-v",
        "frozen:/ro:ro",
        "busybox",
        "true",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "into the volume").unwrap();
    b.ok(&["cp", file.to_str().unwrap(), "stopped:/data/"]);
    let mountpoint = b.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "kept"]);
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(&mountpoint).join("f.txt")).unwrap(),
        "into the volume"
    );
    let upper = b.ok(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "stopped"]);
    assert!(!std::path::Path::new(&upper).join("data/f.txt").exists());
    let out = dir.path().join("back.txt");
    b.ok(&["cp", "stopped:/data/f.txt", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "into the volume");
    let r = b.fails(&["cp", file.to_str().unwrap(), "stopped:/ro/"]);
    assert!(
        r.stderr.contains("Read-only file system") || r.stderr.contains("read-only"),
        "{}",
        r.stderr
    );
    // Nothing stays mounted afterwards.
    assert!(
        mounts_under(b.path()).is_empty(),
        "{:?}",
        mounts_under(b.path())
    );
}
