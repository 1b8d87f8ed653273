//! Real mounts, as root. Every mount is made under a fresh temp dir and
//! detached at the end of the test (also on failure, via `Cleanup`).

use std::fs;
use std::path::{Path, PathBuf};

use berth_mount::{is_mountpoint, Linux, Mount, MountFlags, OverlayMount, Syscalls};

/// Unmounts the listed targets (innermost first) when dropped.
struct Cleanup(Vec<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for t in self.0.iter().rev() {
            let _ = Linux.unmount(t, true);
        }
    }
}

fn mkdirs(root: &Path, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let p = root.join(n);
            fs::create_dir_all(&p).unwrap();
            p
        })
        .collect()
}

#[test]
fn overlay_of_three_lowers_merges_and_writes_go_to_upper() {
    let dir = tempfile::tempdir().unwrap();
    let d = mkdirs(dir.path(), &["l1", "l2", "l3", "upper", "work", "merged"]);
    fs::write(d[0].join("top"), "l1").unwrap();
    fs::write(d[1].join("top"), "l2").unwrap(); // hidden by l1
    fs::write(d[1].join("mid"), "l2").unwrap();
    fs::write(d[2].join("bottom"), "l3").unwrap();
    let overlay = OverlayMount {
        lowers: d[0..3].to_vec(),
        upper: d[3].clone(),
        work: d[4].clone(),
        target: d[5].clone(),
    };
    Linux.mount_overlay(&overlay).unwrap();
    let _cleanup = Cleanup(vec![d[5].clone()]);
    assert!(is_mountpoint(&d[5]).unwrap());
    assert_eq!(fs::read_to_string(d[5].join("top")).unwrap(), "l1");
    assert_eq!(fs::read_to_string(d[5].join("mid")).unwrap(), "l2");
    assert_eq!(fs::read_to_string(d[5].join("bottom")).unwrap(), "l3");
    fs::write(d[5].join("new"), "w").unwrap();
    fs::write(d[5].join("bottom"), "changed").unwrap();
    assert_eq!(fs::read_to_string(d[3].join("new")).unwrap(), "w");
    assert_eq!(fs::read_to_string(d[3].join("bottom")).unwrap(), "changed");
    assert_eq!(fs::read_to_string(d[2].join("bottom")).unwrap(), "l3");

    Linux.unmount(&d[5], false).unwrap();
    assert!(!is_mountpoint(&d[5]).unwrap());
    assert!(!d[5].join("top").exists());
    // Unmounting what is not mounted is fine (idempotent cleanup).
    Linux.unmount(&d[5], false).unwrap();
}

#[test]
fn two_hundred_long_lowers_exceed_mount2_but_mount_via_lowerdir_plus() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a-rather-long-layer-directory-name-".repeat(2);
    let lowers: Vec<PathBuf> = (0..200)
        .map(|i| {
            let p = dir.path().join(format!("{long}{i:03}"));
            fs::create_dir(&p).unwrap();
            fs::write(p.join(format!("f{i}")), i.to_string()).unwrap();
            p
        })
        .collect();
    let joined: usize = lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(
        joined > 4096,
        "chain must not fit mount(2)'s page: {joined}"
    );
    let d = mkdirs(dir.path(), &["upper", "work", "merged"]);
    Linux
        .mount_overlay(&OverlayMount {
            lowers: lowers.clone(),
            upper: d[0].clone(),
            work: d[1].clone(),
            target: d[2].clone(),
        })
        .unwrap();
    let _cleanup = Cleanup(vec![d[2].clone()]);
    assert_eq!(fs::read_to_string(d[2].join("f0")).unwrap(), "0");
    assert_eq!(fs::read_to_string(d[2].join("f199")).unwrap(), "199");
}

