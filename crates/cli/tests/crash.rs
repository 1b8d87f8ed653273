//! Crash safety, proven: for every named crash point (`BERTH_CRASH_AT=
//! op:point`, the process SIGKILLs itself there), the operation is crashed
//! there, the next ordinary command runs, and then `system check` must find
//! nothing, no volume data may be lost, and nothing of the container may be
//! left on the host (mounts under the root, network namespace — and with it
//! its veth —, address lease, runtime state, cgroups). Then a bounded
//! randomized kill -9 loop, and concurrency on one volume.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::crash::{assert_clean, assert_gone_from_host, crashed, killed_at, CRASH_AT};
use common::{mounts_under, Berth};

fn id_of(b: &Berth, name: &str) -> String {
    b.ok(&["inspect", "-f", "{{.Id}}", name])
}

/// The volume `keep` with a file in it, to prove no data is lost.
fn keep_volume(b: &Berth) {
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "keep:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
}

fn assert_kept(b: &Berth, at: &str) {
    let r = b.run(&[
        "run",
        "--rm",
        "-v",
        "keep:/data",
        "busybox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(
        r.stdout.trim(),
        "kept",
        "{at}: volume data lost: {}",
        r.stderr
    );
}

#[test]
fn create_crashed_at_any_point_leaves_no_orphan() {
    let b = Berth::with_busybox();
    for point in ["after-staging", "after-rename", "after-commit"] {
        let at = format!("create:{point}");
        killed_at(&b, &at, &["create", "--name", "c1", "busybox", "true"]);
        // The next command: a crashed create left no directory without a
        // record (after-rename) and no staging; the container exists
        // exactly when its record committed.
        let exists = b.run(&["inspect", "c1"]).code == 0;
        assert_eq!(exists, point == "after-commit", "{at}");
        let dirs = std::fs::read_dir(b.path().join("containers"))
            .unwrap()
            .count();
        assert_eq!(dirs, usize::from(exists), "{at}: container directories");
        assert_clean(&b, &at);
        b.run(&["rm", "-f", "c1"]);
        assert_clean(&b, &at);
    }
}

/// A create killed before its row commits leaves no anonymous volume: the
/// next command removes the ones it made (a named one stays, as Docker
/// keeps named volumes); one killed after its commit keeps its container's.
#[test]
fn create_crashed_before_its_commit_leaves_no_anonymous_volume() {
    let b = Berth::with_busybox();
    let anonymous = |b: &Berth| -> Vec<String> {
        b.ok(&["volume", "ls", "-q"])
            .lines()
            .filter(|v| v.len() == 64)
            .map(String::from)
            .collect()
    };
    for point in ["after-staging", "after-rename", "after-commit"] {
        let at = format!("create:{point}");
        let args = [
            "create",
            "--name",
            "c1",
            "-v",
            "/data",
            "-v",
            "named:/named",
            "busybox",
            "true",
        ];
        killed_at(&b, &at, &args);
        let left = anonymous(&b);
        let committed = point == "after-commit";
        assert_eq!(left.len(), usize::from(committed), "{at}: {left:?}");
        if committed {
            let mounts = b.ok(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", "c1"]);
            assert!(mounts.contains(&left[0]), "{at}: {mounts}");
        }
        assert!(
            b.ok(&["volume", "ls", "-q"]).lines().any(|v| v == "named"),
            "{at}"
        );
        assert_clean(&b, &at);
        b.run(&["rm", "-f", "-v", "c1"]);
        assert_eq!(anonymous(&b), Vec::<String>::new(), "{at}");
        b.ok(&["volume", "rm", "named"]);
        assert_clean(&b, &at);
    }
}

#[test]
fn a_monitor_killed_during_setup_leaves_nothing_after_rm_or_a_new_start() {
    let b = Berth::with_busybox();
    keep_volume(&b);
    for point in [
        "after-mount",
        "network-plugged",
        "after-network",
        "after-volumes",
        "after-runtime-create",
        "after-runtime-start",
    ] {
        let at = format!("start:{point}");
        for next in ["rm", "start"] {
            b.ok(&[
                "create",
                "--name",
                "c1",
                "-p",
                "80",
                "-v",
                "keep:/data",
                "busybox",
                "sleep",
                "60",
            ]);
            let id = id_of(&b, "c1");
            let status = crashed(&b, &at, &["start", "c1"]);
            assert!(!status.success(), "{at}: start did not fail");
            // What it left is found, before any command repairs it.
            let r = b.run(&["system", "check"]);
            assert_eq!(r.code, 1, "{at}: system check found nothing: {}", r.stdout);
            if next == "start" {
                b.ok(&["start", "c1"]);
                assert_eq!(b.ok(&["exec", "c1", "cat", "/data/f"]), "kept", "{at}");
            }
            b.ok(&["rm", "-f", "c1"]);
            assert_clean(&b, &at);
            assert_gone_from_host(&b, &id, &at);
        }
    }
    assert_kept(&b, "start");
}

#[test]
fn a_monitor_killed_before_its_cleanup_is_reconciled() {
    for at in ["exit:before-cleanup", "exit:ports-removed"] {
        killed_before_cleanup(at);
    }
}

fn killed_before_cleanup(at: &str) {
    let b = Berth::with_busybox();
    let status = crashed(
        &b,
        at,
        &["run", "-d", "--name", "c1", "-p", "80", "busybox", "true"],
    );
    assert!(status.success(), "{at}");
    let id = id_of(&b, "c1");
    // The monitor records the exit before its cleanup: wait until it is
    // gone (killed at the crash point), then the next command sees that
    // and repairs the container.
    let lock = b.path().join("containers").join(&id).join("monitor.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while berth_store::FileLock::is_held(&lock) {
        assert!(Instant::now() < deadline, "{at}: the monitor never died");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Status}}", "c1"]),
        "exited",
        "{at}"
    );
    assert_clean(&b, at);
    b.ok(&["rm", "c1"]);
    assert_clean(&b, at);
    assert_gone_from_host(&b, &id, at);
}

