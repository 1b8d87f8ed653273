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
    // rm releases the range: the next container takes it again.
    b.ok(&["rm", "-f", "ua"]);
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
    assert_eq!(map_of(&b, "uc", "uid_map"), (a.0, 1024));
    b.ok(&["rm", "-f", "ub", "uc"]);
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
    b.ok(&[
        "run",
        "-d",
        "--name",
        "after",
        "--network",
        "none",
        "--userns=auto",
        "busybox",
        "sleep",
        "300",
    ]);
    let first = map_of(&b, "after", "uid_map").0;
    b.ok(&["rm", "-f", "after"]);
    // The pool's first range was free: nothing held it after the crash.
    let pool_start: u64 = std::fs::read_to_string("/etc/subuid")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("berth:"))
        .and_then(|rest| rest.split(':').next()?.parse().ok())
        .unwrap();
    assert_eq!(first, pool_start);
    b.ok(&["system", "check"]);
}
