//! `docker cp`, both halves, with Docker's semantics.
//!
//! Daemon half (Engine API `/containers/{id}/archive`): [`stat_in_root`] is HEAD (X-Docker-Container-Path-Stat),
//! [`archive_path`] is GET (a tar whose top entry is the basename of the path; the final component is not
//! followed), [`extract_to_dir`] is PUT (extract into an existing directory). Every container path is resolved
//! in-root, so a container symlink such as `/etc/evil -> /` can only ever lead back into the container
//! (CVE-2018-15664 / CVE-2019-14271 family).
//!
//! CLI half ([`plan_copy_into_root`], [`copy_from_root`]): the docker CLI's SRC/DEST rules (`archive.CopyInfo*`,
//! `PrepareArchiveCopy`): a DEST that is an existing directory receives SRC inside it; a missing DEST is created
//! with SRC's content under DEST's name; `SRC/.` copies the content of SRC; a directory cannot replace a file;
//! a trailing `/` asserts that DEST is a directory. Rebasing is done by choosing the tar's top entry name.
//! Host-side extraction never follows symlinks found below the destination directory, so a hostile container
//! cannot plant a link that makes `docker cp` write elsewhere on the host.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::cp_paths::*;
use crate::cp_progress::{tar_size, CopyProgress, Counted};
use crate::error::{ArchiveError, At};
use crate::extract::{ExtractOptions, Extractor, Ownership, Parents};
use crate::fsutil::fd_path;
use crate::ids::IdShift;
use crate::inroot::{in_root_path_of, open_root, openat_in_root, resolve_in_root};
use crate::pack::Packer;
use crate::unpack::decompressed;

/// Docker's `types.ContainerPathStat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go `os.FileMode` bits (see [`go_file_mode`]).
    pub mode: u32,
    /// RFC 3339 with nanoseconds, UTC.
    pub mtime: String,
    /// For a symlink: its target fully resolved in the container, as an absolute in-container path.
    pub link_target: String,
}

/// An in-root lookup target: the directory part is resolved (following symlinks in-root), the last component
/// is not followed. `leaf` is None when the path names the directory itself ("/etc/", "/etc/.", "/").
struct Located {
    dir: OwnedFd,
    leaf: Option<String>,
    /// Docker's `filepath.Base(absPath)`.
    name: String,
    abs: String,
}

fn locate(root_fd: &OwnedFd, root: &Path, path: &str) -> Result<Located, ArchiveError> {
    let abs = container_abs_path(path);
    let slash = abs.rfind('/').unwrap_or(0);
    let (dir_part, base) = (&abs[..=slash], &abs[slash + 1..]);
    let dir = match openat_in_root(
        root_fd.as_fd(),
        Path::new(dir_part),
        OFlags::RDONLY | OFlags::DIRECTORY,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            return Err(ArchiveError::NotFound {
                path: PathBuf::from(&abs),
            })
        }
        Err(Errno::NOTDIR) => {
            return Err(ArchiveError::NotADirectory {
                path: PathBuf::from(&abs),
            })
        }
        Err(e) => {
            return Err(ArchiveError::io(
                crate::inroot::display_path(root, Path::new(dir_part)),
                e,
            ))
        }
    };
    let leaf = (!base.is_empty() && base != ".").then(|| base.to_string());
    Ok(Located {
        dir,
        leaf,
        name: go_base(&abs),
        abs,
    })
}

fn lstat_located(located: &Located) -> Result<Stat, ArchiveError> {
    let leaf = located.leaf.as_deref().unwrap_or(".");
    match rustix::fs::statat(&located.dir, leaf, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(stat),
        Err(Errno::NOENT) => Err(ArchiveError::NotFound {
            path: PathBuf::from(&located.abs),
        }),
        Err(Errno::NOTDIR) => Err(ArchiveError::NotADirectory {
            path: PathBuf::from(&located.abs),
        }),
        Err(e) => Err(ArchiveError::io(&located.abs, e)),
    }
}