/// `--rm`: the run hears the exit once the container is gone from `ps -a`
/// and its name is free, before its directory (moved to the monitor's
/// staging) is deleted. A monitor killed in between leaves that directory
/// to the next command's sweep.
#[test]
fn a_run_rm_killed_before_deleting_its_layer_leaves_nothing() {
    let b = Berth::with_busybox();
    let at = "exit:before-trash";
    let id = b.ok(&[
        "create", "--rm", "--name", "c1", "busybox", "sh", "-c", "exit 3",
    ]);
    let status = crashed(&b, at, &["start", "-a", "c1"]);
    assert_eq!(status.code(), Some(3), "{at}");
    // Told before the deletion: the directory is still in the staging.
    let trash = || {
        std::fs::read_dir(b.path().join("tmp"))
            .unwrap()
            .flatten()
            .filter(|own| own.path().join(format!("removed-{id}")).exists())
            .count()
    };
    assert_eq!(trash(), 1, "{at}: the exit came after the deletion");
    // The monitor dies at the crash point; the next command sweeps its
    // staging once its lock is gone with it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert_eq!(b.ok(&["ps", "-aq"]), "", "{at}");
        if trash() == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{at}: the directory stayed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_clean(&b, at);
    assert_gone_from_host(&b, &id, at);
    b.ok(&["run", "--rm", "--name", "c1", "busybox", "true"]);
    assert_eq!(b.ok(&["ps", "-aq"]), "", "{at}");
}

#[test]
fn stop_and_rm_crashed_at_any_point_are_finished_by_the_next_rm() {
    let b = Berth::with_busybox();
    keep_volume(&b);
    let points = [
        ("stop", "after-mark"),
        ("stop", "after-signal"),
        ("rm", "after-mark"),
        ("rm", "after-teardown"),
        ("rm", "after-move"),
        ("rm", "after-delete-row"),
    ];
    for (op, point) in points {
        let at = format!("{op}:{point}");
        b.ok(&[
            "run",
            "-d",
            "--name",
            "c1",
            "-p",
            "80",
            "-v",
            "keep:/data",
            "busybox",
            "sleep",
            "60",
        ]);
        let id = id_of(&b, "c1");
        let args: &[&str] = if op == "stop" {
            &["stop", "-t", "0", "c1"]
        } else {
            &["rm", "-f", "c1"]
        };
        killed_at(&b, &at, args);
        // Gone already (after-delete-row) or removed now.
        b.run(&["rm", "-f", "c1"]);
        assert_eq!(b.ok(&["ps", "-aq"]), "", "{at}");
        assert_clean(&b, &at);
        assert_gone_from_host(&b, &id, &at);
    }
    assert_kept(&b, "stop/rm");
}

