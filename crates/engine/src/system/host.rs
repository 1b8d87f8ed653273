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
