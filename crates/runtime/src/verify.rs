//! What `runtime create` made, checked before `runtime start` runs anything.
//!
//! Between `create` and `start` the container's init process has its
//! namespaces, mounts and working directory but has not executed a single
//! instruction of the container's program. The escapes of several OCI
//! runtime CVEs are visible from outside at that point, whatever runtime
//! and version made them, so berth looks ([`verify_created`]) and refuses
//! to start a container where one happened:
//!
//! * **CVE-2024-21626** (runc < 1.1.12): the working directory is a host
//!   directory reached through a leaked descriptor. Checked: walking `..`
//!   up from the init's working directory reaches its root.
//! * **CVE-2021-30465 family** (runc < 1.0.0-rc95, and CVE-2023-27561 in
//!   1.1.4): a mount destination the image made a symlink (or raced into
//!   one) lands elsewhere than its destination, possibly outside the rootfs.
//!   Checked: every mount of the spec's destination, resolved in the
//!   container's root as the runtime resolves it, is the root of a mount
//!   (its mount id differs from its parent directory's).
//! * **CVE-2025-31133** (runc < 1.2.8 / 1.3.3 / 1.4.0-rc.3): the container's
//!   `/dev/null`, swapped for a symlink, makes the runtime bind something
//!   else (e.g. `/proc/sys/kernel/core_pattern`, writable) over a masked
//!   path. Checked: each masked path that exists is the null device (1:3),
//!   or, for a directory, a read-only tmpfs; each read-only path is on a
//!   read-only mount (the same swap against the runtime's read-only binds).
//! * **A source swapped between check and mount**: a volume's directory (or
//!   a bind source) replaced by a symlink after berth checked it. Checked:
//!   what is mounted at the destination is the object pinned at the check
//!   (`crate::sources`).
//! * **CVE-2025-52565** (same versions): `/dev/console` bound from a swapped
//!   `/dev/pts/N`. Checked: with a terminal, `/dev/console` is a
//!   pseudo-terminal (char major 136–143).
//!
//! Paths are opened through `/proc/PID/root` with `openat2(RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS)`, so the container's mounts are seen and nothing of
//! the host's is followed. The cost is a few `openat2`/`statx` calls per
//! mount (well under a millisecond).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::RuntimeError;

const TMPFS_MAGIC: i64 = 0x0102_1994;
/// `ST_RDONLY` in `statfs.f_flags`.
const ST_RDONLY: u64 = 1;
/// Char majors of Unix98 pseudo-terminal slaves.
const PTY_SLAVE_MAJORS: std::ops::RangeInclusive<u32> = 136..=143;

fn escape(what: String, cve: &str) -> RuntimeError {
    RuntimeError::invalid(format!(
        "refusing to start the container: {what}; the OCI runtime may be vulnerable to {cve} \
         (see `berth info`)"
    ))
}

/// Checks the created (not yet started) container whose init is `pid`
/// against `spec`, the configuration it was created from — including that
/// each source pinned with [`crate::pin_source`] is what got mounted — and
/// releases the pins.
pub fn verify_created(pid: i32, spec: &Spec) -> Result<(), RuntimeError> {
    let verified = verify(pid, spec);
    // The runtime has made its mounts: pinned sources are no longer needed.
    crate::sources::release_pins();
    verified
}

fn verify(pid: i32, spec: &Spec) -> Result<(), RuntimeError> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let root = open_path(&proc_dir.join("root"))?;
    let cwd = open_path(&proc_dir.join("cwd"))?;
    if !is_below(cwd.as_fd(), root.as_fd()).map_err(|e| RuntimeError::io(&proc_dir, e.into()))? {
        let wanted = spec
            .process()
            .as_ref()
            .map(|p| p.cwd().display().to_string());
        return Err(escape(
            format!(
                "its working directory {} is outside its root filesystem",
                wanted.unwrap_or_default()
            ),
            "CVE-2024-21626",
        ));
    }

    let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
    for m in spec.mounts().iter().flatten() {
        let destination = clean(m.destination());
        if !is_mount_root(&root, &destination)? {
            return Err(escape(
                format!("the mount for {destination} did not land at {destination}"),
                "CVE-2021-30465",
            ));
        }
        // With a terminal the runtime binds the console over /dev/console,
        // whatever was mounted there first (checked below).
        if terminal && destination == "/dev/console" {
            continue;
        }
        let Some(source) = m.source().as_deref() else {
            continue;
        };
        let pinned = crate::sources::pinned_identity(source);
        if let (Some(pinned), Some(fd)) = (pinned, open_in(&root, &destination, true)?) {
            let st =
                rustix::fs::fstat(&fd).map_err(|e| RuntimeError::io(&destination, e.into()))?;
            #[allow(clippy::unnecessary_cast)]
            if (st.st_dev as u64, st.st_ino as u64) != pinned {
                return Err(RuntimeError::invalid(format!(
                    "refusing to start the container: what is mounted at {destination} is not \
                     {}, which berth checked (it was replaced between the check and the mount)",
                    source.display()
                )));
            }
        }
    }

    let linux = spec.linux().as_ref();
    for path in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        check_masked(&root, path)?;
    }
    for path in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        if let Some(fd) = open_in(&root, path, false)? {
            let fs = rustix::fs::fstatfs(&fd).map_err(|e| RuntimeError::io(path, e.into()))?;
            #[allow(clippy::unnecessary_cast)]
            if fs.f_flags as u64 & ST_RDONLY == 0 {
                return Err(escape(
                    format!("the read-only path {path} is writable"),
                    "CVE-2025-31133",
                ));
            }
        }
    }
    if terminal {
        let console = open_in(&root, "/dev/console", true)?;
        let is_pty = match &console {
            Some(fd) => {
                let st = rustix::fs::fstat(fd)
                    .map_err(|e| RuntimeError::io("/dev/console", e.into()))?;
                FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
                    && PTY_SLAVE_MAJORS.contains(&rustix::fs::major(st.st_rdev))
            }
            None => false,
        };
        if !is_pty {
            return Err(escape(
                "its /dev/console is not a pseudo-terminal".to_string(),
                "CVE-2025-52565",
            ));
        }
    }
    Ok(())
}

