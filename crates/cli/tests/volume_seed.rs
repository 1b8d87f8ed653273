//! Re-seeding volumes from an image (`volume diff VOL IMAGE:PATH`, `volume
//! seed VOL IMAGE:PATH [--only-missing | --overwrite] [--pause]`): what a
//! user changed is listed and kept unless asked, the image's owners and
//! modes come along, a symlink in the volume is never followed, and running
//! writers refuse it unless frozen.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use common::Berth;

/// `app:1`: /srv/conf with `a` (1234:55, 0640), `b` and `d/x`, in a layer of
/// its own above busybox.
fn app_image(b: &Berth) {
    b.ok(&[
        "run",
        "--name",
        "mk",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /srv/conf/d && echo a1 > /srv/conf/a && echo b1 > /srv/conf/b \
         && echo x1 > /srv/conf/d/x && chown 1234:55 /srv/conf/a && chmod 640 /srv/conf/a",
    ]);
    b.ok(&["commit", "mk", "app:1"]);
    b.ok(&["rm", "mk"]);
}

/// A volume seeded from app:1 at its first mount; returns its data directory.
fn seeded_volume(b: &Berth, name: &str) -> PathBuf {
    b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &format!("{name}:/srv/conf"),
        "app:1",
        "true",
    ]);
    PathBuf::from(b.ok(&["volume", "inspect", name, "-f", "{{.Mountpoint}}"]))
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn only_missing_keeps_user_files_and_overwrite_replaces_them() {
    let b = Berth::with_busybox();
    app_image(&b);
    let data = seeded_volume(&b, "conf");
    assert_eq!(b.ok(&["volume", "diff", "conf", "app:1:/srv/conf"]), "");
    std::fs::write(data.join("a"), "user a\n").unwrap();
    std::fs::remove_file(data.join("b")).unwrap();
    std::fs::remove_dir_all(data.join("d")).unwrap();
    std::fs::write(data.join("mine"), "user\n").unwrap();
    assert_eq!(
        lines(&b.ok(&["volume", "diff", "conf", "app:1:/srv/conf"])),
        ["C /a", "D /b", "D /d", "A /mine"]
    );
    // The default is --only-missing.
    assert_eq!(
        lines(&b.ok(&["volume", "seed", "conf", "app:1:/srv/conf"])),
        ["added /b", "added /d"]
    );
    assert_eq!(std::fs::read_to_string(data.join("a")).unwrap(), "user a\n");
    assert_eq!(std::fs::read_to_string(data.join("d/x")).unwrap(), "x1\n");
    assert_eq!(
        lines(&b.ok(&["volume", "diff", "conf", "app:1:/srv/conf"])),
        ["C /a", "A /mine"]
    );
    assert_eq!(
        lines(&b.ok(&["volume", "seed", "--overwrite", "conf", "app:1:/srv/conf"])),
        ["replaced /a"]
    );
    let a = std::fs::metadata(data.join("a")).unwrap();
    assert_eq!(std::fs::read_to_string(data.join("a")).unwrap(), "a1\n");
    assert_eq!((a.uid(), a.gid(), a.mode() & 0o7777), (1234, 55, 0o640));
    assert_eq!(
        std::fs::read_to_string(data.join("mine")).unwrap(),
        "user\n"
    );
    assert_eq!(
        b.ok(&["volume", "diff", "conf", "app:1:/srv/conf"]),
        "A /mine"
    );
    // What a container sees.
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "conf:/c",
        "busybox",
        "cat",
        "/c/a",
        "/c/b",
    ]);
    assert_eq!(out, "a1\nb1");
}

#[test]
fn a_symlink_in_the_volume_is_never_followed() {
    let b = Berth::with_busybox();
    app_image(&b);
    let data = seeded_volume(&b, "conf");
    let outside = tempfile::tempdir().unwrap();
    std::fs::remove_dir_all(data.join("d")).unwrap();
    std::os::unix::fs::symlink(outside.path(), data.join("d")).unwrap();
    std::fs::remove_file(data.join("a")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("a"), data.join("a")).unwrap();
    assert_eq!(
        lines(&b.ok(&["volume", "diff", "conf", "app:1:/srv/conf"])),
        ["C /a", "C /d"]
    );
    // Only what is missing: the links are the user's and stay.
    assert_eq!(b.ok(&["volume", "seed", "conf", "app:1:/srv/conf"]), "");
    assert!(std::fs::symlink_metadata(data.join("d"))
        .unwrap()
        .is_symlink());
    // Replaced: the links themselves, never what they point at.
    assert_eq!(
        lines(&b.ok(&["volume", "seed", "--overwrite", "conf", "app:1:/srv/conf"])),
        ["replaced /a", "replaced /d"]
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read_to_string(data.join("d/x")).unwrap(), "x1\n");
    assert_eq!(std::fs::read_to_string(data.join("a")).unwrap(), "a1\n");
    assert_eq!(b.ok(&["volume", "diff", "conf", "app:1:/srv/conf"]), "");
}

#[test]
fn running_writers_refuse_a_seed_unless_paused() {
    let b = Berth::with_busybox();
    app_image(&b);
    let data = seeded_volume(&b, "conf");
    std::fs::remove_file(data.join("b")).unwrap();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "writer",
        "--network",
        "none",
        "-v",
        "conf:/c",
        "busybox",
        "sleep",
        "60",
    ]);
    let r = b.fails(&["volume", "seed", "conf", "app:1:/srv/conf"]);
    assert!(
        r.stderr.contains("running containers [writer]") && r.stderr.contains("--pause"),
        "{}",
        r.stderr
    );
    assert!(!data.join("b").exists());
    assert_eq!(
        b.ok(&["volume", "seed", "--pause", "conf", "app:1:/srv/conf"]),
        "added /b"
    );
    assert_eq!(
        b.ok(&["inspect", "-f", "{{.State.Status}}", "writer"]),
        "running"
    );
    assert_eq!(b.ok(&["exec", "writer", "cat", "/c/b"]), "b1");
    b.ok(&["rm", "-f", "writer"]);
}

#[test]
fn bad_sources_are_refused_and_change_nothing() {
    let b = Berth::with_busybox();
    app_image(&b);
    let data = seeded_volume(&b, "conf");
    std::fs::remove_file(data.join("b")).unwrap();
    for (args, want) in [
        (
            vec!["volume", "seed", "conf", "app:1:srv/conf"],
            "is not IMAGE:PATH with an absolute PATH",
        ),
        (
            vec!["volume", "seed", "conf", "app:1:/srv/missing"],
            "app:1:/srv/missing: no such directory in the image",
        ),
        (
            vec!["volume", "diff", "conf", "nosuch:/srv"],
            "No such image: nosuch:latest",
        ),
        (
            vec!["volume", "seed", "nosuch", "app:1:/srv/conf"],
            "no such volume",
        ),
        (
            vec![
                "volume",
                "seed",
                "--only-missing",
                "--overwrite",
                "conf",
                "app:1:/srv/conf",
            ],
            "cannot be used with",
        ),
    ] {
        let r = b.fails(&args);
        assert!(
            r.stderr.to_lowercase().contains(&want.to_lowercase()),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(!data.join("b").exists());
}
