//! Writing trees as tar streams: [`pack_layer`] (an overlay upperdir → OCI layer, whiteouts translated back),
//! [`pack_tree`] (any tree, as-is), and the [`Packer`] they share with cp's GET archive and volume copy-up.
//!
//! The walk is fd-relative and never follows a symlink (links are archived as links), entries are emitted in
//! bytewise-sorted order so the same tree always yields the same bytes (and so the same diff_id). Hard links
//! (same inode seen twice) become tar hard links to the first name. Sockets are skipped, as Docker does.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use tar::{EntryType, Header};

use crate::error::{ArchiveError, At};
use crate::extract::{is_overlay_xattr, overlay_opaque_xattr};
use crate::fsutil::{dir_entries, list_fd_xattrs, list_xattrs, proc_child_path};
use crate::ids::IdShift;
use crate::unpack::Hashing;

const OUT_BUF: usize = 1 << 20;
/// How often an entry replaced while we look at it is looked at again.
const CHANGED_RETRIES: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedLayer {
    /// "sha256:<hex>" of the tar stream written.
    pub diff_id: String,
    /// Bytes of the (uncompressed) tar stream written.
    pub size: u64,
}

/// Write the overlay upperdir `upper` as an uncompressed OCI layer tar,
/// its owners shifted by `ids` (a user-namespaced container's layer).
pub fn pack_layer(
    upper: &Path,
    out: impl Write,
    ids: Option<IdShift>,
) -> Result<PackedLayer, ArchiveError> {
    let dir = open_dir(upper)?;
    let mut packer = Packer::new(Hashing::new(out), true).shifting(ids);
    packer.add_children(dir.as_fd(), b"", upper)?;
    let hashing = packer.finish(upper)?;
    Ok(PackedLayer {
        diff_id: hashing.digest(),
        size: hashing.count(),
    })
}

/// Write a plain tar of the whole tree under `dir` (no whiteout translation), its owners shifted by
/// `ids`. Returns the bytes written.
pub fn pack_tree(dir: &Path, out: impl Write, ids: Option<IdShift>) -> Result<u64, ArchiveError> {
    let fd = open_dir(dir)?;
    let mut packer = Packer::new(Hashing::new(out), false).shifting(ids);
    packer.add_children(fd.as_fd(), b"", dir)?;
    Ok(packer.finish(dir)?.count())
}

fn open_dir(dir: &Path) -> Result<std::os::fd::OwnedFd, ArchiveError> {
    rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(dir)
}

pub(crate) struct Packer<W: Write> {
    builder: tar::Builder<BufWriter<W>>,
    /// Translate overlay whiteouts (0/0 char devices, opaque xattr) into OCI whiteout entries.
    whiteouts: bool,
    /// (dev, ino) of multiply-linked files already archived → their tar name.
    links: HashMap<(u64, u64), Vec<u8>>,
    /// Files with holes become GNU sparse entries (volume export).
    sparse: bool,
    /// Host owners shown as the user-namespaced container sees them.
    ids: Option<IdShift>,
}

impl<W: Write> Packer<W> {
    pub(crate) fn new(out: W, whiteouts: bool) -> Self {
        let mut builder = tar::Builder::new(BufWriter::with_capacity(OUT_BUF, out));
        builder.follow_symlinks(false);
        Packer {
            builder,
            whiteouts,
            links: HashMap::new(),
            sparse: false,
            ids: None,
        }
    }

    /// Owners written as the ids a user-namespaced container sees (`None`: as they are).
    pub(crate) fn shifting(mut self, ids: Option<IdShift>) -> Self {
        self.ids = ids;
        self
    }

    /// A header for `stat`, its owner shifted as [`Packer::shifting`] asked.
    fn header_for(&self, stat: &Stat, kind: EntryType, mode: u32) -> Header {
        let mut header = header_for(stat, kind, mode);
        if let Some(ids) = self.ids {
            let (uid, gid) = ids.to_container(stat.st_uid, stat.st_gid);
            header.set_uid(uid.into());
            header.set_gid(gid.into());
        }
        header
    }

    /// Write files with holes as sparse entries, so they keep their holes when extracted.
    pub(crate) fn keep_holes(mut self) -> Self {
        self.sparse = true;
        self
    }

