//! `--userns` (podman's rootful modes) and idmapped binds (`:idmap`, `:U`),
//! checked from inside the container and on the host.

mod common;

use std::os::unix::fs::MetadataExt;

use common::Berth;

fn owner(path: &std::path::Path) -> (u32, u32) {
    let m = std::fs::metadata(path).unwrap();
    (m.uid(), m.gid())
}

#[test]
fn unknown_modes_are_refused_in_docker_and_podman_words() {
    let b = Berth::with_busybox();
    let r = b.fails(&["run", "--rm", "--userns=private", "busybox", "true"]);
    assert!(
        r.stderr.contains("--userns: invalid USER mode"),
        "{}",
        r.stderr
    );
    let r = b.fails(&["run", "--rm", "--userns=nomap", "busybox", "true"]);
    assert!(
        r.stderr
            .contains("nomap is only supported in rootless mode"),
        "{}",
        r.stderr
    );
    let r = b.fails(&["create", "--userns=keep-id:uid=5", "busybox"]);
    assert!(r.stderr.contains("rootless"), "{}", r.stderr);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn a_missing_subuid_entry_is_refused_with_nothing_created() {
    let b = Berth::with_busybox();
    b.daemon_config(serde_json::json!({"userns-auto-user": "berth-test-no-such-pool"}));
    let r = b.fails(&["run", "--userns=auto", "-v", "/data", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("/etc/subuid")
            && r.stderr.contains("\"berth-test-no-such-pool:START:COUNT\""),
        "{}",
        r.stderr
    );
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn keep_id_runs_in_a_namespace_of_its_own_mapping_every_id_to_itself() {
    let b = Berth::with_busybox();
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--userns=keep-id",
        "busybox",
        "sh",
        "-c",
        "tr -s ' ' < /proc/self/uid_map; readlink /proc/self/ns/user",
    ]);
    let host_ns = std::fs::read_link("/proc/self/ns/user").unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0].trim(), "0 0 4294967295", "{out}");
    assert_ne!(lines[1], host_ns.to_str().unwrap(), "{out}");
    b.ok(&["create", "--name", "keep", "--userns=keep-id", "busybox"]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.UsernsMode}}", "keep"]),
        "keep-id"
    );
    b.ok(&["create", "--name", "hostns", "--userns=host", "busybox"]);
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.UsernsMode}}", "hostns"]),
        ""
    );
}

#[test]
fn an_idmapped_bind_shows_its_owner_as_root_and_root_writes_as_the_owner() {
    let b = Berth::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(dir.path(), Some(1234), Some(1235)).unwrap();
    let bind = format!("{}:/d:idmap", dir.path().display());
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "stat -c %u:%g /d; touch /d/f; stat -c %u:%g /d/f",
    ]);
    assert_eq!(out, "0:0\n0:0");
    assert_eq!(owner(&dir.path().join("f")), (1234, 1235));
    // Without :idmap the same write is root's on the host.
    let plain = format!("{}:/d", dir.path().display());
    b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &plain,
        "busybox",
        "touch",
        "/d/g",
    ]);
    assert_eq!(owner(&dir.path().join("g")), (0, 0));
}

#[test]
fn u_gives_a_volume_to_the_containers_user() {
    let b = Berth::with_busybox();
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        "1000:1001",
        "-v",
        "owned:/data:U",
        "busybox",
        "sh",
        "-c",
        "touch /data/x && stat -c %u:%g /data /data/x",
    ]);
    assert_eq!(out, "1000:1001\n1000:1001");
    let data = b.path().join("volumes/owned/_data");
    assert_eq!(owner(&data), (1000, 1001));
}

/// Makes sure berth's pool exists on this host (what an operator adds once).
fn ensure_pool() {
    for file in ["/etc/subuid", "/etc/subgid"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if !text.lines().any(|l| l.starts_with("berth:")) {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(file)
                .unwrap();
            f.write_all(b"berth:2147483647:2147483648\n").unwrap();
        }
    }
}

