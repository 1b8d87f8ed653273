//! Rootless berth: an ordinary user's berth, in a user namespace of its own.
//!
//! # Terms
//! * The **namespace** is a user namespace whose uid 0 is the user (and gid 0
//!   the user's group), with uids and gids 1..=N mapped onto the user's
//!   subordinate ranges (`/etc/subuid`, `/etc/subgid`, written by the setuid
//!   `newuidmap`/`newgidmap`), plus a mount namespace it owns. In it berth
//!   runs as "root": it mounts overlays (`userxattr`, see
//!   `berth_mount::overlay_xattr_prefix`), unpacks layers with their owners
//!   (a tar entry's uid 0..N lands in the user's range on the host), and
//!   crun runs containers as it does for root, without cgroups.
//! * The **holder** (`berth-pause` in `ps`) is a process that only sleeps in
//!   that namespace, so every berth command, monitor and `berth serve` of the
//!   user joins the same one and sees the same mounts (podman's pause
//!   process). Its pid is in `<run dir>/pause.pid`.
//!
//! # Lifecycle
//! [`enter`] runs first in every command of a user other than root, while the
//! process has one thread: under `<run dir>/pause.lock` it joins the holder
//! named by `pause.pid`, or (none, or that process gone) makes a new holder
//! (`rootless_ns.rs`) and joins it. The holder lives until it is killed or
//! the machine stops; a new one is made by the next command then (running
//! containers of the old one keep its namespace until they stop).
//!
//! # State
//! A rootless berth's state root is `$XDG_DATA_HOME/berth` (default
//! `~/.local/share/berth`), its run directory `$XDG_RUNTIME_DIR/berth`
//! (default `/run/user/UID/berth`, else `/tmp/berth-run-UID`), both private to
//! the user; `berth serve`'s socket is `$XDG_RUNTIME_DIR/berth.sock`. Two
//! users' berths share nothing.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_error::ErrorKind;

use crate::{Error, Result};

#[path = "rootless_ns.rs"]
mod ns;

/// Whether this berth is rootless: run by a user other than root, or already
/// inside such a berth's namespace (a monitor, `berth serve`'s children).
pub fn active() -> bool {
    rustix::process::geteuid().as_raw() != 0 || berth_mount::in_user_namespace()
}

/// Where a rootless berth keeps its state, from the user's environment
/// (the XDG base directories, else `$HOME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The state root: `$XDG_DATA_HOME/berth`, else `~/.local/share/berth`.
    pub root: PathBuf,
    /// The run directory: `$XDG_RUNTIME_DIR/berth`, else
    /// `/run/user/UID/berth` where that directory is the user's, else
    /// `/tmp/berth-run-UID`.
    pub run_dir: PathBuf,
    /// `berth serve`'s default socket: `$XDG_RUNTIME_DIR/berth.sock` (or
    /// beside the run directory, as `berth.sock`).
    pub socket: PathBuf,
}

impl Paths {
    /// The calling user's paths.
    pub fn of_user() -> Result<Paths> {
        let uid = rustix::process::getuid().as_raw();
        let env = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let data = match env("XDG_DATA_HOME") {
            Some(dir) => dir,
            None => {
                let home = env("HOME").ok_or_else(|| {
                    Error::refused(
                        ErrorKind::InvalidArgument,
                        "rootless berth: neither XDG_DATA_HOME nor HOME is set (give --root)",
                    )
                })?;
                home.join(".local/share")
            }
        };
        let runtime = env("XDG_RUNTIME_DIR").or_else(|| {
            let dir = PathBuf::from(format!("/run/user/{uid}"));
            std::fs::metadata(&dir)
                .is_ok_and(|m| m.is_dir() && m.uid() == uid)
                .then_some(dir)
        });
        let (run_dir, socket) = match runtime {
            Some(dir) => (dir.join("berth"), dir.join("berth.sock")),
            None => {
                let dir = std::env::temp_dir().join(format!("berth-run-{uid}"));
                (dir.clone(), dir.join("berth.sock"))
            }
        };
        Ok(Paths {
            root: data.join("berth"),
            run_dir,
            socket,
        })
    }
}

/// A subordinate id range from `/etc/subuid` or `/etc/subgid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub start: u32,
    pub count: u32,
}

/// The first range of `user` (by name or by number) in a subid file's text.
fn find_range(text: &str, name: &str, id: u32) -> Option<Range> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let owner = fields.next()?;
        let start = fields.next()?.parse().ok()?;
        let count = fields.next()?.parse().ok()?;
        (owner == name || owner.parse() == Ok(id))
            .then_some(Range { start, count })
            .filter(|r| r.count > 0)
    })
}

