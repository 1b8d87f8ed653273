//! Volume copy-up: when a new, empty volume is mounted over a directory that has content in the image, Docker
//! first copies that content into the volume. Here the image directory is resolved in-root (a symlinked mount
//! point stays inside the rootfs) and copied by piping our own tar writer into our own extractor, so links are
//! copied as links and never followed, and ownership, modes, xattrs and mtimes survive.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::cp::pipe_through;
use crate::error::{ArchiveError, At};
use crate::extract::{ExtractOptions, Extractor, Ownership, Parents};
use crate::fsutil::dir_entries;
use crate::inroot::{display_path, open_root, openat_in_root};
use crate::pack::Packer;

/// Copy the content of `src_in_root` (inside the rootfs `root`) into the empty directory `dest`, and give `dest`
/// the source directory's ownership and mode. Nothing happens if the source is missing or not a directory, or if
/// `dest` is not empty (Docker only seeds empty volumes).
pub fn copy_up(root: &Path, src_in_root: &str, dest: &Path) -> Result<(), ArchiveError> {
    let root_fd = open_root(root)?;
    let src_path = Path::new(src_in_root);
    let src = match openat_in_root(
        root_fd.as_fd(),
        src_path,
        OFlags::RDONLY | OFlags::DIRECTORY,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(ArchiveError::io(display_path(root, src_path), e)),
    };
    let dest_fd = rustix::fs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(dest)?;
    if !dir_entries(dest_fd.as_fd()).at(dest)?.is_empty() {
        return Ok(());
    }
    let shown = display_path(root, src_path);
    let parents = Parents::strict(dest)?;
    pipe_through(
        |writer| {
            let mut packer = Packer::new(writer, false);
            packer.add_children(src.as_fd(), b"", &shown)?;
            packer.finish(&shown).map(drop)
        },
        |reader| extract_copied(dest, parents, reader),
    )?;
    let stat = rustix::fs::fstat(&src).at(&shown)?;
    let owner = crate::fsutil::owner(stat.st_uid, stat.st_gid);
    rustix::fs::fchown(&dest_fd, owner.0, owner.1).at(dest)?;
    rustix::fs::fchmod(&dest_fd, Mode::from_raw_mode(stat.st_mode & 0o7777)).at(dest)
}

/// The reading side of a copy-up (and of a re-seed): the packed tree
/// extracted into `dest` with the archive's owners, modes and xattrs,
/// beneath `parents` (never through a symlink `dest` holds).
pub(crate) fn extract_copied(
    dest: &Path,
    parents: Parents,
    reader: &mut std::fs::File,
) -> Result<(), ArchiveError> {
    let mut extractor = Extractor::new(
        dest.to_path_buf(),
        parents,
        ExtractOptions {
            whiteouts: false,
            no_overwrite_dir_non_dir: false,
            ownership: Ownership::FromArchive,
        },
    );
    extractor.extract(&mut tar::Archive::new(std::io::BufReader::with_capacity(
        256 * 1024,
        reader,
    )))
}