    /// The directory open as `dir` itself, as the entry `./` (its owner, mode, xattrs and time).
    pub(crate) fn add_root(
        &mut self,
        dir: BorrowedFd<'_>,
        shown: &Path,
    ) -> Result<(), ArchiveError> {
        let stat = rustix::fs::fstat(dir).at(shown)?;
        let xattrs: Vec<_> = list_fd_xattrs(dir)
            .at(shown)?
            .into_iter()
            .filter(|(key, _)| !is_overlay_xattr(key))
            .collect();
        self.append_pax(&xattrs, shown)?;
        let mut header = self.header_for(&stat, EntryType::Directory, stat.st_mode & 0o7777);
        self.append_data(&mut header, b"./", io::empty(), shown)
    }

    pub(crate) fn finish(self, shown: &Path) -> Result<W, ArchiveError> {
        let buffered = self.builder.into_inner().at(shown)?;
        buffered
            .into_inner()
            .map_err(|e| ArchiveError::io(shown, e.into_error()))
    }

    /// Archive every child of `dir` (recursively), named `prefix/child` (or `child` for an empty prefix).
    pub(crate) fn add_children(
        &mut self,
        dir: BorrowedFd<'_>,
        prefix: &[u8],
        shown: &Path,
    ) -> Result<(), ArchiveError> {
        for name in dir_entries(dir).at(shown)? {
            let mut tar_name = prefix.to_vec();
            if !tar_name.is_empty() {
                tar_name.push(b'/');
            }
            tar_name.extend_from_slice(name.as_bytes());
            self.add(dir, &name, &tar_name, &shown.join(&name))?;
        }
        Ok(())
    }

