//! berth's own volume verbs end to end (Docker has none): `volume export`,
//! `import`, `clone` and `rename` on real volumes used by real containers,
//! with what must be refused (and leave everything as it was).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::Berth;

fn mountpoint(b: &Berth, volume: &str) -> PathBuf {
    PathBuf::from(b.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", volume]))
}

fn sh(cmd: &str) {
    let status = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(status.success(), "{cmd}");
}

fn xattr(path: &Path, name: &str) -> String {
    let out = Command::new("getfattr")
        .args(["--only-values", "-n", name])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A volume with what a backup must keep: owners, modes (setgid dir, 0700
/// root owned by 999), an xattr, a hard link, a symlink to a host path, a
/// fifo and a 64 MiB file with one byte of data in the middle.
fn fill(b: &Berth, volume: &str) -> PathBuf {
    b.ok(&["volume", "create", volume]);
    let data = mountpoint(b, volume);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/d"),
        "busybox",
        "sh",
        "-c",
        "mkdir /d/sub && echo hello > /d/sub/a && ln /d/sub/a /d/hl && ln -s /etc/passwd /d/link \
         && mkfifo /d/fifo && chown 123:456 /d/sub/a && chmod 2750 /d/sub \
         && chown 999:999 /d && chmod 700 /d",
    ]);
    sh(&format!(
        "setfattr -n user.berth -v kept {0}/sub/a && truncate -s 64M {0}/sparse \
         && printf x | dd of={0}/sparse bs=1 seek=33554432 conv=notrunc 2>/dev/null",
        data.display()
    ));
    data
}

/// `copy` holds what [`fill`] put in `original`.
fn assert_same(original: &Path, copy: &Path) {
    let meta = |p: &Path| std::fs::symlink_metadata(p).unwrap();
    for rel in ["", "sub", "sub/a", "hl", "link", "fifo", "sparse"] {
        let (a, b) = (meta(&original.join(rel)), meta(&copy.join(rel)));
        assert_eq!(
            (a.uid(), a.gid(), a.mode(), a.len()),
            (b.uid(), b.gid(), b.mode(), b.len()),
            "{rel}"
        );
    }
    assert_eq!(meta(&copy.join("")).uid(), 999);
    assert_eq!(
        meta(&copy.join("sub")).permissions().mode() & 0o7777,
        0o2750
    );
    assert_eq!(
        meta(&copy.join("sub/a")).ino(),
        meta(&copy.join("hl")).ino()
    );
    assert_eq!(
        std::fs::read_link(copy.join("link")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(xattr(&copy.join("sub/a"), "user.berth"), "kept");
    assert_eq!(std::fs::read(copy.join("sub/a")).unwrap(), b"hello\n");
    let sparse = meta(&copy.join("sparse"));
    assert!(sparse.blocks() * 512 < 1 << 20, "holes kept: {sparse:?}");
    let content = std::fs::read(copy.join("sparse")).unwrap();
    assert_eq!(content[33554432], b'x');
    assert_eq!(content.iter().filter(|b| **b != 0).count(), 1);
}

#[test]
fn export_and_import_keep_owners_modes_xattrs_links_and_holes() {
    let b = Berth::with_busybox();
    let data = fill(&b, "src");
    let dir = tempfile::tempdir().unwrap();
    for (file, volume) in [("v.tar", "plain"), ("v.tar.gz", "gz"), ("v.tar.zst", "zst")] {
        let path = dir.path().join(file);
        b.ok(&["volume", "export", "src", "-o", path.to_str().unwrap()]);
        let magic = std::fs::read(&path).unwrap();
        match volume {
            "gz" => assert_eq!(&magic[..2], &[0x1f, 0x8b]),
            "zst" => assert_eq!(&magic[..4], &[0x28, 0xb5, 0x2f, 0xfd]),
            _ => assert!(magic.len() > 1024 && magic.len() < 1 << 20, "sparse in tar"),
        }
        // A new volume is created by the import.
        assert_eq!(
            b.ok(&["volume", "import", volume, path.to_str().unwrap()]),
            volume
        );
        assert_same(&data, &mountpoint(&b, volume));
    }
    // GNU tar reads the export as well (sparse entries included).
    let plain = dir.path().join("v.tar");
    let gnu = dir.path().join("gnu");
    std::fs::create_dir(&gnu).unwrap();
    sh(&format!(
        "tar --xattrs --xattrs-include='*' -xpf {} -C {}",
        plain.display(),
        gnu.display()
    ));
    assert_same(&data, &gnu);
    // From stdin into an existing empty volume, then used by a container.
    b.ok(&["volume", "create", "empty"]);
    let r = b.run_with_stdin(
        &["volume", "import", "empty", "-"],
        &std::fs::read(&plain).unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        b.ok(&["run", "--rm", "-v", "empty:/d", "busybox", "cat", "/d/sub/a"]),
        "hello"
    );
}

#[test]
fn import_refuses_a_non_empty_volume_and_a_bad_file_changing_nothing() {
    let b = Berth::with_busybox();
    let data = fill(&b, "src");
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("v.tar");
    b.ok(&["volume", "export", "src", "-o", tar.to_str().unwrap()]);
    let before = std::fs::read_dir(&data).unwrap().count();
    let r = b.fails(&["volume", "import", "src", tar.to_str().unwrap()]);
    assert!(r.stderr.contains("volume src is not empty"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), before);
    assert_eq!(std::fs::read(data.join("sub/a")).unwrap(), b"hello\n");

    // Garbage, and a tar cut in the middle of a file: a new volume is not
    // created, an empty one stays empty.
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, vec![0x5a; 4096]).unwrap();
    let cut = dir.path().join("cut.tar");
    let whole = std::fs::read(&tar).unwrap();
    let header_of_sub_a = whole
        .windows(5)
        .position(|w| w == b"sub/a")
        .expect("sub/a in the tar");
    std::fs::write(&cut, &whole[..header_of_sub_a + 512 + 3]).unwrap();
    b.ok(&["volume", "create", "empty"]);
    for bad in [&garbage, &cut] {
        let r = b.fails(&["volume", "import", "fresh", bad.to_str().unwrap()]);
        assert!(
            r.stderr.contains("not a complete tar archive"),
            "{}",
            r.stderr
        );
        b.fails(&["volume", "inspect", "fresh"]);
        b.fails(&["volume", "import", "empty", bad.to_str().unwrap()]);
        assert_eq!(
            std::fs::read_dir(mountpoint(&b, "empty")).unwrap().count(),
            0
        );
    }
    // A file that is not there, a bad name.
    let r = b.fails(&["volume", "import", "fresh", "/nonexistent/v.tar"]);
    assert!(r.stderr.contains("/nonexistent/v.tar"), "{}", r.stderr);
    let r = b.fails(&["volume", "import", "bad/name", tar.to_str().unwrap()]);
    assert!(r.stderr.contains("invalid characters"), "{}", r.stderr);
    b.fails(&["volume", "inspect", "fresh"]);
}

#[test]
fn export_of_an_unknown_volume_fails_without_a_file() {
    let b = Berth::new();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.tar");
    let r = b.fails(&["volume", "export", "nope", "-o", out.to_str().unwrap()]);
    assert!(r.stderr.contains("no such volume"), "{}", r.stderr);
    assert!(!out.exists());
    let r = b.fails(&["volume", "clone", "nope", "copy"]);
    assert!(r.stderr.contains("no such volume"), "{}", r.stderr);
    let r = b.fails(&["volume", "rename", "nope", "other"]);
    assert!(r.stderr.contains("no such volume"), "{}", r.stderr);
}

fn status(b: &Berth, name: &str) -> String {
    b.ok(&["inspect", "-f", "{{.State.Status}}", name])
}

#[test]
fn export_and_clone_refuse_running_writers_unless_paused() {
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "busy"]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "writer",
        "-v",
        "busy:/d",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /d/tmp; mv /d/tmp /d/counter; done",
    ]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "reader",
        "-v",
        "busy:/d:ro",
        "busybox",
        "sleep",
        "1000",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy.tar");
    let out = out.to_str().unwrap();
    let r = b.fails(&["volume", "export", "busy", "-o", out]);
    assert!(
        r.stderr.contains("running containers [writer]") && r.stderr.contains("--pause"),
        "{}",
        r.stderr
    );
    assert!(!Path::new(out).exists());
    let r = b.fails(&["volume", "clone", "busy", "copy"]);
    assert!(r.stderr.contains("[writer]"), "{}", r.stderr);
    b.fails(&["volume", "inspect", "copy"]);

    b.ok(&["volume", "export", "--pause", "busy", "-o", out]);
    assert_eq!(status(&b, "writer"), "running");
    let listed = Command::new("tar").args(["-tf", out]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("counter"));
    b.ok(&["volume", "clone", "--pause", "busy", "copy"]);
    assert_eq!(status(&b, "writer"), "running");
    let copied = std::fs::read_to_string(mountpoint(&b, "copy").join("counter")).unwrap();
    assert!(copied.trim().parse::<u64>().is_ok(), "{copied:?}");

    // An export that fails after freezing thaws the containers all the same.
    let r = b.fails(&["volume", "export", "--pause", "busy", "-o", "/dev/full"]);
    assert!(r.stderr.contains("No space left"), "{}", r.stderr);
    assert_eq!(status(&b, "writer"), "running");
    // The output was a device, not a half-written backup: it stays.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
    // A container the user paused stays paused (and does not write).
    b.ok(&["pause", "writer"]);
    b.ok(&["volume", "export", "busy", "-o", out]);
    assert_eq!(status(&b, "writer"), "paused");
    b.ok(&["unpause", "writer"]);
}

