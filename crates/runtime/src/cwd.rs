//! The working directory of a container's processes, against CVE-2024-21626.
//!
//! runc before 1.1.12 leaked a directory descriptor of the host (its cgroup
//! directory) into the container's init and `runc exec` processes; a working
//! directory of `/proc/self/fd/N` — given with `-w`, `exec -w`, an image's
//! `WORKDIR`, or reached through a symlink the image or the running
//! container made (`/work -> /proc/self/fd/7`, or runc's own `/dev/fd`) —
//! then put the process in the host's filesystem. The fix is the runtime's
//! (runc 1.1.12; Debian 12 backported it to 1.1.5+ds1-1+deb12u1), and `berth
//! info` warns about an older runtime; berth refuses such directories itself
//! whatever the runtime, before the process exists:
//!
//! * [`check_cwd`]: the path as given must not lie in a process's `/proc`
//!   directory (`/proc/self`, `/proc/thread-self`, `/proc/<pid>`) or in
//!   `/dev/fd`, `/dev/std{in,out,err}` (the runtime's links to them);
//! * [`check_cwd_in_root`]: nor may it after the symlinks of the container's
//!   own filesystem are followed (read in-root, never on the host);
//! * and after `runtime create` the init process's actual working directory
//!   is verified to lie inside its root (`crate::verify`).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::RuntimeError;

/// Linux's own limit on symlinks followed in one lookup.
const MAX_SYMLINKS: usize = 40;

/// Whether an absolute, cleaned path (as components) lies where a process's
/// descriptors are reachable as directories.
fn in_process_fd_tree(components: &[String]) -> bool {
    match components {
        [proc, who, ..] if proc == "proc" => {
            who == "self" || who == "thread-self" || who.bytes().all(|b| b.is_ascii_digit())
        }
        [dev, link, ..] if dev == "dev" => {
            matches!(link.as_str(), "fd" | "stdin" | "stdout" | "stderr")
        }
        _ => false,
    }
}

fn refused(cwd: &str) -> RuntimeError {
    RuntimeError::invalid(format!(
        "the working directory '{cwd}' is invalid: it leads into a process's descriptors \
         (/proc/<pid>/fd, /dev/fd), where a descriptor leaked by the OCI runtime would put the \
         process in the host's filesystem (CVE-2024-21626)"
    ))
}

/// `cwd` itself, cleaned lexically (`..` cannot climb above `/`).
fn components(cwd: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    push_components(&mut out, Path::new(cwd));
    out
}

fn push_components(out: &mut Vec<String>, path: &Path) {
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// Refuses a working directory that names a process's descriptors.
pub fn check_cwd(cwd: &str) -> Result<(), RuntimeError> {
    if in_process_fd_tree(&components(cwd)) {
        return Err(refused(cwd));
    }
    Ok(())
}

/// [`check_cwd`], following the symlinks of the filesystem at `root` (a
/// mounted rootfs, or `/proc/PID/root` of a running container, whose own
/// mounts are then seen too). Links are read in-root (`openat2` with
/// `RESOLVE_IN_ROOT`); a root that cannot be opened leaves the lexical check.
pub fn check_cwd_in_root(root: &Path, cwd: &str) -> Result<(), RuntimeError> {
    check_cwd(cwd)?;
    let Ok(root_fd) = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Ok(());
    };
    let mut todo: VecDeque<String> = components(cwd).into();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    // Once a component is missing, nothing after it can be a link.
    let mut lexical = false;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        resolved.push(name);
        if in_process_fd_tree(&resolved) {
            return Err(refused(cwd));
        }
        if lexical {
            continue;
        }
        let here = format!("/{}", resolved.join("/"));
        let target = match read_link_in_root(&root_fd, &here) {
            Ok(Some(target)) => target,
            Ok(None) => continue,
            Err(_) => {
                lexical = true;
                continue;
            }
        };
        links += 1;
        if links > MAX_SYMLINKS {
            // The runtime's own lookup fails with ELOOP.
            return Ok(());
        }
        resolved.pop();
        let target = Path::new(&target);
        if target.is_absolute() {
            resolved.clear();
        }
        let mut next = Vec::new();
        for c in target.components() {
            match c {
                Component::Normal(n) => next.push(n.to_string_lossy().into_owned()),
                Component::ParentDir => next.push("..".into()),
                _ => {}
            }
        }
        for n in next.into_iter().rev() {
            todo.push_front(n);
        }
    }
    Ok(())
}

/// The target of `path` if it is a symlink (`None` if it is anything else).
fn read_link_in_root(root: &rustix::fd::OwnedFd, path: &str) -> Result<Option<OsString>, Errno> {
    let fd = loop {
        match rustix::fs::openat2(
            root,
            path,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            other => break other?,
        }
    };
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::Symlink {
        return Ok(None);
    }
    let target = rustix::fs::readlinkat(&fd, "", Vec::new())?;
    Ok(Some(OsString::from_vec(target.into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_directories_are_refused_as_given() {
        for bad in [
            "/proc/self/fd/7",
            "/proc/thread-self/fd/8",
            "/proc/1/cwd",
            "/proc/1/task/1/fd/3",
            "/dev/fd/7",
            "/tmp/../proc/self/fd/7",
            "//proc//self/./fd/9/",
        ] {
            let err = check_cwd(bad).unwrap_err().to_string();
            assert!(err.contains("CVE-2024-21626"), "{bad}: {err}");
        }
        for fine in [
            "/",
            "/proc",
            "/proc/sys",
            "/work",
            "/dev",
            "/srv/fd/7",
            "/dev/shm",
        ] {
            check_cwd(fine).unwrap();
        }
    }

    #[test]
    fn symlinks_of_the_root_are_followed_in_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("srv/app")).unwrap();
        std::os::unix::fs::symlink("/proc/self/fd/7", r.join("work")).unwrap();
        std::os::unix::fs::symlink("../dev/fd", r.join("srv/fds")).unwrap();
        std::os::unix::fs::symlink("/srv/app", r.join("app")).unwrap();
        // A link climbing out of the root is clamped to it, as the runtime sees it.
        std::os::unix::fs::symlink("../../../../proc/1", r.join("srv/up")).unwrap();
        for bad in ["/work", "/work/x", "/srv/fds/3", "/srv/up"] {
            assert!(check_cwd_in_root(r, bad).is_err(), "{bad}");
        }
        for fine in ["/app", "/app/missing/dir", "/srv", "/nowhere/../app"] {
            check_cwd_in_root(r, fine).unwrap();
        }
        // A missing root leaves the lexical check only.
        check_cwd_in_root(Path::new("/nonexistent/root"), "/work").unwrap();
    }
}
