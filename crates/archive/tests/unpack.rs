//! unpack_layer against real tars on a real filesystem (run as root).

mod common;

use std::ffi::CString;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_archive::{unpack_layer, ArchiveError};
use common::*;
use tar::EntryType;

/// A valid VFS_CAP_REVISION_2 security.capability value: effective, permitted = CAP_NET_BIND_SERVICE.
const CAP_NET_BIND: [u8; 20] = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn unpack(data: &[u8], dest: &Path) -> Result<berth_archive::UnpackedLayer, ArchiveError> {
    std::fs::create_dir_all(dest).unwrap();
    unpack_layer(data, dest)
}

#[test]
fn preserves_metadata_links_devices_and_times() {
    let scratch = scratch();
    let dest = scratch.path().join("layer");
    let mut tar = TarBuilder::new();
    tar.entry(
        "bin/",
        EntryType::Directory,
        &Meta {
            mode: 0o755,
            mtime: 1_000_000,
            ..Meta::default()
        },
        b"",
        None,
    );
    tar.pax(&[
        ("SCHILY.xattr.user.foo", b"bar"),
        ("SCHILY.xattr.security.capability", &CAP_NET_BIND),
    ]);
    tar.entry(
        "bin/su",
        EntryType::Regular,
        &Meta {
            mode: 0o4755,
            uid: 1234,
            gid: 4321,
            mtime: 1_234_567,
        },
        b"#!/bin/sh\n",
        None,
    );
    tar.hardlink("bin/su2", "bin/su");
    tar.symlink("bin/sh", "/bin/busybox");
    tar.symlink("bin/rel", "../etc/passwd");
    tar.entry(
        "tmp/",
        EntryType::Directory,
        &Meta {
            mode: 0o1777,
            ..Meta::default()
        },
        b"",
        None,
    );
    tar.entry(
        "dev/null",
        EntryType::Char,
        &Meta {
            mode: 0o666,
            ..Meta::default()
        },
        b"",
        None,
    );
    tar.entry(
        "dev/fifo",
        EntryType::Fifo,
        &Meta {
            mode: 0o600,
            uid: 7,
            ..Meta::default()
        },
        b"",
        None,
    );
    tar.entry(
        "/etc/abs",
        EntryType::Regular,
        &Meta::default(),
        b"abs",
        None,
    );
    let data = tar.finish();
    // Patch device numbers (1,3) into dev/null's header: find it by name.
    let data = set_device(data, "dev/null", 1, 3);

    let layer = unpack(&data, &dest).unwrap();
    assert_eq!(layer.diff_id, sha256(&data));
    assert_eq!(layer.size, 10 + 3);

    let su = lmeta(&dest.join("bin/su"));
    assert_eq!((su.uid(), su.gid()), (1234, 4321));
    assert_eq!(
        su.permissions().mode() & 0o7777,
        0o4755,
        "setuid kept after chown"
    );
    assert_eq!(su.mtime(), 1_234_567);
    assert_eq!(
        xattr(&dest.join("bin/su"), "user.foo").as_deref(),
        Some(&b"bar"[..])
    );
    assert_eq!(
        xattr(&dest.join("bin/su"), "security.capability").as_deref(),
        Some(&CAP_NET_BIND[..])
    );
    assert_eq!(
        lmeta(&dest.join("bin/su2")).ino(),
        su.ino(),
        "hard link shares the inode"
    );
    assert_eq!(
        std::fs::read_link(dest.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert_eq!(
        std::fs::read_link(dest.join("bin/rel")).unwrap(),
        Path::new("../etc/passwd")
    );
    assert_eq!(
        lmeta(&dest.join("tmp")).permissions().mode() & 0o7777,
        0o1777
    );
    let null = lmeta(&dest.join("dev/null"));
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    assert_eq!(null.permissions().mode() & 0o777, 0o666);
    let fifo = lmeta(&dest.join("dev/fifo"));
    assert!(fifo.file_type().is_fifo());
    assert_eq!(fifo.uid(), 7);
    assert_eq!(
        std::fs::read(dest.join("etc/abs")).unwrap(),
        b"abs",
        "absolute names land inside dest"
    );
    // Directory mtime survives the creation of its children.
    assert_eq!(lmeta(&dest.join("bin")).mtime(), 1_000_000);
    // Implicit parents (dev/, etc/) are 0755.
    assert_eq!(
        lmeta(&dest.join("dev")).permissions().mode() & 0o7777,
        0o755
    );
}

/// Rewrite the device major/minor of the entry `name` in a ustar byte stream.
fn set_device(mut data: Vec<u8>, name: &str, major: u32, minor: u32) -> Vec<u8> {
    let mut offset = 0;
    while offset + 512 <= data.len() {
        let header = tar::Header::from_byte_slice(&data[offset..offset + 512]).clone();
        if header.path_bytes().as_ref() == name.as_bytes() {
            let mut header = header;
            header.set_device_major(major).unwrap();
            header.set_device_minor(minor).unwrap();
            header.set_cksum();
            data[offset..offset + 512].copy_from_slice(header.as_bytes());
            return data;
        }
        let size = header.entry_size().unwrap_or(0);
        offset += 512 + (size as usize).div_ceil(512) * 512;
    }
    panic!("no entry {name}");
}

#[test]
fn whiteouts_become_overlay_whiteouts_and_mount_correctly() {
    let scratch = scratch();
    let lower = scratch.path().join("l1");
    let upper = scratch.path().join("l2");
    let l1 = TarBuilder::new()
        .dir("d/")
        .file("d/a", b"a")
        .file("d/b", b"b")
        .file("f", b"f")
        .file("keep", b"k")
        .finish();
    let l2 = TarBuilder::new()
        .file(".wh.f", b"")
        .dir("d/")
        .file("d/.wh..wh..opq", b"")
        .file("d/c", b"c")
        .file(".wh..wh.plnk", b"")
        .finish();
    unpack(&l1, &lower).unwrap();
    unpack(&l2, &upper).unwrap();

    assert!(is_whiteout(&upper.join("f")));
    assert_eq!(
        (lmeta(&upper.join("f")).uid(), lmeta(&upper.join("f")).gid()),
        (0, 0)
    );
    assert_eq!(
        xattr(&upper.join("d"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!upper.join(".wh..wh.plnk").exists() && !upper.join("d/.wh..wh..opq").exists());

    let merged = scratch.path().join("merged");
    std::fs::create_dir(&merged).unwrap();
    let options = format!("lowerdir={}:{}", upper.display(), lower.display());
    mount_overlay(&merged, &options);
    let result = std::panic::catch_unwind(|| {
        assert!(!merged.join("f").exists(), "whited-out file hidden");
        assert_eq!(std::fs::read(merged.join("keep")).unwrap(), b"k");
        assert_eq!(
            tree(&merged.join("d")),
            vec!["c".to_string()],
            "opaque dir hides lower content"
        );
    });
    umount(&merged);
    result.unwrap();
}

pub fn mount_overlay(target: &Path, options: &str) {
    let source = CString::new("overlay").unwrap();
    let target_c = CString::new(target.as_os_str().as_encoded_bytes()).unwrap();
    let options = CString::new(options).unwrap();
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target_c.as_ptr(),
            source.as_ptr(),
            libc::MS_RDONLY,
            options.as_ptr().cast(),
        )
    };
    assert_eq!(rc, 0, "mount overlay: {}", std::io::Error::last_os_error());
}

pub fn umount(target: &Path) {
    let target_c = CString::new(target.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(
        unsafe { libc::umount2(target_c.as_ptr(), libc::MNT_DETACH) },
        0
    );
}

#[test]
fn gzip_and_zstd_give_the_plain_diff_id() {
    let scratch = scratch();
    let plain = TarBuilder::new()
        .dir("a/")
        .file("a/x", &vec![7u8; 100_000])
        .finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    let expected = sha256(&plain);
    for (name, data) in [("plain", &plain), ("gz", &gz), ("zst", &zst)] {
        let dest = scratch.path().join(name);
        let layer = unpack(data, &dest).unwrap();
        assert_eq!(layer.diff_id, expected, "{name}");
        assert_eq!(layer.size, 100_000);
        assert_eq!(std::fs::read(dest.join("a/x")).unwrap().len(), 100_000);
    }
}

/// Each hostile archive is refused with an error, and nothing appears outside dest.
#[test]
fn hostile_archives_are_refused_without_writing_outside() {
    type MakeTar = Box<dyn Fn(&Path) -> Vec<u8>>;
    let cases: Vec<(&str, MakeTar)> = vec![
        (
            "dotdot",
            Box::new(|_| TarBuilder::new().file("../evil", b"x").finish()),
        ),
        (
            "nested dotdot",
            Box::new(|_| TarBuilder::new().file("a/../../evil", b"x").finish()),
        ),
        (
            "through absolute symlink",
            Box::new(|outside| {
                TarBuilder::new()
                    .symlink("link", outside.to_str().unwrap())
                    .file("link/evil", b"x")
                    .finish()
            }),
        ),
        (
            "through relative symlink",
            Box::new(|_| {
                TarBuilder::new()
                    .symlink("l", "..")
                    .file("l/evil", b"x")
                    .finish()
            }),
        ),
        (
            "dir through symlink",
            Box::new(|outside| {
                TarBuilder::new()
                    .symlink("link", outside.to_str().unwrap())
                    .dir("link/evil/")
                    .finish()
            }),
        ),
        (
            "hardlink outside",
            Box::new(|_| {
                TarBuilder::new()
                    .hardlink("hl", "../../etc/passwd")
                    .finish()
            }),
        ),
        (
            "hardlink through symlink",
            Box::new(|_| {
                TarBuilder::new()
                    .symlink("etc", "/etc")
                    .hardlink("hl", "etc/passwd")
                    .finish()
            }),
        ),
        (
            "whiteout through symlink",
            Box::new(|outside| {
                TarBuilder::new()
                    .symlink("link", outside.to_str().unwrap())
                    .file("link/.wh.victim", b"")
                    .finish()
            }),
        ),
        (
            "truncated",
            Box::new(|_| {
                let data = TarBuilder::new().file("big", &vec![1u8; 10_000]).finish();
                data[..3000].to_vec()
            }),
        ),
        (
            "corrupt gzip",
            Box::new(|_| {
                let plain = TarBuilder::new()
                    .file("f", &vec![3u8; 50_000])
                    .file("g", b"g")
                    .finish();
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&plain).unwrap();
                let mut gz = gz.finish().unwrap();
                let middle = gz.len() / 2;
                for b in &mut gz[middle..middle + 16] {
                    *b ^= 0x5a;
                }
                gz
            }),
        ),
    ];
    for (name, make) in cases {
        let scratch = scratch();
        let outside = scratch.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"v").unwrap();
        let dest = scratch.path().join("a").join("dest");
        let data = make(&outside);
        let result = unpack(&data, &dest);
        assert!(result.is_err(), "{name}: expected an error, got {result:?}");
        eprintln!("{name}: {}", result.unwrap_err());
        assert_eq!(
            tree(&outside),
            vec!["victim".to_string()],
            "{name}: wrote outside"
        );
        assert_eq!(
            std::fs::read(outside.join("victim")).unwrap(),
            b"v",
            "{name}"
        );
        assert_eq!(
            tree(&scratch.path().join("a"))
                .iter()
                .filter(|p| !p.starts_with("dest"))
                .count(),
            0,
            "{name}"
        );
        assert!(
            !scratch.path().join("evil").exists() && !scratch.path().join("a/evil").exists(),
            "{name}"
        );
    }
}

#[test]
fn later_entries_replace_earlier_ones_without_following_links() {
    let scratch = scratch();
    let outside = scratch.path().join("outside");
    std::fs::write(&outside, b"precious").unwrap();
    let dest = scratch.path().join("dest");
    let data = TarBuilder::new()
        .symlink("x", outside.to_str().unwrap())
        .file("x", b"replaced")
        .dir("d/")
        .file("d/inner", b"i")
        .file("d", b"now a file")
        .file("after", b"ok")
        .finish();
    unpack(&data, &dest).unwrap();
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
    assert_eq!(std::fs::read(dest.join("x")).unwrap(), b"replaced");
    assert_eq!(std::fs::read(dest.join("d")).unwrap(), b"now a file");
    assert_eq!(std::fs::read(dest.join("after")).unwrap(), b"ok");
}

#[test]
fn hardlink_target_must_exist_in_layer() {
    let scratch = scratch();
    let dest = scratch.path().join("dest");
    let data = TarBuilder::new().hardlink("hl", "missing").finish();
    let error = unpack(&data, &dest).unwrap_err();
    assert!(error.to_string().contains("hard link target"), "{error}");
}