/// `(start, size)` of the first line of a running container's map.
fn map_of(b: &Berth, name: &str, file: &str) -> (u64, u64) {
    let pid = b.ok(&["inspect", "-f", "{{.State.Pid}}", name]);
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(fields.len(), 3, "{text}");
    assert_eq!(fields[0], 0, "{text}");
    (fields[1], fields[2])
}

fn du(path: &std::path::Path) -> String {
    let out = std::process::Command::new("du")
        .args(["-s", "--apparent-size"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn auto_containers_get_distinct_ranges_over_the_same_layers() {
    ensure_pool();
    let b = Berth::with_busybox();
    let layers = b.path().join("layers");
    let layers_before = du(&layers);
    for name in ["ua", "ub"] {
        run_auto(&b, name);
    }
    let (a, b_) = (map_of(&b, "ua", "uid_map"), map_of(&b, "ub", "uid_map"));
    assert_eq!(a.1, 65536);
    assert!(a.0 + a.1 <= b_.0 || b_.0 + b_.1 <= a.0, "{a:?} {b_:?}");
    assert_eq!(map_of(&b, "ua", "gid_map").1, 65536);
    assert_eq!(du(&layers), layers_before, "no layer copied or chowned");
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.HostConfig.UsernsMode}}", "ua"]),
        "auto"
    );
    // Inside: root, over image files owned by root.
    assert_eq!(
        b.ok(&[
            "exec",
            "ua",
            "sh",
            "-c",
            "id -u; stat -c %u /bin/sh; touch /made-here"
        ]),
        "0\n0"
    );
    let id = b.ok(&["inspect", "-f", "{{.Id}}", "ua"]);
    let made = b.path().join(format!("containers/{id}/diff/made-here"));
    assert_eq!(
        owner(&made),
        (a.0 as u32, map_of(&b, "ua", "gid_map").0 as u32)
    );
    // rm releases the range (other roots share the pool: the root's own
    // record is what tells).
    assert!(held(&b).contains(&(a.0 as u32)));
    b.ok(&["rm", "-f", "ua"]);
    assert_eq!(held(&b), vec![b_.0 as u32]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "uc",
        "--network",
        "none",
        "--userns=auto:size=1024",
        "busybox",
        "sleep",
        "300",
    ]);
    assert_eq!(map_of(&b, "uc", "uid_map").1, 1024);
    b.ok(&["rm", "-f", "ub", "uc"]);
    assert_eq!(held(&b), Vec::<u32>::new());
}

#[test]
fn what_an_auto_container_writes_to_a_volume_or_bind_is_roots_on_the_host() {
    ensure_pool();
    let b = Berth::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("{}:/b", dir.path().display());
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--userns=auto",
        "-v",
        "shared:/data",
        "-v",
        &bind,
        "--tmpfs",
        "/t",
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/f && touch /b/g /t/x && stat -c %u:%g /data/f /b/g /t/x",
    ]);
    assert_eq!(out, "0:0\n0:0\n0:0");
    assert_eq!(owner(&dir.path().join("g")), (0, 0));
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "shared:/data",
            "busybox",
            "stat",
            "-c",
            "%u:%g",
            "/data/f"
        ]),
        "0:0"
    );
}

#[test]
fn a_create_killed_before_its_row_leaks_no_range() {
    ensure_pool();
    let b = Berth::with_busybox();
    let r = b
        .command(&["create", "--userns=auto", "busybox"])
        .env("BERTH_CRASH_AT", "create:after-rename")
        .output()
        .unwrap();
    assert!(!r.status.success());
    b.ok(&["system", "check", "--repair"]);
    run_auto(&b, "after");
    // The crashed create holds nothing: the one range is the new container's.
    let first = map_of(&b, "after", "uid_map").0;
    assert_eq!(held(&b), vec![first as u32]);
    b.ok(&["rm", "-f", "after"]);
    assert_eq!(held(&b), Vec::<u32>::new());
    b.ok(&["system", "check"]);
}

