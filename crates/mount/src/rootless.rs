//! Whether this process runs in a user namespace of its own (rootless berth,
//! `crates/engine/src/rootless.rs`), which changes how overlays are made, and
//! whether the kernel lets it make one ([`user_namespaces_unavailable`]).
//!
//! In a user namespace other than the host's the kernel refuses the
//! `trusted.*` xattrs overlayfs keeps its metadata in (opaque directories,
//! redirects). Overlayfs then keeps it under `user.overlay.*` instead, when
//! mounted with `userxattr`; layers unpacked there carry their opaque marks
//! under that name as well (`berth_archive`), so a rootless root's layers are
//! read and written with one convention throughout.

use std::sync::OnceLock;

/// The host's own user namespace maps every id to itself.
const IDENTITY_MAP: [u64; 3] = [0, 0, 4_294_967_295];

/// True when `/proc/self/uid_map` is not the host's identity map: berth was
/// started in (or entered) a user namespace, as rootless berth always is.
/// Read once per process.
pub fn in_user_namespace() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        let Ok(map) = std::fs::read_to_string("/proc/self/uid_map") else {
            return false;
        };
        let lines: Vec<Vec<u64>> = map
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .collect();
        !(lines.len() == 1 && lines[0] == IDENTITY_MAP)
    })
}

/// Why this process cannot make a user namespace, from the kernel's own
/// settings in its namespace, or `None` when none of them forbids it: a
/// kernel built without them, `user.max_user_namespaces` 0 (for every user,
/// root too), and for an ordinary user Debian's
/// `kernel.unprivileged_userns_clone` 0 or Ubuntu's
/// `kernel.apparmor_restrict_unprivileged_userns` 1.
pub fn user_namespaces_unavailable() -> Option<String> {
    let setting = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|v| v.trim().to_string())
    };
    if std::fs::symlink_metadata("/proc/self/ns/user").is_err() {
        return Some(
            "this kernel has none (no /proc/self/ns/user: built without CONFIG_USER_NS)".into(),
        );
    }
    if setting("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Some(
            "the kernel allows none here: user.max_user_namespaces is 0 \
             (sysctl -w user.max_user_namespaces=N allows N)"
                .into(),
        );
    }
    if rustix::process::geteuid().is_root() {
        return None;
    }
    if setting("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Some(
            "the kernel allows none to ordinary users: kernel.unprivileged_userns_clone is 0 \
             (sysctl -w kernel.unprivileged_userns_clone=1 allows them)"
                .into(),
        );
    }
    if setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Some(
            "AppArmor denies them to ordinary users: kernel.apparmor_restrict_unprivileged_userns \
             is 1 (set it to 0, or give berth an AppArmor profile allowing userns)"
                .into(),
        );
    }
    None
}

/// The prefix of overlayfs' own xattrs in this process: `user.overlay.` in a
/// user namespace (overlays mounted `userxattr`), else `trusted.overlay.`.
pub fn overlay_xattr_prefix() -> &'static str {
    if in_user_namespace() {
        "user.overlay."
    } else {
        "trusted.overlay."
    }
}
