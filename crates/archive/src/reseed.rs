//! Re-seeding a volume from an image (`volume diff` / `volume seed`): what differs between a directory of an
//! image and a volume ([`compare_trees`]), and the image's content copied in ([`seed_tree`]).
//!
//! Changes are read as `docker diff` reads a container against its image — the image is the base, the volume the
//! copy that changed: `A` exists in the volume only (the user added it), `C` exists in both and differs (type,
//! owner, mode, xattrs, size or content of a file, target of a symlink, device number), `D` exists in the image
//! only (the user removed it, or a newer image added it). A directory found on one side only is listed once, not
//! its content; a directory on both sides is listed `C` only for its own metadata, and descended. The roots
//! themselves are not compared.
//!
//! Both walks hold every directory open and look each name up relative to it with `O_NOFOLLOW`: a symlink in the
//! volume (even one pointing out of it) is compared as a link and never followed. The copy is copy-up's (the
//! [`crate::pack`] walk piped into the layer-mode [`crate::extract`] engine, ownership from the image): nothing
//! is written through a symlink, and the image's owners, modes, xattrs and times are kept.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::cp::pipe_through;
use crate::diff::{Change, ChangeKind};
use crate::error::{ArchiveError, At};
use crate::extract::{is_overlay_xattr, Parents};
use crate::fsutil::{dir_entries, list_xattrs, open_dir_at, proc_child_path};
use crate::pack::Packer;

/// What `volume seed` copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedPolicy {
    /// What the volume lacks (the `D` changes); everything the volume has stays as it is.
    OnlyMissing,
    /// Everything the image has: `D` copied, `C` replaced by the image's; what only the volume has stays.
    Overwrite,
}

/// Differences between the image directory open as `image` (named `image_shown` in errors) and the volume data
/// directory `volume`, sorted by path ("/a/b", relative to both roots).
pub fn compare_trees(
    image: BorrowedFd<'_>,
    image_shown: &Path,
    volume: &Path,
) -> Result<Vec<Change>, ArchiveError> {
    let volume_fd = open_volume(volume)?;
    let mut changes = Vec::new();
    let mut walk = Walk {
        image_shown,
        volume_shown: volume,
        changes: &mut changes,
    };
    walk.dir(image, volume_fd.as_fd(), b"")?;
    Ok(changes)
}

/// Copies the image directory open as `image` into the volume data directory `volume` as `policy` says; returns
/// the changes it applied (`D` entries now copied, and with [`SeedPolicy::Overwrite`] `C` entries replaced).
pub fn seed_tree(
    image: BorrowedFd<'_>,
    image_shown: &Path,
    volume: &Path,
    policy: SeedPolicy,
) -> Result<Vec<Change>, ArchiveError> {
    let mut applied = compare_trees(image, image_shown, volume)?;
    applied.retain(|c| match policy {
        SeedPolicy::OnlyMissing => c.kind == ChangeKind::Deleted,
        SeedPolicy::Overwrite => c.kind != ChangeKind::Added,
    });
    if applied.is_empty() {
        return Ok(applied);
    }
    let parents = Parents::strict(volume)?;
    let wanted = &applied;
    pipe_through(
        |writer| {
            let mut packer = Packer::new(writer, false);
            match policy {
                SeedPolicy::Overwrite => packer.add_children(image, b"", image_shown)?,
                SeedPolicy::OnlyMissing => {
                    for change in wanted {
                        let rel = &change.path[1..];
                        let (parent, leaf) = rel.rsplit_once('/').unwrap_or(("", rel));
                        let dir = open_path(image, parent, image_shown)?;
                        let shown = image_shown.join(rel);
                        packer.add(dir.as_fd(), leaf.as_ref(), rel.as_bytes(), &shown)?;
                    }
                }
            }
            packer.finish(image_shown).map(drop)
        },
        |reader| crate::copyup::extract_copied(volume, parents, reader),
    )?;
    Ok(applied)
}

fn open_volume(volume: &Path) -> Result<OwnedFd, ArchiveError> {
    rustix::fs::open(
        volume,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(volume)
}

/// The directory `rel` ("a/b", "" for `root` itself) under `root`, component by component without following.
fn open_path(root: BorrowedFd<'_>, rel: &str, shown: &Path) -> Result<OwnedFd, ArchiveError> {
    let mut dir = rustix::io::fcntl_dupfd_cloexec(root, 0).at(shown)?;
    for component in rel.split('/').filter(|c| !c.is_empty()) {
        dir = open_dir_at(dir.as_fd(), component.as_ref()).at(shown.join(rel))?;
    }
    Ok(dir)
}

struct Walk<'a> {
    image_shown: &'a Path,
    volume_shown: &'a Path,
    changes: &'a mut Vec<Change>,
}

