//! What the host confines containers with, and the container-escape CVEs
//! of the installed OCI runtime — for `info`, which shows dockerd's
//! `SecurityOptions` and prints warnings as dockerd does.
//!
//! Each CVE below was fixed in runc; an older runc gets a warning naming
//! it, the version that fixed it and what berth does about it itself. A
//! distribution's build that carries the fix without the version (Debian
//! 12's `1.1.5+ds1-1+deb12u1` carries the CVE-2024-21626 fix) counts as
//! fixed.

use std::path::Path;

use crate::{binary_version, BinaryVersion};

/// One runtime CVE: the first runc release(s) with the fix.
struct Advisory {
    cve: &'static str,
    what: &'static str,
    /// Fixed from these (major, minor, patch) on within each (major, minor)
    /// line; a line newer than every listed one is fixed too.
    fixed: &'static [(u32, u32, u32)],
    /// Distribution builds (`runc --version`'s commit line) with the fix.
    backports: &'static [&'static str],
    /// What berth does itself, whatever the runtime.
    berth: &'static str,
}

const RUNC: &[Advisory] = &[
    Advisory {
        cve: "CVE-2024-21626",
        what: "a working directory in /proc/self/fd reaches the host through a leaked descriptor",
        fixed: &[(1, 1, 12)],
        backports: &["1.1.5+ds1-1+deb12u"],
        berth: "berth refuses such working directories and checks the created container's before starting it",
    },
    Advisory {
        cve: "CVE-2025-31133",
        what: "a container's /dev/null swapped for a symlink unmasks masked paths",
        fixed: &[(1, 2, 8), (1, 3, 3), (1, 4, 0)],
        backports: &[],
        berth: "berth checks every masked path of a created container before starting it",
    },
    Advisory {
        cve: "CVE-2025-52565",
        what: "a swapped /dev/pts entry is bound as a writable /dev/console",
        fixed: &[(1, 2, 8), (1, 3, 3), (1, 4, 0)],
        backports: &[],
        berth: "berth checks /dev/console of a created container before starting it",
    },
    Advisory {
        cve: "CVE-2025-52881",
        what: "writes the runtime makes to /proc are redirected elsewhere",
        fixed: &[(1, 2, 8), (1, 3, 3), (1, 4, 0)],
        backports: &[],
        berth: "berth does not detect this itself: upgrade runc",
    },
];

/// "1.1.5+ds1" → (1, 1, 5); "1.4.0-rc.3" → (1, 4, 0) (release candidates
/// count as their release).
fn parse_version(version: &str) -> Option<(u32, u32, u32)> {
    let core = version.split(['+', '-', '~']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

fn is_fixed(advisory: &Advisory, version: (u32, u32, u32), commit: &str) -> bool {
    if advisory.backports.iter().any(|b| commit.starts_with(b)) {
        return true;
    }
    let (major, minor, _) = version;
    match advisory
        .fixed
        .iter()
        .find(|(fmaj, fmin, _)| (*fmaj, *fmin) == (major, minor))
    {
        Some(fixed) => version >= *fixed,
        None => advisory.fixed.iter().all(|fixed| version > *fixed),
    }
}

/// Warnings about the OCI runtime `binary` (`runc` or a path to one); other
/// runtimes, and a runc whose version cannot be read, get none.
pub fn runtime_warnings(binary: &str) -> Vec<String> {
    let Some(BinaryVersion {
        version, commit, ..
    }) = binary_version(Path::new(binary)).filter(|v| v.program == "runc")
    else {
        return Vec::new();
    };
    let Some(parsed) = parse_version(&version) else {
        return Vec::new();
    };
    RUNC.iter()
        .filter(|a| !is_fixed(a, parsed, &commit))
        .map(|a| {
            let fixed: Vec<String> = a
                .fixed
                .iter()
                .map(|(x, y, z)| format!("{x}.{y}.{z}"))
                .collect();
            format!(
                "WARNING: runc {version} is vulnerable to {} ({}; fixed in runc {}); {}",
                a.cve,
                a.what,
                fixed.join(", "),
                a.berth
            )
        })
        .collect()
}

/// dockerd's `SecurityOptions` for this host.
pub fn security_options() -> Vec<String> {
    let mut options = Vec::new();
    if crate::apparmor::enabled() {
        options.push("name=apparmor".to_string());
    }
    if crate::seccomp::seccomp_supported() {
        options.push("name=seccomp,profile=builtin".to_string());
    }
    options
}

/// The host's own confinement warnings (no AppArmor, no seccomp).
pub fn host_warnings() -> Vec<String> {
    let mut warnings = Vec::new();
    if !crate::seccomp::seccomp_supported() {
        warnings.push(
            "WARNING: the kernel has no seccomp filters: containers run without Docker's \
             default seccomp profile"
                .to_string(),
        );
    }
    if !crate::apparmor::enabled() {
        warnings.push(
            "WARNING: AppArmor is not enabled on this host: containers run without an AppArmor \
             profile (seccomp, capabilities and namespaces still confine them)"
                .to_string(),
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_backports_decide_what_is_fixed() {
        assert_eq!(parse_version("1.1.5+ds1"), Some((1, 1, 5)));
        assert_eq!(parse_version("1.4.0-rc.3"), Some((1, 4, 0)));
        assert_eq!(parse_version("1.2"), Some((1, 2, 0)));
        assert_eq!(parse_version("main"), None);
        let leak = &RUNC[0];
        assert!(!is_fixed(leak, (1, 1, 5), "v1.1.5-0-gf19387a"));
        assert!(is_fixed(leak, (1, 1, 5), "1.1.5+ds1-1+deb12u1"));
        assert!(is_fixed(leak, (1, 1, 12), ""));
        assert!(is_fixed(leak, (1, 2, 0), ""));
        assert!(!is_fixed(leak, (1, 0, 3), ""));
        let console = &RUNC[2];
        assert!(!is_fixed(console, (1, 1, 15), "1.1.5+ds1-1+deb12u1"));
        assert!(!is_fixed(console, (1, 2, 7), ""));
        assert!(is_fixed(console, (1, 2, 8), ""));
        assert!(!is_fixed(console, (1, 3, 2), ""));
        assert!(is_fixed(console, (1, 3, 3), ""));
        assert!(is_fixed(console, (1, 5, 0), ""));
    }

    #[test]
    fn the_installed_runc_is_judged() {
        // Whatever is installed: every warning names a CVE and a fixed version.
        for warning in runtime_warnings("runc") {
            assert!(warning.starts_with("WARNING: runc "), "{warning}");
            assert!(
                warning.contains("CVE-") && warning.contains("fixed in runc"),
                "{warning}"
            );
        }
        assert!(runtime_warnings("/nonexistent/runtime").is_empty());
    }
}
