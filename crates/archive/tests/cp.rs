//! docker cp primitives and rules, volume copy-up — with hostile container symlinks.

mod common;

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_archive::{
    archive_path, copy_from_root, copy_up, extract_to_dir, stat_in_root, ArchiveError,
    CopyProgress, NoProgress,
};
use common::*;
use tar::EntryType;

struct Fixture {
    _scratch: tempfile::TempDir,
    base: PathBuf,
    root: PathBuf,
    host: PathBuf,
}

/// A container root with /etc/passwd, /etc/dir/{a,b}, /etc/evil -> /, /link -> /etc/passwd, /up -> ../../..;
/// a host dir beside it; and a "victim" file outside both.
fn fixture() -> Fixture {
    let scratch = scratch();
    let base = scratch.path().to_path_buf();
    let root = base.join("root");
    let host = base.join("host");
    std::fs::create_dir_all(root.join("etc/dir")).unwrap();
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(root.join("etc/passwd"), "container passwd").unwrap();
    std::fs::write(root.join("etc/dir/a"), "a").unwrap();
    std::fs::write(root.join("etc/dir/b"), "b").unwrap();
    symlink("/", root.join("etc/evil")).unwrap();
    symlink("/etc/passwd", root.join("link")).unwrap();
    symlink("../../..", root.join("up")).unwrap();
    std::fs::write(base.join("victim"), "v").unwrap();
    Fixture {
        _scratch: scratch,
        base,
        root,
        host,
    }
}

impl Fixture {
    /// Nothing changed outside root/ and host/.
    fn assert_contained(&self) {
        let mut top = std::fs::read_dir(&self.base)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>();
        top.sort();
        assert_eq!(top, vec!["host", "root", "victim"]);
        assert_eq!(std::fs::read(self.base.join("victim")).unwrap(), b"v");
    }
}

fn names(data: &[u8]) -> Vec<(String, EntryType)> {
    tar::Archive::new(data)
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().entry_type(),
            )
        })
        .collect()
}

#[test]
fn stat_reports_docker_path_stat() {
    let f = fixture();
    let passwd = stat_in_root(&f.root, "/etc/passwd").unwrap();
    assert_eq!(
        (passwd.name.as_str(), passwd.size, passwd.mode),
        ("passwd", 16, 0o644)
    );
    assert!(
        passwd.mtime.ends_with('Z') && passwd.mtime.contains('T'),
        "{}",
        passwd.mtime
    );
    assert_eq!(
        stat_in_root(&f.root, "etc/").unwrap().mode,
        (1 << 31) | 0o755
    );
    assert_eq!(stat_in_root(&f.root, "/etc/").unwrap().name, "etc");
    let link = stat_in_root(&f.root, "/link").unwrap();
    assert_eq!(link.mode, (1 << 27) | 0o777);
    assert_eq!(link.link_target, "/etc/passwd");
    assert_eq!(stat_in_root(&f.root, "/etc/evil").unwrap().link_target, "/");
    assert_eq!(
        stat_in_root(&f.root, "/up/up/etc/passwd").unwrap().name,
        "passwd"
    );
    assert!(matches!(
        stat_in_root(&f.root, "/nope"),
        Err(ArchiveError::NotFound { .. })
    ));
    assert!(matches!(
        stat_in_root(&f.root, "/etc/passwd/"),
        Err(ArchiveError::NotADirectory { .. })
    ));
}

