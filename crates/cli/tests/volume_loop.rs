//! Sized volumes off btrfs: `volume create --opt size=` on a berth root on
//! ext4 (the test roots' filesystem) is an ext4 image on a loop device, so a
//! write past the size fails inside the container; removed, or killed at any
//! point, no loop device or mount is left.

mod common;

use std::path::Path;

use common::{mounts_under, Berth};

/// The loop devices whose backing file is under `root`.
fn loops_under(root: &Path) -> Vec<String> {
    let prefix = root.to_string_lossy().to_string();
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("loop/backing_file")).ok())
        .map(|f| f.trim().to_string())
        .filter(|f| f.starts_with(&prefix))
        .collect()
}

fn assert_nothing_left(b: &Berth, at: &str) {
    assert_eq!(
        mounts_under(b.path()),
        Vec::<String>::new(),
        "{at}: mounts left"
    );
    // A runtime process of a parallel test started while the filesystem was
    // mounted holds a copy of the mount (the host's `/` is private here) and
    // keeps the device bound until it exits: it must go then, by itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !loops_under(b.path()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        loops_under(b.path()),
        Vec::<String>::new(),
        "{at}: loop devices left"
    );
}

fn root_is_btrfs(b: &Berth) -> bool {
    let out = std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(b.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "btrfs"
}

#[test]
fn a_sized_volume_off_btrfs_is_an_image_with_its_limit() {
    let b = Berth::with_busybox();
    if root_is_btrfs(&b) {
        eprintln!("skipped: the test root is on btrfs (qgroups there)");
        return;
    }
    b.ok(&["volume", "create", "--opt", "size=20M", "lim"]);
    let data = b.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "lim"]);
    assert_eq!(mounts_under(b.path()), vec![data.clone()]);
    assert_eq!(loops_under(b.path()).len(), 1);
    // An empty volume (no lost+found), filled from the image at first mount.
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "lim:/etc",
        "busybox",
        "test",
        "-f",
        "/etc/passwd",
    ]);
    let ok = b.run(&[
        "run",
        "--rm",
        "-v",
        "lim:/d",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/d/fits bs=1M count=8 && sync",
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let past = b.run(&[
        "run",
        "--rm",
        "-v",
        "lim:/d",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/d/past bs=1M count=30",
    ]);
    assert_ne!(past.code, 0);
    assert!(
        past.stderr.contains("No space left on device"),
        "{}",
        past.stderr
    );
    // What fitted stays.
    assert_eq!(
        std::fs::metadata(Path::new(&data).join("fits"))
            .unwrap()
            .len(),
        8 << 20
    );
    // Sizes read from the filesystem, the limit from the option.
    let ls = b.ok(&[
        "volume",
        "ls",
        "--size",
        "--format",
        "{{.Name}} {{.Size}} {{.Limit}}",
    ]);
    let fields: Vec<&str> = ls.split(' ').collect();
    assert_eq!((fields[0], fields[2]), ("lim", "21MB"), "{ls}");
    assert!(fields[1].ends_with("MB"), "{ls}");
    // Backed up and restored as any local volume: its data is the mounted
    // filesystem's; a clone would lose the limit and is refused.
    let backup = b.path().join("lim.tar");
    b.ok(&["volume", "export", "-o", backup.to_str().unwrap(), "lim"]);
    let listed = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&backup)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.lines().any(|l| l.trim_start_matches("./") == "fits"),
        "{listed}"
    );
    b.ok(&["volume", "create", "--opt", "size=20M", "restored"]);
    b.ok(&["volume", "import", "restored", backup.to_str().unwrap()]);
    let restored = b.ok(&["volume", "inspect", "-f", "{{.Mountpoint}}", "restored"]);
    assert_eq!(
        std::fs::metadata(Path::new(&restored).join("fits"))
            .unwrap()
            .len(),
        8 << 20
    );
    let clone = b.run(&["volume", "clone", "lim", "copy"]);
    assert_ne!(clone.code, 0);
    assert!(
        clone.stderr.contains("plain local volumes only"),
        "{}",
        clone.stderr
    );
    b.ok(&["volume", "rm", "restored"]);
    b.ok(&["volume", "rm", "lim"]);
    assert_nothing_left(&b, "rm");
    assert!(!b.path().join("volumes/lim").exists());
}

#[test]
fn a_sized_volume_killed_anywhere_leaves_no_loop_device_or_mount() {
    let b = Berth::with_busybox();
    if root_is_btrfs(&b) {
        eprintln!("skipped: the test root is on btrfs (qgroups there)");
        return;
    }
    let create = ["volume", "create", "--opt", "size=16M", "vol"];
    // Killed before the image is whole: no volume at all.
    common::crash::killed_at(&b, "volume-loop:after-mkfs", &create);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    assert_nothing_left(&b, "volume-loop:after-mkfs");
    common::crash::assert_clean(&b, "volume-loop:after-mkfs");
    // Killed between binding the loop device and mounting: the device goes
    // with the process; the next command mounts the committed volume.
    common::crash::killed_at(&b, "volume-loop:after-attach", &create);
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "vol");
    assert_eq!(loops_under(b.path()).len(), 1);
    assert_eq!(mounts_under(b.path()).len(), 1);
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "vol:/d",
        "busybox",
        "sh",
        "-c",
        "echo kept > /d/f",
    ]);
    common::crash::assert_clean(&b, "volume-loop:after-attach");
    // Removal killed before and after its commit.
    for at in ["volume-rm:after-trash", "volume-rm:after-commit"] {
        common::crash::killed_at(&b, at, &["volume", "rm", "vol"]);
        let left = b.ok(&["volume", "ls", "-q"]);
        if at == "volume-rm:after-trash" {
            // Not committed: the volume is whole again, its data with it.
            assert_eq!(left, "vol", "{at}");
            assert_eq!(
                b.ok(&["run", "--rm", "-v", "vol:/d", "busybox", "cat", "/d/f"]),
                "kept"
            );
        } else {
            assert_eq!(left, "", "{at}");
            assert_nothing_left(&b, at);
        }
        common::crash::assert_clean(&b, at);
    }
}