/// The user's range in `file`, or the one-line refusal saying what to add.
fn range_in(file: &str, name: &str, id: u32) -> Result<Range> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    find_range(&text, name, id).ok_or_else(|| {
        Error::refused(
            ErrorKind::InvalidArgument,
            format!(
                "rootless berth needs subordinate ids for user {name}: add a line such as \
                 \"{name}:100000:65536\" to {file} (any range not used by another user)"
            ),
        )
    })
}

/// The login name of `uid` (from the passwd database), or the number.
fn user_name(uid: u32) -> String {
    let mut buf = vec![0u8; 4096];
    // SAFETY: getpwuid_r writes into the zeroed passwd and the buffer we own,
    // whose length it is told; the name pointer is read only when it reports
    // success and points into that buffer.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result = std::ptr::null_mut();
        if libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        ) == 0
            && !result.is_null()
        {
            return std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned();
        }
    }
    uid.to_string()
}

/// The setuid helper `name` in `$PATH` (or `/usr/bin`), or the refusal
/// saying what to install.
fn helper(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::refused(
                ErrorKind::Unavailable,
                format!(
                    "rootless berth needs {name} (and newgidmap): install the uidmap package \
                     (apt-get install uidmap)"
                ),
            )
        })
}

/// Makes `dir` (and its parents) for the user, private (0700), and checks it
/// is the user's: a run directory in `/tmp` could be someone else's.
fn private_dir(dir: &Path) -> Result<()> {
    let failed = |e: std::io::Error| {
        Error::refused(
            ErrorKind::Internal,
            format!("rootless berth: {}: {e}", dir.display()),
        )
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(failed)?;
    let meta = std::fs::symlink_metadata(dir).map_err(failed)?;
    if !meta.is_dir() || meta.uid() != rustix::process::getuid().as_raw() {
        return Err(Error::refused(
            ErrorKind::Forbidden,
            format!(
                "rootless berth: {} is not a directory of this user",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// Puts this process into the user's rootless namespace (see the module's
/// documentation); nothing for root, or a process already in it. Must run
/// while the process has a single thread. On failure nothing was created
/// but the run directory.
pub fn enter(run_dir: &Path) -> Result<()> {
    if rustix::process::geteuid().as_raw() == 0 {
        return Ok(());
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let name = user_name(uid);
    let uids = range_in("/etc/subuid", &name, uid)?;
    let gids = range_in("/etc/subgid", &name, uid)?;
    let newuidmap = helper("newuidmap")?;
    let newgidmap = helper("newgidmap")?;
    if let Some(why) = berth_mount::user_namespaces_unavailable() {
        return Err(Error::refused(
            ErrorKind::Unavailable,
            format!("rootless berth needs a user namespace, and {why}"),
        ));
    }
    private_dir(run_dir)?;
    ns::join_or_make(&ns::Plan {
        run_dir,
        uid,
        gid,
        uids,
        gids,
        newuidmap: &newuidmap,
        newgidmap: &newgidmap,
    })
}

/// Refuses cgroup settings in a rootless berth, where the user has no
/// cgroup to apply them in (containers run without cgroups of their own);
/// root's berth accepts everything here.
pub(crate) fn check_no_limits(
    limits: &berth_runtime::Limits,
    resources: &berth_runtime::Resources,
) -> std::result::Result<(), berth_container::ContainerError> {
    if !active() {
        return Ok(());
    }
    let asked = [
        (limits.memory_bytes.is_some(), "--memory (HostConfig.Memory)"),
        (limits.nano_cpus.is_some(), "--cpus (HostConfig.NanoCpus)"),
        (
            limits.pids_limit.is_some_and(|n| n > 0),
            "--pids-limit (HostConfig.PidsLimit)",
        ),
        (
            *resources != berth_runtime::Resources::default(),
            "cgroup resources (--cpu-shares, --cpuset-*, --memory-*, --blkio-*, --device-cgroup-rule...)",
        ),
    ];
    match asked.iter().find(|(set, _)| *set) {
        Some((_, setting)) => Err(berth_container::ContainerError::InvalidArgument(format!(
            "{setting} refused: rootless berth has no delegated cgroup on this host to apply it in"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_number() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:0:0\n";
        assert_eq!(
            find_range(text, "alice", 5),
            Some(Range {
                start: 100000,
                count: 65536
            })
        );
        assert_eq!(
            find_range(text, "carol", 1001),
            Some(Range {
                start: 200000,
                count: 1000
            })
        );
        // An empty range is no range.
        assert_eq!(find_range(text, "bob", 7), None);
        assert_eq!(find_range(text, "dave", 8), None);
    }
}
