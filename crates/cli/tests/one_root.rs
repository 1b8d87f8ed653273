//! One root, one format: a root a newer berth used is refused by every
//! command with one line and exit status 125, nothing changed; an older
//! root is migrated in one transaction (a migration that fails leaves it
//! at its old version, whole). And several `berth serve`s and the CLI on
//! one root stay consistent: racing on one name, one of them wins; what
//! one makes, the others see and may remove.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Child;

use berth_store::rusqlite::Connection;
use common::serve::{request, serve};
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

/// Undoes migrations 5 to 8 (network configs and endpoint settings; the
/// health column; image mounts; userns ranges) of a fresh root: the root an older berth left. With
/// `keep_health`, migration 6 will fail (its column is there already).
fn make_version_4(b: &Berth, keep_health: bool) {
    let conn = db(b);
    let mut sql = String::from(
        "ALTER TABLE networks DROP COLUMN config;
         ALTER TABLE container_networks ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
         ALTER TABLE container_networks ADD COLUMN ipv4 TEXT NOT NULL DEFAULT '';
         ALTER TABLE container_networks DROP COLUMN settings;
         ALTER TABLE endpoints DROP COLUMN ipv6;
         ALTER TABLE endpoints DROP COLUMN settings;
         DROP TABLE container_image_mounts;
         DROP TABLE container_userns;",
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

/// The container names a server lists (`GET /containers/json?all=1`).
fn names_listed(socket: &Path) -> Vec<String> {
    let (status, body) = request(socket, "GET", "/containers/json?all=1", "");
    assert_eq!(status, 200, "{body}");
    // A chunked body: the JSON array is the one line that starts with `[`.
    let json = body.lines().find(|l| l.starts_with('[')).unwrap_or(&body);
    let list: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    let mut names: Vec<String> = list
        .iter()
        .map(|c| {
            c["Names"][0]
                .as_str()
                .unwrap()
                .trim_start_matches('/')
                .to_string()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn servers_and_the_cli_share_a_root_consistently() {
    let b = Berth::with_busybox();
    let sockets = [b.path().join("a.sock"), b.path().join("b.sock")];
    let mut servers: Vec<Child> = sockets.iter().map(|s| serve(&b, s)).collect();
    let create = r#"{"Image":"busybox","Cmd":["true"]}"#;

    // Both servers and the CLI create at once, each its own names, and all
    // three race for one name: exactly one of them gets it.
    let mut expected = Vec::new();
    let outcomes = std::thread::scope(|scope| {
        let mut racers = Vec::new();
        for (side, socket) in ["a", "b"].iter().zip(&sockets) {
            racers.push(scope.spawn(move || {
                let mut won = 0;
                for i in 0..5 {
                    let path = format!("/containers/create?name={side}-{i}");
                    let (status, body) = request(socket, "POST", &path, create);
                    assert_eq!(status, 201, "{body}");
                }
                let (status, body) =
                    request(socket, "POST", "/containers/create?name=contested", create);
                match status {
                    201 => won += 1,
                    409 => {}
                    _ => panic!("{status} {body}"),
                }
                won
            }));
        }
        let b = &b;
        racers.push(scope.spawn(move || {
            for i in 0..5 {
                b.ok(&["create", "--name", &format!("cli-{i}"), "busybox", "true"]);
            }
            let r = b.run(&["create", "--name", "contested", "busybox", "true"]);
            match r.code {
                0 => 1,
                125 => {
                    assert!(r.stderr.contains("is already in use"), "{}", r.stderr);
                    0
                }
                code => panic!("create exited {code}: {}", r.stderr),
            }
        }));
        racers
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect::<Vec<i32>>()
    });
    assert_eq!(outcomes.iter().sum::<i32>(), 1, "{outcomes:?}");
    for side in ["a", "b", "cli"] {
        expected.extend((0..5).map(|i| format!("{side}-{i}")));
    }
    expected.push("contested".to_string());
    expected.sort();
    for socket in &sockets {
        assert_eq!(names_listed(socket), expected);
    }

    // What one made, another removes; all agree afterwards.
    for i in 0..5 {
        let (status, body) = request(&sockets[1], "DELETE", &format!("/containers/a-{i}"), "");
        assert_eq!(status, 204, "{body}");
        let (status, body) = request(&sockets[0], "DELETE", &format!("/containers/cli-{i}"), "");
        assert_eq!(status, 204, "{body}");
        b.ok(&["rm", &format!("b-{i}")]);
    }
    b.ok(&["rm", "contested"]);
    for socket in &sockets {
        assert_eq!(names_listed(socket), Vec::<String>::new());
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");

    // A server killed outright leaves the other serving.
    servers[0].kill().unwrap();
    servers[0].wait().unwrap();
    assert_eq!(request(&sockets[1], "GET", "/_ping", "").1, "OK");
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(servers[1].id() as i32, libc::SIGTERM) };
    assert!(servers[1].wait().unwrap().success());
    let r = b.run(&["system", "check"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stdout);
}
