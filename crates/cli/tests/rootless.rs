//! Rootless berth: an ordinary user, made by the test (useradd, with the
//! subordinate ids useradd gives it), runs berth with a clean environment and
//! nothing else set up. The seed scenarios that can work rootless, ports
//! through pasta, isolation between users, and the refusals.

mod common;

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{bin, busybox_tar, Berth, Run};

/// A user made for one test, removed with everything it ran when dropped.
struct User {
    name: String,
    uid: u32,
    home: PathBuf,
}

impl User {
    /// A new user with a unique name; useradd gives it subordinate ids.
    fn new() -> User {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "brl{}u{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", &name])
            .output()
            .expect("useradd");
        assert!(
            out.status.success(),
            "useradd {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = Command::new("id").args(["-u", &name]).output().unwrap();
        let uid = String::from_utf8_lossy(&id.stdout).trim().parse().unwrap();
        let home = PathBuf::from(format!("/home/{name}"));
        let user = User { name, uid, home };
        let runtime = user.home.join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        std::os::unix::fs::chown(&runtime, Some(uid), Some(uid)).unwrap();
        user
    }

    /// The user's first subordinate uid (its container's uid 1).
    fn subuid_start(&self) -> u32 {
        let text = std::fs::read_to_string("/etc/subuid").unwrap();
        text.lines()
            .find_map(|l| {
                let mut f = l.split(':');
                (f.next() == Some(self.name.as_str())).then(|| f.next().unwrap().parse().unwrap())
            })
            .expect("useradd gave the user subordinate ids")
    }

    /// A file the user owns in its home, copied from `from`.
    fn give(&self, from: &Path, name: &str) -> PathBuf {
        let to = self.home.join(name);
        std::fs::copy(from, &to).unwrap();
        std::os::unix::fs::chown(&to, Some(self.uid), Some(self.uid)).unwrap();
        to
    }

    /// `berth ARGS` as the user, in a clean environment.
    fn berth(&self, args: &[&str]) -> Run {
        let out = Command::new("runuser")
            .args(["-u", &self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!(
                "XDG_RUNTIME_DIR={}",
                self.home.join("run").display()
            ))
            .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(bin())
            .args(args)
            .current_dir(&self.home)
            .output()
            .expect("runuser");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let r = self.berth(args);
        assert_eq!(
            r.code, 0,
            "berth {args:?} as {}: {}{}",
            self.name, r.stdout, r.stderr
        );
        r.stdout
    }

    /// A user with busybox:latest imported from its own copy of the tar.
    fn with_busybox() -> User {
        let user = User::new();
        let tar = user.give(busybox_tar(), "busybox.tar");
        user.ok(&[
            "import",
            "-c",
            "CMD [\"sh\"]",
            tar.to_str().unwrap(),
            "busybox:latest",
        ]);
        user
    }

    /// The user's state root (XDG's default).
    fn root(&self) -> PathBuf {
        self.home.join(".local/share/berth")
    }
}