/// A masked path is gone, the null device, or a read-only tmpfs directory.
fn check_masked(root: &OwnedFd, path: &str) -> Result<(), RuntimeError> {
    let Some(fd) = open_in(root, path, false)? else {
        return Ok(());
    };
    let io = |e: Errno| RuntimeError::io(path, e.into());
    let st = rustix::fs::fstat(&fd).map_err(io)?;
    let masked = match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
            let fs = rustix::fs::fstatfs(&fd).map_err(io)?;
            #[allow(clippy::unnecessary_cast)]
            let (kind, flags) = (fs.f_type as i64, fs.f_flags as u64);
            kind == TMPFS_MAGIC && flags & ST_RDONLY != 0
        }
        FileType::CharacterDevice => {
            rustix::fs::major(st.st_rdev) == 1 && rustix::fs::minor(st.st_rdev) == 3
        }
        _ => false,
    };
    if masked {
        Ok(())
    } else {
        Err(escape(
            format!("the masked path {path} is not masked by the null device or an empty read-only tmpfs"),
            "CVE-2025-31133",
        ))
    }
}

fn open_path(path: &Path) -> Result<OwnedFd, RuntimeError> {
    rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| RuntimeError::io(path, e.into()))
}

/// Opens `path` inside the container's root (`None` if it does not exist);
/// a final symlink is followed (in-root) only with `follow`.
fn open_in(root: &OwnedFd, path: &str, follow: bool) -> Result<Option<OwnedFd>, RuntimeError> {
    let nofollow = if follow {
        OFlags::empty()
    } else {
        OFlags::NOFOLLOW
    };
    loop {
        match rustix::fs::openat2(
            root,
            path,
            OFlags::PATH | nofollow | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => return Ok(Some(fd)),
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(RuntimeError::io(path, e.into())),
        }
    }
}

/// Whether walking `..` up from `dir` reaches `root` (compared by device
/// and inode) before the top of its mount tree.
fn is_below(
    dir: rustix::fd::BorrowedFd<'_>,
    root: rustix::fd::BorrowedFd<'_>,
) -> Result<bool, Errno> {
    let root_st = rustix::fs::fstat(root)?;
    let mut current: OwnedFd =
        rustix::fs::openat(dir, ".", OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?;
    for _ in 0..4096 {
        let st = rustix::fs::fstat(&current)?;
        if st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino {
            return Ok(true);
        }
        let parent = rustix::fs::openat(
            &current,
            "..",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let parent_st = rustix::fs::fstat(&parent)?;
        if parent_st.st_dev == st.st_dev && parent_st.st_ino == st.st_ino {
            return Ok(false);
        }
        current = parent;
    }
    Ok(false)
}

/// Whether `destination`, resolved in the container's root as the runtime
/// resolves it (symlinks followed, clamped to the root), is the root of a
/// mount: its mount differs from its parent directory's. A mount that
/// landed elsewhere leaves the destination on its parent's mount. Kernels
/// without `STATX_MNT_ID` (< 5.8) skip the check.
fn is_mount_root(root: &OwnedFd, destination: &str) -> Result<bool, RuntimeError> {
    let parent = Path::new(destination)
        .parent()
        .map_or("/".to_string(), |p| p.display().to_string());
    let (Some(fd), Some(parent_fd)) = (
        open_in(root, destination, true)?,
        open_in(root, &parent, true)?,
    ) else {
        return Ok(false);
    };
    match (mount_id(&fd), mount_id(&parent_fd)) {
        (Some(own), Some(parents)) => Ok(destination == "/" || own != parents),
        _ => Ok(true),
    }
}

fn mount_id(fd: &OwnedFd) -> Option<u64> {
    let stx = rustix::fs::statx(
        fd,
        "",
        rustix::fs::AtFlags::EMPTY_PATH,
        rustix::fs::StatxFlags::MNT_ID,
    )
    .ok()?;
    (stx.stx_mask & rustix::fs::StatxFlags::MNT_ID.bits() != 0).then_some(stx.stx_mnt_id)
}

/// "/a//b/../c/" → "/a/c".
fn clean(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_roots_are_told_from_plain_directories() {
        assert_eq!(clean(Path::new("/a//b/../c/")), "/a/c");
        let root = open_path(Path::new("/")).unwrap();
        assert!(is_mount_root(&root, "/proc").unwrap());
        assert!(!is_mount_root(&root, "/proc/self/fdinfo").unwrap());
        assert!(!is_mount_root(&root, "/nonexistent/dir").unwrap());
    }

    #[test]
    fn a_directory_is_below_its_ancestors_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        let open =
            |p: &Path| rustix::fs::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let a = open(&dir.path().join("a"));
        let b = open(&dir.path().join("a/b"));
        assert!(is_below(b.as_fd(), a.as_fd()).unwrap());
        assert!(!is_below(a.as_fd(), b.as_fd()).unwrap());
        let elsewhere = open(Path::new("/usr"));
        assert!(!is_below(elsewhere.as_fd(), a.as_fd()).unwrap());
    }
}
