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

/// The `PATH` the user's berth runs with.
const STANDARD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

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
        self.berth_on(STANDARD_PATH, args)
    }

    /// [`User::berth`] with `PATH` set to `path`.
    fn berth_on(&self, path: &str, args: &[&str]) -> Run {
        let out = Command::new("runuser")
            .args(["-u", &self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!(
                "XDG_RUNTIME_DIR={}",
                self.home.join("run").display()
            ))
            .arg(format!("PATH={path}"))
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
        self.ok_on(STANDARD_PATH, args)
    }

    fn ok_on(&self, path: &str, args: &[&str]) -> String {
        let r = self.berth_on(path, args);
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
    let port = free_port();
    serve_greeting(&user, STANDARD_PATH, port, "hello-rootless");
    assert_eq!(
        user.ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(answer(port, "hello-rootless"), "hello-rootless\n");
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

/// What the published port `port` on 127.0.0.1 answers, waiting (10s at
/// most) until it says `expected`.
fn answer(port: u16, expected: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        use std::io::Read;
        let mut got = String::new();
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.read_to_string(&mut got);
        }
        if got.contains(expected) || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Runs container `web` answering `greeting` on its port 80, published on
/// 127.0.0.1:`port`, with `PATH` set to `path`.
fn serve_greeting(user: &User, path: &str, port: u16, greeting: &str) {
    let publish = format!("127.0.0.1:{port}:80");
    let script = format!("while true; do echo {greeting} | nc -l -p 80; done");
    user.ok_on(
        path,
        &[
            "run", "-d", "--name", "web", "-p", &publish, "busybox", "sh", "-c", &script,
        ],
    );
}

/// A free port on 127.0.0.1, the test's until it hands it to berth.
fn free_port() -> u16 {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    held.local_addr().unwrap().port()
}

/// The IPv4 address the host resolves `name` to through its resolvers.
fn host_resolves(name: &str) -> String {
    let out = Command::new("getent")
        .args(["ahostsv4", name])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("the host resolves no address for {name}: the test needs one"))
        .to_string()
}

/// The name the DNS tests resolve: one the host's resolvers answer.
const RESOLVED_NAME: &str = "deb.debian.org";

/// Processes of `uid` whose command name is `comm`.
fn processes_of(uid: u32, comm: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == comm))
        .count()
}

#[test]
fn rootless_build_runs_copies_and_switches_user() {
    let user = User::with_busybox();
    let ctx = user.home.join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\n\
         RUN echo 'app:x:1234:1234::/:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group \\\n\
         \x20 && mkdir /data && echo built > /data/f && chown 1234:1234 /data/f\n\
         COPY hello.txt /hello.txt\n\
         COPY --chown=app:app hello.txt /hello-app.txt\n\
         USER app\n\
         RUN id -u > /tmp/who && cat /data/f\n\
         CMD [\"cat\", \"/hello.txt\"]\n",
    )
    .unwrap();
    std::fs::write(ctx.join("hello.txt"), "hi\n").unwrap();
    for path in [&ctx, &ctx.join("Dockerfile"), &ctx.join("hello.txt")] {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.uid)).unwrap();
    }
    let out = user.ok(&["build", "-t", "built", "ctx"]);
    assert!(out.contains("Successfully tagged built:latest"), "{out}");
    assert_eq!(user.ok(&["run", "--rm", "built"]), "hi\n");
    let check = "id -u; cat /tmp/who; stat -c %u:%g /data/f /hello.txt /hello-app.txt";
    assert_eq!(
        user.ok(&["run", "--rm", "built", "sh", "-c", check]),
        "1234\n1234\n1234:1234\n0:0\n1234:1234\n"
    );
    // The build's layers are unpacked in the user's range, as pulled ones.
    let owners: Vec<u32> = std::fs::read_dir(user.root().join("layers"))
        .unwrap()
        .flatten()
        .filter_map(|l| std::fs::metadata(l.path().join("data/f")).ok())
        .map(|m| m.uid())
        .collect();
    assert_eq!(owners, vec![user.subuid_start() + 1233]);
}