#[test]
fn archive_path_names_entries_like_docker() {
    let f = fixture();
    let get = |path: &str, follow: bool| {
        let mut out = Vec::new();
        archive_path(&f.root, path, follow, &mut out, None).unwrap();
        names(&out)
    };
    let dir = get("/etc/dir", false);
    assert_eq!(
        dir.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec!["dir", "dir/a", "dir/b"]
    );
    let content = get("/etc/dir/.", false);
    assert_eq!(
        content.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        vec![".", "a", "b"]
    );
    assert_eq!(
        get("/link", false),
        vec![("link".to_string(), EntryType::Symlink)]
    );
    assert_eq!(
        get("/link", true),
        vec![("passwd".to_string(), EntryType::Regular)]
    );
    // Through a symlink to / : still the container's own passwd.
    let mut out = Vec::new();
    archive_path(&f.root, "/etc/evil/etc/passwd", false, &mut out, None).unwrap();
    let mut archive = tar::Archive::new(&out[..]);
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
    assert_eq!(text, "container passwd");
    assert!(
        archive_path(&f.root, "/missing", false, &mut Vec::new(), None)
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn extract_to_dir_stays_in_root() {
    let f = fixture();
    // The extraction dir is a symlink to "/": resolved in-root.
    let tar = TarBuilder::new()
        .entry(
            "x",
            EntryType::Regular,
            &Meta {
                uid: 1234,
                gid: 1234,
                ..Meta::default()
            },
            b"x",
            None,
        )
        .symlink("l", "/")
        .file("l/through-link", b"t")
        .finish();
    extract_to_dir(&f.root, "/etc/evil", &tar[..], true, false).unwrap();
    assert_eq!(std::fs::read(f.root.join("x")).unwrap(), b"x");
    assert_eq!(
        lmeta(&f.root.join("x")).uid(),
        0,
        "owned by container root without copy_uid_gid"
    );
    assert_eq!(std::fs::read(f.root.join("through-link")).unwrap(), b"t");
    f.assert_contained();

    let tar = TarBuilder::new()
        .entry(
            "y",
            EntryType::Regular,
            &Meta {
                uid: 1234,
                ..Meta::default()
            },
            b"y",
            None,
        )
        .finish();
    extract_to_dir(&f.root, "/", &tar[..], true, true).unwrap();
    assert_eq!(
        lmeta(&f.root.join("y")).uid(),
        1234,
        "copy_uid_gid keeps ownership"
    );

    for hostile in [
        TarBuilder::new().file("../escape", b"e").finish(),
        TarBuilder::new().file("a/../../escape", b"e").finish(),
    ] {
        let error = extract_to_dir(&f.root, "/etc", &hostile[..], true, false).unwrap_err();
        assert!(matches!(error, ArchiveError::UnsafeEntry { .. }), "{error}");
    }
    // A parent reached through a container symlink is resolved afresh once an entry replaced that symlink.
    symlink("/etc/dir", f.root.join("sl")).unwrap();
    let tar = TarBuilder::new()
        .file("sl/x", b"x")
        .file("sl", b"now a file")
        .file("sl/y", b"y")
        .finish();
    assert!(extract_to_dir(&f.root, "/", &tar[..], false, false).is_err());
    assert!(f.root.join("etc/dir/x").exists() && !f.root.join("etc/dir/y").exists());
    // Replacing a directory with a file is refused with Docker's message.
    let tar = TarBuilder::new().file("etc", b"file").finish();
    let error = extract_to_dir(&f.root, "/", &tar[..], true, false).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot overwrite directory \"/etc\" with non-directory \"/\""),
        "{error}"
    );
    let tar = TarBuilder::new().dir("link/").finish();
    let error = extract_to_dir(&f.root, "/", &tar[..], true, false).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot overwrite non-directory"),
        "{error}"
    );
    let error = extract_to_dir(
        &f.root,
        "/etc/passwd",
        &TarBuilder::new().finish()[..],
        true,
        false,
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "extraction point is not a directory");
    f.assert_contained();
}

/// `docker cp HOST_SRC CTR:DEST` as the engine runs it: planned (the
/// CLI's rules), then carried out.
fn copy_into_root(
    root: &Path,
    host_src: &Path,
    dest_in_root: &str,
    follow_link: bool,
    copy_uid_gid: bool,
) -> Result<(), berth_archive::ArchiveError> {
    berth_archive::plan_copy_into_root(root, host_src, dest_in_root, follow_link)?.run(
        root,
        copy_uid_gid,
        &NoProgress,
        None,
    )
}

