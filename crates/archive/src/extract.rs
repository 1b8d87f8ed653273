//! The tar extraction engine behind [`crate::unpack_layer`] (layer mode) and [`crate::extract_to_dir`] (cp mode).
//!
//! Every entry name is cleaned lexically first (leading `/` and `.` dropped, `..` applied; popping past the
//! destination is an error). The entry's parent directory is then opened:
//! - layer mode ([`Parents::Strict`]): component by component from the destination with `O_NOFOLLOW`, so a symlink
//!   (or file) on the way is an error: nothing is ever written through a link. The chain of opened parent fds is
//!   cached because tars list entries depth-first: consecutive entries share most of their parent chain.
//! - cp mode ([`Parents::InRoot`]): the parent is resolved with `openat2(RESOLVE_IN_ROOT)` on the container root,
//!   so container symlinks (e.g. `/lib -> usr/lib`) work as Docker's chrooted extraction does, but can never lead
//!   outside the root.
//!
//! The final component is always created with `*at` calls relative to the parent fd and never followed: an
//! existing entry there is removed first (or, dir over dir, merged), like `tar` and Docker do. Metadata is applied
//! after content (ownership, then mode — chown clears setuid —, then xattrs — chown/write clear
//! security.capability —, then times); directory times are applied at the very end, after their content.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Timestamps, XattrFlags};
use rustix::io::Errno;
use tar::EntryType;

use crate::error::{ArchiveError, At};
use crate::fsutil::{
    chmod_nofollow, open_dir_at, owner as chown_ids, proc_child_path, remove_all_at, timestamps,
};
use crate::ids::IdShift;
use crate::inroot::{mkdir_all_fd, openat_in_root};
use crate::sparse::copy_sparse;

const COPY_BUF: usize = 1 << 20;
/// Mode of parent directories an archive implies but does not list (Docker uses 0755 too).
const IMPLICIT_DIR_MODE: u32 = 0o755;
const WHITEOUT_PREFIX: &[u8] = b".wh.";
const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
const WHITEOUT_OPAQUE: &[u8] = b".wh..wh..opq";
/// Overlayfs' private xattrs: never taken from an archive (a layer could forge redirects/metacopy that make
/// overlayfs expose other paths), never written into one. Whichever of
/// `trusted.overlay.` (the host's) and `user.overlay.` (a rootless berth's,
/// overlays mounted `userxattr`) an entry names.
pub(crate) fn is_overlay_xattr(key: &str) -> bool {
    key.starts_with("trusted.overlay.") || key.starts_with("user.overlay.")
}

/// The opaque-directory mark of overlays made by this process
/// (`berth_mount::overlay_xattr_prefix`: `user.` in a user namespace).
pub(crate) fn overlay_opaque_xattr() -> String {
    format!("{}opaque", berth_mount::overlay_xattr_prefix())
}

pub(crate) struct ExtractOptions {
    /// Translate OCI whiteouts into overlayfs whiteouts (layer mode).
    pub whiteouts: bool,
    /// Docker's NoOverwriteDirNonDir: refuse replacing a dir by a non-dir and vice versa.
    pub no_overwrite_dir_non_dir: bool,
    pub ownership: Ownership,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ownership {
    /// The archive's uid/gid (layers, `docker cp -a`, copy-up).
    FromArchive,
    /// Everything owned by 0:0, the container's root (`docker cp` into a container).
    Root,
    /// No chown at all: files belong to whoever extracts (`docker cp` to the host, like the CLI's NoLchown).
    Unchanged,
    /// Into a user-namespaced container: its root's host ids, or (`keep`)
    /// the archive's ids as its range holds them.
    Shifted { keep: bool, ids: IdShift },
}

pub(crate) enum Parents {
    Strict {
        dest: Rc<OwnedFd>,
        stack: Vec<(OsString, Rc<OwnedFd>)>,
    },
    InRoot {
        root_fd: OwnedFd,
        root: PathBuf,
        base: PathBuf,
        last: Option<(Vec<OsString>, Rc<OwnedFd>)>,
    },
}

impl Parents {
    pub(crate) fn strict(dest: &Path) -> Result<Self, ArchiveError> {
        let fd = rustix::fs::open(
            dest,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .at(dest)?;
        Ok(Parents::Strict {
            dest: Rc::new(fd),
            stack: Vec::new(),
        })
    }

    fn invalidate(&mut self) {
        match self {
            Parents::Strict { stack, .. } => stack.clear(),
            Parents::InRoot { last, .. } => *last = None,
        }
    }
}

pub(crate) struct Extractor {
    /// How paths are shown in errors: the host dest (layer mode) or the in-root dir (cp mode).
    display_base: PathBuf,
    parents: Parents,
    opts: ExtractOptions,
    dir_times: Vec<(Vec<OsString>, Timestamps)>,
    buf: Vec<u8>,
    /// Bytes of regular-file content written.
    pub(crate) content_bytes: u64,
    /// The archive's own root (`./`) gives the destination its owner, mode and xattrs (volume import).
    pub(crate) root_meta: bool,
}

struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    times: Timestamps,
    xattrs: Vec<(String, Vec<u8>)>,
}

impl Extractor {
    pub(crate) fn new(display_base: PathBuf, parents: Parents, opts: ExtractOptions) -> Self {
        Extractor {
            display_base,
            parents,
            opts,
            dir_times: Vec::new(),
            buf: vec![0; COPY_BUF],
            content_bytes: 0,
            root_meta: false,
        }
    }