/// HEAD archive: Docker's X-Docker-Container-Path-Stat for `path` inside `root`. Missing → NotFound.
pub fn stat_in_root(root: &Path, path: &str) -> Result<PathStat, ArchiveError> {
    let root_fd = open_root(root)?;
    let located = locate(&root_fd, root, path)?;
    let stat = lstat_located(&located)?;
    let link_target = if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
        let root_host = fd_path(root_fd.as_fd()).at(root)?;
        let resolved = resolve_in_root(root, Path::new(&located.abs))?;
        let rel = resolved.strip_prefix(&root_host).unwrap_or(Path::new(""));
        format!("/{}", rel.display())
    } else {
        String::new()
    };
    let mtime = chrono::DateTime::from_timestamp(stat.st_mtime as i64, stat.st_mtime_nsec as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    Ok(PathStat {
        name: located.name,
        size: stat.st_size,
        mode: go_file_mode(stat.st_mode),
        mtime,
        link_target,
    })
}

/// GET archive: a tar of `path` whose top entry is the basename of `path` (a directory recursively). A symlink
/// as the final component is archived as a link, unless `follow_link` (docker cp -L), in which case its in-root
/// target is archived (named after the target, as `docker cp -L CTR:/link -` prints it).
pub fn archive_path(
    root: &Path,
    path: &str,
    follow_link: bool,
    out: impl Write,
    ids: Option<IdShift>,
) -> Result<(), ArchiveError> {
    let root_fd = open_root(root)?;
    let mut path = path.to_string();
    if follow_link {
        let stat = stat_in_root(root, &path)?;
        if !stat.link_target.is_empty() {
            path = stat.link_target;
        }
    }
    let located = locate(&root_fd, root, &path)?;
    let top = tar_top_name(&located.name);
    write_located(&located, &top, out, ids)
}

fn write_located(
    located: &Located,
    top_name: &str,
    out: impl Write,
    ids: Option<IdShift>,
) -> Result<(), ArchiveError> {
    // Existence first, so a missing path is NotFound rather than an empty archive.
    lstat_located(located)?;
    let leaf = located.leaf.as_deref().unwrap_or(".");
    let mut packer = Packer::new(out, false).shifting(ids);
    packer.add(
        located.dir.as_fd(),
        leaf.as_ref(),
        top_name.as_bytes(),
        Path::new(&located.abs),
    )?;
    packer.finish(Path::new(&located.abs))?;
    Ok(())
}

/// PUT archive: extract `input` (a tar, possibly compressed) into the existing directory `dir` of `root`.
pub fn extract_to_dir(
    root: &Path,
    dir: &str,
    input: impl Read,
    no_overwrite_dir_non_dir: bool,
    copy_uid_gid: bool,
) -> Result<(), ArchiveError> {
    extract_to_dir_shifted(
        root,
        dir,
        input,
        no_overwrite_dir_non_dir,
        copy_uid_gid,
        None,
    )
}

/// [`extract_to_dir`] into a user-namespaced container's root: the owners
/// written (its root's, or the archive's with `copy_uid_gid`) are the host
/// ids `ids` gives them.
pub fn extract_to_dir_shifted(
    root: &Path,
    dir: &str,
    input: impl Read,
    no_overwrite_dir_non_dir: bool,
    copy_uid_gid: bool,
    ids: Option<IdShift>,
) -> Result<(), ArchiveError> {
    let root_fd = open_root(root)?;
    let abs = container_abs_path(dir);
    let dir_fd = match openat_in_root(
        root_fd.as_fd(),
        Path::new(&abs),
        OFlags::RDONLY | OFlags::DIRECTORY,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Err(ArchiveError::NotFound { path: abs.into() }),
        Err(Errno::NOTDIR) => {
            return Err(ArchiveError::Refused(
                "extraction point is not a directory".into(),
            ))
        }
        Err(e) => {
            return Err(ArchiveError::io(
                crate::inroot::display_path(root, Path::new(&abs)),
                e,
            ))
        }
    };
    let root_host = fd_path(root_fd.as_fd()).at(root)?;
    let base = in_root_path_of(&root_host, dir_fd.as_fd())?;
    drop(dir_fd);
    let parents = Parents::InRoot {
        root_fd,
        root: root.to_path_buf(),
        base: base.clone(),
        last: None,
    };
    let mut extractor = Extractor::new(
        base,
        parents,
        ExtractOptions {
            whiteouts: false,
            no_overwrite_dir_non_dir,
            ownership: match (ids, copy_uid_gid) {
                (Some(ids), keep) => Ownership::Shifted { keep, ids },
                (None, true) => Ownership::FromArchive,
                (None, false) => Ownership::Root,
            },
        },
    );
    let mut archive = tar::Archive::new(io::BufReader::with_capacity(
        256 * 1024,
        decompressed(input)?,
    ));
    extractor.extract(&mut archive)
}

