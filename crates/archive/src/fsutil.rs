//! Small fd-relative filesystem helpers shared by the modules of this crate. Everything here works relative to an
//! already-opened directory fd and never follows a symlink in the final component.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use rustix::fs::{AtFlags, Dir, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid};

/// The host path of an open fd, as the kernel sees it (used to report resolved paths and for l*xattr calls).
pub(crate) fn fd_path(fd: BorrowedFd<'_>) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// A path that names `name` inside the directory open as `dir` without re-resolving the directory's own path:
/// `/proc/self/fd/N` is a magic link pinned to the directory, `name` is then looked up in it. Used only for the
/// few syscalls that have no fd-relative form (l*xattr); callers use the `l` variants so `name` is not followed.
pub(crate) fn proc_child_path(dir: BorrowedFd<'_>, name: &OsStr) -> PathBuf {
    let mut path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    path.push(name);
    path
}

pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// `rm -rf dir/name` without following symlinks (a symlink is unlinked, never descended into).
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => return Ok(()),
        Err(rustix::io::Errno::ISDIR) | Err(rustix::io::Errno::PERM) => {}
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let child = open_dir_at(dir, name)?;
    for entry_name in dir_entries(child.as_fd())? {
        remove_all_at(child.as_fd(), &entry_name)?;
    }
    drop(child);
    rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

/// Names in a directory (without `.`/`..`), sorted bytewise so that walks are deterministic.
pub(crate) fn dir_entries(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    Ok(dir_entries_typed(dir)?
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

/// Like [`dir_entries`], with the d_type the kernel reported (Unknown on filesystems that do not fill it).
pub(crate) fn dir_entries_typed(dir: BorrowedFd<'_>) -> io::Result<Vec<(OsString, FileType)>> {
    let mut names = Vec::new();
    let mut reader = Dir::read_from(dir)?;
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        names.push((OsStr::from_bytes(name).to_os_string(), entry.file_type()));
    }
    names.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(names)
}

/// All extended attributes of `path` (not following a final symlink), sorted by name.
pub(crate) fn list_xattrs(path: &std::path::Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    read_xattrs(
        |buf| rustix::fs::llistxattr(path, buf),
        |name, buf| rustix::fs::lgetxattr(path, name, buf),
    )
}

/// All extended attributes of the file open as `fd`, sorted by name.
pub(crate) fn list_fd_xattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(String, Vec<u8>)>> {
    read_xattrs(
        |buf| rustix::fs::flistxattr(fd, buf),
        |name, buf| rustix::fs::fgetxattr(fd, name, buf),
    )
}

fn read_xattrs(
    list: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    get: impl Fn(&str, &mut [u8]) -> rustix::io::Result<usize>,
) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut names_buf = vec![0u8; 1024];
    let len = loop {
        match list(&mut names_buf) {
            Ok(len) => break len,
            Err(rustix::io::Errno::RANGE) => names_buf.resize(names_buf.len() * 4, 0),
            // Filesystems without xattr support simply have none.
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut attrs = Vec::new();
    for raw_name in names_buf[..len]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
    {
        let name = String::from_utf8_lossy(raw_name).into_owned();
        let mut value = vec![0u8; 256];
        let value_len = loop {
            match get(name.as_str(), &mut value) {
                Ok(len) => break Some(len),
                Err(rustix::io::Errno::RANGE) => value.resize(value.len() * 4, 0),
                // Removed between list and get.
                Err(rustix::io::Errno::NODATA) => break None,
                Err(e) => return Err(e.into()),
            }
        };
        if let Some(value_len) = value_len {
            value.truncate(value_len);
            attrs.push((name, value));
        }
    }
    attrs.sort();
    Ok(attrs)
}

/// chown arguments; `u32::MAX` would mean "leave unchanged" to the kernel, so it is passed as exactly that.
pub(crate) fn owner(uid: u32, gid: u32) -> (Option<Uid>, Option<Gid>) {
    // SAFETY: from_raw is unsafe only because -1 has the special "unchanged" meaning, which we map to None.
    unsafe {
        (
            (uid != u32::MAX).then(|| Uid::from_raw(uid)),
            (gid != u32::MAX).then(|| Gid::from_raw(gid)),
        )
    }
}

pub(crate) fn timestamps(sec: i64, nsec: u32) -> Timestamps {
    let t = Timespec {
        tv_sec: sec,
        tv_nsec: nsec.into(),
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Change the mode of the non-symlink `name` in `dir` without following a symlink swapped in under us: pin the
/// inode with an `O_PATH|O_NOFOLLOW` fd, check it is not a symlink, then chmod through the fd's magic link.
pub(crate) fn chmod_nofollow(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let stat = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
        return Ok(());
    }
    rustix::fs::chmod(
        format!("/proc/self/fd/{}", fd.as_raw_fd()),
        Mode::from_raw_mode(mode),
    )?;
    Ok(())
}