impl Drop for User {
    fn drop(&mut self) {
        let ids = self.berth(&["ps", "-aq"]).stdout;
        for id in ids.split_whitespace() {
            self.berth(&["rm", "-f", id]);
        }
        // Whatever the user still runs (its namespace's holder, pasta),
        // by pid: the user exists for this test alone.
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if entry.metadata().is_ok_and(|m| m.uid() == self.uid) {
                // SAFETY: a signal to a process of the test's own user.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = Command::new("userdel")
            .args(["-r", "-f", &self.name])
            .output();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

#[test]
fn rootless_run_layers_volumes_binds_and_images() {
    let user = User::with_busybox();
    // The container's root is the user; its uid 1000 is in the user's range.
    let bind = user.home.join("bind");
    std::fs::create_dir(&bind).unwrap();
    std::fs::write(bind.join("mine"), "the user's\n").unwrap();
    std::os::unix::fs::chown(&bind, Some(user.uid), Some(user.uid)).unwrap();
    let bind_spec = format!("{}:/b", bind.display());
    let out = user.ok(&[
        "run", "--rm", "-v", &bind_spec, "busybox", "sh", "-c",
        "cat /b/mine; id -u; echo root > /b/by-root; echo other > /b/by-1000; chown 1000:1000 /b/by-1000",
    ]);
    assert_eq!(out, "the user's\n0\n");
    let owner = |name: &str| std::fs::metadata(bind.join(name)).unwrap().uid();
    assert_eq!(owner("by-root"), user.uid);
    assert_eq!(owner("by-1000"), user.subuid_start() + 999);

    // A writable layer, kept across starts; the state is under XDG's default.
    user.ok(&[
        "run",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo layer > /layer; rm -rf /home",
    ]);
    assert!(user.root().join("berth.db").exists());
    let layer_file = user.root().join("containers");
    assert!(std::fs::read_dir(&layer_file).unwrap().count() == 1);
    user.ok(&["start", "-a", "c1"]);

    // cp both ways, commit (the deleted directory stays deleted), save/load.
    let host_file = user.home.join("from-host");
    std::fs::write(&host_file, "from host\n").unwrap();
    std::os::unix::fs::chown(&host_file, Some(user.uid), Some(user.uid)).unwrap();
    user.ok(&["cp", host_file.to_str().unwrap(), "c1:/from-host"]);
    user.ok(&["cp", "c1:/layer", "layer.out"]);
    assert_eq!(
        std::fs::read_to_string(user.home.join("layer.out")).unwrap(),
        "layer\n"
    );
    user.ok(&["commit", "c1", "img1"]);
    let check = [
        "run",
        "--rm",
        "img1",
        "sh",
        "-c",
        "cat /layer /from-host; test -e /home || echo no-home",
    ];
    assert_eq!(user.ok(&check), "layer\nfrom host\nno-home\n");
    user.ok(&["save", "-o", "img1.tar", "img1"]);
    user.ok(&["rmi", "img1"]);
    assert!(user.ok(&["load", "-i", "img1.tar"]).contains("img1:latest"));
    assert_eq!(user.ok(&check), "layer\nfrom host\nno-home\n");

    // Named and anonymous volumes, --volumes-from, read-only mounts.
    user.ok(&[
        "run",
        "--rm",
        "-v",
        "v1:/v",
        "busybox",
        "sh",
        "-c",
        "echo named > /v/f",
    ]);
    assert_eq!(
        user.ok(&["run", "--rm", "-v", "v1:/v:ro", "busybox", "cat", "/v/f"]),
        "named\n"
    );
    let ro = user.berth(&["run", "--rm", "-v", "v1:/v:ro", "busybox", "touch", "/v/g"]);
    assert!(
        ro.code != 0 && ro.stderr.contains("Read-only file system"),
        "{}",
        ro.stderr
    );
    let ro = user.berth(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert!(
        ro.code != 0 && ro.stderr.contains("Read-only file system"),
        "{}",
        ro.stderr
    );
    user.ok(&["create", "--name", "src", "-v", "/data", "busybox", "true"]);
    user.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "src",
        "busybox",
        "sh",
        "-c",
        "echo shared > /data/x",
    ]);
    let out = user.ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "src:ro",
        "busybox",
        "cat",
        "/data/x",
    ]);
    assert_eq!(out, "shared\n");
}