/// archive.CopyInfo.
#[derive(Debug)]
struct CopyInfo {
    path: String,
    exists: bool,
    is_dir: bool,
    rebase_name: Option<String>,
}

/// archive.PrepareArchiveCopy: the directory to extract into and the name the archive's top entry must have.
fn prepare_archive_copy(src: &CopyInfo, dst: &CopyInfo) -> Result<(String, String), ArchiveError> {
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    let src_base = match &src.rebase_name {
        Some(name) => name.clone(),
        None => split_path_dir_entry(&src.path).1,
    };
    if dst.exists && dst.is_dir {
        Ok((dst.path.clone(), src_base))
    } else if dst.exists && src.is_dir {
        Err(ArchiveError::Refused("cannot copy directory".into()))
    } else if dst.exists || src.is_dir {
        Ok((dst_dir, dst_base))
    } else if asserts_directory(&dst.path) {
        Err(ArchiveError::Refused("no such directory".into()))
    } else {
        Ok((dst_dir, dst_base))
    }
}

/// archive.GetRebaseName: keep the requested spelling ("/.", trailing "/") on the resolved path, and remember
/// the requested basename when resolution changed it.
fn get_rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
    let mut resolved = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
        resolved.push_str("/.");
    }
    if has_trailing_separator(path) && !has_trailing_separator(&resolved) {
        resolved.push('/');
    }
    let rebase = (go_base(path) != go_base(&resolved)).then(|| go_base(path));
    (resolved, rebase)
}

fn lossy(path: &Path) -> String {
    String::from_utf8_lossy(path.as_os_str().as_bytes()).into_owned()
}

/// `docker cp HOST_SRC CTR:DEST` into a container root, planned: what the
/// CLI learns from HEAD and the host before it sends its PUT. [`CopyIn::extraction_dir`]
/// is the container directory the copy writes into (a caller checks which
/// mount holds it before [`CopyIn::run`]).
#[derive(Debug)]
pub struct CopyIn {
    dst_dir: String,
    top_name: String,
    source: String,
}

impl CopyIn {
    /// The container directory the copy extracts into, as planned (not yet resolved).
    pub fn extraction_dir(&self) -> &str {
        &self.dst_dir
    }

