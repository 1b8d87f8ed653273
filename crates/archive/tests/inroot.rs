//! In-root resolution: symlinks and `..` are clamped to the root.

mod common;

use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use berth_archive::{mkdir_all_in_root, open_in_root, resolve_in_root};
use common::*;
use rustix::fs::{Mode, OFlags};

fn read_in_root(root: &Path, path: &str) -> String {
    let fd = open_in_root(root, Path::new(path), OFlags::RDONLY, Mode::empty()).unwrap();
    let mut out = String::new();
    std::fs::File::from(fd).read_to_string(&mut out).unwrap();
    out
}

#[test]
fn symlinks_and_dotdot_stay_in_root() {
    let scratch = scratch();
    let root = scratch.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), "inside").unwrap();
    std::fs::write(scratch.path().join("passwd"), "outside").unwrap();
    symlink("/", root.join("etc/evil")).unwrap();
    symlink("../../../..", root.join("up")).unwrap();
    symlink("/proc/self/root/etc/passwd", root.join("magic")).unwrap();

    assert_eq!(read_in_root(&root, "/etc/passwd"), "inside");
    assert_eq!(read_in_root(&root, "etc/evil/etc/passwd"), "inside");
    assert_eq!(read_in_root(&root, "/../../etc/../../etc/passwd"), "inside");
    assert_eq!(read_in_root(&root, "up/etc/passwd"), "inside");
    // ../passwd from the root is clamped to /passwd inside the root, which does not exist.
    assert!(open_in_root(&root, Path::new("up/passwd"), OFlags::RDONLY, Mode::empty()).is_err());
    // /proc is not mounted in the root, so the link dangles in-root rather than escaping to the host.
    assert!(open_in_root(&root, Path::new("magic"), OFlags::RDONLY, Mode::empty()).is_err());

    let canonical_root = std::fs::canonicalize(&root).unwrap();
    assert_eq!(
        resolve_in_root(&root, Path::new("/etc/evil")).unwrap(),
        canonical_root
    );
    assert_eq!(
        resolve_in_root(&root, Path::new("up/etc")).unwrap(),
        canonical_root.join("etc")
    );
    // Missing leaf: where it would be created.
    assert_eq!(
        resolve_in_root(&root, Path::new("/etc/evil/new")).unwrap(),
        canonical_root.join("new")
    );
    // Dangling absolute symlink: chased in-root.
    symlink("/nowhere/x", root.join("etc/dangling")).unwrap();
    symlink("/etc", root.join("etclink")).unwrap();
    symlink("/etclink/made", root.join("chain")).unwrap();
    assert!(resolve_in_root(&root, Path::new("/etc/dangling"))
        .unwrap_err()
        .is_not_found());
    assert_eq!(
        resolve_in_root(&root, Path::new("/chain")).unwrap(),
        canonical_root.join("etc/made")
    );
    assert!(resolve_in_root(&root, Path::new("/missing/dir/x"))
        .unwrap_err()
        .is_not_found());
}

#[test]
fn mkdir_all_creates_inside_root_through_symlinks() {
    let scratch = scratch();
    let root = scratch.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    symlink("/", root.join("evil")).unwrap();
    symlink("../..", root.join("up")).unwrap();
    let made = mkdir_all_in_root(&root, Path::new("/evil/up/a/b"), 0o750).unwrap();
    let canonical_root = std::fs::canonicalize(&root).unwrap();
    assert_eq!(made, canonical_root.join("a/b"));
    assert_eq!(
        std::fs::metadata(&made).unwrap().permissions().mode() & 0o7777,
        0o750
    );
    assert_eq!(
        tree(scratch.path()),
        vec!["root", "root/a", "root/a/b", "root/evil", "root/up"]
    );
    // Existing: returned as is.
    assert_eq!(
        mkdir_all_in_root(&root, Path::new("a/b"), 0o700).unwrap(),
        made
    );
    std::fs::write(root.join("file"), "").unwrap();
    assert!(mkdir_all_in_root(&root, Path::new("file/x"), 0o755).is_err());
}