    pub(crate) fn extract<R: Read>(
        &mut self,
        archive: &mut tar::Archive<R>,
    ) -> Result<(), ArchiveError> {
        let mut previous = String::new();
        let entries = archive.entries().map_err(|source| ArchiveError::Stream {
            entry: String::new(),
            source,
        })?;
        for entry in entries {
            let mut entry = entry.map_err(|source| ArchiveError::Stream {
                entry: format!("entry after {previous:?}"),
                source,
            })?;
            previous = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            self.entry(&mut entry, &previous)?;
        }
        self.apply_dir_times()
    }

    fn shown(&self, comps: &[OsString]) -> PathBuf {
        let mut path = self.display_base.clone();
        path.extend(comps);
        path
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<(), ArchiveError> {
        let comps = clean_entry_path(&entry.path_bytes())
            .ok_or_else(|| ArchiveError::unsafe_entry(name, "path escapes the destination"))?;
        let kind = entry.header().entry_type();
        let Some((leaf, parent_comps)) = comps.split_last() else {
            // The archive's own root ("./"): Docker does not touch the destination's metadata either, a volume
            // import does.
            if self.root_meta && kind == EntryType::Directory {
                let meta = self.read_meta(entry, name)?;
                let Parents::Strict { dest, .. } = &self.parents else {
                    return Ok(());
                };
                let dest = Rc::clone(dest);
                self.apply_fd_meta(dest.as_fd(), &meta, &self.display_base, false)?;
            }
            return Ok(());
        };
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            return Ok(());
        }
        let meta = self.read_meta(entry, name)?;

        if self.opts.whiteouts && leaf.as_bytes().starts_with(WHITEOUT_PREFIX) {
            return self.whiteout(parent_comps, leaf, &meta, name);
        }

        let parent = self
            .parent(parent_comps, true, name)?
            .ok_or_else(|| ArchiveError::unsafe_entry(name, "parent directory vanished"))?;
        let parent = parent.as_fd();
        let shown = self.shown(&comps);
        match kind {
            EntryType::Directory => {
                match rustix::fs::mkdirat(parent, leaf, Mode::from_raw_mode(0o700)) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        if !self.make_room(parent, leaf, true, &comps)? {
                            rustix::fs::mkdirat(parent, leaf, Mode::from_raw_mode(0o700))
                                .at(&shown)?;
                        }
                    }
                    Err(e) => return Err(ArchiveError::io(&shown, e)),
                }
                let dir = open_dir_at(parent, leaf).at(&shown)?;
                self.apply_fd_meta(dir.as_fd(), &meta, &shown, false)?;
                self.dir_times.push((comps.clone(), meta.times));
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let flags = OFlags::WRONLY
                    | OFlags::CREATE
                    | OFlags::EXCL
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC;
                let fd = match rustix::fs::openat(parent, leaf, flags, Mode::from_raw_mode(0o600)) {
                    Ok(fd) => fd,
                    Err(Errno::EXIST) => {
                        self.make_room(parent, leaf, false, &comps)?;
                        rustix::fs::openat(parent, leaf, flags, Mode::from_raw_mode(0o600))
                            .at(&shown)?
                    }
                    Err(e) => return Err(ArchiveError::io(&shown, e)),
                };
                let mut file = File::from(fd);
                let expected = entry.size();
                let copied = if kind == EntryType::GNUSparse {
                    copy_sparse(entry, &mut file, &mut self.buf, name, &shown)?
                } else {
                    self.copy_content(entry, &mut file, name, &shown)?
                };
                if kind != EntryType::GNUSparse && copied != expected {
                    return Err(ArchiveError::Stream {
                        entry: name.to_string(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("truncated: {copied} of {expected} bytes"),
                        ),
                    });
                }
                self.content_bytes += copied;
                self.apply_fd_meta(file.as_fd(), &meta, &shown, true)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| ArchiveError::unsafe_entry(name, "symlink without target"))?
                    .into_owned();
                let target = OsStr::from_bytes(&target);
                match rustix::fs::symlinkat(target, parent, leaf) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        self.make_room(parent, leaf, false, &comps)?;
                        rustix::fs::symlinkat(target, parent, leaf).at(&shown)?;
                    }
                    Err(e) => return Err(ArchiveError::io(&shown, e)),
                }
                self.apply_at_meta(parent, leaf, &meta, &shown, true)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| ArchiveError::unsafe_entry(name, "hard link without target"))?
                    .into_owned();
                let target_comps = clean_entry_path(&target).ok_or_else(|| {
                    ArchiveError::unsafe_entry(name, "hard link target escapes the destination")
                })?;
                let Some((target_leaf, target_parent)) = target_comps.split_last() else {
                    return Err(ArchiveError::unsafe_entry(
                        name,
                        "hard link to the destination itself",
                    ));
                };
                let target_dir = self.parent(target_parent, false, name)?.ok_or_else(|| {
                    ArchiveError::unsafe_entry(
                        name,
                        "hard link target does not exist in the archive",
                    )
                })?;
                let link = |_: ()| {
                    rustix::fs::linkat(
                        target_dir.as_fd(),
                        target_leaf,
                        parent,
                        leaf,
                        AtFlags::empty(),
                    )
                };
                match link(()) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        self.make_room(parent, leaf, false, &comps)?;
                        link(()).at(&shown)?;
                    }
                    Err(Errno::NOENT) => {
                        return Err(ArchiveError::unsafe_entry(
                            name,
                            "hard link target does not exist in the archive",
                        ))
                    }
                    Err(e) => return Err(ArchiveError::io(&shown, e)),
                }
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let file_type = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let header = entry.header();
                let major = header.device_major().ok().flatten().unwrap_or(0);
                let minor = header.device_minor().ok().flatten().unwrap_or(0);
                let dev = rustix::fs::makedev(major, minor);
                let mode = Mode::from_raw_mode(meta.mode & 0o777);
                match rustix::fs::mknodat(parent, leaf, file_type, mode, dev) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        self.make_room(parent, leaf, false, &comps)?;
                        rustix::fs::mknodat(parent, leaf, file_type, mode, dev).at(&shown)?;
                    }
                    Err(e) => return Err(ArchiveError::io(&shown, e)),
                }
                self.apply_at_meta(parent, leaf, &meta, &shown, false)?;
            }
            other => {
                return Err(ArchiveError::unsafe_entry(
                    name,
                    format!("unsupported tar entry type {other:?}"),
                ));
            }
        }
        Ok(())
    }

    fn read_meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<Meta, ArchiveError> {
        let bad =
            |what: &str| ArchiveError::unsafe_entry(name, format!("invalid {what} in header"));
        let header = entry.header();
        let (uid, gid) = match self.opts.ownership {
            Ownership::FromArchive | Ownership::Shifted { keep: true, .. } => {
                let uid = header.uid().map_err(|_| bad("uid"))?;
                let gid = header.gid().map_err(|_| bad("gid"))?;
                let uid = u32::try_from(uid)
                    .ok()
                    .filter(|id| *id != u32::MAX)
                    .ok_or_else(|| bad("uid"))?;
                let gid = u32::try_from(gid)
                    .ok()
                    .filter(|id| *id != u32::MAX)
                    .ok_or_else(|| bad("gid"))?;
                match self.opts.ownership {
                    Ownership::Shifted { ids, .. } => ids.to_host(uid, gid),
                    _ => (uid, gid),
                }
            }
            Ownership::Shifted { ids, .. } => ids.to_host(0, 0),
            Ownership::Root => (0, 0),
            // u32::MAX is chown's "leave unchanged".
            Ownership::Unchanged => (u32::MAX, u32::MAX),
        };
        let mode = header.mode().map_err(|_| bad("mode"))? & 0o7777;
        let mut mtime = (
            i64::try_from(header.mtime().map_err(|_| bad("mtime"))?).unwrap_or(i64::MAX),
            0u32,
        );
        let mut xattrs = Vec::new();
        if let Some(extensions) = entry
            .pax_extensions()
            .map_err(|source| ArchiveError::Stream {
                entry: name.to_string(),
                source,
            })?
        {
            for ext in extensions {
                let ext = ext.map_err(|source| ArchiveError::Stream {
                    entry: name.to_string(),
                    source,
                })?;
                let Ok(key) = ext.key() else { continue };
                if let Some(xattr) = key.strip_prefix("SCHILY.xattr.") {
                    if !is_overlay_xattr(xattr) {
                        xattrs.push((xattr.to_string(), ext.value_bytes().to_vec()));
                    }
                } else if key == "mtime" {
                    if let Some(parsed) = ext.value().ok().and_then(parse_pax_time) {
                        mtime = parsed;
                    }
                }
            }
        }
        Ok(Meta {
            uid,
            gid,
            mode,
            times: timestamps(mtime.0, mtime.1),
            xattrs,
        })
    }

    fn whiteout(
        &mut self,
        parent_comps: &[OsString],
        leaf: &OsStr,
        meta: &Meta,
        name: &str,
    ) -> Result<(), ArchiveError> {
        let parent = self
            .parent(parent_comps, true, name)?
            .ok_or_else(|| ArchiveError::unsafe_entry(name, "parent directory vanished"))?;
        let shown_parent = self.shown(parent_comps);
        let leaf = leaf.as_bytes();
        if leaf == WHITEOUT_OPAQUE {
            rustix::fs::fsetxattr(
                parent.as_fd(),
                overlay_opaque_xattr().as_str(),
                b"y",
                XattrFlags::empty(),
            )
            .at(&shown_parent)?;
            return Ok(());
        }
        if leaf.starts_with(WHITEOUT_META_PREFIX) {
            // Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless for overlayfs.
            return Ok(());
        }
        let hidden = OsStr::from_bytes(&leaf[WHITEOUT_PREFIX.len()..]);
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            return Err(ArchiveError::unsafe_entry(name, "invalid whiteout name"));
        }
        let mut comps = parent_comps.to_vec();
        comps.push(hidden.to_os_string());
        let shown = self.shown(&comps);
        let dev = rustix::fs::makedev(0, 0);
        let mknod = || {
            rustix::fs::mknodat(
                parent.as_fd(),
                hidden,
                FileType::CharacterDevice,
                Mode::empty(),
                dev,
            )
        };
        match mknod() {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                // A whiteout replaces whatever an earlier entry of the same layer put there.
                let opts_saved = std::mem::replace(&mut self.opts.no_overwrite_dir_non_dir, false);
                let made = self.make_room(parent.as_fd(), hidden, false, &comps);
                self.opts.no_overwrite_dir_non_dir = opts_saved;
                made?;
                mknod().at(&shown)?;
            }
            Err(e) => return Err(ArchiveError::io(&shown, e)),
        }
        let owner = chown_ids(meta.uid, meta.gid);
        rustix::fs::chownat(
            parent.as_fd(),
            hidden,
            owner.0,
            owner.1,
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .at(&shown)
    }

    /// Something exists at `parent/leaf`: remove it so the new entry can be created — unless both are
    /// directories (returns true: merge). Applies Docker's NoOverwriteDirNonDir refusal.
    fn make_room(
        &mut self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        new_is_dir: bool,
        comps: &[OsString],
    ) -> Result<bool, ArchiveError> {
        let shown = self.shown(comps);
        let stat = match rustix::fs::statat(parent, leaf, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => return Ok(false),
            Err(e) => return Err(ArchiveError::io(&shown, e)),
        };
        let existing_is_dir = FileType::from_raw_mode(stat.st_mode) == FileType::Directory;
        if self.opts.no_overwrite_dir_non_dir && existing_is_dir != new_is_dir {
            return Err(ArchiveError::Refused(if existing_is_dir {
                format!(
                    "cannot overwrite directory {:?} with non-directory {:?}",
                    shown.display().to_string(),
                    self.display_base.display().to_string()
                )
            } else {
                format!(
                    "cannot overwrite non-directory {:?} with directory {:?}",
                    shown.display().to_string(),
                    self.display_base.display().to_string()
                )
            }));
        }
        if existing_is_dir && new_is_dir {
            return Ok(true);
        }
        if existing_is_dir {
            remove_all_at(parent, leaf).at(&shown)?;
        } else {
            rustix::fs::unlinkat(parent, leaf, AtFlags::empty()).at(&shown)?;
        }
        // A cached parent fd may point into what we just deleted, or (cp mode) have been reached through the
        // symlink we just replaced.
        self.parents.invalidate();
        Ok(false)
    }

    /// The directory `comps` (relative to the destination), created (with implicit parents) when `create`.
    /// `None` when it does not exist and `create` is false.
    fn parent(
        &mut self,
        comps: &[OsString],
        create: bool,
        name: &str,
    ) -> Result<Option<Rc<OwnedFd>>, ArchiveError> {
        let shown = self.shown(comps);
        match &mut self.parents {
            Parents::Strict { dest, stack } => {
                let mut common = 0;
                while common < stack.len()
                    && common < comps.len()
                    && stack[common].0 == comps[common]
                {
                    common += 1;
                }
                stack.truncate(common);
                while stack.len() < comps.len() {
                    let component = &comps[stack.len()];
                    let current = stack
                        .last()
                        .map_or_else(|| dest.clone(), |(_, fd)| fd.clone());
                    let opened = match open_dir_at(current.as_fd(), component) {
                        Ok(fd) => fd,
                        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                            if !create {
                                return Ok(None);
                            }
                            match rustix::fs::mkdirat(
                                &*current,
                                component,
                                Mode::from_raw_mode(IMPLICIT_DIR_MODE),
                            ) {
                                Ok(()) | Err(Errno::EXIST) => {}
                                Err(e) => return Err(ArchiveError::io(&shown, e)),
                            }
                            let fd = open_dir_at(current.as_fd(), component)
                                .map_err(|e| refuse_link(name, e))?;
                            rustix::fs::fchmod(&fd, Mode::from_raw_mode(IMPLICIT_DIR_MODE))
                                .at(&shown)?;
                            fd
                        }
                        Err(e) => return Err(refuse_link(name, e)),
                    };
                    stack.push((component.clone(), Rc::new(opened)));
                }
                Ok(Some(
                    stack
                        .last()
                        .map_or_else(|| dest.clone(), |(_, fd)| fd.clone()),
                ))
            }
            Parents::InRoot {
                root_fd,
                root,
                base,
                last,
            } => {
                if let Some((cached, fd)) = last {
                    if cached.as_slice() == comps {
                        return Ok(Some(fd.clone()));
                    }
                }
                let mut in_root = base.clone();
                in_root.extend(comps);
                let fd = if create {
                    mkdir_all_fd(root_fd.as_fd(), root, &in_root, IMPLICIT_DIR_MODE)?
                } else {
                    match openat_in_root(
                        root_fd.as_fd(),
                        &in_root,
                        OFlags::RDONLY | OFlags::DIRECTORY,
                        Mode::empty(),
                    ) {
                        Ok(fd) => fd,
                        Err(Errno::NOENT) => return Ok(None),
                        Err(e) => return Err(ArchiveError::io(&shown, e)),
                    }
                };
                let fd = Rc::new(fd);
                *last = Some((comps.to_vec(), fd.clone()));
                Ok(Some(fd))
            }
        }
    }

    fn copy_content<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        file: &mut File,
        name: &str,
        shown: &Path,
    ) -> Result<u64, ArchiveError> {
        let mut copied = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => return Ok(copied),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ArchiveError::Stream {
                        entry: name.to_string(),
                        source,
                    })
                }
            };
            file.write_all(&self.buf[..n]).at(shown)?;
            copied += n as u64;
        }
    }

    /// Metadata through an fd we hold on the new file/dir itself.
    fn apply_fd_meta(
        &self,
        fd: BorrowedFd<'_>,
        meta: &Meta,
        shown: &Path,
        times: bool,
    ) -> Result<(), ArchiveError> {
        let owner = chown_ids(meta.uid, meta.gid);
        rustix::fs::fchown(fd, owner.0, owner.1).at(shown)?;
        rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode)).at(shown)?;
        for (key, value) in &meta.xattrs {
            rustix::fs::fsetxattr(fd, key.as_str(), value, XattrFlags::empty())
                .map_err(|e| xattr_error(shown, key, e))?;
        }
        if times {
            rustix::fs::futimens(fd, &meta.times).at(shown)?;
        }
        Ok(())
    }

    /// Metadata by name in the parent, never following the name (symlinks, devices, fifos).
    fn apply_at_meta(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        meta: &Meta,
        shown: &Path,
        is_symlink: bool,
    ) -> Result<(), ArchiveError> {
        let owner = chown_ids(meta.uid, meta.gid);
        rustix::fs::chownat(parent, leaf, owner.0, owner.1, AtFlags::SYMLINK_NOFOLLOW).at(shown)?;
        if !is_symlink {
            chmod_nofollow(parent, leaf, meta.mode).at(shown)?;
        }
        if !meta.xattrs.is_empty() {
            let path = proc_child_path(parent, leaf);
            for (key, value) in &meta.xattrs {
                rustix::fs::lsetxattr(&path, key.as_str(), value, XattrFlags::empty())
                    .map_err(|e| xattr_error(shown, key, e))?;
            }
        }
        rustix::fs::utimensat(parent, leaf, &meta.times, AtFlags::SYMLINK_NOFOLLOW).at(shown)
    }

    fn apply_dir_times(&mut self) -> Result<(), ArchiveError> {
        let dir_times = std::mem::take(&mut self.dir_times);
        // Deepest-last in archive order, so walk backwards: a child's time is set before its parent's.
        for (comps, times) in dir_times.iter().rev() {
            let Some((leaf, parent_comps)) = comps.split_last() else {
                continue;
            };
            let name = self.shown(comps).display().to_string();
            let Some(parent) = self.parent(parent_comps, false, &name)? else {
                continue;
            };
            match rustix::fs::utimensat(&*parent, leaf, times, AtFlags::SYMLINK_NOFOLLOW) {
                // Replaced by a later entry of the archive (e.g. whited out): nothing to date.
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(ArchiveError::io(self.shown(comps), e)),
            }
        }
        Ok(())
    }
}