impl Walk<'_> {
    fn dir(
        &mut self,
        image: BorrowedFd<'_>,
        volume: BorrowedFd<'_>,
        rel: &[u8],
    ) -> Result<(), ArchiveError> {
        let image_shown = self.image_shown.join(std::ffi::OsStr::from_bytes(rel));
        let volume_shown = self.volume_shown.join(std::ffi::OsStr::from_bytes(rel));
        let mut names: Vec<OsString> = dir_entries(image).at(&image_shown)?;
        names.extend(dir_entries(volume).at(&volume_shown)?);
        names.sort();
        names.dedup();
        for name in names {
            let mut child = rel.to_vec();
            child.push(b'/');
            child.extend_from_slice(name.as_bytes());
            let path = String::from_utf8_lossy(&child).into_owned();
            let lstat =
                |dir, shown: &Path| match rustix::fs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW)
                {
                    Ok(st) => Ok(Some(st)),
                    Err(Errno::NOENT) => Ok(None),
                    Err(e) => Err(ArchiveError::io(shown.join(&name), e)),
                };
            let kind = match (lstat(image, &image_shown)?, lstat(volume, &volume_shown)?) {
                (None, None) => None,
                // Packing skips sockets, so they are never seeded.
                (Some(st), _) if file_type(&st) == FileType::Socket => None,
                (None, Some(_)) => Some(ChangeKind::Added),
                (Some(_), None) => Some(ChangeKind::Deleted),
                (Some(a), Some(b)) => {
                    let changed = self.differs(image, volume, &name, &a, &b, &path)?;
                    if file_type(&a) == FileType::Directory && file_type(&b) == FileType::Directory
                    {
                        let (ai, bv) = (
                            open_dir_at(image, &name).at(image_shown.join(&name))?,
                            open_dir_at(volume, &name).at(volume_shown.join(&name))?,
                        );
                        if changed {
                            self.changes.push(Change {
                                kind: ChangeKind::Changed,
                                path: path.clone(),
                            });
                        }
                        self.dir(ai.as_fd(), bv.as_fd(), &child)?;
                        continue;
                    }
                    changed.then_some(ChangeKind::Changed)
                }
            };
            if let Some(kind) = kind {
                self.changes.push(Change { kind, path });
            }
        }
        Ok(())
    }

    /// True when the two entries named `name` differ (a directory: by its own metadata only).
    fn differs(
        &self,
        image: BorrowedFd<'_>,
        volume: BorrowedFd<'_>,
        name: &OsString,
        a: &Stat,
        b: &Stat,
        path: &str,
    ) -> Result<bool, ArchiveError> {
        let kind = file_type(a);
        if kind != file_type(b) || (a.st_uid, a.st_gid) != (b.st_uid, b.st_gid) {
            return Ok(true);
        }
        if kind == FileType::Symlink {
            let target = |dir| rustix::fs::readlinkat(dir, name, Vec::new());
            let shown = self.volume_shown.join(&path[1..]);
            return Ok(target(image).at(&shown)? != target(volume).at(&shown)?);
        }
        if a.st_mode & 0o7777 != b.st_mode & 0o7777 {
            return Ok(true);
        }
        if matches!(kind, FileType::CharacterDevice | FileType::BlockDevice)
            && a.st_rdev != b.st_rdev
        {
            return Ok(true);
        }
        let xattrs = |dir| -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
            let mut all =
                list_xattrs(&proc_child_path(dir, name)).at(self.volume_shown.join(&path[1..]))?;
            all.retain(|(key, _)| !is_overlay_xattr(key));
            Ok(all)
        };
        if xattrs(image)? != xattrs(volume)? {
            return Ok(true);
        }
        if kind != FileType::RegularFile {
            return Ok(false);
        }
        if a.st_size != b.st_size {
            return Ok(true);
        }
        let open = |dir, shown: &Path| -> Result<File, ArchiveError> {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            Ok(File::from(
                rustix::fs::openat(dir, name, flags, Mode::empty()).at(shown.join(&path[1..]))?,
            ))
        };
        same_content(
            open(image, self.image_shown)?,
            open(volume, self.volume_shown)?,
            path,
        )
        .map(|same| !same)
    }
}

fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

fn same_content(mut a: File, mut b: File, path: &str) -> Result<bool, ArchiveError> {
    let (mut x, mut y) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut a, &mut x).at(path)?;
        let m = read_full(&mut b, &mut y).at(path)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(changes: &[Change]) -> Vec<String> {
        changes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn compares_and_seeds_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let (image, volume, outside) = (
            dir.path().join("i"),
            dir.path().join("v"),
            dir.path().join("o"),
        );
        for d in [&image, &volume, &outside] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::create_dir_all(image.join("conf/d")).unwrap();
        std::fs::write(image.join("conf/a"), "image a\n").unwrap();
        std::fs::write(image.join("conf/d/new"), "new\n").unwrap();
        std::fs::write(image.join("link"), "image link\n").unwrap();
        std::fs::create_dir_all(volume.join("conf")).unwrap();
        std::fs::write(volume.join("conf/a"), "user a\n").unwrap();
        std::fs::write(volume.join("mine"), "user\n").unwrap();
        std::os::unix::fs::symlink(outside.join("target"), volume.join("link")).unwrap();
        let src =
            rustix::fs::open(&image, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
        let diff = compare_trees(src.as_fd(), &image, &volume).unwrap();
        assert_eq!(
            lines(&diff),
            ["C /conf/a", "D /conf/d", "C /link", "A /mine"]
        );
        let applied = seed_tree(src.as_fd(), &image, &volume, SeedPolicy::OnlyMissing).unwrap();
        assert_eq!(lines(&applied), ["D /conf/d"]);
        assert_eq!(
            std::fs::read_to_string(volume.join("conf/a")).unwrap(),
            "user a\n"
        );
        assert_eq!(
            std::fs::read_to_string(volume.join("conf/d/new")).unwrap(),
            "new\n"
        );
        assert!(std::fs::symlink_metadata(volume.join("link"))
            .unwrap()
            .is_symlink());
        let applied = seed_tree(src.as_fd(), &image, &volume, SeedPolicy::Overwrite).unwrap();
        assert_eq!(lines(&applied), ["C /conf/a", "C /link"]);
        assert_eq!(
            std::fs::read_to_string(volume.join("conf/a")).unwrap(),
            "image a\n"
        );
        assert_eq!(
            std::fs::read_to_string(volume.join("link")).unwrap(),
            "image link\n"
        );
        assert!(!outside.join("target").exists());
        assert_eq!(
            lines(&compare_trees(src.as_fd(), &image, &volume).unwrap()),
            ["A /mine"]
        );
    }
}