#[test]
fn export_never_reads_through_a_symlink_swapped_in_during_the_walk() {
    let b = Berth::new();
    b.ok(&["volume", "create", "race"]);
    let data = mountpoint(&b, "race");
    let host = tempfile::tempdir().unwrap();
    let secret = host.path().join("secret");
    std::fs::write(&secret, "HOST-SECRET-".repeat(1000)).unwrap();
    std::fs::create_dir(host.path().join("dir")).unwrap();
    std::fs::write(host.path().join("dir/f"), "HOST-SECRET-DIR").unwrap();
    for i in 0..200 {
        std::fs::write(data.join(format!("pad{i}")), "inside").unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, data, secret, hostdir) = (
            stop.clone(),
            data.clone(),
            secret.clone(),
            host.path().join("dir"),
        );
        std::thread::spawn(move || {
            let (file, link) = (data.join("victim"), data.join("victim.tmp"));
            let (dir, dlink) = (data.join("vdir"), data.join("vdir.tmp"));
            while !stop.load(Ordering::Relaxed) {
                let _ = std::fs::remove_file(&file);
                let _ = std::fs::write(&file, "inside-file");
                let _ = std::os::unix::fs::symlink(&secret, &link);
                let _ = std::fs::rename(&link, &file);
                let _ = std::fs::remove_file(&dir);
                let _ = std::fs::create_dir(&dir);
                let _ = std::fs::write(dir.join("f"), "inside-dir");
                let _ = std::fs::remove_file(dir.join("f"));
                let _ = std::os::unix::fs::symlink(&hostdir, &dlink);
                let _ = std::fs::remove_dir(&dir);
                let _ = std::fs::rename(&dlink, &dir);
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let mut exported = 0;
    for i in 0..40 {
        let out = dir.path().join(format!("{i}.tar"));
        let r = b.run(&["volume", "export", "race", "-o", out.to_str().unwrap()]);
        if r.code != 0 {
            // Only the swapper's churn may make it fail, never an escape.
            assert!(r.stderr.contains("race"), "{}", r.stderr);
            continue;
        }
        exported += 1;
        let tar = std::fs::read(&out).unwrap();
        assert!(
            !tar.windows(11).any(|w| w == b"HOST-SECRET"),
            "export {i} holds host data"
        );
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(exported > 0, "no export finished");
}

#[test]
fn clone_copies_everything_into_a_new_independent_volume() {
    let b = Berth::with_busybox();
    let data = fill(&b, "src");
    b.ok(&["volume", "create", "--label", "team=db", "labelled"]);
    assert_eq!(b.ok(&["volume", "clone", "src", "copy"]), "copy");
    assert_same(&data, &mountpoint(&b, "copy"));
    // Independent: a change to the source is not seen in the copy.
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "src:/d",
        "busybox",
        "sh",
        "-c",
        "echo changed > /d/sub/a",
    ]);
    assert_eq!(
        b.ok(&["run", "--rm", "-v", "copy:/d", "busybox", "cat", "/d/sub/a"]),
        "hello"
    );
    // Labels come along; the target must be new and valid.
    b.ok(&["volume", "clone", "labelled", "labelled2"]);
    assert_eq!(
        b.ok(&["volume", "inspect", "-f", "{{.Labels.team}}", "labelled2"]),
        "db"
    );
    let r = b.fails(&["volume", "clone", "src", "copy"]);
    assert!(
        r.stderr.contains("volume copy already exists"),
        "{}",
        r.stderr
    );
    let r = b.fails(&["volume", "clone", "src", "_bad"]);
    assert!(r.stderr.contains("invalid characters"), "{}", r.stderr);
    // Nothing left behind in the volumes directory or the staging area.
    let volumes: Vec<String> = std::fs::read_dir(b.path().join("volumes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    let mut volumes = volumes;
    volumes.sort();
    assert_eq!(volumes, ["copy", "labelled", "labelled2", "src"]);
}

#[test]
fn a_clone_killed_before_its_commit_leaves_no_volume() {
    let b = Berth::with_busybox();
    fill(&b, "src");
    let r = b
        .command(&["volume", "clone", "src", "copy"])
        .env("BERTH_CRASH_AT", "volume-clone:after-fill")
        .output()
        .unwrap();
    assert!(!r.status.success());
    b.fails(&["volume", "inspect", "copy"]);
    assert!(!b.path().join("volumes/copy").exists());
    // The staged copy is swept by the next command.
    b.ok(&["volume", "ls"]);
    let staged = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "find {} -name 'volume-clone-*' | wc -l",
            b.path().join("tmp").display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&staged.stdout).trim(), "0");
    // A clone killed after its rename is whole when it shows up.
    let r = b
        .command(&["volume", "clone", "src", "copy"])
        .env("BERTH_CRASH_AT", "volume-clone:after-rename")
        .output()
        .unwrap();
    assert!(!r.status.success());
    b.ok(&["volume", "ls"]);
    if b.run(&["volume", "inspect", "copy"]).code == 0 {
        assert_same(&mountpoint(&b, "src"), &mountpoint(&b, "copy"));
    }
}

#[test]
fn rename_takes_stopped_users_along_and_refuses_running_ones() {
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "old"]);
    b.ok(&["volume", "create", "taken"]);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "old:/d",
        "busybox",
        "sh",
        "-c",
        "echo data > /d/f",
    ]);
    b.ok(&[
        "create",
        "--name",
        "by-v",
        "-v",
        "old:/d:ro",
        "busybox",
        "cat",
        "/d/f",
    ]);
    b.ok(&[
        "create",
        "--name",
        "by-mount",
        "--mount",
        "type=volume,source=old,target=/m",
        "busybox",
        "cat",
        "/m/f",
    ]);
    b.ok(&[
        "run", "-d", "--name", "runner", "-v", "old:/d", "busybox", "sleep", "1000",
    ]);
    let r = b.fails(&["volume", "rename", "old", "new"]);
    assert!(
        r.stderr.contains("running containers [runner]"),
        "{}",
        r.stderr
    );
    b.ok(&["volume", "inspect", "old"]);
    b.fails(&["volume", "inspect", "new"]);
    b.ok(&["rm", "-f", "runner"]);

    let r = b.fails(&["volume", "rename", "old", "taken"]);
    assert!(
        r.stderr.contains("volume taken already exists"),
        "{}",
        r.stderr
    );
    let r = b.fails(&["volume", "rename", "old", "no/good"]);
    assert!(r.stderr.contains("invalid characters"), "{}", r.stderr);

    b.ok(&["volume", "rename", "old", "new"]);
    b.fails(&["volume", "inspect", "old"]);
    let new_data = mountpoint(&b, "new");
    assert_eq!(
        std::fs::read_to_string(new_data.join("f")).unwrap(),
        "data\n"
    );
    for c in ["by-v", "by-mount"] {
        let mounts = b.ok(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Name}} {{.Source}}{{end}}",
            c,
        ]);
        assert_eq!(mounts, format!("new {}", new_data.display()), "{c}");
        assert_eq!(b.ok(&["start", "-a", c]), "data", "{c}");
    }
    assert!(b
        .ok(&["inspect", "-f", "{{json .HostConfig.Binds}}", "by-v"])
        .contains("new:/d:ro"));
    assert!(b
        .ok(&["inspect", "-f", "{{json .HostConfig.Mounts}}", "by-mount"])
        .contains("\"Source\":\"new\""));
    // The renamed volume is in use as before: rm refuses.
    let r = b.fails(&["volume", "rm", "new"]);
    assert!(r.stderr.contains("in use"), "{}", r.stderr);
}