    /// Copies into the container root `root` (the one it was planned on),
    /// reporting to `progress`. `ids`: a user-namespaced container's range
    /// (see [`extract_to_dir_shifted`]).
    pub fn run(
        self,
        root: &Path,
        copy_uid_gid: bool,
        progress: &dyn CopyProgress,
        ids: Option<IdShift>,
    ) -> Result<(), ArchiveError> {
        let (source_dir, source_base) = split_path_dir_entry(&self.source);
        let source_dir_fd = rustix::fs::open(
            source_dir.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .at(&source_dir)?;
        let shown = PathBuf::from(&self.source);
        progress.total(tar_size(
            source_dir_fd.as_fd(),
            source_base.as_ref(),
            &shown,
        )?);
        let top_name = self.top_name;
        pipe_through(
            |inner| {
                let mut packer = Packer::new(Counted { inner, progress }, false);
                packer.add(
                    source_dir_fd.as_fd(),
                    source_base.as_ref(),
                    tar_top_name(&top_name).as_bytes(),
                    &shown,
                )?;
                packer.finish(&shown).map(drop)
            },
            |reader| extract_to_dir_shifted(root, &self.dst_dir, reader, true, copy_uid_gid, ids),
        )
    }
}

/// Plans `docker cp HOST_SRC CTR:DEST` into the container root `root`.
pub fn plan_copy_into_root(
    root: &Path,
    host_src: &Path,
    dest_in_root: &str,
    follow_link: bool,
) -> Result<CopyIn, ArchiveError> {
    // Destination, as the CLI learns it from HEAD.
    let mut dst = CopyInfo {
        path: dest_in_root.to_string(),
        exists: false,
        is_dir: false,
        rebase_name: None,
    };
    let mut dst_stat = stat_in_root(root, dest_in_root);
    if let Ok(stat) = &dst_stat {
        if stat.mode & GO_MODE_SYMLINK != 0 {
            dst.path = stat.link_target.clone();
            dst_stat = stat_in_root(root, &dst.path);
        }
    }
    match dst_stat {
        Ok(stat) => {
            let regular = stat.mode
                & (GO_MODE_DIR
                    | GO_MODE_SYMLINK
                    | GO_MODE_DEVICE
                    | GO_MODE_NAMED_PIPE
                    | GO_MODE_SOCKET
                    | GO_MODE_CHAR_DEVICE)
                == 0;
            if stat.mode & GO_MODE_DIR == 0 && !regular {
                return Err(ArchiveError::Refused(format!(
                    "destination \"{dest_in_root}\" must be a directory or a regular file"
                )));
            }
            dst.exists = true;
            dst.is_dir = stat.mode & GO_MODE_DIR != 0;
        }
        // Like the CLI: a failed stat (missing, or "file/" naming a non-directory) means "does not exist"; the
        // copy rules then decide ("no such directory" for a file source, a refused overwrite for a directory).
        Err(ArchiveError::NotADirectory { .. }) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }

    // Source, as the CLI's CopyInfoSourcePath sees it on the host.
    let src_str = lossy(host_src);
    let (resolved, rebase_name) = if follow_link {
        let resolved = std::fs::canonicalize(host_src).at(host_src)?;
        get_rebase_name(&src_str, &lossy(&resolved))
    } else {
        let slash = src_str.rfind('/').map_or(0, |i| i + 1);
        let (dir_part, base) = src_str.split_at(slash);
        let dir_part = if dir_part.is_empty() { "." } else { dir_part };
        let resolved_dir = std::fs::canonicalize(dir_part).at(dir_part)?;
        let resolved = format!("{}/{base}", lossy(&resolved_dir).trim_end_matches('/'));
        let rebase = (has_trailing_separator(&src_str) && go_base(&src_str) != go_base(&resolved))
            .then(|| go_base(&src_str));
        (resolved, rebase)
    };
    let src_meta = std::fs::symlink_metadata(&resolved).at(&resolved)?;
    let src = CopyInfo {
        path: resolved.clone(),
        exists: true,
        is_dir: src_meta.is_dir(),
        rebase_name,
    };
    let (dst_dir, top_name) = prepare_archive_copy(&src, &dst)?;

    Ok(CopyIn {
        dst_dir,
        top_name,
        source: resolved,
    })
}

/// Where `path` leads inside the container root `root`: its absolute
/// in-container form with the symlinks of its directories resolved in-root,
/// and of its last component too when `follow_last` (a missing last component
/// is kept as spelled). Which mount holds a path is decided on this form.
pub fn resolve_container_path(
    root: &Path,
    path: &str,
    follow_last: bool,
) -> Result<String, ArchiveError> {
    let abs = container_abs_path(path);
    let names_a_dir = abs.ends_with('/') || abs.ends_with("/.");
    let (dir, leaf) = match abs.rsplit_once('/') {
        Some((dir, leaf)) if !follow_last && !names_a_dir => (dir.to_string(), Some(leaf)),
        _ => (abs.clone(), None),
    };
    let root_fd = open_root(root)?;
    let root_host = fd_path(root_fd.as_fd()).at(root)?;
    let resolved = resolve_in_root(root, Path::new(if dir.is_empty() { "/" } else { &dir }))?;
    let rel = resolved.strip_prefix(&root_host).unwrap_or(Path::new(""));
    let mut out = format!("/{}", rel.display());
    if let Some(leaf) = leaf {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(leaf);
    }
    Ok(out)
}

/// `docker cp CTR:SRC HOST_DEST` out of the container root `root`,
/// reporting to `progress`.
pub fn copy_from_root(
    root: &Path,
    src_in_root: &str,
    host_dest: &Path,
    follow_link: bool,
    progress: &dyn CopyProgress,
) -> Result<(), ArchiveError> {
    let mut src_path = container_abs_path(src_in_root);
    let mut rebase_name = None;
    if follow_link {
        if let Ok(stat) = stat_in_root(root, &src_path) {
            if !stat.link_target.is_empty() {
                (src_path, rebase_name) = get_rebase_name(&src_path, &stat.link_target);
            }
        }
    }
    let src_stat = stat_in_root(root, &src_path)?;
    let src = CopyInfo {
        path: src_path.clone(),
        exists: true,
        is_dir: src_stat.mode & GO_MODE_DIR != 0,
        rebase_name,
    };
    let dst = copy_info_destination_path(host_dest)?;
    let (dst_dir, top_name) = prepare_archive_copy(&src, &dst)?;

    let root_fd = open_root(root)?;
    let located = locate(&root_fd, root, &src_path)?;
    let dest = PathBuf::from(&dst_dir);
    let parents = Parents::strict(&dest)?;
    let leaf = located.leaf.as_deref().unwrap_or(".");
    progress.total(tar_size(
        located.dir.as_fd(),
        leaf.as_ref(),
        Path::new(&located.abs),
    )?);
    pipe_through(
        |inner| {
            write_located(
                &located,
                &tar_top_name(&top_name),
                Counted { inner, progress },
                None,
            )
        },
        |reader| {
            let mut extractor = Extractor::new(
                dest.clone(),
                parents,
                ExtractOptions {
                    whiteouts: false,
                    no_overwrite_dir_non_dir: true,
                    ownership: Ownership::Unchanged,
                },
            );
            extractor.extract(&mut tar::Archive::new(io::BufReader::with_capacity(
                256 * 1024,
                reader,
            )))
        },
    )
}

/// archive.CopyInfoDestinationPath, on the host: follow symlinks at the destination (the user's own files), and
/// require the parent of a missing destination to be a directory.
fn copy_info_destination_path(path: &Path) -> Result<CopyInfo, ArchiveError> {
    const MAX_SYMLINK_ITER: usize = 10;
    let mut current = lossy(path);
    for _ in 0..MAX_SYMLINK_ITER {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = lossy(&std::fs::read_link(&current).at(&current)?);
                current = if target.starts_with('/') {
                    target
                } else {
                    let (parent, _) = split_path_dir_entry(&current);
                    go_clean(&format!("{parent}/{target}"))
                };
            }
            Ok(meta) => {
                return Ok(CopyInfo {
                    path: current,
                    exists: true,
                    is_dir: meta.is_dir(),
                    rebase_name: None,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let (parent, _) = split_path_dir_entry(&current);
                let parent_meta = std::fs::metadata(&parent).at(&parent)?;
                if !parent_meta.is_dir() {
                    return Err(ArchiveError::NotADirectory {
                        path: parent.into(),
                    });
                }
                return Ok(CopyInfo {
                    path: current,
                    exists: false,
                    is_dir: false,
                    rebase_name: None,
                });
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                return Err(ArchiveError::NotADirectory {
                    path: current.into(),
                })
            }
            Err(e) => return Err(ArchiveError::io(&current, e)),
        }
    }
    Err(ArchiveError::io(&current, Errno::LOOP))
}

/// Run a tar producer and a tar consumer concurrently over a pipe. The consumer's stream is drained to EOF after
/// it finishes so the producer never sees EPIPE for its end-of-archive padding; when both fail, the error that
/// caused the other is reported (a producer's broken pipe is a consequence, a consumer's truncation too).
pub(crate) fn pipe_through(
    produce: impl FnOnce(File) -> Result<(), ArchiveError> + Send,
    consume: impl FnOnce(&mut File) -> Result<(), ArchiveError>,
) -> Result<(), ArchiveError> {
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).at("pipe")?;
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || produce(File::from(writer)));
        let mut reader = File::from(reader);
        let consumed = consume(&mut reader)
            .and_then(|()| io::copy(&mut reader, &mut io::sink()).map(drop).at("pipe"));
        drop(reader);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(ArchiveError::Refused(
                "archive writer thread panicked".into(),
            ))
        });
        match (produced, consumed) {
            (Ok(()), consumed) => consumed,
            (Err(produced), Err(consumed)) if is_broken_pipe(&produced) => Err(consumed),
            (Err(produced), _) => Err(produced),
        }
    })
}