    /// Archive `parent/name` as `tar_name`, recursing into directories.
    ///
    /// A file or directory is opened (`O_NOFOLLOW`, relative to `parent`) before anything is written for it and
    /// must still be the inode first seen: one replaced under us (a symlink swapped in) is looked at again, and
    /// archived as what it is then.
    pub(crate) fn add(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        tar_name: &[u8],
        shown: &Path,
    ) -> Result<(), ArchiveError> {
        use rustix::io::Errno;
        for _ in 0..CHANGED_RETRIES {
            let stat = match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                // Vanished while we walked a live tree: nothing to archive.
                Err(Errno::NOENT) => return Ok(()),
                Err(e) => return Err(ArchiveError::io(shown, e)),
            };
            let opened = match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => rustix::fs::openat(
                    parent,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ),
                FileType::Directory => rustix::fs::openat(
                    parent,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ),
                _ => return self.add_opened(parent, name, tar_name, shown, stat, None),
            };
            match opened {
                Ok(fd) => {
                    let now = rustix::fs::fstat(&fd).at(shown)?;
                    if (now.st_dev, now.st_ino) == (stat.st_dev, stat.st_ino) {
                        return self.add_opened(parent, name, tar_name, shown, stat, Some(fd));
                    }
                }
                Err(Errno::LOOP) | Err(Errno::NOTDIR) | Err(Errno::NOENT) => {}
                Err(e) => return Err(ArchiveError::io(shown, e)),
            }
        }
        Err(ArchiveError::Refused(format!(
            "{}: kept changing while it was archived",
            shown.display()
        )))
    }

    fn add_opened(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        tar_name: &[u8],
        shown: &Path,
        stat: Stat,
        opened: Option<OwnedFd>,
    ) -> Result<(), ArchiveError> {
        let file_type = FileType::from_raw_mode(stat.st_mode);
        if file_type == FileType::Socket {
            return Ok(());
        }
        let xattrs = list_xattrs(&proc_child_path(parent, name)).at(shown)?;
        let opaque_key = overlay_opaque_xattr();
        let opaque = file_type == FileType::Directory
            && xattrs
                .iter()
                .any(|(key, value)| *key == opaque_key && value == b"y");
        let xattrs: Vec<_> = xattrs
            .into_iter()
            .filter(|(key, _)| !is_overlay_xattr(key))
            .collect();

        if self.whiteouts && file_type == FileType::CharacterDevice && stat.st_rdev == 0 {
            let mut whiteout_name = parent_part(tar_name).to_vec();
            whiteout_name.extend_from_slice(b".wh.");
            whiteout_name.extend_from_slice(name.as_bytes());
            let mut header = self.header_for(&stat, EntryType::Regular, 0o600);
            return self.append_data(&mut header, &whiteout_name, io::empty(), shown);
        }

        let mut header = self.header_for(&stat, EntryType::Regular, stat.st_mode & 0o7777);
        if file_type != FileType::Directory && stat.st_nlink > 1 {
            let key = (stat.st_dev, stat.st_ino);
            if let Some(first) = self.links.get(&key).cloned() {
                header.set_entry_type(EntryType::Link);
                self.append_pax(&xattrs, shown)?;
                return self
                    .builder
                    .append_link(
                        &mut header,
                        OsStr::from_bytes(tar_name),
                        OsStr::from_bytes(&first),
                    )
                    .at(shown);
            }
            self.links.insert(key, tar_name.to_vec());
        }
        self.append_pax(&xattrs, shown)?;
        match file_type {
            FileType::RegularFile => {
                let fd = opened.expect("regular files are opened by add");
                let size = stat.st_size as u64;
                let file = std::fs::File::from(fd);
                if self.sparse && (stat.st_blocks as u64).saturating_mul(512) < size {
                    if let Some(segments) = crate::sparse::data_segments(&file, size) {
                        let builder = &mut self.builder;
                        return crate::sparse::append_sparse(
                            builder, header, tar_name, file, segments, size, shown,
                        );
                    }
                }
                header.set_size(size);
                let content = ExactSize {
                    inner: file.take(size),
                    remaining: size,
                };
                self.append_data(&mut header, tar_name, content, shown)
            }
            FileType::Directory => {
                header.set_entry_type(EntryType::Directory);
                self.append_data(&mut header, tar_name, io::empty(), shown)?;
                if self.whiteouts && opaque {
                    let mut marker_name = tar_name.to_vec();
                    marker_name.extend_from_slice(b"/.wh..wh..opq");
                    let mut marker =
                        self.header_for(&stat, EntryType::Regular, stat.st_mode & 0o777);
                    self.append_data(&mut marker, &marker_name, io::empty(), shown)?;
                }
                let dir = opened.expect("directories are opened by add");
                self.add_children(dir.as_fd(), tar_name, shown)
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(parent, name, Vec::new()).at(shown)?;
                header.set_entry_type(EntryType::Symlink);
                self.builder
                    .append_link(
                        &mut header,
                        OsStr::from_bytes(tar_name),
                        OsStr::from_bytes(target.as_bytes()),
                    )
                    .at(shown)
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                header.set_entry_type(match file_type {
                    FileType::CharacterDevice => EntryType::Char,
                    FileType::BlockDevice => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                if file_type != FileType::Fifo {
                    let major = rustix::fs::major(stat.st_rdev);
                    let minor = rustix::fs::minor(stat.st_rdev);
                    header.set_device_major(major).at(shown)?;
                    header.set_device_minor(minor).at(shown)?;
                }
                self.append_data(&mut header, tar_name, io::empty(), shown)
            }
            _ => Ok(()),
        }
    }

    fn append_pax(
        &mut self,
        xattrs: &[(String, Vec<u8>)],
        shown: &Path,
    ) -> Result<(), ArchiveError> {
        if xattrs.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = xattrs
            .iter()
            .map(|(key, _)| format!("SCHILY.xattr.{key}"))
            .collect();
        self.builder
            .append_pax_extensions(
                keys.iter()
                    .map(String::as_str)
                    .zip(xattrs.iter().map(|(_, v)| v.as_slice())),
            )
            .at(shown)
    }

    fn append_data(
        &mut self,
        header: &mut Header,
        tar_name: &[u8],
        data: impl Read,
        shown: &Path,
    ) -> Result<(), ArchiveError> {
        self.builder
            .append_data(header, PathBuf::from(OsStr::from_bytes(tar_name)), data)
            .at(shown)
    }
}

/// "a/b/c" → "a/b/" ; "c" → "".
fn parent_part(tar_name: &[u8]) -> &[u8] {
    match tar_name.iter().rposition(|b| *b == b'/') {
        Some(slash) => &tar_name[..=slash],
        None => b"",
    }
}

fn header_for(stat: &Stat, kind: EntryType, mode: u32) -> Header {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(stat.st_uid.into());
    header.set_gid(stat.st_gid.into());
    header.set_mtime((stat.st_mtime as i64).max(0) as u64);
    header.set_size(0);
    header
}

/// File content of exactly the size announced in the header, even if the file shrank while we read it (a live
/// container): zero-padded, so the archive stays well-formed.
struct ExactSize<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactSize<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}