#[test]
fn rootless_limits_are_refused_and_nothing_is_created() {
    let user = User::with_busybox();
    for flags in [
        &["-m", "64m"][..],
        &["--cpus", "1"],
        &["--pids-limit", "10"],
    ] {
        let mut args = vec!["run", "--name", "limited"];
        args.extend(flags);
        args.extend(["busybox", "true"]);
        let r = user.berth(&args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("rootless berth has no delegated cgroup"),
            "{}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert_eq!(user.ok(&["ps", "-aq"]), "");
    }
    let r = user.berth(&["network", "create", "mynet"]);
    assert!(
        r.code != 0 && r.stderr.contains("rootless berth has no bridge networks"),
        "{}",
        r.stderr
    );
}

#[test]
fn rootless_published_port_through_pasta() {
    let tun = std::fs::metadata("/dev/net/tun").expect("/dev/net/tun");
    assert_eq!(
        tun.mode() & 0o666,
        0o666,
        "pasta needs /dev/net/tun usable by every user (scripts/install-deps.sh sets 0666)"
    );
    let user = User::with_busybox();
    // The port is the test's until it hands it to berth.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let publish = format!("127.0.0.1:{port}:80");
    drop(held);
    user.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "while true; do echo hello-rootless | nc -l -p 80; done",
    ]);
    assert_eq!(
        user.ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let answer = loop {
        use std::io::Read;
        let mut got = String::new();
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.read_to_string(&mut got);
        }
        if got.contains("hello-rootless") || std::time::Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(answer, "hello-rootless\n");
    user.ok(&["rm", "-f", "web"]);
    // pasta went with the container: the port is free again.
    TcpListener::bind(("127.0.0.1", port)).expect("the published port is released");
}

#[test]
fn rootless_users_and_root_do_not_see_each_other() {
    let alice = User::with_busybox();
    let bob = User::new();
    let root = Berth::with_busybox();
    alice.ok(&["create", "--name", "alices", "busybox", "true"]);
    root.ok(&["create", "--name", "roots", "busybox", "true"]);
    assert_eq!(bob.ok(&["ps", "-a", "--format", "{{.Names}}"]), "");
    assert_eq!(
        alice.ok(&["ps", "-a", "--format", "{{.Names}}"]),
        "alices\n"
    );
    assert_eq!(root.ok(&["ps", "-a", "--format", "{{.Names}}"]), "roots");
    // Another's root is out of reach, whoever's it is.
    for other in [alice.root(), root.root.path().to_path_buf()] {
        let r = bob.berth(&["--root", other.to_str().unwrap(), "ps", "-a"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("Permission denied"), "{}", r.stderr);
    }
    let r = bob.berth(&["rm", "-f", "alices"]);
    assert!(r.stderr.contains("No such container"), "{}", r.stderr);
    assert_eq!(
        alice.ok(&["ps", "-a", "--format", "{{.Names}}"]),
        "alices\n"
    );
}

#[test]
fn rootless_without_subordinate_ids_says_what_to_add() {
    let user = User::new();
    let start = user.subuid_start();
    let range = format!("{start}-{}", start + 65535);
    let out = Command::new("usermod")
        .args(["--del-subuids", &range, "--del-subgids", &range, &user.name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = user.berth(&["run", "--rm", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "Error response from daemon: rootless berth needs subordinate ids for user {0}: add a \
             line such as \"{0}:100000:65536\" to /etc/subuid (any range not used by another user)",
            user.name
        )
    );
    assert!(!user.root().exists(), "nothing is created");
    assert!(!user.home.join("run/berth").exists(), "nothing is created");
}

#[test]
fn rootless_serve_answers_the_docker_cli_on_the_users_socket() {
    if Command::new("docker").arg("--version").output().is_err() {
        eprintln!("skipped: no docker CLI");
        return;
    }
    let user = User::with_busybox();
    let mut serve = Command::new("runuser")
        .args(["-u", &user.name, "--", "env", "-i"])
        .arg(format!("HOME={}", user.home.display()))
        .arg(format!(
            "XDG_RUNTIME_DIR={}",
            user.home.join("run").display()
        ))
        .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
        .arg(bin())
        .arg("serve")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let socket = user.home.join("run/berth.sock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !socket.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = Command::new("docker")
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args([
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo via docker; id -u",
        ])
        .output()
        .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "via docker\n0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