#[test]
fn copy_into_root_follows_docker_cp_rules() {
    let f = fixture();
    let src_file = f.host.join("file.txt");
    std::fs::write(&src_file, "hello").unwrap();
    let src_dir = f.host.join("srcdir");
    std::fs::create_dir_all(src_dir.join("sub")).unwrap();
    std::fs::write(src_dir.join("sub/inner"), "inner").unwrap();
    std::fs::set_permissions(&src_dir, std::fs::Permissions::from_mode(0o750)).unwrap();

    // file -> existing dir: copied into it.
    copy_into_root(&f.root, &src_file, "/etc/dir", false, false).unwrap();
    assert_eq!(
        std::fs::read(f.root.join("etc/dir/file.txt")).unwrap(),
        b"hello"
    );
    // file -> missing name in an existing dir: created under that name.
    copy_into_root(&f.root, &src_file, "/etc/renamed", false, false).unwrap();
    assert_eq!(std::fs::read(f.root.join("etc/renamed")).unwrap(), b"hello");
    // file -> existing file: replaced.
    copy_into_root(&f.root, &src_file, "/etc/passwd", false, false).unwrap();
    assert_eq!(std::fs::read(f.root.join("etc/passwd")).unwrap(), b"hello");
    // dir -> missing: created with the dir's content.
    copy_into_root(&f.root, &src_dir, "/newdir", false, false).unwrap();
    assert_eq!(
        std::fs::read(f.root.join("newdir/sub/inner")).unwrap(),
        b"inner"
    );
    assert_eq!(lmeta(&f.root.join("newdir")).mode() & 0o777, 0o750);
    // dir -> existing dir: nested inside.
    copy_into_root(&f.root, &src_dir, "/etc/dir", false, false).unwrap();
    assert!(f.root.join("etc/dir/srcdir/sub/inner").exists());
    // dir/. -> existing dir: the content only.
    let dot = PathBuf::from(format!("{}/.", src_dir.display()));
    copy_into_root(&f.root, &dot, "/etc", false, false).unwrap();
    assert!(f.root.join("etc/sub/inner").exists());
    // dir -> existing file: refused.
    let error = copy_into_root(&f.root, &src_dir, "/etc/renamed", false, false).unwrap_err();
    assert_eq!(error.to_string(), "cannot copy directory");
    // file -> "existing-file/": Docker 20.10 says "no such directory"; a dir there cannot replace the file.
    let error = copy_into_root(&f.root, &src_file, "/etc/renamed/", false, false).unwrap_err();
    assert_eq!(error.to_string(), "no such directory");
    let error = copy_into_root(&f.root, &src_dir, "/etc/renamed/", false, false).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot overwrite non-directory \"/etc/renamed\""),
        "{error}"
    );
    // file -> "missing/": no such directory.
    let error = copy_into_root(&f.root, &src_file, "/missing/", false, false).unwrap_err();
    assert_eq!(error.to_string(), "no such directory");
    // Missing parent.
    assert!(copy_into_root(&f.root, &src_file, "/no/such/parent", false, false).is_err());

    // The CVE pattern: destination through a container symlink to "/" lands in the container root, never on
    // the host's /.
    let unique = f.host.join("berth-cp-escape-probe");
    std::fs::write(&unique, "probe").unwrap();
    copy_into_root(&f.root, &unique, "/etc/evil/", false, false).unwrap();
    assert!(f.root.join("berth-cp-escape-probe").exists());
    assert!(!Path::new("/berth-cp-escape-probe").exists());
    copy_into_root(&f.root, &unique, "/up/up/tmp-probe", false, false).unwrap();
    assert!(f.root.join("tmp-probe").exists());

    // -L on a host symlink copies the target's content under the link's name.
    symlink(&src_file, f.host.join("hostlink")).unwrap();
    copy_into_root(&f.root, &f.host.join("hostlink"), "/etc/dir", true, false).unwrap();
    assert_eq!(
        std::fs::read(f.root.join("etc/dir/hostlink")).unwrap(),
        b"hello"
    );
    copy_into_root(
        &f.root,
        &f.host.join("hostlink"),
        "/etc/dir/asis",
        false,
        false,
    )
    .unwrap();
    assert!(lmeta(&f.root.join("etc/dir/asis")).file_type().is_symlink());
    f.assert_contained();
}

