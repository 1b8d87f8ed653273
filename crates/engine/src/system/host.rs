//! Facts about this machine that `info` and `version` report.

/// A one-line file of /proc, trimmed ("" when it cannot be read).
fn proc_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The running kernel's release (`6.1.0-18-amd64`).
pub(crate) fn kernel_version() -> String {
    proc_line("/proc/sys/kernel/osrelease")
}

/// This machine's architecture in Go's words (`amd64`), as Docker names it.
pub(crate) fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `PRETTY_NAME` of /etc/os-release.
pub(crate) fn operating_system() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// Bytes of memory (`MemTotal` of /proc/meminfo).
pub(crate) fn memory_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

pub(crate) fn hostname() -> String {
    proc_line("/proc/sys/kernel/hostname")
}

/// "2" on a unified (v2) cgroup hierarchy, else "1".
pub(crate) fn cgroup_version() -> &'static str {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    }
}

/// `VERSION_ID` of /etc/os-release ("12"), as dockerd's `OSVersion`.
pub(crate) fn os_version() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VERSION_ID="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_default()
}

/// Whether a `/proc/sys` switch is on ("1"); false when it is absent.
pub(crate) fn sysctl_on(path: &str) -> bool {
    proc_line(path) == "1"
}

/// The filesystem under `path` in dockerd's words (its `fsmagic` names:
/// `extfs` for ext2/3/4), for overlay2's "Backing Filesystem".
pub(crate) fn backing_filesystem(path: &std::path::Path) -> String {
    let Ok(fs) = rustix::fs::statfs(path) else {
        return "<unknown>".into();
    };
    match fs.f_type as i64 {
        0xEF53 => "extfs",
        0x9123_683E => "btrfs",
        0x5846_5342 => "xfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0xF2F5_2010 => "f2fs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        0xFF53_4D42 => "cifs",
        0x6573_5546 => "fuse",
        _ => return format!("<unknown {:#x}>", fs.f_type),
    }
    .to_string()
}

/// Whether directory entries under `dir` carry their type (`d_type`), which
/// overlayfs needs: a file is made in a fresh directory and read back with
/// getdents (std's `DirEntry::file_type` would fall back to `lstat`).
pub(crate) fn supports_d_type(dir: &std::path::Path) -> bool {
    let probe = dir.join(format!(
        ".d_type-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    if std::fs::create_dir(&probe).is_err() {
        return false;
    }
    let found = std::fs::write(probe.join("f"), b"").is_ok() && regular_entry_typed(&probe);
    let _ = std::fs::remove_dir_all(&probe);
    found
}

/// Whether `dir`'s entry `f` comes back from getdents as a regular file.
fn regular_entry_typed(dir: &std::path::Path) -> bool {
    use rustix::fs::{FileType, Mode, OFlags};
    let Ok(fd) = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let Ok(mut entries) = rustix::fs::Dir::read_from(&fd) else {
        return false;
    };
    entries.any(|e| {
        e.is_ok_and(|e| e.file_name().to_bytes() == b"f" && e.file_type() == FileType::RegularFile)
    })
}

/// This engine's ID: made once per root (`engine-id`, as dockerd's
/// `/var/lib/docker/engine-id`) and kept; "" if it cannot be read or made.
pub(crate) fn engine_id(root: &std::path::Path) -> String {
    let path = root.join("engine-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return id.trim().to_string();
    }
    let id = uuid_v4();
    let staged = root.join(format!(".engine-id-{}", std::process::id()));
    let made = std::fs::write(&staged, &id)
        .and_then(|()| {
            // Two processes racing: the first rename wins, both read it.
            std::fs::hard_link(&staged, &path).or_else(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(e),
            })
        })
        .and_then(|()| std::fs::remove_file(&staged));
    if made.is_err() {
        let _ = std::fs::remove_file(&staged);
        return String::new();
    }
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A random (version 4) UUID.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One OCI runtime found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeFacts {
    pub name: String,
    pub path: std::path::PathBuf,
    /// `--version`'s version ("1.1.5+ds1") and commit line ("" when none).
    pub version: String,
    pub commit: String,
}

/// Every runtime berth knows that is installed, and the default one when
/// it is a path.
pub(crate) fn runtimes(default: &str) -> Vec<RuntimeFacts> {
    let mut names: Vec<&str> = berth_runtime::KNOWN_RUNTIMES.to_vec();
    if default.starts_with('/') {
        names.push(default);
    }
    names
        .into_iter()
        .filter_map(|name| {
            let path = berth_runtime::runtime_binary(name).ok()?;
            let (version, commit) = version_and_commit(&path);
            Some(RuntimeFacts {
                name: name.to_string(),
                path,
                version,
                commit,
            })
        })
        .collect()
}

/// `BINARY --version`'s version and commit line ("" when it cannot run).
pub(crate) fn version_and_commit(binary: &std::path::Path) -> (String, String) {
    berth_runtime::binary_version(binary)
        .map(|v| (v.version, v.commit))
        .unwrap_or_default()
}