#[test]
fn rootless_without_pasta_falls_back_to_slirp4netns() {
    if Command::new("slirp4netns")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("slirp4netns is missing (scripts/install-deps.sh installs it)");
    }
    let user = User::with_busybox();
    // A PATH with everything of /usr/bin but pasta (and passt).
    let bin_dir = user.home.join("no-pasta");
    std::fs::create_dir(&bin_dir).unwrap();
    for entry in std::fs::read_dir("/usr/bin").unwrap().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with("pasta") && !name.starts_with("passt") {
            std::os::unix::fs::symlink(entry.path(), bin_dir.join(&*name)).unwrap();
        }
    }
    let path = format!("{}:/usr/sbin", bin_dir.display());
    let port = free_port();
    serve_greeting(&user, &path, port, "hello-slirp");
    assert_eq!(answer(port, "hello-slirp"), "hello-slirp\n");
    assert_eq!(processes_of(user.uid, "slirp4netns"), 1);
    assert_eq!(processes_of(user.uid, "pasta"), 0);
    // slirp4netns's network, and its DNS forwarder resolving as the host does.
    let addr = user.ok(&["exec", "web", "ip", "-4", "addr", "show", "tap0"]);
    assert!(addr.contains("10.0.2.100/24"), "{addr}");
    let out = user.ok_on(
        &path,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            &format!("cat /etc/resolv.conf; nslookup {RESOLVED_NAME}"),
        ],
    );
    assert!(out.contains("nameserver 10.0.2.3"), "{out}");
    assert!(out.contains(&host_resolves(RESOLVED_NAME)), "{out}");
    user.ok(&["rm", "-f", "web"]);
    // Ended by SIGTERM: it goes within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while processes_of(user.uid, "slirp4netns") > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(processes_of(user.uid, "slirp4netns"), 0);
    TcpListener::bind(("127.0.0.1", port)).expect("the published port is released");
}

#[test]
fn rootless_containers_resolve_names_and_share_the_hosts_network() {
    let user = User::with_busybox();
    // The default network (pasta): the host's resolvers answer.
    let out = user.ok(&["run", "--rm", "busybox", "nslookup", RESOLVED_NAME]);
    assert!(out.contains(&host_resolves(RESOLVED_NAME)), "{out}");
    // --network host: the host's interfaces, names and hostname.
    let host_addrs = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["-4", "-o", "addr", "show", "scope", "global"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    let first = host_addrs
        .split_whitespace()
        .find(|w| w.contains('/') && w.contains('.'))
        .expect("the host has a global IPv4 address")
        .to_string();
    let script = format!("nslookup {RESOLVED_NAME}; ip -4 -o addr; hostname; cat /etc/hosts");
    let out = user.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.contains(&host_resolves(RESOLVED_NAME)), "{out}");
    assert!(out.contains(&first), "{first} in {out}");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert!(out.contains(&format!("\n{}\n", hostname.trim())), "{out}");
    assert!(
        out.ends_with(&std::fs::read_to_string("/etc/hosts").unwrap()),
        "{out}"
    );
}

#[test]
fn rootless_userns_modes_are_refused_with_nothing_created() {
    let user = User::with_busybox();
    for mode in ["auto", "auto:size=1024", "keep-id"] {
        let userns = format!("--userns={mode}");
        let r = user.berth(&["run", "--rm", "-v", "data:/d", &userns, "busybox", "true"]);
        assert_eq!(r.code, 125, "{mode}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "{userns} refused: rootless berth's containers run in the user's own namespace"
            )),
            "{}",
            r.stderr
        );
    }
    assert_eq!(user.ok(&["ps", "-aq"]), "");
    assert_eq!(user.ok(&["volume", "ls", "-q"]), "");
    // `host` is what every rootless container gets, named or not.
    assert_eq!(
        user.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--userns=host",
            "busybox",
            "id",
            "-u"
        ]),
        "0\n"
    );
}

#[test]
fn rootless_without_user_namespaces_names_the_setting() {
    let user = User::new();
    let gid = Command::new("id")
        .args(["-g", &user.name])
        .output()
        .unwrap();
    let gid = String::from_utf8_lossy(&gid.stdout).trim().to_string();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", &user.uid.to_string(), "--regid", &gid])
        .args(["--init-groups", "env", "-i"])
        .arg(format!("HOME={}", user.home.display()))
        .arg(format!(
            "XDG_RUNTIME_DIR={}",
            user.home.join("run").display()
        ))
        .arg(format!("PATH={STANDARD_PATH}"))
        .arg(bin())
        .args(["run", "--rm", "busybox", "true"])
        .current_dir(&user.home);
    let r = common::no_userns::run(&cmd);
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr.trim(),
        "Error response from daemon: rootless berth needs a user namespace, and the kernel \
         allows none here: user.max_user_namespaces is 0 (sysctl -w user.max_user_namespaces=N \
         allows N)"
    );
    assert!(!user.root().exists(), "nothing is created");
    assert!(!user.home.join("run/berth").exists(), "nothing is created");
}
