//! Volume subpaths (`--mount ...,volume-subpath=a/b`, the API's
//! `VolumeOptions.Subpath`, Docker 26): a path inside the volume mounted
//! instead of its root.
//!
//! The path is resolved by the kernel from a descriptor of the volume's
//! directory with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS)`, as dockerd does: `..` that would leave the volume
//! and any symlink on the way are refused, whatever the volume's content
//! (which its containers write). The descriptor is what gets mounted
//! ([`mount_opened`] binds its `/proc/self/fd/N`), so swapping a component for
//! a symlink after the check cannot redirect the mount. (A runtime cannot bind
//! a descriptor of another process's mount namespace, so for a container the
//! engine binds it onto a staging mount point first and gives the runtime
//! that path, as dockerd does.)

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_mount::{Mount, Syscalls};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::VolumeError;

/// Opens (`O_PATH`) `subpath` inside the directory `base` (a volume's data,
/// or a descriptor path of it); `shown` is the volume's data directory as
/// messages name it. Docker's errors: a missing path or a symlink on the way
/// is "cannot access path", a `..` leaving the volume "escapes the base
/// directory".
pub fn open_subpath(base: &Path, shown: &Path, subpath: &str) -> Result<OwnedFd, VolumeError> {
    let base_fd = rustix::fs::open(
        base,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| VolumeError::io(shown, e.into()))?;
    loop {
        let opened = rustix::fs::openat2(
            &base_fd,
            subpath,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        );
        let not_accessible = |cause: &str| VolumeError::SubpathNotAccessible {
            path: shown.join(subpath),
            cause: cause.to_string(),
        };
        return match opened {
            Ok(fd) => Ok(fd),
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            Err(Errno::XDEV) => Err(VolumeError::SubpathEscapes {
                base: shown.to_path_buf(),
                subpath: subpath.to_string(),
            }),
            // Go's words for the errno, as dockerd prints them.
            Err(Errno::NOENT) => Err(not_accessible("no such file or directory")),
            Err(Errno::LOOP) => Err(not_accessible("too many levels of symbolic links")),
            Err(Errno::NOTDIR) => Err(not_accessible("not a directory")),
            Err(e) => Err(VolumeError::io(&shown.join(subpath), e.into())),
        };
    }
}

/// True if the opened object is a directory (else the mount point for it
/// must be a file).
pub fn opened_is_dir(fd: &OwnedFd) -> bool {
    rustix::fs::fstat(fd)
        .map(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory
        })
        .unwrap_or(false)
}

/// Binds (recursively) exactly the object `fd` onto `target`.
pub fn mount_opened(sys: &dyn Syscalls, fd: &OwnedFd, target: &Path) -> Result<(), VolumeError> {
    let via_fd = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    sys.mount(&Mount::bind(&via_fd, target, true))?;
    Ok(())
}

/// Opens `subpath` inside `base` ([`open_subpath`]) and binds it onto
/// `target`, made first as an empty directory or file to match it.
pub fn mount_subpath(
    sys: &dyn Syscalls,
    base: &Path,
    shown: &Path,
    subpath: &str,
    target: &Path,
) -> Result<(), VolumeError> {
    let fd = open_subpath(base, shown, subpath)?;
    let made = if opened_is_dir(&fd) {
        std::fs::create_dir_all(target)
    } else {
        target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::File::create(target).map(drop))
    };
    made.map_err(|e| VolumeError::io(target, e))?;
    mount_opened(sys, &fd, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("_data");
        std::fs::create_dir_all(data.join("a/b")).unwrap();
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink("../../secret", data.join("a/out")).unwrap();
        std::os::unix::fs::symlink("b", data.join("a/in")).unwrap();
        assert!(open_subpath(&data, &data, "a/b").is_ok());
        assert!(open_subpath(&data, &data, "a/b/..").is_ok());
        for (sub, want) in [
            (
                "a/../../secret",
                "path concatenation escapes the base directory",
            ),
            ("a/out", "too many levels of symbolic links"),
            ("a/in", "too many levels of symbolic links"),
            ("a/missing", "no such file or directory"),
        ] {
            let err = open_subpath(&data, &data, sub).unwrap_err().to_string();
            assert!(err.contains(want), "{sub}: {err}");
        }
    }
}