#[test]
fn overlay_error_names_target_and_kernel_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = mkdirs(dir.path(), &["upper", "work", "merged"]);
    let err = Linux
        .mount_overlay(&OverlayMount {
            lowers: vec![dir.path().join("l0"), dir.path().join("missing")],
            upper: d[0].clone(),
            work: d[1].clone(),
            target: d[2].clone(),
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("merged"), "{err}");
    assert!(!is_mountpoint(&d[2]).unwrap());
}

#[test]
fn readonly_recursive_covers_nested_submounts() {
    let dir = tempfile::tempdir().unwrap();
    let d = mkdirs(dir.path(), &["src", "src/sub", "dst"]);
    // A tmpfs inside the source: a recursive bind carries it along.
    let sub = Mount::tmpfs(&d[1], MountFlags::empty(), "size=1m");
    Linux.mount(&sub).unwrap();
    let mut cleanup = Cleanup(vec![d[1].clone()]);
    Linux.mount(&Mount::bind(&d[0], &d[2], true)).unwrap();
    cleanup.0.push(d[2].clone());
    Linux
        .mount(&Mount::propagation(
            &d[2],
            MountFlags::PRIVATE | MountFlags::REC,
        ))
        .unwrap();
    fs::write(d[2].join("before"), "x").unwrap();
    fs::write(d[2].join("sub/before"), "x").unwrap();

    Linux.set_readonly_recursive(&d[2]).unwrap();
    for path in [d[2].join("after"), d[2].join("sub/after")] {
        let err = fs::write(&path, "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{}", path.display());
    }
    // The source itself stays writable.
    fs::write(d[0].join("after"), "x").unwrap();
    fs::write(d[1].join("after"), "x").unwrap();
}

#[test]
fn tmpfs_honours_size_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = mkdirs(dir.path(), &["t"]);
    Linux
        .mount(&Mount::from_options(
            "tmpfs",
            &d[0],
            "tmpfs",
            "size=1m,mode=700,nosuid",
        ))
        .unwrap();
    let _cleanup = Cleanup(vec![d[0].clone()]);
    let stat = rustix::fs::statvfs(&d[0]).unwrap();
    assert_eq!(stat.f_blocks * stat.f_frsize, 1024 * 1024);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&d[0]).unwrap().permissions().mode() & 0o7777,
        0o700
    );
    let err = fs::write(d[0].join("big"), vec![0u8; 2 * 1024 * 1024]).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
}

#[test]
fn mount_error_names_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let err = Linux
        .mount(&Mount::bind(
            &dir.path().join("nope"),
            &dir.path().join("nope2"),
            false,
        ))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nope2") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn idmapped_lowers_show_the_mapped_owner_and_copy_up_keeps_it() {
    use berth_mount::IdMap;
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let d = mkdirs(dir.path(), &["l1", "l2", "upper", "work", "merged"]);
    fs::write(d[0].join("top"), "l1").unwrap();
    fs::write(d[1].join("bottom"), "l2").unwrap();
    std::os::unix::fs::chown(d[1].join("bottom"), Some(5), Some(6)).unwrap();
    std::os::unix::fs::chown(&d[2], Some(500_000), Some(600_000)).unwrap();
    let overlay = OverlayMount {
        lowers: d[0..2].to_vec(),
        upper: d[2].clone(),
        work: d[3].clone(),
        target: d[4].clone(),
    };
    Linux
        .mount_overlay_idmapped(&overlay, &IdMap::range(500_000, 600_000, 1000))
        .unwrap();
    let _cleanup = Cleanup(vec![d[4].clone()]);
    let owner = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner(&d[4].join("top")), (500_000, 600_000));
    assert_eq!(owner(&d[4].join("bottom")), (500_005, 600_006));
    fs::write(d[4].join("bottom"), "changed").unwrap();
    // Copied up as seen: the upper holds the mapped owner; the layer is untouched.
    assert_eq!(owner(&d[2].join("bottom")), (500_005, 600_006));
    assert_eq!(owner(&d[1].join("bottom")), (5, 6));
    assert_eq!(fs::read_to_string(d[1].join("bottom")).unwrap(), "l2");
}
