//! pull / push / login / logout against Debian's `docker-registry`, started by
//! each test on a free loopback port with its storage in a temp dir: over
//! plain HTTP (loopback is insecure by default, as in dockerd), and over HTTPS
//! on [::1] (secure by default) with a CA made by openssl and htpasswd auth.
//! The docker interop test runs when dockerd answers (and must when
//! BERTH_REQUIRE_DOCKER=1).

mod common;

use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::registry::{require, Registry, RegistryOptions};
use common::{busybox_tar, Berth, Run};

/// Where credentials, CAs and the daemon config live for one test.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("certs.d")).unwrap();
        Env { dir }
    }

    fn vars(&self) -> HashMap<&'static str, PathBuf> {
        let d = self.dir.path();
        HashMap::from([
            ("HOME", d.join("home")),
            ("DOCKER_CONFIG", d.join("home/.docker")),
            ("BERTH_CERTS_D", d.join("certs.d")),
        ])
    }

    fn config_json(&self) -> PathBuf {
        self.dir.path().join("home/.docker/config.json")
    }

    fn certs_d(&self) -> PathBuf {
        self.dir.path().join("certs.d")
    }
}

fn berth(b: &Berth, env: &Env, args: &[&str]) -> Run {
    berth_stdin(b, env, args, None)
}