/// The first uid of every range the root's containers hold, as recorded.
fn held(b: &Berth) -> Vec<u32> {
    use berth_store::rusqlite::{Connection, OpenFlags};
    let db =
        Connection::open_with_flags(b.path().join("berth.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = db
        .prepare("SELECT uid_start FROM container_userns ORDER BY uid_start")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// Runs an `auto` container `name` that sleeps, in root `b`.
fn run_auto(b: &Berth, name: &str) {
    b.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "none",
        "--userns=auto",
        "busybox",
        "sleep",
        "300",
    ]);
}

#[test]
fn two_roots_at_once_take_disjoint_ranges_of_the_one_pool() {
    ensure_pool();
    let roots = [Berth::with_busybox(), Berth::with_busybox()];
    std::thread::scope(|s| {
        for b in &roots {
            s.spawn(move || {
                for name in ["p1", "p2"] {
                    run_auto(b, name);
                }
            });
        }
    });
    let mut ranges = Vec::new();
    for b in &roots {
        for name in ["p1", "p2"] {
            ranges.push((map_of(b, name, "uid_map"), map_of(b, name, "gid_map")));
        }
    }
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            let apart = |x: (u64, u64), y: (u64, u64)| x.0 + x.1 <= y.0 || y.0 + y.1 <= x.0;
            assert!(apart(a.0, b.0) && apart(a.1, b.1), "{ranges:?}");
        }
    }
    for b in &roots {
        b.ok(&["rm", "-f", "p1", "p2"]);
    }
}

/// The uids of the `user:` entries of `dir`'s access ACL.
fn acl_users(dir: &std::path::Path) -> Vec<u32> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: a NUL-terminated path and a buffer of the length given.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"system.posix_acl_access".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 4 {
        return Vec::new();
    }
    buf[4..n as usize]
        .chunks_exact(8)
        .filter(|e| u16::from_le_bytes([e[0], e[1]]) == 0x02)
        .map(|e| u32::from_le_bytes([e[4], e[5], e[6], e[7]]))
        .collect()
}

#[test]
fn an_rm_killed_after_its_row_leaves_no_acl_entry_behind() {
    ensure_pool();
    let b = Berth::with_busybox();
    run_auto(&b, "ua");
    let uid = map_of(&b, "ua", "uid_map").0 as u32;
    let shared = [b.path().to_path_buf(), b.path().join("containers")];
    for dir in &shared {
        assert!(acl_users(dir).contains(&uid), "{}", dir.display());
    }
    common::crash::killed_at(&b, "rm:after-delete-row", &["rm", "-f", "ua"]);
    assert!(
        acl_users(b.path()).contains(&uid),
        "the crash left the entry"
    );
    // The next command takes it back.
    b.ok(&["ps", "-a"]);
    for dir in &shared {
        assert!(!acl_users(dir).contains(&uid), "{}", dir.display());
    }
    b.ok(&["system", "check"]);
}

