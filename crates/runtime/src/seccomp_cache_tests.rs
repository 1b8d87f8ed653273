use super::*;

/// A bundle whose spec has Docker's default filter as berth writes it for a
/// container with Docker's default capabilities.
fn bundle_with_filter(dir: &Path, errno: u32) -> Value {
    let caps = crate::caps::default_capabilities();
    let mut filter = crate::seccomp::filter_for(&crate::Seccomp::Default, false, &caps)
        .unwrap()
        .expect("the default profile is a filter");
    filter.set_default_errno_ret(Some(errno));
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {"args": ["true"]},
        "linux": {"seccomp": filter},
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    config
}

fn config(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
}

/// Stands for the program crun compiled: whole 8-byte instructions.
fn compiled(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("seccomp.bpf");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_filter_is_compiled_once_then_handed_over_as_crun_reads_it() {
    let root = tempfile::tempdir().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    let crun = Path::new("/bin/sh");
    let written = bundle_with_filter(bundle.path(), 1);

    let pending = prepare(crun, root.path(), bundle.path()).unwrap();
    let pending = pending.expect("an empty cache misses");
    assert_eq!(
        config(bundle.path()),
        written,
        "a miss leaves the spec alone"
    );
    let program: Vec<u8> = (0..=255u8).cycle().take(8 * 125).collect();
    pending.store(&compiled(bundle.path(), &program));

    assert!(prepare(crun, root.path(), bundle.path()).unwrap().is_none());
    let mut seen = config(bundle.path());
    let annotation = seen["annotations"][BPF_ANNOTATION].take();
    assert_eq!(annotation.as_str(), Some(base64(&program).as_str()));
    seen.as_object_mut().unwrap().remove("annotations");
    assert_eq!(seen, written, "only the annotation is added");
    // Given once, it is not looked up again.
    assert!(prepare(crun, root.path(), bundle.path()).unwrap().is_none());
}

#[test]
fn another_filter_crun_or_no_filter_is_not_served_from_the_cache() {
    let root = tempfile::tempdir().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    bundle_with_filter(bundle.path(), 1);
    let pending = prepare(Path::new("/bin/sh"), root.path(), bundle.path()).unwrap();
    pending.unwrap().store(&compiled(bundle.path(), &[7; 16]));

    // Another errno for the same calls is another program.
    bundle_with_filter(bundle.path(), 38);
    let other = prepare(Path::new("/bin/sh"), root.path(), bundle.path()).unwrap();
    assert!(other.is_some(), "another filter must miss");
    // So is the same filter for another crun.
    bundle_with_filter(bundle.path(), 1);
    let other = prepare(Path::new("/bin/true"), root.path(), bundle.path()).unwrap();
    assert!(other.is_some(), "another crun binary must miss");
    assert!(config(bundle.path()).get("annotations").is_none());
    // A spec without a filter gets no program.
    let plain = serde_json::json!({"ociVersion": "1.0.2", "linux": {}});
    std::fs::write(bundle.path().join("config.json"), plain.to_string()).unwrap();
    assert!(prepare(Path::new("/bin/sh"), root.path(), bundle.path())
        .unwrap()
        .is_none());
    assert_eq!(config(bundle.path()), plain);
}

#[test]
fn only_whole_programs_are_kept() {
    let root = tempfile::tempdir().unwrap();
    let bundle = tempfile::tempdir().unwrap();
    bundle_with_filter(bundle.path(), 1);
    for bad in [&[][..], &[1, 2, 3, 4, 5][..]] {
        let pending = prepare(Path::new("/bin/sh"), root.path(), bundle.path()).unwrap();
        pending.unwrap().store(&compiled(bundle.path(), bad));
    }
    let pending = prepare(Path::new("/bin/sh"), root.path(), bundle.path()).unwrap();
    assert!(pending.is_some(), "no partial program may be served");
    // Nor one whose file went missing.
    pending.unwrap().store(&bundle.path().join("absent.bpf"));
    assert!(prepare(Path::new("/bin/sh"), root.path(), bundle.path())
        .unwrap()
        .is_some());
}

#[test]
fn a_full_cache_drops_its_older_half() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(CACHE_DIR);
    std::fs::create_dir(&dir).unwrap();
    for i in 0..MAX_ENTRIES {
        std::fs::write(dir.join(format!("{i:064}")), [0; 8]).unwrap();
    }
    let bundle = tempfile::tempdir().unwrap();
    bundle_with_filter(bundle.path(), 1);
    let pending = prepare(Path::new("/bin/sh"), root.path(), bundle.path()).unwrap();
    pending.unwrap().store(&compiled(bundle.path(), &[9; 8]));
    let left = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(left, MAX_ENTRIES / 2 + 1);
    assert!(prepare(Path::new("/bin/sh"), root.path(), bundle.path())
        .unwrap()
        .is_none());
}

#[test]
fn base64_is_the_standard_alphabet_with_padding() {
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
    assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
}

#[test]
fn the_libseccomp_crun_links_is_found_where_it_is_installed() {
    // runc and crun link it dynamically on Debian; where the loader knows
    // none, the key does without it.
    let listed = std::process::Command::new("ldconfig")
        .arg("-p")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("libseccomp.so.2 "));
    let file = libseccomp_file();
    assert_eq!(file.is_some(), listed, "{file:?}");
    if let Some(file) = file {
        assert!(file.exists(), "{}", file.display());
        assert!(file.to_string_lossy().contains("libseccomp"));
    }
}