fn berth_stdin(b: &Berth, env: &Env, args: &[&str], input: Option<&str>) -> Run {
    use std::io::Write;
    let mut cmd = b.command(args);
    cmd.envs(env.vars())
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn berth");
    if let Some(input) = input {
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(b: &Berth, env: &Env, args: &[&str]) -> String {
    let r = berth(b, env, args);
    assert_eq!(
        r.code, 0,
        "berth {args:?} failed:\n{}{}",
        r.stdout, r.stderr
    );
    r.stdout
}

fn fails(b: &Berth, env: &Env, args: &[&str]) -> Run {
    let r = berth(b, env, args);
    assert_ne!(
        r.code, 0,
        "berth {args:?} unexpectedly succeeded:\n{}",
        r.stdout
    );
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected a one-line error, got:\n{}",
        r.stderr
    );
    r
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn image_field(b: &Berth, env: &Env, name: &str, format: &str) -> String {
    ok(b, env, &["image", "inspect", "-f", format, name])
        .trim()
        .to_string()
}

/// A root with busybox tagged as `REPO:TAG` for each of `tags`.
fn busybox_as(env: &Env, tags: &[&str]) -> Berth {
    let b = Berth::with_busybox();
    for t in tags {
        ok(&b, env, &["tag", "busybox:latest", t]);
    }
    b
}

#[test]
fn push_then_pull_over_plain_http() {
    let reg = Registry::start(RegistryOptions::default());
    let env = Env::new();
    let repo = format!("{}/busybox", reg.host);
    let latest = format!("{repo}:latest");
    let v2 = format!("{repo}:v2");
    let src = busybox_as(&env, &[&latest, &v2]);

    let out = ok(&src, &env, &["push", &repo]);
    assert!(out.starts_with("Using default tag: latest\n"), "{out}");
    assert!(
        out.contains(&format!("The push refers to repository [{repo}]")),
        "{out}"
    );
    assert!(out.contains(": Pushed\n"), "{out}");
    let digest_line = out
        .lines()
        .find(|l| l.starts_with("latest: digest: sha256:"))
        .unwrap();
    let digest = digest_line.split_whitespace().nth(2).unwrap().to_string();
    assert!(digest_line.contains(" size: "), "{digest_line}");
    // Pushing again uploads nothing.
    let again = ok(&src, &env, &["push", &v2]);
    assert!(again.contains(": Layer already exists\n"), "{again}");
    assert!(!again.contains(": Pushed"), "{again}");
    // The push recorded the repo digest.
    let digests = image_field(&src, &env, &latest, "{{json .RepoDigests}}");
    assert!(digests.contains(&format!("{repo}@{digest}")), "{digests}");

    let dst = Berth::new();
    let out = ok(&dst, &env, &["pull", &latest]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "latest: Pulling from busybox", "{out}");
    assert!(out.contains(": Pull complete\n"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {latest}\n")),
        "{out}"
    );
    assert_eq!(*lines.last().unwrap(), latest);
    for field in ["{{.Id}}", "{{json .RootFS}}", "{{json .Config.Cmd}}"] {
        assert_eq!(
            image_field(&src, &env, &latest, field),
            image_field(&dst, &env, &latest, field),
            "{field}"
        );
    }
    // The pulled layers are real: a container runs from them.
    assert_eq!(
        ok(&dst, &env, &["run", "--rm", &latest, "echo", "pulled"]).trim(),
        "pulled"
    );

    let out = ok(&dst, &env, &["pull", &latest]);
    assert!(out.contains(": Already exists\n"), "{out}");
    assert!(
        out.contains(&format!("Status: Image is up to date for {latest}\n")),
        "{out}"
    );

    // By digest, into another root.
    let by_digest = format!("{repo}@{digest}");
    let third = Berth::new();
    let out = ok(&third, &env, &["pull", &by_digest]);
    assert!(
        out.starts_with(&format!("{digest}: Pulling from busybox\n")),
        "{out}"
    );
    assert_eq!(
        image_field(&third, &env, &by_digest, "{{.Id}}"),
        image_field(&src, &env, &latest, "{{.Id}}")
    );

    // All tags.
    let fourth = Berth::new();
    let out = ok(&fourth, &env, &["pull", "-a", &repo]);
    assert!(out.contains("latest: Pulling from busybox\n"), "{out}");
    assert!(out.contains("v2: Pulling from busybox\n"), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {repo}\n")),
        "{out}"
    );
    let tags = ok(&fourth, &env, &["images", "--format", "{{.Tag}}", &repo]);
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["latest", "v2"]);

    // Bad input: unknown tag, -a with a tag, bad platform. Nothing is stored.
    let empty = Berth::new();
    let r = fails(&empty, &env, &["pull", &format!("{repo}:nope")]);
    assert!(
        r.stderr.contains(&format!(
            "manifest for {repo}:nope not found: manifest unknown"
        )),
        "{}",
        r.stderr
    );
    fails(&empty, &env, &["pull", "-a", &latest]);
    let r = fails(
        &empty,
        &env,
        &["pull", "--platform", "linux/arm64", &latest],
    );
    assert!(
        r.stderr.contains("does not match the specified platform"),
        "{}",
        r.stderr
    );
    assert_eq!(ok(&empty, &env, &["images", "-q"]).trim(), "");

    // A manifest whose bytes no longer match its digest.
    let manifest_file = reg.blob_file(&digest);
    let text = std::fs::read_to_string(&manifest_file).unwrap();
    // Same length: swap one digit of the config digest instead of adding bytes.
    let config_digest_pos = text.find("sha256:").unwrap() + 7;
    let mut bytes = text.into_bytes();
    bytes[config_digest_pos] = if bytes[config_digest_pos] == b'0' {
        b'1'
    } else {
        b'0'
    };
    std::fs::write(&manifest_file, &bytes).unwrap();
    let r = fails(&empty, &env, &["pull", &latest]);
    assert!(r.stderr.contains("digest mismatch"), "{}", r.stderr);
    assert_eq!(ok(&empty, &env, &["images", "-q"]).trim(), "");
}

#[test]
fn unreachable_registry_is_a_one_line_error() {
    let env = Env::new();
    let (_held, port) = refusing_port();
    let b = Berth::new();
    let r = fails(
        &b,
        &env,
        &["pull", &format!("127.0.0.1:{port}/nothing:here")],
    );
    assert!(
        r.stderr.to_lowercase().contains("connection refused"),
        "{}",
        r.stderr
    );
    assert_eq!(r.code, 1);
    let r = berth_stdin(
        &b,
        &env,
        &[
            "login",
            "-u",
            "a",
            "--password-stdin",
            &format!("127.0.0.1:{port}"),
        ],
        Some("b"),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.to_lowercase().contains("connection refused"),
        "{}",
        r.stderr
    );
    assert!(!env.config_json().exists());
}

/// A port of 127.0.0.1 that refuses connections for as long as the returned
/// socket lives: bound by the test (so nothing else can listen on it) but not
/// listening.
fn refusing_port() -> (OwnedFd, u16) {
    // SAFETY: socket(2) with constant arguments; the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    use std::os::fd::AsRawFd;
    // SAFETY: `addr` is a sockaddr_in of `len` bytes for both calls.
    unsafe {
        let at = &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr;
        assert_eq!(libc::bind(fd.as_raw_fd(), at, len), 0, "bind");
        assert_eq!(
            libc::getsockname(fd.as_raw_fd(), at, &mut len),
            0,
            "getsockname"
        );
    }
    (fd, u16::from_be(addr.sin_port))
}

/// A CA and a server certificate for ::1 and 127.0.0.1, made with openssl.
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    require("openssl", "openssl");
    let run = |args: &[&str]| {
        sh(Command::new("openssl").current_dir(dir).args(args));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=berth test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:::1,IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

#[test]
fn https_with_own_ca_and_htpasswd_login() {
    require("htpasswd", "apache2-utils");
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path());
    let htpasswd = certs.path().join("htpasswd");
    let entry = sh(Command::new("htpasswd").args(["-Bbn", "alice", "s3cret"]));
    std::fs::write(&htpasswd, entry).unwrap();
    let reg = Registry::start(RegistryOptions {
        ipv6: true,
        tls: Some((cert, key)),
        htpasswd: Some(htpasswd),
    });
    let env = Env::new();
    let host = reg.host.clone();
    let repo = format!("{host}/busybox");
    let latest = format!("{repo}:latest");
    let src = busybox_as(&env, &[&latest]);

    // [::1] is not insecure by default (dockerd's default is 127.0.0.0/8):
    // without the CA in certs.d the certificate is refused.
    let r = berth_stdin(
        &src,
        &env,
        &["login", "-u", "alice", "--password-stdin", &host],
        Some("s3cret"),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.to_lowercase().contains("certificate"),
        "{}",
        r.stderr
    );
    assert!(!env.config_json().exists());
    let ca_dir = env.certs_d().join(&host);
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(&ca, ca_dir.join("ca.crt")).unwrap();

    // Without credentials the registry says no.
    let r = fails(&src, &env, &["push", &latest]);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);

    // A wrong password fails and writes nothing.
    let r = berth_stdin(
        &src,
        &env,
        &["login", "-u", "alice", "--password-stdin", &host],
        Some("wrong\n"),
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("401 Unauthorized"), "{}", r.stderr);
    assert!(!env.config_json().exists());

    // The right one is stored as Docker stores it, mode 0600, other keys kept.
    std::fs::create_dir_all(env.config_json().parent().unwrap()).unwrap();
    std::fs::write(env.config_json(), r#"{"psFormat":"table {{.ID}}"}"#).unwrap();
    let r = berth_stdin(
        &src,
        &env,
        &["login", "-u", "alice", "--password-stdin", &host],
        Some("s3cret\n"),
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Login Succeeded"), "{}", r.stdout);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.config_json())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.config_json()).unwrap()).unwrap();
    assert_eq!(doc["auths"][&host]["auth"], "YWxpY2U6czNjcmV0"); // base64("alice:s3cret")
    assert_eq!(doc["psFormat"], "table {{.ID}}");

    let out = ok(&src, &env, &["push", &latest]);
    assert!(out.contains(": Pushed\n"), "{out}");
    let dst = Berth::new();
    let out = ok(&dst, &env, &["pull", &latest]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {latest}")),
        "{out}"
    );
    for field in ["{{.Id}}", "{{json .RootFS}}"] {
        assert_eq!(
            image_field(&src, &env, &latest, field),
            image_field(&dst, &env, &latest, field)
        );
    }

    // -p works too (with Docker's warning).
    let r = berth(&src, &env, &["login", "-u", "alice", "-p", "s3cret", &host]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Use --password-stdin"), "{}", r.stderr);

    let out = ok(&src, &env, &["logout", &host]);
    assert_eq!(out.trim(), format!("Removing login credentials for {host}"));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.config_json()).unwrap()).unwrap();
    assert!(doc["auths"].get(&host).is_none(), "{doc}");
    assert_eq!(doc["psFormat"], "table {{.ID}}");
    let out = ok(&src, &env, &["logout", &host]);
    assert_eq!(out.trim(), format!("Not logged in to {host}"));
    // Logged out: pulling is refused again, and nothing is stored.
    let third = Berth::new();
    let r = fails(&third, &env, &["pull", &latest]);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    assert_eq!(ok(&third, &env, &["images", "-q"]).trim(), "");
}

#[test]
fn interrupted_pull_keeps_finished_blobs_and_resumes() {
    let reg = Registry::start(RegistryOptions::default());
    let env = Env::new();
    let image = format!("{}/two-layers:latest", reg.host);
    let src = Berth::with_busybox();
    ok(
        &src,
        &env,
        &[
            "run",
            "--name",
            "maker",
            "busybox",
            "sh",
            "-c",
            "dd if=/dev/urandom of=/big bs=1M count=8 2>/dev/null",
        ],
    );
    ok(&src, &env, &["commit", "maker", &image]);
    ok(&src, &env, &["push", &image]);

    // Find the two layer blobs in the registry: the big one goes missing.
    let blobs_dir = reg.dir.path().join("data/docker/registry/v2/blobs/sha256");
    let mut blobs: Vec<(u64, String)> = Vec::new();
    for prefix in std::fs::read_dir(&blobs_dir).unwrap() {
        for blob in std::fs::read_dir(prefix.unwrap().path()).unwrap() {
            let blob = blob.unwrap();
            let size = std::fs::metadata(blob.path().join("data")).unwrap().len();
            blobs.push((
                size,
                format!("sha256:{}", blob.file_name().to_string_lossy()),
            ));
        }
    }
    blobs.sort();
    let big = blobs.last().unwrap().1.clone();
    let small = blobs[blobs.len() - 2].1.clone(); // busybox's layer
    let big_file = reg.blob_file(&big);
    let hidden = big_file.with_extension("hidden");
    std::fs::rename(&big_file, &hidden).unwrap();

    let dst = Berth::new();
    let r = fails(&dst, &env, &["pull", &image]);
    assert!(!r.stderr.is_empty());
    assert_eq!(
        ok(&dst, &env, &["images", "-q"]).trim(),
        "",
        "no image after a failed pull"
    );
    let small_hex = small.strip_prefix("sha256:").unwrap();
    assert!(
        dst.path().join("blobs/sha256").join(small_hex).is_file(),
        "the finished blob is kept"
    );
    let big_hex = big.strip_prefix("sha256:").unwrap();
    assert!(!dst.path().join("blobs/sha256").join(big_hex).exists());
    let layer_dirs = std::fs::read_dir(dst.path().join("layers"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(
        layer_dirs, 0,
        "no layer is unpacked before the image commits"
    );
    assert_eq!(reg.blob_gets(&small), 1);

    // The registry is back: the second pull fetches only what was missing.
    std::fs::rename(&hidden, &big_file).unwrap();
    let out = ok(&dst, &env, &["pull", &image]);
    assert!(
        out.contains(&format!("{}: Download complete", &small_hex[..12])),
        "{out}"
    );
    assert!(
        !out.contains(&format!("{}: Pulling fs layer", &small_hex[..12])),
        "{out}"
    );
    assert_eq!(
        reg.blob_gets(&small),
        1,
        "the kept blob is not downloaded again"
    );
    assert_eq!(reg.blob_gets(&big), 1);
    assert_eq!(
        image_field(&src, &env, &image, "{{.Id}}"),
        image_field(&dst, &env, &image, "{{.Id}}")
    );
    let size = ok(
        &dst,
        &env,
        &["run", "--rm", &image, "sh", "-c", "wc -c < /big"],
    );
    assert_eq!(size.trim(), (8 << 20).to_string());
}

fn docker_answers() -> bool {
    let answers = Command::new("docker")
        .args(["info", "--format", "{{.ID}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !answers && std::env::var("BERTH_REQUIRE_DOCKER").as_deref() == Ok("1") {
        panic!("BERTH_REQUIRE_DOCKER=1 but dockerd does not answer (scripts/start-dockerd.sh)");
    }
    answers
}

#[test]
fn images_travel_between_docker_and_berth() {
    if !docker_answers() {
        eprintln!("dockerd does not answer: docker interop not checked");
        return;
    }
    let reg = Registry::start(RegistryOptions::default());
    let env = Env::new();
    let suffix = std::process::id();
    let from_docker = format!("{}/from-docker:{suffix}", reg.host);
    let from_berth = format!("{}/from-berth:{suffix}", reg.host);
    let docker = |args: &[&str]| sh(Command::new("docker").args(args));

    // docker makes (gzip-compressed on push) and pushes; berth pulls.
    docker(&[
        "import",
        "-c",
        "CMD [\"sh\"]",
        busybox_tar().to_str().unwrap(),
        &from_docker,
    ]);
    docker(&["push", &from_docker]);
    let b = Berth::new();
    let out = ok(&b, &env, &["pull", &from_docker]);
    assert!(out.contains("Pull complete"), "{out}");
    let docker_id = docker(&["image", "inspect", "-f", "{{.Id}}", &from_docker]);
    assert_eq!(
        image_field(&b, &env, &from_docker, "{{.Id}}"),
        docker_id.trim()
    );
    assert_eq!(
        ok(&b, &env, &["run", "--rm", &from_docker, "echo", "ok"]).trim(),
        "ok"
    );

    // berth pushes; docker pulls and runs it.
    let src = busybox_as(&env, &[&from_berth]);
    ok(&src, &env, &["push", &from_berth]);
    docker(&["pull", &from_berth]);
    let docker_id = docker(&["image", "inspect", "-f", "{{.Id}}", &from_berth]);
    assert_eq!(
        image_field(&src, &env, &from_berth, "{{.Id}}"),
        docker_id.trim()
    );
    let echoed = docker(&["run", "--rm", &from_berth, "echo", "from berth"]);
    assert_eq!(echoed.trim(), "from berth");
    let _ = Command::new("docker")
        .args(["rmi", "-f", &from_docker, &from_berth])
        .output();
}