#[test]
fn cp_export_and_commit_of_an_auto_container_carry_the_ids_it_sees() {
    ensure_pool();
    let b = Berth::with_busybox();
    run_auto(&b, "ua");
    let (start, _) = map_of(&b, "ua", "uid_map");
    b.ok(&[
        "exec",
        "ua",
        "sh",
        "-c",
        "echo r > /by-root; echo u > /by-1000; chown 1000:1000 /by-1000",
    ]);
    // cp in: the container's root owns what it receives, on disk its range's first id.
    let host_file = b.path().join("from-host");
    std::fs::write(&host_file, "from host\n").unwrap();
    b.ok(&["cp", host_file.to_str().unwrap(), "ua:/from-host"]);
    assert_eq!(
        b.ok(&["exec", "ua", "stat", "-c", "%u:%g", "/from-host"]),
        "0:0"
    );
    let id = b.ok(&["inspect", "-f", "{{.Id}}", "ua"]);
    let diff = b.path().join(format!("containers/{id}/diff"));
    assert_eq!(owner(&diff.join("from-host")).0 as u64, start);
    assert_eq!(owner(&diff.join("by-1000")).0 as u64, start + 1000);
    // cp out as a tar, and export: the ids the container sees.
    let owners = |tar: &[u8]| -> Vec<(String, u64)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                (name, e.header().uid().unwrap())
            })
            .collect()
    };
    let out = b.command(&["cp", "ua:/by-1000", "-"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(owners(&out.stdout), vec![("by-1000".to_string(), 1000)]);
    let out = b.command(&["export", "ua"]).output().unwrap();
    assert!(out.status.success());
    let exported = owners(&out.stdout);
    for (name, uid) in [
        ("by-root", 0),
        ("by-1000", 1000),
        ("from-host", 0),
        ("bin/sh", 0),
    ] {
        assert!(
            exported.contains(&(name.to_string(), uid)),
            "{name} as {uid}: {exported:?}"
        );
    }
    // commit: the image's layer, run in the host's ids, shows them too.
    b.ok(&["commit", "ua", "committed"]);
    assert_eq!(
        b.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "committed",
            "stat",
            "-c",
            "%u:%g",
            "/by-root",
            "/by-1000",
            "/from-host"
        ]),
        "0:0\n1000:1000\n0:0"
    );
    b.ok(&["rm", "-f", "ua"]);
}

#[test]
fn concurrent_starts_and_removals_keep_every_running_containers_acl_entry() {
    ensure_pool();
    let b = Berth::with_busybox();
    for name in ["gone1", "gone2"] {
        run_auto(&b, name);
    }
    let running = ["k1", "k2", "k3", "k4"];
    // Each start grants, each rm revokes, every command's open sweeps: all
    // read and rewrite the same two ACLs at once.
    std::thread::scope(|s| {
        for name in running {
            let b = &b;
            s.spawn(move || run_auto(b, name));
        }
        for name in ["gone1", "gone2"] {
            let b = &b;
            s.spawn(move || b.ok(&["rm", "-f", name]));
        }
    });
    let mut uids: Vec<u32> = running
        .iter()
        .map(|name| map_of(&b, name, "uid_map").0 as u32)
        .collect();
    uids.sort_unstable();
    for dir in [b.path().to_path_buf(), b.path().join("containers")] {
        let mut users = acl_users(&dir);
        users.sort_unstable();
        assert_eq!(users, uids, "{}", dir.display());
    }
    for name in running {
        assert_eq!(b.ok(&["exec", name, "id", "-u"]), "0");
    }
    b.ok(&["rm", "-f", "k1", "k2", "k3", "k4"]);
    assert_eq!(acl_users(b.path()), Vec::<u32>::new());
    assert_eq!(acl_users(&b.path().join("containers")), Vec::<u32>::new());
}

#[test]
fn a_kernel_without_user_namespaces_is_named_and_nothing_is_created() {
    ensure_pool();
    let b = Berth::with_busybox();
    for mode in ["auto", "keep-id"] {
        let userns = format!("--userns={mode}");
        let r = common::no_userns::run(
            &b.command(&["run", "--rm", "-v", "data:/d", &userns, "busybox", "true"]),
        );
        assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
        assert_eq!(
            r.stderr.trim(),
            format!(
                "Error response from daemon: {userns} needs a user namespace, and the kernel \
                 allows none here: user.max_user_namespaces is 0 (sysctl -w \
                 user.max_user_namespaces=N allows N)"
            )
        );
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    assert_eq!(held(&b), Vec::<u32>::new());
    // The host's own setting is untouched: the same run works here.
    b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--userns=auto",
        "busybox",
        "true",
    ]);
}