#[test]
fn copy_from_root_follows_docker_cp_rules_and_never_writes_through_container_links() {
    let f = fixture();
    std::fs::create_dir(f.root.join("etc/dir/nest")).unwrap();
    symlink("/tmp", f.root.join("etc/dir/nest/escape")).unwrap();

    // dir -> missing host path: created.
    copy_from_root(
        &f.root,
        "/etc/dir",
        &f.host.join("copy"),
        false,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(std::fs::read(f.host.join("copy/a")).unwrap(), b"a");
    assert_eq!(
        std::fs::read_link(f.host.join("copy/nest/escape")).unwrap(),
        Path::new("/tmp"),
        "kept as a link"
    );
    // file -> existing host dir.
    copy_from_root(&f.root, "/etc/passwd", &f.host, false, &NoProgress).unwrap();
    assert_eq!(
        std::fs::read(f.host.join("passwd")).unwrap(),
        b"container passwd"
    );
    // dir/. -> existing host dir: content only.
    std::fs::create_dir(f.host.join("content")).unwrap();
    copy_from_root(
        &f.root,
        "/etc/dir/.",
        &f.host.join("content"),
        false,
        &NoProgress,
    )
    .unwrap();
    assert!(f.host.join("content/a").exists() && f.host.join("content/b").exists());
    // Through the container's /etc/evil -> / : the container's file, not the host's.
    copy_from_root(
        &f.root,
        "/etc/evil/etc/passwd",
        &f.host.join("p2"),
        false,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(
        std::fs::read(f.host.join("p2")).unwrap(),
        b"container passwd"
    );
    // A symlink: copied as a link, or followed with -L (named after the link).
    copy_from_root(&f.root, "/link", &f.host.join("l-asis"), false, &NoProgress).unwrap();
    assert!(lmeta(&f.host.join("l-asis")).file_type().is_symlink());
    copy_from_root(
        &f.root,
        "/link",
        &f.host.join("followed"),
        true,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(
        std::fs::read(f.host.join("followed")).unwrap(),
        b"container passwd"
    );
    std::fs::create_dir(f.host.join("intodir")).unwrap();
    copy_from_root(&f.root, "/link", &f.host.join("intodir"), true, &NoProgress).unwrap();
    assert_eq!(
        std::fs::read(f.host.join("intodir/link")).unwrap(),
        b"container passwd"
    );
    // Second copy of a dir over the host copy that now contains the container's link: merged, the link is
    // replaced rather than written through.
    copy_from_root(&f.root, "/etc/dir", &f.host, false, &NoProgress).unwrap();
    copy_from_root(&f.root, "/etc/dir", &f.host, false, &NoProgress).unwrap();
    assert!(lmeta(&f.host.join("dir/nest/escape"))
        .file_type()
        .is_symlink());
    // Errors.
    assert!(
        copy_from_root(&f.root, "/missing", &f.host.join("m"), false, &NoProgress)
            .unwrap_err()
            .is_not_found()
    );
    let error = copy_from_root(
        &f.root,
        "/etc/dir",
        &f.host.join("passwd"),
        false,
        &NoProgress,
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "cannot copy directory");
    let error = copy_from_root(
        &f.root,
        "/etc/passwd",
        &f.host.join("nodir/"),
        false,
        &NoProgress,
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "no such directory");
    f.assert_contained();
}

#[test]
fn copy_up_preserves_ownership_and_never_leaves_root() {
    let f = fixture();
    let data = f.root.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("sub/x"), "x").unwrap();
    std::fs::write(data.join("f"), "f").unwrap();
    std::os::unix::fs::chown(data.join("f"), Some(1234), Some(1235)).unwrap();
    std::os::unix::fs::chown(&data, Some(1234), Some(1234)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
    rustix::fs::setxattr(
        data.join("f"),
        "user.k",
        b"v",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    symlink("/etc", data.join("link")).unwrap();
    symlink("/data", f.root.join("datalink")).unwrap();

    let volume = f.base.join("host/vol");
    std::fs::create_dir(&volume).unwrap();
    copy_up(&f.root, "/datalink", &volume).unwrap();
    assert_eq!(tree(&volume), vec!["f", "link", "sub", "sub/x"]);
    let meta = lmeta(&volume.join("f"));
    assert_eq!((meta.uid(), meta.gid()), (1234, 1235));
    assert_eq!(
        xattr(&volume.join("f"), "user.k").as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        std::fs::read_link(volume.join("link")).unwrap(),
        Path::new("/etc")
    );
    let top = lmeta(&volume);
    assert_eq!((top.uid(), top.mode() & 0o7777), (1234, 0o750));

    // Missing or non-directory source: nothing happens.
    let empty = f.base.join("host/empty");
    std::fs::create_dir(&empty).unwrap();
    copy_up(&f.root, "/nope", &empty).unwrap();
    copy_up(&f.root, "/etc/passwd", &empty).unwrap();
    // A mount point that is a symlink to "/" copies the container root, never the host's.
    copy_up(&f.root, "/etc/evil/etc/dir", &empty).unwrap();
    assert_eq!(tree(&empty), vec!["a", "b"]);
    f.assert_contained();
}

/// Counts what a copy reports.
#[derive(Default)]
struct Recorded {
    total: std::sync::atomic::AtomicU64,
    copied: std::sync::atomic::AtomicU64,
}

impl CopyProgress for Recorded {
    fn total(&self, bytes: u64) {
        self.total.store(bytes, std::sync::atomic::Ordering::SeqCst);
    }
    fn copied(&self, bytes: u64) {
        self.copied
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Recorded {
    fn get(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::SeqCst;
        (self.total.load(SeqCst), self.copied.load(SeqCst))
    }
}

#[test]
fn copies_report_the_stream_and_its_size_beforehand() {
    let f = fixture();
    let tree = f.host.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a"), vec![1u8; 300_000]).unwrap();
    std::fs::write(tree.join("sub/b"), vec![2u8; 100_001]).unwrap();
    symlink("a", tree.join("link")).unwrap();

    let into = Recorded::default();
    berth_archive::plan_copy_into_root(&f.root, &tree, "/tree-in", false)
        .unwrap()
        .run(&f.root, false, &into, None)
        .unwrap();
    let (total, copied) = into.get();
    assert!(copied >= 400_001, "{copied}");
    // The estimate is the stream's size but for extended headers.
    assert!(
        copied.abs_diff(total) <= 4096,
        "total {total}, copied {copied}"
    );

    let out = Recorded::default();
    copy_from_root(&f.root, "/tree-in", &f.host.join("tree-out"), false, &out).unwrap();
    let (total, copied) = out.get();
    assert!(
        copied.abs_diff(total) <= 4096,
        "total {total}, copied {copied}"
    );
    assert_eq!(
        std::fs::read(f.host.join("tree-out/sub/b")).unwrap().len(),
        100_001
    );
}
