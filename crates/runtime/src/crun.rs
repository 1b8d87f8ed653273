//! Where crun differs from runc, smoothed over: a hybrid cgroup host, which
//! crun refuses, and its wording of a missing or unusable command.
//!
//! # A hybrid cgroup host
//! A hybrid host mounts the cgroup v1 controllers under a tmpfs at
//! `/sys/fs/cgroup` and an empty cgroup2 hierarchy at `/sys/fs/cgroup/unified`
//! (Debian 12's systemd with `systemd.unified_cgroup_hierarchy=0`). runc puts
//! containers in the v1 controllers there; crun 1.8 refuses the host instead
//! ("cgroups in hybrid mode not supported"), but uses the v1 controllers as
//! runc does when it cannot see the cgroup2 mount. So berth runs crun in a
//! mount namespace of its own where that mount is gone:
//!
//! * `unshare(CLONE_NEWNS)` in crun's process before it execs (a copy of the
//!   host's mount table, every mount keeping its propagation, so a container's
//!   `rshared` binds still reach the host);
//! * `/sys/fs/cgroup` made private in that copy, so that unmounting under it
//!   does not propagate to the host's own mount table;
//! * `/sys/fs/cgroup/unified` detached.
//!
//! crun's containers get mount namespaces of their own anyway (their
//! `/sys/fs/cgroup` is mounted anew); `exec` joins a container's namespaces;
//! the namespace of a `crun` call goes away when it exits.

use std::ffi::CStr;
use std::os::unix::process::CommandExt;
use std::process::Command;

const CGROUP_ROOT: &CStr = c"/sys/fs/cgroup";
const UNIFIED: &CStr = c"/sys/fs/cgroup/unified";

/// The file system type of `path`, or `None` when it cannot be stat'ed.
fn fs_type(path: &CStr) -> Option<i64> {
    // SAFETY: statfs writes into a zeroed struct of its own type, from a
    // NUL-terminated path.
    unsafe {
        let mut buf: libc::statfs = std::mem::zeroed();
        (libc::statfs(path.as_ptr(), &mut buf) == 0).then_some(buf.f_type as i64)
    }
}

/// Whether this host mounts cgroup v1 controllers beside a cgroup2 hierarchy
/// at `/sys/fs/cgroup/unified`.
pub fn is_hybrid() -> bool {
    fs_type(CGROUP_ROOT) == Some(libc::TMPFS_MAGIC as i64)
        && fs_type(UNIFIED) == Some(libc::CGROUP2_SUPER_MAGIC as i64)
}

/// Makes `command` run in a mount namespace of its own without the cgroup2
/// mount of a hybrid host (see the module's documentation). The spawn fails
/// with the system's error when that cannot be done.
pub(crate) fn hide_unified(command: &mut Command) {
    let hide = || {
        // SAFETY: runs in the forked child before exec; unshare, mount and
        // umount2 are async-signal-safe system calls on constant paths.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    CGROUP_ROOT.as_ptr(),
                    std::ptr::null(),
                    libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                || libc::umount2(UNIFIED.as_ptr(), libc::MNT_DETACH) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the closure only makes system calls (see above).
    unsafe { command.pre_exec(hide) };
}

/// runc's words for what crun words its own way, so that a user sees the same
/// text (and `failure` the same classes) under either runtime:
/// * ``executable file `X` not found in $PATH`` is runc's (and Docker's)
///   `exec: "X": executable file not found in $PATH`;
/// * `open executable: Operation not permitted`, crun's failure for a
///   directory as the command, is runc's `permission denied`.
///
/// Any other message is `None`.
pub(crate) fn runc_words(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("executable file `") {
        let (command, _) = rest.split_once("` not found in $PATH")?;
        return Some(format!(
            "exec: \"{command}\": executable file not found in $PATH"
        ));
    }
    message
        .strip_prefix("open executable: Operation not permitted")
        .map(|_| "open executable: permission denied".to_string())
}

#[cfg(test)]
mod tests {
    use super::runc_words;

    #[test]
    fn cruns_words_become_runcs() {
        assert_eq!(
            runc_words("executable file `nope` not found in $PATH: No such file or directory")
                .as_deref(),
            Some("exec: \"nope\": executable file not found in $PATH")
        );
        assert_eq!(
            runc_words("open executable: Operation not permitted").as_deref(),
            Some("open executable: permission denied")
        );
        assert_eq!(runc_words("open executable: Permission denied"), None);
        assert_eq!(runc_words("cgroup freeze failed"), None);
    }
}
