//! `cp` through the mounts of a container: into and out of volumes, binds,
//! tmpfs and read-only mounts, on running and stopped containers, side by
//! side with dockerd where one answers; and berth's note on stderr naming
//! the mount a copy went through.

mod common;

use std::path::Path;
use std::process::Command;

use common::{mounts_under, Berth};

/// What one engine answered: success, stdout, stderr.
struct Answer {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn answer(mut cmd: Command) -> Answer {
    let out = cmd.output().expect("spawn");
    Answer {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the same `cp` scenario on one engine (`cli` runs its CLI, names
/// carry `n`), asserting what Docker's rules say; returns, per step, whether
/// it succeeded and its stderr, for the side by side.
fn scenario(cli: &dyn Fn(&[&str]) -> Answer, n: &str, work: &Path) -> Vec<(bool, String)> {
    let file = work.join("f.txt");
    std::fs::write(&file, "payload").unwrap();
    let file = file.to_str().unwrap();
    let bind = work.join("bind");
    std::fs::create_dir(&bind).unwrap();
    let (c, vol, ro, r, rvol) = (
        format!("{n}c"),
        format!("{n}vol"),
        format!("{n}ro"),
        format!("{n}r"),
        format!("{n}rvol"),
    );
    let ok = |args: &[&str]| {
        let a = cli(args);
        assert!(a.ok, "{args:?}: {}", a.stderr);
        a.stdout.trim().to_string()
    };
    ok(&[
        "run",
        "-d",
        "--name",
        &c,
        "-v",
        &format!("{vol}:/data"),
        "-v",
        &format!("{ro}:/rodata:ro"),
        "-v",
        &format!("{}:/bind", bind.display()),
        "--tmpfs",
        "/tmpfs",
        "busybox",
        "sleep",
        "1000",
    ]);
    let mut steps = Vec::new();
    let mut cp = |src: &str, dst: &str| {
        let a = cli(&["cp", src, dst]);
        assert_eq!(a.stdout, "", "cp prints nothing on stdout");
        steps.push((a.ok, a.stderr.clone()));
        a
    };
    // Running: the volume and the bind receive the copy, the read-only
    // volume is refused, the copy comes back out of the volume.
    assert!(cp(file, &format!("{c}:/data/x")).ok);
    assert_eq!(ok(&["exec", &c, "cat", "/data/x"]), "payload");
    let refused = cp(file, &format!("{c}:/rodata/x"));
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("mounted volume is marked read-only"),
        "{}",
        refused.stderr
    );
    assert!(cp(file, &format!("{c}:/bind/x")).ok);
    assert_eq!(std::fs::read_to_string(bind.join("x")).unwrap(), "payload");
    let out = work.join("out.txt");
    assert!(cp(&format!("{c}:/data/x"), out.to_str().unwrap()).ok);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "payload");

    // Stopped: the volumes are mounted for the copy, the read-only one is
    // still refused; the tmpfs is gone, so its path is the layer's.
    ok(&["stop", "-t", "0", &c]);
    assert!(cp(file, &format!("{c}:/data/y")).ok);
    let refused = cp(file, &format!("{c}:/rodata/y"));
    assert!(!refused.ok);
    assert!(refused
        .stderr
        .contains("mounted volume is marked read-only"));
    assert!(cp(file, &format!("{c}:/bind/y")).ok);
    assert!(cp(file, &format!("{c}:/tmpfs/y")).ok);
    ok(&["start", &c]);
    assert_eq!(ok(&["exec", &c, "cat", "/data/y"]), "payload");
    assert_eq!(ok(&["exec", &c, "cat", "/bind/y"]), "payload");
    assert_eq!(
        ok(&["exec", &c, "ls", "-A", "/tmpfs"]),
        "",
        "the started container's tmpfs hides what went under it"
    );

    // A read-only root filesystem: refused outside the mounts, not in them.
    ok(&[
        "run",
        "-d",
        "--read-only",
        "--name",
        &r,
        "-v",
        &format!("{rvol}:/v"),
        "busybox",
        "sleep",
        "1000",
    ]);
    let refused = cp(file, &format!("{r}:/etc/"));
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("container rootfs is marked read-only"),
        "{}",
        refused.stderr
    );
    assert!(cp(file, &format!("{r}:/v/")).ok);
    assert_eq!(ok(&["exec", &r, "cat", "/v/f.txt"]), "payload");
    cli(&["rm", "-f", &c, &r]);
    cli(&["volume", "rm", &vol, &ro, &rvol]);
    steps
}

#[test]
fn cp_through_mounts_as_docker_does() {
    let b = Berth::with_busybox();
    let work = tempfile::tempdir().unwrap();
    let ours = scenario(&|args| answer(b.command(args)), "cpm", work.path());
    assert!(
        mounts_under(b.path()).is_empty(),
        "{:?}",
        mounts_under(b.path())
    );
    if common::dockerd_answers() {
        let work = tempfile::tempdir().unwrap();
        let n = format!("berthcpm{}", std::process::id());
        let theirs = scenario(
            &|args| {
                let mut cmd = Command::new("docker");
                cmd.args(args);
                answer(cmd)
            },
            &n,
            work.path(),
        );
        let outcomes = |steps: &[(bool, String)]| steps.iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(
            outcomes(&ours),
            outcomes(&theirs),
            "berth (left), dockerd (right)"
        );
    }
}

#[test]
fn cp_says_which_mount_it_went_through() {
    let b = Berth::with_busybox();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("f.txt");
    std::fs::write(&file, "payload").unwrap();
    let file = file.to_str().unwrap();
    let bind = work.path().join("bind");
    std::fs::create_dir(&bind).unwrap();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "-v",
        "notes:/data",
        "-v",
        &format!("{}:/bind", bind.display()),
        "--tmpfs",
        "/tmpfs",
        "busybox",
        "sleep",
        "1000",
    ]);
    let note = |src: &str, dst: &str| {
        let r = b.run(&["cp", src, dst]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, "");
        r.stderr.trim().to_string()
    };
    assert_eq!(
        note(file, "box:/data/"),
        "copied into volume notes (mounted at /data)"
    );
    assert_eq!(
        note(file, "box:/bind/sub-is-created"),
        format!(
            "copied into bind mount {} (mounted at /bind)",
            bind.display()
        )
    );
    assert_eq!(
        note(file, "box:/tmpfs/"),
        "copied into the tmpfs mounted at /tmpfs (gone when the container stops)"
    );
    assert_eq!(note(file, "box:/etc/"), "", "no note outside the mounts");
    let out = work.path().join("back.txt");
    assert_eq!(
        note("box:/data/f.txt", out.to_str().unwrap()),
        "copied from volume notes (mounted at /data)"
    );
    // The tar streams say it too; stdout carries the tar alone.
    let tar = b.command(&["cp", "box:/data/f.txt", "-"]).output().unwrap();
    assert!(tar.status.success());
    assert_eq!(
        String::from_utf8_lossy(&tar.stderr).trim(),
        "copied from volume notes (mounted at /data)"
    );
    assert_eq!(&tar.stdout[..5], b"f.txt");
    b.ok(&["stop", "-t", "0", "box"]);
    assert_eq!(
        note(file, "box:/tmpfs/"),
        "copied into the container's layer under /tmpfs, which its tmpfs hides while it runs"
    );
    assert_eq!(
        note(file, "box:/data/again.txt"),
        "copied into volume notes (mounted at /data)"
    );
}

