//! pack_layer / pack_tree, changes() on a real overlay, disk_usage against du.

mod common;

use std::ffi::CString;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_archive::{changes, disk_usage, pack_layer, pack_tree, unpack_layer, ChangeKind};
use common::*;
use tar::EntryType;

/// (name, type, size) of every entry, and the xattr keys seen in PAX headers.
fn entries(data: &[u8]) -> (Vec<(String, EntryType, u64)>, Vec<String>) {
    let mut archive = tar::Archive::new(data);
    let mut out = Vec::new();
    let mut xattrs = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if let Some(extensions) = entry.pax_extensions().unwrap() {
            for ext in extensions {
                xattrs.push(ext.unwrap().key().unwrap().to_string());
            }
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        out.push((name, entry.header().entry_type(), entry.size()));
    }
    (out, xattrs)
}

#[test]
fn pack_layer_round_trips_whiteouts_links_and_metadata() {
    let scratch = scratch();
    let first = scratch.path().join("first");
    std::fs::create_dir(&first).unwrap();
    let mut tar = TarBuilder::new();
    tar.file(".wh.gone", b"")
        .dir("d/")
        .file("d/.wh..wh..opq", b"")
        .file("d/c", b"c");
    tar.pax(&[("SCHILY.xattr.user.foo", b"bar")]);
    tar.entry(
        "owned",
        EntryType::Regular,
        &Meta {
            mode: 0o4711,
            uid: 1234,
            gid: 5,
            mtime: 99,
        },
        b"data",
        None,
    );
    tar.hardlink("owned2", "owned").symlink("sl", "/etc/passwd");
    unpack_layer(&tar.finish()[..], &first).unwrap();

    let mut packed = Vec::new();
    let layer = pack_layer(&first, &mut packed, None).unwrap();
    assert_eq!(layer.diff_id, sha256(&packed));
    assert_eq!(layer.size, packed.len() as u64);
    let (list, xattr_keys) = entries(&packed);
    let names: Vec<&str> = list.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "d",
            "d/.wh..wh..opq",
            "d/c",
            ".wh.gone",
            "owned",
            "owned2",
            "sl"
        ],
        "sorted, translated"
    );
    assert_eq!((list[3].1, list[3].2), (EntryType::Regular, 0));
    assert_eq!(list[5].1, EntryType::Link);
    assert_eq!(list[6].1, EntryType::Symlink);
    assert!(xattr_keys.contains(&"SCHILY.xattr.user.foo".to_string()));
    assert!(
        !xattr_keys.iter().any(|k| k.contains("trusted.overlay")),
        "{xattr_keys:?}"
    );

    // Deterministic: same tree, same bytes.
    let mut again = Vec::new();
    assert_eq!(
        pack_layer(&first, &mut again, None).unwrap().diff_id,
        layer.diff_id
    );

    let second = scratch.path().join("second");
    std::fs::create_dir(&second).unwrap();
    let unpacked = unpack_layer(&packed[..], &second).unwrap();
    assert_eq!(unpacked.diff_id, layer.diff_id);
    assert!(is_whiteout(&second.join("gone")));
    assert_eq!(
        xattr(&second.join("d"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    let owned = lmeta(&second.join("owned"));
    assert_eq!(
        (
            owned.uid(),
            owned.gid(),
            owned.mode() & 0o7777,
            owned.mtime()
        ),
        (1234, 5, 0o4711, 99)
    );
    assert_eq!(lmeta(&second.join("owned2")).ino(), owned.ino());
    assert_eq!(
        xattr(&second.join("owned"), "user.foo").as_deref(),
        Some(&b"bar"[..])
    );
    assert_eq!(
        std::fs::read_link(second.join("sl")).unwrap(),
        Path::new("/etc/passwd")
    );
}

#[test]
fn pack_tree_keeps_devices_as_devices() {
    let scratch = scratch();
    let dir = scratch.path().join("tree");
    std::fs::create_dir(&dir).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.join("wh"),
        rustix::fs::FileType::CharacterDevice,
        rustix::fs::Mode::empty(),
        0,
    )
    .unwrap();
    std::fs::write(dir.join("f"), b"12345").unwrap();
    let mut out = Vec::new();
    let written = pack_tree(&dir, &mut out, None).unwrap();
    assert_eq!(written, out.len() as u64);
    let (list, _) = entries(&out);
    assert_eq!(
        list,
        vec![
            ("f".to_string(), EntryType::Regular, 5),
            ("wh".to_string(), EntryType::Char, 0)
        ]
    );
}

fn mount_overlay(lower: &Path, upper: &Path, work: &Path, target: &Path) {
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let c = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let (source, options) = (
        CString::new("overlay").unwrap(),
        CString::new(options).unwrap(),
    );
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            c(target).as_ptr(),
            source.as_ptr(),
            0,
            options.as_ptr().cast(),
        )
    };
    assert_eq!(rc, 0, "mount: {}", std::io::Error::last_os_error());
}

