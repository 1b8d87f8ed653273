//! One root, one format: a root a newer berth used is refused by every
//! command with one line and exit status 125, nothing changed; an older
//! root is migrated in one transaction (a migration that fails leaves it
//! at its old version, whole). And one `berth serve` per root, as one
//! dockerd per data root: a second is refused naming the first's pid,
//! the CLI works alongside, and a killed server frees the root.

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use berth_store::rusqlite::Connection;
use common::Berth;

fn db(b: &Berth) -> Connection {
    Connection::open(b.path().join("berth.db")).unwrap()
}

fn user_version(conn: &Connection) -> i64 {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// Every path under `dir` with its size, mode and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, u32, i64, i64)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        out.push((
            path.clone(),
            meta.len(),
            meta.mode(),
            meta.mtime(),
            meta.mtime_nsec(),
        ));
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                todo.push(entry.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_root_of_a_newer_berth_is_refused_unchanged() {
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "vv"]);
    b.ok(&["create", "--name", "c1", "busybox", "true"]);
    let conn = db(&b);
    let newer = user_version(&conn) + 1;
    conn.pragma_update(None, "user_version", newer).unwrap();
    drop(conn);
    let before = snapshot(b.path());
    let socket = b.path().join("api.sock");
    let socket_arg = format!("unix://{}", socket.display());
    let commands: [&[&str]; 6] = [
        &["ps", "-a"],
        &["volume", "ls"],
        &["run", "--rm", "busybox", "true"],
        &["rm", "-f", "c1"],
        &["system", "check", "--repair"],
        &["serve", "-H", &socket_arg],
    ];
    for args in commands {
        let r = b.run(args);
        assert_eq!(r.code, 125, "{args:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "this state root was used by a newer berth (schema version {newer}"
            )) && r.stderr.contains("refusing to open it"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(!socket.exists());
    assert_eq!(snapshot(b.path()), before, "the root changed");
    // Back at its own version (as the newer berth would leave it after a
    // downgrade of its own), the root is whole.
    db(&b)
        .pragma_update(None, "user_version", newer - 1)
        .unwrap();
    assert_eq!(b.ok(&["ps", "-aq"]).lines().count(), 1);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "vv");
}

/// Undoes migrations 5 and 6 (network configs and endpoint settings; the
/// health column) of a fresh root: the root an older berth left. With
/// `keep_health`, migration 6 will fail (its column is there already).
fn make_version_4(b: &Berth, keep_health: bool) {
    let conn = db(b);
    let mut sql = String::from(
        "ALTER TABLE networks DROP COLUMN config;
         ALTER TABLE container_networks ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
         ALTER TABLE container_networks ADD COLUMN ipv4 TEXT NOT NULL DEFAULT '';
         ALTER TABLE container_networks DROP COLUMN settings;
         ALTER TABLE endpoints DROP COLUMN ipv6;
         ALTER TABLE endpoints DROP COLUMN settings;",
    );
    if !keep_health {
        sql.push_str("ALTER TABLE containers DROP COLUMN health;");
    }
    conn.execute_batch(&sql).unwrap();
    conn.pragma_update(None, "user_version", 4).unwrap();
}

fn has_column(conn: &Connection, table: &str, column: &str) -> bool {
    conn.prepare(&format!("SELECT {column} FROM {table} LIMIT 0"))
        .is_ok()
}

#[test]
fn an_older_root_is_migrated_in_one_transaction() {
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "vv"]);
    let latest = user_version(&db(&b));
    make_version_4(&b, false);
    b.ok(&["volume", "ls"]);
    let conn = db(&b);
    assert_eq!(user_version(&conn), latest);
    assert!(has_column(&conn, "networks", "config"));
    assert!(has_column(&conn, "containers", "health"));
    drop(conn);
    assert_eq!(
        b.ok(&["run", "--rm", "-v", "vv:/data", "busybox", "echo", "ok"]),
        "ok"
    );
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "vv");

    // Migration 6 fails after 5 succeeded: neither stays.
    let b = Berth::with_busybox();
    make_version_4(&b, true);
    let r = b.run(&["volume", "ls"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("duplicate column name: health"),
        "{}",
        r.stderr
    );
    let conn = db(&b);
    assert_eq!(user_version(&conn), 4);
    assert!(
        !has_column(&conn, "networks", "config"),
        "migration 5 stayed"
    );
}

/// `berth serve` on `socket`, up once the socket answers.
fn serve(b: &Berth, socket: &Path) -> Child {
    let mut child = b
        .command(&["serve", "-H", &format!("unix://{}", socket.display())])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("berth serve exited ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "berth serve did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn get(socket: &Path, path: &str) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn one_server_per_root_and_the_cli_alongside() {
    let b = Berth::with_busybox();
    let first_socket = b.path().join("first.sock");
    let second_socket = b.path().join("second.sock");
    let mut first = serve(&b, &first_socket);

    let r = b.run(&[
        "serve",
        "-H",
        &format!("unix://{}", second_socket.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "is already served by berth serve (pid {})",
            first.id()
        )),
        "{}",
        r.stderr
    );
    assert!(!second_socket.exists());

    // The CLI works alongside the server, and each sees what the other did.
    b.ok(&["create", "--name", "from-cli", "busybox", "true"]);
    b.ok(&["run", "--rm", "-v", "vv:/data", "busybox", "true"]);
    let listed = get(&first_socket, "/containers/json?all=1");
    assert!(listed.contains("\"/from-cli\""), "{listed}");
    let created = {
        let mut s = std::os::unix::net::UnixStream::connect(&first_socket).unwrap();
        let body = r#"{"Image":"busybox","Cmd":["true"]}"#;
        write!(
            s,
            "POST /containers/create?name=from-api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let names = b.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(names.lines().any(|n| n == "from-api"), "{names}");

    // A server killed outright frees the root for the next one.
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = serve(&b, &second_socket);
    assert!(get(&second_socket, "/_ping").ends_with("OK"));
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(second.id() as i32, libc::SIGTERM) };
    assert!(second.wait().unwrap().success());
    b.ok(&["rm", "from-cli", "from-api"]);
    let r = b.run(&["system", "check"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stdout);
}
