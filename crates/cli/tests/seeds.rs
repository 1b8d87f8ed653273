//! The seed documents' scenes, end to end, on images berth builds itself:
//! nginx serving a bind-mounted folder through a published port, PostgreSQL
//! keeping a database in a named volume across container replacement, and the
//! Dockerfile VOLUME and USER instructions.
//!
//! The nginx and postgres images come from images/*/Dockerfile, built by
//! scripts/make-server-images.sh (debootstrap + apt-get: a few minutes the
//! first time) into a shared root under the test directory, then saved once
//! and loaded into each test's own root. Reruns hit the build cache.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Berth;

fn test_dir() -> PathBuf {
    let dir = std::env::var_os("BERTH_TEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/berth-tests"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tar of `nginx:latest` and `postgres:15`, built once per machine (and
/// rebuilt from cache when the Dockerfiles change).
fn server_images_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        let dir = test_dir();
        // Test binaries run concurrently: one builds, the others wait.
        let lock = std::fs::File::create(dir.join("server-images.lock")).unwrap();
        // SAFETY: flock on an fd owned by `lock`, which lives until the end.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let root = dir.join("server-images-root");
        // Its RUN steps get a bridge and run directory of their own.
        let isolation = common::isolation::Isolation::acquire();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-server-images.sh");
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(&script)
            .arg("--berth")
            .arg(common::bin())
            .arg("--root")
            .arg(&root)
            .arg("--debian-tar")
            .arg(dir.join("debian-bookworm.tar"))
            .envs(isolation.env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make-server-images.sh failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("server images ready in {:?}", started.elapsed());
        // One tar, replaced atomically: a concurrent reader keeps the old one.
        let tar = dir.join("server-images.tar");
        let partial = dir.join(format!("server-images.tar.{}", std::process::id()));
        let saved = Command::new(common::bin())
            .arg("--root")
            .arg(&root)
            .envs(isolation.env())
            .args(["save", "-o"])
            .arg(&partial)
            .args(["nginx:latest", "postgres:15"])
            .output()
            .unwrap();
        assert!(
            saved.status.success(),
            "{}",
            String::from_utf8_lossy(&saved.stderr)
        );
        std::fs::rename(&partial, &tar).unwrap();
        drop(lock);
        tar
    })
}

fn with_server_images() -> Berth {
    let b = Berth::new();
    b.ok(&["load", "-i", server_images_tar().to_str().unwrap()]);
    b
}

/// GET / until the server answers (or 20 s pass); returns the body.
fn http_get(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut response = String::new();
            s.read_to_string(&mut response)?;
            Ok(response)
        })();
        match attempt {
            Ok(r) if r.starts_with("HTTP/1.1 200") => {
                return r
                    .split_once("\r\n\r\n")
                    .map(|x| x.1.to_string())
                    .unwrap_or_default()
            }
            other if Instant::now() > deadline => panic!("nginx did not answer: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

#[test]
fn nginx_serves_the_bind_mounted_folder_on_a_published_port() {
    let b = with_server_images();
    let html = tempfile::tempdir().unwrap();
    let page = "<h1>served from the host folder</h1>\n";
    std::fs::write(html.path().join("index.html"), page).unwrap();
    let volume = format!("{}:/usr/share/nginx/html", html.path().display());
    // A host port of berth's choosing: none another test could take first.
    b.ok(&[
        "run", "-d", "--name", "my-nginx", "-p", "80", "-v", &volume, "nginx",
    ]);
    let port: u16 = b
        .ok(&["port", "my-nginx", "80/tcp"])
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a published 80/tcp");
    assert_eq!(http_get(port), page);
    // The bind works both ways: a change on the host is served at once.
    std::fs::write(html.path().join("index.html"), "changed\n").unwrap();
    assert_eq!(http_get(port), "changed\n");
    b.ok(&["rm", "-f", "my-nginx"]);
}

/// Waits until the server in `name` accepts connections.
fn wait_for_postgres(b: &Berth, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.run(&["exec", name, "pg_isready", "-q"]).code != 0 {
        assert!(
            Instant::now() < deadline,
            "postgres in {name} never became ready: {}",
            b.run(&["logs", name]).stderr
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn postgres_keeps_its_database_in_a_named_volume_across_containers() {
    let b = with_server_images();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "my-postgres",
        "-e",
        "POSTGRES_PASSWORD=password",
        "-v",
        "mydata:/var/lib/postgresql/data",
        "postgres:15",
    ]);
    wait_for_postgres(&b, "my-postgres");
    // USER postgres: the server runs as postgres, not root.
    assert_eq!(
        b.ok(&["exec", "my-postgres", "stat", "-c", "%U", "/proc/1"]),
        "postgres"
    );
    let created = b.ok(&[
        "exec",
        "my-postgres",
        "psql",
        "-U",
        "postgres",
        "-c",
        "CREATE DATABASE mydb;",
    ]);
    assert_eq!(created, "CREATE DATABASE");
    b.ok(&["rm", "-f", "my-postgres"]);

    b.ok(&[
        "run",
        "-d",
        "--name",
        "my-postgres-2",
        "-e",
        "POSTGRES_PASSWORD=password",
        "-v",
        "mydata:/var/lib/postgresql/data",
        "postgres:15",
    ]);
    wait_for_postgres(&b, "my-postgres-2");
    let list = b.ok(&[
        "exec",
        "my-postgres-2",
        "psql",
        "-U",
        "postgres",
        "-c",
        "\\list",
    ]);
    assert!(
        list.lines().any(|l| l.trim_start().starts_with("mydb ")),
        "{list}"
    );
    // The named volume was reused: no second one was made for the data.
    let volumes = b.ok(&["volume", "ls", "-q"]);
    assert_eq!(volumes.lines().filter(|v| *v == "mydata").count(), 1);
    assert_eq!(volumes.lines().count(), 1, "{volumes}");
    b.ok(&["rm", "-f", "my-postgres-2"]);

    // Without a password an empty data directory is not initialised.
    let r = b.run(&["run", "--rm", "postgres:15"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("POSTGRES_PASSWORD"), "{}", r.stderr);
}

#[test]
fn dockerfile_volume_and_user_shape_containers() {
    let b = Berth::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nRUN mkdir /data && echo seeded > /data/seed && chown -R nobody /data\n\
         VOLUME /data\nUSER nobody\nCMD [\"sleep\", \"300\"]\n",
    )
    .unwrap();
    b.ok(&["build", "-t", "vol-user", ctx.path().to_str().unwrap()]);

    let one = b.ok(&["run", "-d", "vol-user"]);
    let two = b.ok(&["run", "-d", "vol-user"]);
    let volume_of = |id: &str| {
        b.ok(&[
            "inspect",
            id,
            "--format",
            "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}",
        ])
    };
    let (m1, m2) = (volume_of(&one), volume_of(&two));
    for m in [&m1, &m2] {
        let words: Vec<&str> = m.split(' ').collect();
        assert_eq!(words[0], "volume", "{m}");
        assert_eq!(words[1].len(), 64, "{m}");
        assert_eq!(words[2], "/data", "{m}");
    }
    assert_ne!(m1, m2, "each container has its own anonymous volume");
    // Each volume starts with the image's content and then diverges.
    b.ok(&["exec", &one, "sh", "-c", "echo one > /data/mine"]);
    assert_eq!(b.ok(&["exec", &two, "cat", "/data/seed"]), "seeded");
    assert_ne!(b.run(&["exec", &two, "cat", "/data/mine"]).code, 0);
    // USER: the process runs as nobody.
    assert_eq!(b.ok(&["exec", &one, "id", "-un"]), "nobody");
    assert_eq!(
        b.ok(&["exec", &one, "stat", "-c", "%u", "/proc/1"]),
        "65534"
    );
    // `rm -v` takes a container's anonymous volume with it.
    b.ok(&["rm", "-f", "-v", &one]);
    let volumes = b.ok(&["volume", "ls", "-q"]);
    assert_eq!(volumes.lines().count(), 1, "{volumes}");
    b.ok(&["rm", "-f", "-v", &two]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}
