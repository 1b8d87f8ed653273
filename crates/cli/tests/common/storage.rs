//! Helpers of the storage tests (storage.rs, mounts.rs, inspect_docker.rs,
//! disk_usage.rs).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{busybox_tar, Berth};
// ------------------------------------------------------------------ helpers

pub fn inspect(b: &Berth, name: &str) -> Value {
    let text = b.ok(&["inspect", name]);
    let mut all: Value = serde_json::from_str(&text).expect("inspect prints JSON");
    all[0].take()
}

pub fn mounts(b: &Berth, name: &str) -> Vec<Value> {
    inspect(b, name)["Mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub fn mount_at(b: &Berth, name: &str, destination: &str) -> Value {
    mounts(b, name)
        .into_iter()
        .find(|m| m["Destination"] == destination)
        .unwrap_or_else(|| panic!("{name} has no mount at {destination}"))
}

pub fn data_dir(b: &Berth, volume: &str) -> PathBuf {
    b.path().join("volumes").join(volume).join("_data")
}

pub fn volume_names(b: &Berth) -> Vec<String> {
    let mut names: Vec<String> = b
        .ok(&["volume", "ls", "-q"])
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    names
}

pub fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Waits (up to 20 s) for a file a container writes.
pub fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A host directory for binds, removed at the end of the test.
pub fn host_dir() -> tempfile::TempDir {
    let base = Path::new("/var/tmp/berth-tests");
    std::fs::create_dir_all(base).unwrap();
    tempfile::Builder::new()
        .prefix("host-")
        .tempdir_in(base)
        .unwrap()
}

/// Imports busybox plus whatever `populate` adds to the rootfs, with image
/// `changes` (`VOLUME /data`, ...), as `tag`.
pub fn image_with(b: &Berth, tag: &str, changes: &[&str], populate: impl FnOnce(&Path)) {
    let dir = host_dir();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(busybox_tar())
        .arg("-C")
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(status.success());
    populate(&rootfs);
    let tar = dir.path().join("image.tar");
    let status = Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let mut args = vec!["import".to_string(), "-c".into(), "CMD [\"sh\"]".into()];
    for c in changes {
        args.push("-c".into());
        args.push(c.to_string());
    }
    args.push(tar.to_string_lossy().into_owned());
    args.push(tag.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    b.ok(&args);
}

/// `/data` with content of known owners and modes, for copy-up.
pub fn seeded_data(rootfs: &Path) {
    use std::os::unix::fs::chown;
    let data = rootfs.join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("seed.txt"), "from the image\n").unwrap();
    std::fs::write(data.join("sub/deep.txt"), "deep\n").unwrap();
    chown(data.join("seed.txt"), Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(
        data.join("seed.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    chown(&data, Some(42), Some(43)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
}

/// A container's output (stdout + stderr) and exit code.
pub fn run_output(b: &Berth, args: &[&str]) -> (i32, String) {
    let r = b.run(args);
    (r.code, format!("{}{}", r.stdout, r.stderr))
}

pub fn assert_read_only_write(b: &Berth, args: &[&str]) {
    let (code, out) = run_output(b, args);
    assert_ne!(code, 0, "{args:?} wrote to a read-only mount: {out}");
    assert!(
        out.contains("Read-only file system"),
        "{args:?} failed without 'Read-only file system': {out}"
    );
}

// ------------------------------------------------------------------ §3 volumes