fn xattr_error(shown: &Path, key: &str, e: Errno) -> ArchiveError {
    ArchiveError::Io {
        path: shown.to_path_buf(),
        source: std::io::Error::new(
            std::io::Error::from(e).kind(),
            format!("setting xattr {key}: {e}"),
        ),
    }
}

fn refuse_link(name: &str, e: std::io::Error) -> ArchiveError {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENOTDIR) => ArchiveError::unsafe_entry(
            name,
            "a parent is a symlink or not a directory (would write through it)",
        ),
        _ => ArchiveError::io(name, e),
    }
}

/// Lexically clean a tar entry name relative to the destination: `/` prefixes and `.` dropped, `..` applied.
/// None if `..` pops above the destination. An empty result means the destination itself.
pub(crate) fn clean_entry_path(raw: &[u8]) -> Option<Vec<OsString>> {
    let mut comps: Vec<OsString> = Vec::new();
    for component in raw.split(|b| *b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                comps.pop()?;
            }
            name => comps.push(OsStr::from_bytes(name).to_os_string()),
        }
    }
    Some(comps)
}

/// PAX times: "1700000000.123456789" (fraction optional, may be negative).
fn parse_pax_time(value: &str) -> Option<(i64, u32)> {
    let (sec, frac) = value.split_once('.').unwrap_or((value, ""));
    let sec: i64 = sec.parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    while digits.len() < 9 {
        digits.push('0');
    }
    Some((sec, digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_entry_path_rules() {
        let clean = |s: &str| {
            clean_entry_path(s.as_bytes()).map(|c| {
                c.iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(clean("/etc/x").unwrap(), vec!["etc", "x"]);
        assert_eq!(clean("./a/./b/").unwrap(), vec!["a", "b"]);
        assert_eq!(clean("a/../b").unwrap(), vec!["b"]);
        assert_eq!(clean("./").unwrap(), Vec::<String>::new());
        assert!(clean("../evil").is_none());
        assert!(clean("a/../../evil").is_none());
        assert!(clean("/../x").is_none());
    }

    #[test]
    fn pax_time() {
        assert_eq!(
            parse_pax_time("1700000000.5"),
            Some((1700000000, 500_000_000))
        );
        assert_eq!(parse_pax_time("12"), Some((12, 0)));
        assert_eq!(parse_pax_time("x"), None);
    }
}
