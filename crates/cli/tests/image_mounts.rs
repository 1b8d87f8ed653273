//! Image mounts (`--mount type=image,source=IMAGE,target=/x[,image-subpath=p]`,
//! Docker 28): an image's layers as a read-only overlay in the container, the
//! image held while a container uses it, subpaths resolved inside the image,
//! and nothing left on the host by a run or a killed monitor.

mod common;

use common::crash::{assert_clean, crashed};
use common::{mounts_under, Berth};

/// `app:1`: busybox plus a layer with /srv/conf (a file owned 1234:55, mode
/// 0640), a symlink out of it, and /bin/ash deleted (a whiteout).
fn layered_image(b: &Berth) {
    b.ok(&[
        "run",
        "--name",
        "mk",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /srv/conf/d && echo a1 > /srv/conf/a && echo x > /srv/conf/d/x \
         && chown 1234:55 /srv/conf/a && chmod 640 /srv/conf/a \
         && ln -s /etc /srv/to-etc && rm /bin/ash",
    ]);
    b.ok(&["commit", "mk", "app:1"]);
    b.ok(&["rm", "mk"]);
}

fn image_mount(extra: &str) -> String {
    format!("type=image,source=app:1,target=/img{extra}")
}

#[test]
fn an_image_mount_shows_the_image_read_only() {
    let b = Berth::with_busybox();
    layered_image(&b);
    let r = b.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        &image_mount(""),
        "busybox",
        "sh",
        "-c",
        "cat /img/srv/conf/a; stat -c '%u:%g %a' /img/srv/conf/a; \
         test -e /img/bin/ash || echo whited-out; test -e /bin/ash && echo own-ash; \
         grep ' /img ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; echo new > /img/srv/f",
    ]);
    assert_eq!(
        r.stdout, "a1\n1234:55 640\nwhited-out\nown-ash\nro\n",
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    // A subpath: only that directory.
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--mount",
        &image_mount(",image-subpath=srv/conf"),
        "busybox",
        "sh",
        "-c",
        "ls /img; touch /img/t 2>&1 | grep -c Read-only",
    ]);
    assert_eq!(out, "a\nd\n1");
    assert_eq!(mounts_under(b.path()), Vec::<String>::new());
    // Inspect: dockerd 28's shapes.
    let id = b.ok(&[
        "create",
        "--mount",
        &image_mount(",image-subpath=srv/conf"),
        "busybox",
    ]);
    assert_eq!(
        b.ok(&["inspect", &id, "-f", "{{json .Mounts}}"]),
        r#"[{"Type":"image","Name":"app:1","Source":"","Destination":"/img","Mode":"","RW":false,"Propagation":"rprivate"}]"#
    );
    assert_eq!(
        b.ok(&["inspect", &id, "-f", "{{json .HostConfig.Mounts}}"]),
        r#"[{"Type":"image","Source":"app:1","Target":"/img","ImageOptions":{"Subpath":"srv/conf"}}]"#
    );
}

