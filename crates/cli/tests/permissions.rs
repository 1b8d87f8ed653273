//! A private state root: another user on the host reads nothing under it —
//! not the database with every container's environment, a container's
//! config, logs, layers or root filesystem, nor the staging area — and
//! container ids do not show in `ps`. Containers still run as any user: they
//! reach their root filesystem through their own mount namespace.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::Berth;

/// Runs `argv` as the host's `nobody`; returns (success, stderr).
fn as_nobody(argv: &[&str]) -> (bool, String) {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(argv)
        .output()
        .expect("setpriv (util-linux)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o7777
}

#[test]
fn another_user_reads_nothing_under_the_state_root() {
    let b = Berth::with_busybox();
    let id = b.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "-e",
        "SECRET=hunter2",
        "-v",
        "vol:/data",
        "busybox",
        "sh",
        "-c",
        "echo logged-secret; echo x > /data/f; sleep 300",
    ]);
    let root = b.path();
    let dir = root.join("containers").join(&id);
    let layer = std::fs::read_dir(root.join("layers"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let staged = root.join("tmp/probe");
    std::fs::create_dir(&staged).unwrap();
    let log = dir.join(format!("{id}-json.log"));
    for _ in 0..50 {
        if std::fs::read_to_string(&log).is_ok_and(|l| l.contains("logged-secret")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Docker's modes: the root 0710 root:root, everything with content below it private.
    let meta = std::fs::metadata(root).unwrap();
    assert_eq!((mode(root), meta.uid(), meta.gid()), (0o710, 0, 0));
    for gate in ["blobs", "layers", "containers", "volumes", "tmp"] {
        assert_eq!(mode(&root.join(gate)), 0o700, "{gate}");
    }
    for db in ["berth.db", "berth.db-wal", "berth.db-shm"] {
        assert_eq!(mode(&root.join(db)), 0o600, "{db}");
    }
    assert_eq!(mode(&dir), 0o700);
    for record in [dir.join("config.json"), log.clone()] {
        assert_eq!(mode(&record), 0o600, "{}", record.display());
    }

    // And what another user gets when it tries, path by path.
    for path in [
        root.to_path_buf(),
        root.join("berth.db"),
        root.join("berth.db-wal"),
        dir.join("config.json"),
        log,
        dir.join("merged/etc/passwd"),
        dir.join("diff"),
        layer.clone(),
        layer.join("bin/busybox"),
        root.join("volumes/vol/_data/f"),
        staged,
    ] {
        let path = path.to_str().unwrap();
        let (listed, err) = as_nobody(&["ls", "-la", path]);
        assert!(
            !listed && err.contains("Permission denied"),
            "nobody could list {path}: {err}"
        );
        let (read, _) = as_nobody(&["cat", path]);
        assert!(!read, "nobody could read {path}");
    }
    // The secret is in the database and the config; neither is readable.
    let (grep, _) = as_nobody(&["grep", "-rq", "hunter2", root.to_str().unwrap()]);
    assert!(!grep);

    // Container ids are not on any command line (the monitor gets its id
    // in its environment, which only root can read).
    let ps = Command::new("ps")
        .args(["-eww", "-o", "args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains(&id), "{id} shows in ps");
    assert!(
        ps.lines().any(|l| l.contains("__monitor")),
        "no monitor in ps"
    );
}

#[test]
fn containers_run_as_any_user_behind_the_private_root() {
    let b = Berth::with_busybox();
    let host = tempfile::tempdir().unwrap();
    std::fs::set_permissions(host.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(host.path().join("in"), "from the host\n").unwrap();
    let bind = format!("{}:/bind", host.path().display());
    b.ok(&["volume", "create", "shared"]);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "shared:/vol",
        "busybox",
        "sh",
        "-c",
        "echo seeded > /vol/seed && chmod 777 /vol",
    ]);
    for user in ["1000", "1000:1000", "nobody"] {
        for extra in [&[][..], &["--read-only"][..]] {
            let mut args = vec![
                "run",
                "--rm",
                "--network",
                "none",
                "-u",
                user,
                "-v",
                "shared:/vol",
                "-v",
                &bind,
            ];
            args.extend(extra);
            args.extend([
                "busybox", "sh", "-c",
                "id -u; cat /etc/hosts /etc/hostname /etc/resolv.conf >/dev/null && ls / >/dev/null \
                 && cat /vol/seed /bind/in && echo w > /vol/w-$(id -u) && echo w > /bind/w-$(id -u) && echo done",
            ]);
            let out = b.ok(&args);
            assert!(
                out.ends_with("seeded\nfrom the host\ndone"),
                "-u {user} {extra:?}: {out}"
            );
        }
    }
    let id = b.ok(&[
        "run", "-d", "-u", "1000", "-w", "/tmp", "busybox", "sleep", "300",
    ]);
    assert_eq!(
        b.ok(&[
            "exec",
            &id,
            "sh",
            "-c",
            "id -u; pwd; touch /tmp/ok && echo ok"
        ]),
        "1000\n/tmp\nok"
    );
    assert_eq!(b.ok(&["exec", "-u", "nobody", &id, "id", "-u"]), "65534");
}

#[test]
fn a_root_made_by_an_earlier_version_is_tightened_when_opened() {
    let b = Berth::with_busybox();
    let id = b.ok(&["create", "-e", "SECRET=hunter2", "busybox"]);
    let root = b.path();
    let dir = root.join("containers").join(&id);
    // What earlier versions left.
    let loosen =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    loosen(root, 0o701);
    for gate in ["containers", "layers", "tmp", "blobs"] {
        loosen(&root.join(gate), 0o755);
    }
    loosen(&root.join("berth.db"), 0o644);
    loosen(&dir, 0o755);
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    loosen(&dir.join("config.json"), 0o644);

    b.ok(&["ps", "-a"]);
    assert_eq!(mode(root), 0o710);
    for gate in ["containers", "layers", "tmp", "blobs"] {
        assert_eq!(mode(&root.join(gate)), 0o700, "{gate}");
    }
    assert_eq!(mode(&root.join("berth.db")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("config.json")), 0o600);
    // The container still runs.
    b.ok(&["start", &id]);
}