#[test]
fn volume_operations_crashed_at_any_point_lose_no_data() {
    let b = Berth::with_busybox();
    let at = "volume-create:after-rename";
    killed_at(&b, at, &["volume", "create", "vv"]);
    b.ok(&["volume", "create", "vv"]);
    assert_clean(&b, at);

    for point in ["after-trash", "after-commit"] {
        let at = format!("volume-rm:{point}");
        b.ok(&[
            "run",
            "--rm",
            "-v",
            "ww:/data",
            "busybox",
            "sh",
            "-c",
            "echo kept > /data/f",
        ]);
        killed_at(&b, &at, &["volume", "rm", "ww"]);
        // Before its commit the removal is rolled back, data and all.
        let listed = b.ok(&["volume", "ls", "-q"]);
        assert_eq!(
            listed.lines().any(|l| l == "ww"),
            point == "after-trash",
            "{at}"
        );
        if point == "after-trash" {
            let r = b.run(&["run", "--rm", "-v", "ww:/data", "busybox", "cat", "/data/f"]);
            assert_eq!(r.stdout.trim(), "kept", "{at}");
            b.ok(&["volume", "rm", "ww"]);
        }
        assert_clean(&b, &at);
    }

    let at = "volume-prune:after-one";
    b.ok(&["volume", "create", "p1"]);
    b.ok(&["volume", "create", "p2"]);
    killed_at(&b, at, &["volume", "prune", "-af"]);
    b.ok(&["volume", "prune", "-af"]);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "", "{at}");
    assert_clean(&b, at);
}

#[test]
fn a_volume_directory_without_a_record_is_registered_again_never_deleted() {
    let b = Berth::new();
    b.ok(&["volume", "create", "vv"]);
    std::fs::write(b.path().join("volumes/vv/_data/f"), "data").unwrap();
    // A database that lost the row (restored from an older copy, say).
    let r = b.run(&["volume", "create", "empty"]);
    assert_eq!(r.code, 0);
    let db = b.path().join("berth.db");
    let conn = berth_store::rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM volumes WHERE name IN ('vv', 'empty')", [])
        .unwrap();
    drop(conn);
    let r = b.run(&["system", "check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("volume vv: directory without a record (holds data)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("volume empty: directory without a record (empty)"),
        "{}",
        r.stdout
    );
    let r = b.run(&["system", "check", "--repair"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.ends_with("(repaired)"))
            .count(),
        2
    );
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "vv");
    assert_eq!(
        std::fs::read_to_string(b.path().join("volumes/vv/_data/f")).unwrap(),
        "data"
    );
    assert_clean(&b, "volume orphans");
}

#[test]
fn image_and_network_operations_crashed_at_any_point_are_redone_cleanly() {
    let b = Berth::with_busybox();
    let tar = common::busybox_tar().to_str().unwrap().to_string();
    let at = "import:before-rows";
    killed_at(&b, at, &["import", &tar, "imported"]);
    b.ok(&["import", &tar, "imported"]);
    assert_clean(&b, at);

    let archive = b.path().join("saved.tar");
    let archive = archive.to_str().unwrap();
    b.ok(&["save", "-o", archive, "busybox"]);
    b.ok(&["rmi", "busybox", "imported"]);
    for point in ["after-spool", "before-rows"] {
        let at = format!("load:{point}");
        killed_at(&b, &at, &["load", "-i", archive]);
        b.ok(&["load", "-i", archive]);
        assert_clean(&b, &at);
        b.ok(&["rmi", "busybox"]);
        b.ok(&["load", "-i", archive]);
    }

    let at = "commit:before-rows";
    b.ok(&[
        "run",
        "--name",
        "c1",
        "busybox",
        "sh",
        "-c",
        "echo x > /made",
    ]);
    killed_at(&b, at, &["commit", "c1", "committed"]);
    b.ok(&["commit", "c1", "committed"]);
    b.ok(&["rm", "c1"]);
    assert_clean(&b, at);

    let at = "network-create:before-commit";
    killed_at(&b, at, &["network", "create", "n"]);
    b.ok(&["network", "create", "n"]);
    assert_clean(&b, at);
    let at = "network-rm:before-commit";
    killed_at(&b, at, &["network", "rm", "n"]);
    b.ok(&["network", "rm", "n"]);
    assert_clean(&b, at);
}

