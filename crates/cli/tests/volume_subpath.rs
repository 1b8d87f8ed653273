//! Volume subpaths (`--mount type=volume,...,volume-subpath=a/b`, Docker 26):
//! what a container sees, and every way out of the volume refused with
//! dockerd's words, nothing created and nothing of the volume lost.

mod common;

use std::path::PathBuf;

use common::Berth;

fn volume_with_tree(b: &Berth, name: &str) -> PathBuf {
    b.ok(&["volume", "create", name]);
    let data = PathBuf::from(b.ok(&["volume", "inspect", name, "-f", "{{.Mountpoint}}"]));
    std::fs::create_dir_all(data.join("a/b")).unwrap();
    std::fs::write(data.join("a/b/f"), "in-subpath\n").unwrap();
    std::fs::write(data.join("top"), "at-root\n").unwrap();
    data
}

fn mount(volume: &str, subpath: &str) -> String {
    format!("type=volume,src={volume},dst=/x,volume-subpath={subpath}")
}

#[test]
fn a_subpath_is_what_the_container_sees_and_writes() {
    let b = Berth::with_busybox();
    let data = volume_with_tree(&b, "subvol");
    let out = b.ok(&[
        "run",
        "--rm",
        "--mount",
        &mount("subvol", "a/b"),
        "busybox",
        "sh",
        "-c",
        "cat /x/f; ls /x; test -e /x/top || echo no-root; echo new > /x/g",
    ]);
    assert_eq!(out, "in-subpath\nf\nno-root");
    assert_eq!(
        std::fs::read_to_string(data.join("a/b/g")).unwrap(),
        "new\n"
    );
    // A file, read-only.
    let out = b.run(&[
        "run",
        "--rm",
        "--mount",
        &format!("{},readonly", mount("subvol", "a/b/f")),
        "busybox",
        "sh",
        "-c",
        "cat /x; echo over > /x",
    ]);
    assert_eq!(out.stdout, "in-subpath\n");
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(data.join("a/b/f")).unwrap(),
        "in-subpath\n"
    );
    // The staging mount is gone once the container runs (and after).
    assert!(common::mounts_under(b.path())
        .iter()
        .all(|m| !m.contains("subpaths")));
    // Inspect shows the request back, as dockerd.
    let id = b.ok(&["create", "--mount", &mount("subvol", "a/b"), "busybox"]);
    let hc = b.ok(&["inspect", &id, "-f", "{{json .HostConfig.Mounts}}"]);
    assert!(hc.contains(r#""Subpath":"a/b""#), "{hc}");
}

#[test]
fn escaping_or_missing_subpaths_are_refused_and_nothing_is_created() {
    let b = Berth::with_busybox();
    let data = volume_with_tree(&b, "subvol");
    std::os::unix::fs::symlink("/etc", data.join("to-etc")).unwrap();
    std::os::unix::fs::symlink("b", data.join("a/inside")).unwrap();
    let mountpoint = data.display().to_string();
    let cases: Vec<(&str, String)> = vec![
        (
            "../../../etc",
            "invalid mount config for type \"volume\": subpath must be a relative path within the volume".into(),
        ),
        (
            "/etc",
            "invalid mount config for type \"volume\": subpath must be a relative path within the volume".into(),
        ),
        (
            "missing",
            format!("cannot access path {mountpoint}/missing: no such file or directory"),
        ),
        (
            "to-etc",
            format!("cannot access path {mountpoint}/to-etc: too many levels of symbolic links"),
        ),
        // dockerd refuses every symlink on the way, even one that stays inside.
        (
            "a/inside/f",
            format!("cannot access path {mountpoint}/a/inside/f: too many levels of symbolic links"),
        ),
    ];
    for (subpath, want) in cases {
        let r = b.fails(&[
            "run",
            "--rm",
            "--mount",
            &mount("subvol", subpath),
            "busybox",
            "true",
        ]);
        assert_eq!(r.code, 125, "{subpath}: {}", r.stderr);
        assert!(r.stderr.contains(&want), "{subpath}: {}", r.stderr);
    }
    // A subpath of a volume that does not exist yet: refused, no volume made.
    let r = b.fails(&[
        "run",
        "--rm",
        "--mount",
        &mount("newvol", "a"),
        "busybox",
        "true",
    ]);
    assert!(r.stderr.contains("cannot access path"), "{}", r.stderr);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "subvol");
    assert_eq!(
        std::fs::read_to_string(data.join("a/b/f")).unwrap(),
        "in-subpath\n"
    );
}

/// The subpath is resolved again at each start, from a descriptor of the
/// volume: a directory swapped for a symlink after `create` never mounts
/// what it points at.
#[test]
fn a_subpath_swapped_for_a_symlink_after_create_is_refused_at_start() {
    let b = Berth::with_busybox();
    let data = volume_with_tree(&b, "subvol");
    let id = b.ok(&[
        "create",
        "--mount",
        &mount("subvol", "a/b"),
        "busybox",
        "ls",
        "/x",
    ]);
    std::fs::rename(data.join("a/b"), data.join("a/b.moved")).unwrap();
    std::os::unix::fs::symlink("/etc", data.join("a/b")).unwrap();
    let r = b.fails(&["start", "-a", &id]);
    assert!(
        r.stderr.contains("too many levels of symbolic links"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(!r.stdout.contains("passwd"), "{}", r.stdout);
    // Put back, it starts.
    std::fs::remove_file(data.join("a/b")).unwrap();
    std::fs::rename(data.join("a/b.moved"), data.join("a/b")).unwrap();
    assert_eq!(b.ok(&["start", "-a", &id]), "f");
}

/// `cp` into a stopped container writes where the container would see it:
/// into the subpath.
#[test]
fn cp_into_a_stopped_container_lands_in_the_subpath() {
    let b = Berth::with_busybox();
    let data = volume_with_tree(&b, "subvol");
    let id = b.ok(&["create", "--mount", &mount("subvol", "a/b"), "busybox"]);
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("copied"), "cp\n").unwrap();
    b.ok(&[
        "cp",
        host.path().join("copied").to_str().unwrap(),
        &format!("{id}:/x/copied"),
    ]);
    assert_eq!(
        std::fs::read_to_string(data.join("a/b/copied")).unwrap(),
        "cp\n"
    );
    assert!(!data.join("copied").exists());
}