#[test]
fn clone_on_btrfs_shares_extents() {
    if Command::new("mkfs.btrfs")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: mkfs.btrfs not installed (apt-get install btrfs-progs)");
        return;
    }
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let image = dir.path().join("fs.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    sh(&format!(
        "truncate -s 512M {0} && mkfs.btrfs -q {0} && mount -o loop {0} {1}",
        image.display(),
        mnt.display()
    ));
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let root = mnt.join("root");
    let berth = |args: &[&str]| {
        let out = Command::new(common::bin())
            .arg("--root")
            .arg(&root)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    berth(&["volume", "create", "big"]);
    let data = PathBuf::from(berth(&[
        "volume",
        "inspect",
        "-f",
        "{{.Mountpoint}}",
        "big",
    ]));
    sh(&format!(
        "head -c 33554432 /dev/urandom > {0}/blob && sync",
        data.display()
    ));
    berth(&["volume", "clone", "big", "copy"]);
    let copy = PathBuf::from(berth(&[
        "volume",
        "inspect",
        "-f",
        "{{.Mountpoint}}",
        "copy",
    ]));
    assert_eq!(
        std::fs::read(data.join("blob")).unwrap(),
        std::fs::read(copy.join("blob")).unwrap()
    );
    sh("sync");
    let frag = Command::new("filefrag")
        .arg("-v")
        .arg(copy.join("blob"))
        .output()
        .unwrap();
    let frag = String::from_utf8_lossy(&frag.stdout);
    assert!(frag.contains("shared"), "no shared extents:\n{frag}");
    let du = Command::new("btrfs")
        .args(["filesystem", "du", "-s", "--raw"])
        .arg(&copy)
        .output()
        .unwrap();
    let du = String::from_utf8_lossy(&du.stdout);
    // Columns: Total, Exclusive, Set shared, Filename.
    let row: Vec<u64> = du
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(row[1] == 0 && row[2] >= 33554432, "{du}");
}