/// A `network connect` of a running container killed after its commit,
/// before the interface is plugged, is undone by the next command: the
/// record and the container's namespace agree, no lease of it is left, and
/// the same connect then works.
#[test]
fn network_connect_crashed_before_the_plug_is_undone() {
    let b = Berth::with_busybox();
    b.ok(&["network", "create", "n1"]);
    b.ok(&["run", "-d", "--name", "c1", "busybox", "sleep", "60"]);
    let id = id_of(&b, "c1");
    let networks = |b: &Berth| -> Vec<String> {
        let json = b.ok(&["inspect", "-f", "{{json .NetworkSettings.Networks}}", "c1"]);
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
        map.keys().cloned().collect()
    };
    let interfaces = |b: &Berth| -> Vec<String> {
        let out = b.ok(&["exec", "c1", "ls", "/sys/class/net"]);
        out.split_whitespace().map(String::from).collect()
    };
    let netns = b.run_dir().join("netns").join(&id);
    let leases = || -> usize {
        let all = std::fs::read_dir("/run/berth/leases")
            .into_iter()
            .flatten()
            .flatten();
        all.flat_map(|bridge| {
            std::fs::read_dir(bridge.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|l| std::fs::read_to_string(l.path()).is_ok_and(|o| Path::new(&o) == netns))
        .count()
    };
    let at = "network-connect:after-commit";
    killed_at(&b, at, &["network", "connect", "n1", "c1"]);
    assert_eq!(networks(&b), ["bridge"], "{at}");
    assert_eq!(interfaces(&b), ["eth0", "lo"], "{at}");
    assert_eq!(leases(), 1, "{at}: leases of the container");
    assert_clean(&b, at);
    b.ok(&["network", "connect", "n1", "c1"]);
    assert_eq!(networks(&b), ["bridge", "n1"], "{at}");
    assert_eq!(interfaces(&b), ["eth0", "eth1", "lo"], "{at}");
    assert_eq!(leases(), 2, "{at}: leases of the container");
    b.ok(&["rm", "-f", "c1"]);
    b.ok(&["network", "rm", "n1"]);
    assert_clean(&b, at);
}

/// Every kind of leftover `system check` knows, made by hand, is found and
/// repaired.
#[test]
fn system_check_repairs_what_it_finds() {
    let b = Berth::with_busybox();
    b.ok(&["create", "--name", "c1", "busybox", "true"]);
    let id = id_of(&b, "c1");
    // A directory without a row, a row without a directory, dead staging.
    std::fs::create_dir_all(b.path().join("containers").join("f".repeat(64))).unwrap();
    std::fs::rename(
        b.path().join("containers").join(&id),
        b.path().join("moved"),
    )
    .unwrap();
    std::fs::create_dir_all(b.path().join("tmp/own-dead/layer-x")).unwrap();
    std::fs::write(b.path().join("tmp/own-dead.lock"), "").unwrap();
    // A blob nothing refers to.
    std::fs::write(b.path().join("blobs/sha256").join("0".repeat(64)), "x").unwrap();
    let r = b.run(&["system", "check", "--quick"]);
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("directory without a record")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("container {id}: record without a directory"))),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("referred to by nothing")),
        "{lines:?}"
    );
    // The staging was removed by the command's own opening of the root.
    assert!(!b.path().join("tmp/own-dead").exists());
    let r = b.run(&["system", "check", "--repair"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.lines().all(|l| l.ends_with("(repaired)")),
        "{}",
        r.stdout
    );
    assert_clean(&b, "repair");
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

/// Randomized kill -9 of commands at random moments (and monitors at
/// random setup steps) for a bounded time; afterwards, once the next
/// commands ran, `system check` finds nothing and no volume data is lost.
#[test]
fn random_kills_leave_a_consistent_root() {
    let b = Berth::with_busybox();
    keep_volume(&b);
    let monitor_points = [
        "",
        "",
        "start:after-mount",
        "start:network-plugged",
        "start:after-network",
        "start:after-volumes",
        "start:after-runtime-create",
        "start:after-runtime-start",
        "exit:before-cleanup",
    ];
    let ops: [&[&str]; 8] = [
        &[
            "run",
            "-d",
            "-v",
            "keep:/data",
            "busybox",
            "sh",
            "-c",
            "cat /data/f",
        ],
        &[
            "run",
            "--rm",
            "-v",
            "scratch:/data",
            "busybox",
            "sh",
            "-c",
            "echo x >> /data/log",
        ],
        &["create", "-p", "80", "busybox", "true"],
        &["volume", "create", "scratch"],
        &["volume", "rm", "-f", "scratch"],
        &["rm", "-f", "victim"],
        &[
            "run", "-d", "--name", "victim", "-p", "80", "busybox", "sleep", "60",
        ],
        &["commit", "victim", "snap"],
    ];
    let seconds: u64 = std::env::var("BERTH_CRASH_LOOP_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut rounds = 0;
    while Instant::now() < deadline {
        rounds += 1;
        let r: u64 = rand_u64();
        let op = ops[(r % ops.len() as u64) as usize];
        let at = monitor_points[((r >> 8) % monitor_points.len() as u64) as usize];
        let mut child = b
            .command(op)
            .env(CRASH_AT, at)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis((r >> 16) % 120));
        let _ = child.kill();
        let _ = child.wait();
    }
    // The next commands: everything removed as a user would.
    // (`run --rm` monitors may be removing theirs meanwhile.)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids = b.ok(&["ps", "-aq", "--no-trunc"]);
        if ids.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "containers left: {ids}");
        for id in ids.lines() {
            b.run(&["rm", "-f", id]);
        }
    }
    let _ = b.run(&["volume", "rm", "-f", "scratch"]);
    assert_clean(&b, &format!("after {rounds} random kills"));
    assert_eq!(mounts_under(b.path()), Vec::<String>::new());
    assert_kept(&b, "random kills");
}