fn is_broken_pipe(error: &ArchiveError) -> bool {
    matches!(error, ArchiveError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_helpers() {
        assert_eq!(go_clean("/a/../../b/./c/"), "/b/c");
        assert_eq!(go_clean("a/.."), ".");
        assert_eq!(go_base("/etc/"), "etc");
        assert_eq!(go_base("/"), "/");
        assert_eq!(go_dir("/etc/passwd"), "/etc");
        assert_eq!(go_dir("passwd"), ".");
        assert_eq!(split_path_dir_entry("dir/."), ("dir".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(container_abs_path("etc/"), "/etc/");
        assert_eq!(container_abs_path("/etc/."), "/etc/.");
        assert_eq!(container_abs_path("../x/../etc"), "/etc");
        assert_eq!(container_abs_path("/"), "/");
        assert_eq!(container_abs_path("."), "/.");
    }

    #[test]
    fn go_modes() {
        assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), GO_MODE_DIR | 0o755);
        assert_eq!(go_file_mode(libc::S_IFREG | 0o4755), GO_MODE_SETUID | 0o755);
        assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), GO_MODE_SYMLINK | 0o777);
        assert_eq!(
            go_file_mode(libc::S_IFCHR | 0o666),
            GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE | 0o666
        );
        assert_eq!(
            go_file_mode(libc::S_IFDIR | 0o1777),
            GO_MODE_DIR | GO_MODE_STICKY | 0o777
        );
    }

    #[test]
    fn prepare_rules() {
        let info = |path: &str, exists, is_dir| CopyInfo {
            path: path.into(),
            exists,
            is_dir,
            rebase_name: None,
        };
        assert_eq!(
            prepare_archive_copy(&info("/s/f", true, false), &info("/d", true, true)).unwrap(),
            ("/d".into(), "f".into())
        );
        assert_eq!(
            prepare_archive_copy(&info("/s/f", true, false), &info("/d/new", false, false))
                .unwrap(),
            ("/d".into(), "new".into())
        );
        assert_eq!(
            prepare_archive_copy(&info("/s/.", true, true), &info("/d/new", false, false)).unwrap(),
            ("/d".into(), "new".into())
        );
        assert_eq!(
            prepare_archive_copy(&info("/s/.", true, true), &info("/d", true, true)).unwrap(),
            ("/d".into(), ".".into())
        );
        assert!(
            prepare_archive_copy(&info("/s", true, true), &info("/d/file", true, false)).is_err()
        );
        assert!(
            prepare_archive_copy(&info("/s/f", true, false), &info("/d/new/", false, false))
                .is_err()
        );
    }
}