#[test]
fn a_rename_killed_before_its_commit_leaves_the_volume_and_its_users_as_they_were() {
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "old"]);
    b.ok(&[
        "create", "--name", "user", "-v", "old:/d", "busybox", "sh", "-c", "cat /d/f",
    ]);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "old:/d",
        "busybox",
        "sh",
        "-c",
        "echo kept > /d/f",
    ]);
    let r = b
        .command(&["volume", "rename", "old", "new"])
        .env("BERTH_CRASH_AT", "volume-rename:after-rename")
        .output()
        .unwrap();
    assert!(!r.status.success());
    // The directory was renamed, the rows were not: the next command puts
    // it back under the name the rows (and the container) use.
    let names = b.ok(&["volume", "ls", "-q"]);
    assert_eq!(names.lines().collect::<Vec<_>>(), ["old"], "{names}");
    assert!(!b.path().join("volumes/new").exists());
    assert_eq!(b.ok(&["start", "-a", "user"]), "kept");
    let r = b.run(&["system", "check"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stdout);
    // And the rename, done again, completes.
    b.ok(&["volume", "rename", "old", "new"]);
    assert_eq!(b.ok(&["start", "-a", "user"]), "kept");
    assert_eq!(
        std::fs::read_dir(b.path().join("volumes/.trash"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn volume_rename_is_an_event() {
    // Docker has no volume rename; berth's event is shaped as container
    // rename's: action `rename`, the new name as the actor, `oldName`.
    let b = Berth::with_busybox();
    b.ok(&["volume", "create", "evold"]);
    b.ok(&["volume", "create", "evtaken"]);
    b.fails(&["volume", "rename", "evold", "evtaken"]);
    b.ok(&["volume", "rename", "evold", "evnew"]);
    let format = "{{.Type}} {{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}";
    let listed = |filters: &[&str]| {
        let mut args = vec![
            "events", "--since", "1", "--until", "0s", "--format", format,
        ];
        args.extend(filters);
        b.ok(&args)
    };
    assert_eq!(
        listed(&["--filter", "type=volume"]),
        "volume create evold {\"driver\":\"local\"}\n\
         volume create evtaken {\"driver\":\"local\"}\n\
         volume rename evnew {\"driver\":\"local\",\"oldName\":\"evold\"}"
    );
    assert_eq!(
        listed(&["--filter", "event=rename", "--filter", "volume=evnew"]),
        "volume rename evnew {\"driver\":\"local\",\"oldName\":\"evold\"}"
    );
    assert_eq!(listed(&["--filter", "type=container"]), "");
    // And over the API, GET /events.
    let socket = b.path().join("api.sock");
    let mut serve = b
        .command(&["serve", "-H", &format!("unix://{}", socket.display())])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "berth serve did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let until = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    let out = Command::new("curl")
        .args(["-sf", "--unix-socket"])
        .arg(&socket)
        .arg(format!(
            "http://berth/events?since=1&until={until}&filters=%7B%22event%22%3A%5B%22rename%22%5D%7D"
        ))
        .output()
        .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(out.status.success());
    let body = String::from_utf8_lossy(&out.stdout);
    let event: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(event["Type"], "volume");
    assert_eq!(event["Action"], "rename");
    assert_eq!(event["Actor"]["ID"], "evnew");
    assert_eq!(event["Actor"]["Attributes"]["oldName"], "evold");
}

/// A volume of 4 MiB used read-write by the running container `writer`.
fn busy_volume(b: &Berth) {
    b.ok(&["volume", "create", "busy"]);
    let data = mountpoint(b, "busy");
    std::fs::write(data.join("big"), vec![7u8; 4 << 20]).unwrap();
    b.ok(&[
        "run", "-d", "--name", "writer", "-v", "busy:/d", "busybox", "sleep", "1000",
    ]);
}

#[test]
fn an_interrupted_export_thaws_what_it_froze() {
    // SIGINT (Ctrl-C) or SIGTERM while `export --pause` holds the writer
    // frozen: the CLI thaws it before it ends.
    let b = Berth::with_busybox();
    busy_volume(&b);
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        // stdout is a pipe nobody reads: the export blocks, frozen, once
        // the pipe is full.
        let mut export = b
            .command(&["volume", "export", "--pause", "busy"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while status(&b, "writer") != "paused" {
            assert!(std::time::Instant::now() < deadline, "never paused");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: kill(2) of the child this test spawned.
        unsafe { libc::kill(export.id() as i32, signal) };
        // Waited for without reading: the export cannot have finished.
        assert_eq!(export.wait().unwrap().code(), Some(code));
        assert_eq!(status(&b, "writer"), "running");
        assert_eq!(b.ok(&["exec", "writer", "echo", "alive"]), "alive");
    }
    let r = b.run(&["system", "check"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stdout);
}

#[test]
fn a_killed_export_or_clone_leaves_nothing_frozen() {
    // kill -9 at each point of a paused copy: the next command, whatever it
    // is, thaws what the dead process froze.
    let b = Berth::with_busybox();
    busy_volume(&b);
    let out = b.path().join("backup.tar");
    let export = [
        "volume",
        "export",
        "--pause",
        "busy",
        "-o",
        out.to_str().unwrap(),
    ];
    let clone = ["volume", "clone", "--pause", "busy", "copy"];
    for (at, args) in [
        ("volume-pause:after-mark", &export[..]),
        ("volume-pause:after-pause", &export[..]),
        ("volume-export:after-pack", &export[..]),
        ("volume-clone:after-fill", &clone[..]),
    ] {
        common::crash::killed_at(&b, at, args);
        assert_eq!(status(&b, "writer"), "running", "{at}");
        assert_eq!(b.ok(&["exec", "writer", "echo", "alive"]), "alive", "{at}");
        let r = b.run(&["system", "check"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{at}: {}", r.stdout);
    }
    // A container the user paused is not the dead export's to thaw.
    b.ok(&["pause", "writer"]);
    b.ok(&["ps"]);
    assert_eq!(status(&b, "writer"), "paused");
}