fn rand_u64() -> u64 {
    let mut buf = [0u8; 8];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .unwrap();
    u64::from_le_bytes(buf)
}

/// 50 `run --rm -v vol:/data` at once on one volume, while `ps` and
/// `volume rm` (refused: in use) run alongside; then parallel `rm -f`.
#[test]
fn parallel_runs_on_one_volume_and_parallel_removals_stay_consistent() {
    let b = Berth::with_busybox();
    let spawn = |args: &[&str]| {
        b.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let runs: Vec<_> = (0..50)
        .map(|i| {
            let line = format!("echo {i} >> /data/log");
            spawn(&[
                "run",
                "--rm",
                "-v",
                "shared:/data",
                "busybox",
                "sh",
                "-c",
                &line,
            ])
        })
        .collect();
    let side: Vec<_> = (0..10)
        .flat_map(|_| [spawn(&["ps", "-a"]), spawn(&["volume", "rm", "shared"])])
        .collect();
    for child in runs {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut removed = 0;
    for child in side {
        let out = child.wait_with_output().unwrap();
        removed += usize::from(out.status.success() && out.stdout.starts_with(b"shared"));
    }
    // Every line whole and once; all 50 unless a `volume rm` got in between
    // two runs (then a fresh volume holds the later ones).
    let log = b.ok(&[
        "run",
        "--rm",
        "-v",
        "shared:/data",
        "busybox",
        "cat",
        "/data/log",
    ]);
    let mut lines: Vec<u32> = log
        .lines()
        .map(|l| l.parse().expect("a whole line"))
        .collect();
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), log.lines().count(), "a line twice");
    if removed == 0 {
        assert_eq!(lines, (0..50).collect::<Vec<u32>>());
    }
    assert_clean(&b, "parallel runs");

    for i in 0..20 {
        b.ok(&[
            "create",
            "--name",
            &format!("p{i}"),
            "-v",
            "shared:/data",
            "busybox",
            "true",
        ]);
    }
    let removals: Vec<_> = (0..20)
        .flat_map(|i| {
            let name = format!("p{i}");
            // Each container twice at once: one removal wins, one finds it gone or busy.
            [
                spawn(&["rm", "-f", &name]),
                spawn(&["rm", "-f", &name]),
                spawn(&["ps", "-a"]),
            ]
        })
        .chain((0..5).map(|_| spawn(&["volume", "rm", "shared"])))
        .collect();
    for child in removals {
        child.wait_with_output().unwrap();
    }
    let left = b.ok(&["ps", "-aq"]);
    for id in left.lines() {
        b.ok(&["rm", "-f", id]);
    }
    assert_clean(&b, "parallel removals");
    assert_eq!(mounts_under(b.path()), Vec::<String>::new());
}