#[test]
fn escaping_or_missing_image_subpaths_are_refused_and_nothing_is_created() {
    let b = Berth::with_busybox();
    layered_image(&b);
    let cases = [
        (
            image_mount(",image-subpath=../../etc"),
            "invalid mount config for type \"image\": subpath must be a relative path within the volume",
        ),
        (
            image_mount(",image-subpath=/etc"),
            "invalid mount config for type \"image\": subpath must be a relative path within the volume",
        ),
        (
            image_mount(",image-subpath=srv/missing"),
            "cannot access path app:1:/srv/missing: no such file or directory",
        ),
        // A symlink on the way, even one that stays inside the image.
        (
            image_mount(",image-subpath=srv/to-etc"),
            "cannot access path app:1:/srv/to-etc: too many levels of symbolic links",
        ),
        (
            "type=image,source=nosuch,target=/img".to_string(),
            "No such image: nosuch:latest",
        ),
        (
            "type=image,target=/img".to_string(),
            "invalid mount config for type \"image\": field Source must not be empty",
        ),
        (
            "type=volume,source=v,target=/img,image-subpath=a".to_string(),
            "cannot mix 'image-*' options with mount type 'volume'",
        ),
    ];
    for (mount, want) in cases {
        let r = b.fails(&["run", "--rm", "--mount", &mount, "busybox", "true"]);
        assert_eq!(r.code, 125, "{mount}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{mount}: {}", r.stderr);
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    assert_eq!(mounts_under(b.path()), Vec::<String>::new());
}

#[test]
fn a_mounted_image_is_held_until_its_container_goes() {
    let b = Berth::with_busybox();
    layered_image(&b);
    let image = b.ok(&["images", "-q", "app:1"]);
    let id = b.ok(&["create", "--mount", &image_mount(""), "busybox", "true"]);
    let short = &id[..12];
    // dockerd's refusals for an image a container uses.
    let r = b.fails(&["rmi", "app:1"]);
    assert!(
        r.stderr.contains(&format!("conflict: unable to remove repository reference \"app:1\" (must force) - container {short} is using its referenced image {image}")),
        "{}",
        r.stderr
    );
    let r = b.fails(&["rmi", &image]);
    assert!(
        r.stderr
            .contains(&format!("image is being used by stopped container {short}")),
        "{}",
        r.stderr
    );
    b.ok(&["image", "prune", "-af"]);
    assert_eq!(b.ok(&["images", "-q", "app:1"]), image);
    // Forced away, the image's layers stay the container's.
    b.ok(&["rmi", "-f", "app:1"]);
    b.ok(&["image", "prune", "-af"]);
    let out = b.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volumes-from",
        &id,
        "busybox",
        "cat",
        "/img/srv/conf/a",
    ]);
    assert_eq!(out, "a1");
    b.ok(&["rm", &id]);
    b.ok(&["image", "prune", "-af"]);
    assert_clean(&b, "after rm");
}

/// A restart mounts the image again; a monitor killed after it staged the
/// mounts leaves what the next command and `system check` clean up.
#[test]
fn the_mount_survives_restarts_and_a_killed_monitor() {
    let b = Berth::with_busybox();
    layered_image(&b);
    let id = b.ok(&[
        "create",
        "--network",
        "none",
        "--mount",
        &image_mount(",image-subpath=srv/conf"),
        "busybox",
        "sleep",
        "60",
    ]);
    let status = crashed(&b, "start:after-volumes", &["start", &id]);
    assert!(!status.success());
    let r = b.run(&["system", "check"]);
    assert_eq!(r.code, 1, "system check found nothing: {}", r.stdout);
    b.ok(&["start", &id]);
    assert_eq!(b.ok(&["exec", &id, "cat", "/img/a"]), "a1");
    b.ok(&["restart", "-t", "0", &id]);
    assert_eq!(b.ok(&["exec", &id, "cat", "/img/a"]), "a1");
    b.ok(&["rm", "-f", &id]);
    assert_eq!(mounts_under(b.path()), Vec::<String>::new());
    assert_clean(&b, "after rm -f");
}

/// dockerd 20.10 has no image mounts: its refusal and berth's of a bad one
/// have one shape (exit 125, dockerd's "invalid mount config" words).
#[test]
fn refusals_have_dockerds_shape() {
    if !common::dockerd_answers() {
        eprintln!("skipped: no dockerd answers");
        return;
    }
    let b = Berth::with_busybox();
    let mount = "type=image,source=busybox,target=/img,image-subpath=../x";
    let prefix = "Error response from daemon: invalid mount config for type \"image\": ";
    let theirs = std::process::Command::new("docker")
        .args(["run", "--rm", "--mount", mount, "busybox", "true"])
        .output()
        .unwrap();
    let ours = b.fails(&["run", "--rm", "--mount", mount, "busybox", "true"]);
    assert_eq!(theirs.status.code(), Some(125));
    assert_eq!(ours.code, 125);
    assert!(
        String::from_utf8_lossy(&theirs.stderr).contains(prefix),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert!(ours.stderr.starts_with(prefix), "{}", ours.stderr);
}
