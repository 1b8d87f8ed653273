//! Sized volumes (`volume create --opt size=10M`): on a btrfs root each is a
//! subvolume with a qgroup limit, enforced inside the container (elsewhere
//! an ext4 image on a loop device: volume_loop.rs); a bad size is refused
//! with nothing created. Each test makes its own btrfs filesystem on
//! a loop device (btrfs-progs, scripts/install-deps.sh) and mounts it as the
//! berth root.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Berth;

/// A berth root on a btrfs filesystem of its own (a sparse image on a loop
/// device, cleared when unmounted).
struct BtrfsRoot {
    b: Berth,
    _image_dir: tempfile::TempDir,
}

impl BtrfsRoot {
    fn new() -> BtrfsRoot {
        let image_dir = tempfile::Builder::new()
            .prefix("berth-btrfs-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let image = image_dir.path().join("fs.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(300 << 20)
            .unwrap();
        let mkfs = Command::new("mkfs.btrfs").arg("-q").arg(&image).status();
        assert!(
            mkfs.is_ok_and(|s| s.success()),
            "mkfs.btrfs failed: btrfs-progs is required (scripts/install-deps.sh)"
        );
        let b = Berth::new();
        let mounted = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(b.path())
            .status()
            .unwrap();
        assert!(mounted.success());
        b.ok(&[
            "import",
            "-c",
            "CMD [\"sh\"]",
            common::busybox_tar().to_str().unwrap(),
            "busybox:latest",
        ]);
        BtrfsRoot {
            b,
            _image_dir: image_dir,
        }
    }
}

impl Drop for BtrfsRoot {
    fn drop(&mut self) {
        let ids = self.b.run(&["ps", "-aq"]).stdout;
        for id in ids.split_whitespace() {
            let _ = self.b.run(&["rm", "-fv", id]);
        }
        let _ = Command::new("umount").arg(self.b.path()).status();
    }
}

fn subvolumes(root: &Path) -> String {
    let out = Command::new("btrfs")
        .args(["subvolume", "list", "-o"])
        .arg(root)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn data_dir(b: &Berth, name: &str) -> PathBuf {
    PathBuf::from(b.ok(&["volume", "inspect", name, "-f", "{{.Mountpoint}}"]))
}

#[test]
fn a_sized_volume_refuses_writes_past_its_limit_and_keeps_what_fits() {
    let root = BtrfsRoot::new();
    let b = &root.b;
    b.ok(&["volume", "create", "--opt", "size=10M", "sized"]);
    assert!(subvolumes(b.path()).contains("volumes/sized/_data"));
    let r = b.run(&[
        "run",
        "--rm",
        "-v",
        "sized:/q",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/urandom of=/q/fits bs=1M count=4 2>/dev/null && sync && echo fits-ok; \
         dd if=/dev/zero of=/q/big bs=1M count=20 2>&1; echo dd-exit=$?; md5sum /q/fits",
    ]);
    assert!(r.stdout.contains("fits-ok"), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Disk quota exceeded"), "{}", r.stdout);
    assert!(r.stdout.contains("dd-exit=1"), "{}", r.stdout);
    // What fitted is intact.
    let inside = r
        .stdout
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let host = Command::new("md5sum")
        .arg(data_dir(b, "sized").join("fits"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&host.stdout).starts_with(&inside));
    // After freeing space, writes work again.
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "sized:/q",
        "busybox",
        "sh",
        "-c",
        "rm /q/big; sync; echo x > /q/again",
    ]);

    // Sizes come from the quota accounting: near the limit, with the limit.
    let ls = b.ok(&[
        "volume",
        "ls",
        "--size",
        "--format",
        "{{.Name}} {{.Size}} {{.Limit}}",
    ]);
    let line = ls.lines().find(|l| l.starts_with("sized ")).unwrap();
    assert!(line.ends_with(" 10.5MB"), "{ls}");
    assert!(!line.contains(" 0B "), "{ls}");
    let df = b.ok(&["system", "df", "-v"]);
    let row = df.lines().find(|l| l.starts_with("sized ")).unwrap();
    let size = row.split_whitespace().last().unwrap();
    assert!(size.ends_with("MB") && size != "0B", "{df}");

    // Removal deletes the subvolume.
    b.ok(&["volume", "rm", "sized"]);
    assert!(
        !subvolumes(b.path()).contains("sized"),
        "{}",
        subvolumes(b.path())
    );
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn plain_volumes_on_btrfs_stay_directories_without_limit() {
    let root = BtrfsRoot::new();
    let b = &root.b;
    b.ok(&["volume", "create", "plain"]);
    assert!(!subvolumes(b.path()).contains("plain"));
    b.ok(&[
        "run",
        "--rm",
        "-v",
        "plain:/p",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/p/f bs=1M count=12 2>/dev/null",
    ]);
    let ls = b.ok(&[
        "volume",
        "ls",
        "--size",
        "--format",
        "{{.Name}} {{.Size}} {{.Limit}}",
    ]);
    assert_eq!(ls, "plain 12.6MB -");
}

#[test]
fn a_bad_size_is_refused_and_nothing_is_created() {
    // (Off btrfs a size is an image-backed volume: tests/volume_loop.rs.)
    let b = Berth::with_busybox();
    for (opts, want) in [
        (
            &["--opt", "size=abc"][..],
            "create bad: invalid size: 'abc'",
        ),
        (
            &[
                "--opt",
                "size=1M",
                "--opt",
                "type=tmpfs",
                "--opt",
                "device=tmpfs",
            ][..],
            "cannot be combined with \"type\" or \"device\"",
        ),
    ] {
        let mut args = vec!["volume", "create"];
        args.extend(opts);
        args.push("bad");
        let r = b.fails(&args);
        assert!(r.stderr.contains(want), "{opts:?}: {}", r.stderr);
    }
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
}
