//! In-root path resolution: a path that comes from a container, an archive or a user is looked up as if `root`
//! were `/`. The kernel does the work (`openat2` with `RESOLVE_IN_ROOT`: `..` and absolute symlinks are clamped
//! at the root; `RESOLVE_NO_MAGICLINKS`: `/proc/self/root`-style links inside the root cannot jump out), so there
//! is no check-then-use race with a container changing its own tree concurrently.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{ArchiveError, At};
use crate::fsutil::fd_path;

const IN_ROOT: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);
/// Linux's own limit on symlinks followed during one lookup.
const MAX_SYMLINKS: usize = 40;

/// Open `root` itself (as an `O_PATH` anchor for in-root lookups).
pub(crate) fn open_root(root: &Path) -> Result<OwnedFd, ArchiveError> {
    rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(root)
}

/// `openat2(root_fd, path, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS)`, retrying the EAGAIN the kernel returns when a
/// rename raced with the lookup.
pub(crate) fn openat_in_root(
    root_fd: BorrowedFd<'_>,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd, Errno> {
    let path: &Path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut last = Errno::AGAIN;
    for _ in 0..64 {
        match rustix::fs::openat2(root_fd, path, flags | OFlags::CLOEXEC, mode, IN_ROOT) {
            Err(Errno::AGAIN) | Err(Errno::INTR) => last = Errno::AGAIN,
            other => return other,
        }
    }
    Err(last)
}

/// Host path for messages: `root` joined with the in-root `path`.
pub(crate) fn display_path(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// Open `path` inside `root`, resolving every symlink and `..` as if `root` were `/`.
pub fn open_in_root(
    root: &Path,
    path: &Path,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd, ArchiveError> {
    let root_fd = open_root(root)?;
    openat_in_root(root_fd.as_fd(), path, flags, mode).at(display_path(root, path))
}

/// The in-root form ("/a/b") of an fd opened under `root_host` (the canonical host path of the root).
pub(crate) fn in_root_path_of(
    root_host: &Path,
    fd: BorrowedFd<'_>,
) -> Result<PathBuf, ArchiveError> {
    let host = fd_path(fd).at(root_host)?;
    let rel = host.strip_prefix(root_host).map_err(|_| {
        ArchiveError::Refused(format!(
            "{} resolved outside of {}",
            host.display(),
            root_host.display()
        ))
    })?;
    Ok(Path::new("/").join(rel))
}

/// Resolve `path` inside `root` (symlinks resolved as if root were /, including a final symlink) and return the
/// host path of the result, which is verified to lie under the root. The final component may be missing (then
/// the returned path names where it would be created); a missing parent is a NotFound error.
pub fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf, ArchiveError> {
    let root_fd = open_root(root)?;
    let root_host = fd_path(root_fd.as_fd()).at(root)?;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match openat_in_root(root_fd.as_fd(), &current, OFlags::PATH, Mode::empty()) {
            Ok(fd) => return under_root(&root_host, fd_path(fd.as_fd()).at(&current)?),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(ArchiveError::io(display_path(root, &current), e)),
        }
        let (parent, leaf) =
            split_leaf(&current).ok_or_else(|| ArchiveError::NotFound { path: path.into() })?;
        let parent_fd = match openat_in_root(
            root_fd.as_fd(),
            &parent,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) | Err(Errno::NOTDIR) => {
                return Err(ArchiveError::NotFound { path: path.into() })
            }
            Err(e) => return Err(ArchiveError::io(display_path(root, &parent), e)),
        };
        // The leaf is missing, or a dangling symlink whose target we chase (still in-root) to find where it
        // would land.
        match rustix::fs::readlinkat(parent_fd.as_fd(), leaf, Vec::new()) {
            Ok(target) => {
                let target = PathBuf::from(OsString::from_vec(target.into_bytes()));
                current = if target.is_absolute() {
                    target
                } else {
                    in_root_path_of(&root_host, parent_fd.as_fd())?.join(target)
                };
            }
            Err(_) => {
                return under_root(
                    &root_host,
                    fd_path(parent_fd.as_fd()).at(&parent)?.join(leaf),
                )
            }
        }
    }
    Err(ArchiveError::io(display_path(root, path), Errno::LOOP))
}

fn under_root(root_host: &Path, resolved: PathBuf) -> Result<PathBuf, ArchiveError> {
    if resolved.starts_with(root_host) {
        Ok(resolved)
    } else {
        Err(ArchiveError::Refused(format!(
            "{} resolved outside of {}",
            resolved.display(),
            root_host.display()
        )))
    }
}

/// Split "a/b/c" into ("a/b", "c"); None when the last component is not a plain name ("/", "..", ".").
pub(crate) fn split_leaf(path: &Path) -> Option<(PathBuf, &OsStr)> {
    match path.components().next_back()? {
        Component::Normal(leaf) => {
            let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
            Some((
                if parent.as_os_str().is_empty() {
                    PathBuf::from("/")
                } else {
                    parent
                },
                leaf,
            ))
        }
        _ => None,
    }
}

/// `mkdir -p` inside root: each component is looked up in-root (following symlinks inside the root only) and
/// created with `mode` (exactly, not masked by umask) when missing. Returns the host path of the final directory.
pub fn mkdir_all_in_root(root: &Path, path: &Path, mode: u32) -> Result<PathBuf, ArchiveError> {
    let root_fd = open_root(root)?;
    let dir = mkdir_all_fd(root_fd.as_fd(), root, path, mode)?;
    fd_path(dir.as_fd()).at(display_path(root, path))
}

/// [`mkdir_all_in_root`] returning the directory's fd (opened `O_RDONLY|O_DIRECTORY`, usable with *at calls).
pub(crate) fn mkdir_all_fd(
    root_fd: BorrowedFd<'_>,
    root: &Path,
    path: &Path,
    mode: u32,
) -> Result<OwnedFd, ArchiveError> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY;
    // Fast path: it already exists.
    match openat_in_root(root_fd, path, dir_flags, Mode::empty()) {
        Ok(fd) => return Ok(fd),
        Err(Errno::NOENT) => {}
        Err(e) => return Err(ArchiveError::io(display_path(root, path), e)),
    }
    let mut walked = PathBuf::from("/");
    let mut dir = openat_in_root(root_fd, &walked, dir_flags, Mode::empty()).at(root)?;
    for component in path.components() {
        let name = match component {
            Component::Normal(name) => name,
            Component::ParentDir => OsStr::new(".."),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };
        walked.push(name);
        dir = match openat_in_root(root_fd, &walked, dir_flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                // Missing: `dir` is the (in-root resolved) parent, so creating the name there is safe. If the name
                // is a dangling symlink mkdirat fails with EEXIST instead of following it.
                match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(mode)) {
                    Ok(()) => {
                        let created = crate::fsutil::open_dir_at(dir.as_fd(), name)
                            .at(display_path(root, &walked))?;
                        rustix::fs::fchmod(&created, Mode::from_raw_mode(mode))
                            .at(display_path(root, &walked))?;
                        created
                    }
                    Err(Errno::EXIST) => openat_in_root(root_fd, &walked, dir_flags, Mode::empty())
                        .at(display_path(root, &walked))?,
                    Err(e) => return Err(ArchiveError::io(display_path(root, &walked), e)),
                }
            }
            Err(Errno::NOTDIR) => return Err(ArchiveError::NotADirectory { path: walked }),
            Err(e) => return Err(ArchiveError::io(display_path(root, &walked), e)),
        };
    }
    Ok(dir)
}