#[test]
fn changes_reports_added_changed_deleted_like_docker_diff() {
    let scratch = scratch();
    let dirs: Vec<PathBuf> = ["lower", "upper", "work", "merged"]
        .iter()
        .map(|d| scratch.path().join(d))
        .collect();
    for dir in &dirs {
        std::fs::create_dir(dir).unwrap();
    }
    let (lower, upper, work, merged) = (&dirs[0], &dirs[1], &dirs[2], &dirs[3]);
    let image = TarBuilder::new()
        .dir("etc/")
        .file("etc/passwd", b"root")
        .file("etc/hosts", b"h")
        .dir("var/")
        .dir("var/lib/")
        .file("var/lib/old", b"o")
        .dir("untouched/")
        .file("untouched/f", b"f")
        .finish();
    unpack_layer(&image[..], lower).unwrap();

    mount_overlay(lower, upper, work, merged);
    let result = std::panic::catch_unwind(|| {
        std::fs::write(merged.join("etc/passwd"), b"root\nnew").unwrap();
        std::fs::write(merged.join("etc/added"), b"a").unwrap();
        std::fs::remove_file(merged.join("var/lib/old")).unwrap();
        std::fs::create_dir(merged.join("newdir")).unwrap();
        std::fs::write(merged.join("newdir/f"), b"f").unwrap();
        let _ = std::fs::read(merged.join("untouched/f")).unwrap();
        std::fs::create_dir_all(merged.join("untouched/deep/er")).unwrap();
        std::fs::write(merged.join("untouched/deep/er/z"), b"").unwrap();
    });
    let c = CString::new(merged.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) }, 0);
    result.unwrap();

    let found: Vec<String> = changes(upper, std::slice::from_ref(lower))
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    // The very output of `docker diff` for the same operations (dockerd 20.10, overlay2), sorted.
    assert_eq!(
        found,
        vec![
            "C /etc",
            "A /etc/added",
            "C /etc/passwd",
            "A /newdir",
            "A /newdir/f",
            "C /untouched",
            "A /untouched/deep",
            "A /untouched/deep/er",
            "A /untouched/deep/er/z",
            "C /var",
            "C /var/lib",
            "D /var/lib/old",
        ]
    );
    assert_eq!(ChangeKind::Deleted.to_string(), "D");
}

#[test]
fn disk_usage_matches_du() {
    let scratch = scratch();
    let dir = scratch.path().join("vol");
    std::fs::create_dir_all(dir.join("a/b")).unwrap();
    for i in 0..200 {
        std::fs::write(dir.join(format!("a/f{i}")), vec![b'x'; i * 97]).unwrap();
    }
    std::fs::write(dir.join("a/b/big"), vec![1u8; 1 << 20]).unwrap();
    std::fs::hard_link(dir.join("a/b/big"), dir.join("big-link")).unwrap();
    symlink("/usr", dir.join("usr-link")).unwrap();
    let du = Command::new("du").arg("-sB1").arg(&dir).output().unwrap();
    let du: u64 = String::from_utf8(du.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(disk_usage(&dir).unwrap(), du);
}
