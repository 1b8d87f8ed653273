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
    assert!(r.stderr.contains("--userns: invalid USER mode"), "{}", r.stderr);
    let r = b.fails(&["run", "--rm", "--userns=nomap", "busybox", "true"]);
    assert!(
        r.stderr.contains("nomap is only supported in rootless mode"),
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
    assert_eq!(b.ok(&["inspect", "-f", "{{.HostConfig.UsernsMode}}", "hostns"]), "");
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
    b.ok(&["run", "--rm", "--network", "none", "-v", &plain, "busybox", "touch", "/d/g"]);
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