#[test]
fn a_symlink_in_a_volume_never_leads_out() {
    // A symlink the volume holds, pointing at "/" and up past the volume:
    // resolved inside the container, so the copy lands in its root, never on
    // the host, whether the container runs or not.
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "links"]);
    let data = b.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "links"]);
    std::os::unix::fs::symlink("/", Path::new(&data).join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../../../..", Path::new(&data).join("up")).unwrap();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "-v",
        "links:/data",
        "busybox",
        "sleep",
        "1000",
    ]);
    let work = tempfile::tempdir().unwrap();
    let name = format!("berth-cp-mounts-escape-{}", std::process::id());
    let file = work.path().join(&name);
    std::fs::write(&file, "payload").unwrap();
    let host = Path::new("/").join(&name);
    for running in [true, false] {
        for link in ["abs", "up"] {
            let r = b.run(&["cp", file.to_str().unwrap(), &format!("box:/data/{link}/")]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(r.stderr, "", "the copy left the volume: no mount to name");
            assert!(
                !host.exists(),
                "cp through a volume's symlink wrote on the host"
            );
        }
        if running {
            assert_eq!(
                b.ok(&["exec", "box", "cat", &format!("/{name}")]),
                "payload"
            );
            b.ok(&["stop", "-t", "0", "box"]);
        }
    }
    let upper = b.ok(&["inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "box"]);
    assert!(Path::new(&upper).join(&name).exists());
    assert!(!host.exists());
}
