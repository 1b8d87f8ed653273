//! Whether this process runs in a user namespace of its own (rootless berth,
//! `crates/engine/src/rootless.rs`), which changes how overlays are made.
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

/// The prefix of overlayfs' own xattrs in this process: `user.overlay.` in a
/// user namespace (overlays mounted `userxattr`), else `trusted.overlay.`.
pub fn overlay_xattr_prefix() -> &'static str {
    if in_user_namespace() {
        "user.overlay."
    } else {
        "trusted.overlay."
    }
}
