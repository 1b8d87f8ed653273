//! Volume backups: [`pack_volume`] writes a volume's data directory as a tar (plain, gzip or zstd) with
//! ownership, modes, xattrs, hard links and holes (GNU sparse entries), its root as `./`; [`unpack_volume`] is
//! the inverse into an empty directory, and [`empty_dir`] undoes a failed one.
//!
//! The walk is the [`crate::pack`] one: every directory is held open and every name is looked up relative to
//! its parent's fd with `O_NOFOLLOW`, so nothing outside the tree is ever reached — a file a container swaps
//! for a symlink during the walk is archived as that symlink, or its open fails (`ELOOP`); a directory swapped
//! for one is not descended. Extraction is the layer-mode [`crate::extract`] engine (no whiteouts): nothing is
//! written through a symlink, no entry escapes the destination.

use std::io::{self, BufReader, Write};
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::error::{ArchiveError, At};
use crate::extract::{ExtractOptions, Extractor, Ownership, Parents};
use crate::fsutil::{dir_entries, remove_all_at};
use crate::pack::Packer;
use crate::unpack::decompressed;

const STREAM_BUF: usize = 256 * 1024;

/// How a volume tar is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TarCompression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl TarCompression {
    /// By a file name's suffix: `.gz`/`.tgz` gzip, `.zst`/`.zstd` zstd, anything else plain.
    pub fn for_file_name(name: &str) -> TarCompression {
        if name.ends_with(".gz") || name.ends_with(".tgz") {
            TarCompression::Gzip
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            TarCompression::Zstd
        } else {
            TarCompression::None
        }
    }
}

/// Write the tree under `dir` to `out` as a tar compressed with `compression`. Returns the bytes of the
/// (uncompressed) tar stream.
pub fn pack_volume(
    dir: &Path,
    out: impl Write,
    compression: TarCompression,
) -> Result<u64, ArchiveError> {
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(dir)?;
    let tar = |out: &mut dyn Write| -> Result<u64, ArchiveError> {
        let mut packer = Packer::new(
            Counting {
                inner: out,
                count: 0,
            },
            false,
        )
        .keep_holes();
        packer.add_root(fd.as_fd(), dir)?;
        packer.add_children(fd.as_fd(), b"", dir)?;
        Ok(packer.finish(dir)?.count)
    };
    match compression {
        TarCompression::None => {
            let mut out = out;
            let count = tar(&mut out)?;
            out.flush().at(dir)?;
            Ok(count)
        }
        TarCompression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            let count = tar(&mut gz)?;
            gz.finish().at(dir)?.flush().at(dir)?;
            Ok(count)
        }
        TarCompression::Zstd => {
            let mut zstd = zstd::stream::write::Encoder::new(out, 3).at(dir)?;
            let count = tar(&mut zstd)?;
            zstd.finish().at(dir)?.flush().at(dir)?;
            Ok(count)
        }
    }
}

/// Extract the volume tar (plain, gzip or zstd: sniffed) `reader` into the directory `dest`, which gets the
/// owner, mode and xattrs of the archive's `./`. Returns the bytes of file content written.
pub fn unpack_volume(reader: impl io::Read, dest: &Path) -> Result<u64, ArchiveError> {
    let stream = decompressed(reader)?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(STREAM_BUF, stream));
    let mut extractor = Extractor::new(
        dest.to_path_buf(),
        Parents::strict(dest)?,
        ExtractOptions {
            whiteouts: false,
            no_overwrite_dir_non_dir: false,
            ownership: Ownership::FromArchive,
        },
    );
    extractor.root_meta = true;
    extractor.extract(&mut archive)?;
    Ok(extractor.content_bytes)
}

/// Whether the directory `dir` has no entries.
pub fn dir_is_empty(dir: &Path) -> Result<bool, ArchiveError> {
    let fd = open_dir(dir)?;
    Ok(dir_entries(fd.as_fd()).at(dir)?.is_empty())
}

/// Remove everything inside `dir` (never following a symlink), keeping `dir` itself.
pub fn empty_dir(dir: &Path) -> Result<(), ArchiveError> {
    let fd = open_dir(dir)?;
    for name in dir_entries(fd.as_fd()).at(dir)? {
        remove_all_at(fd.as_fd(), &name).at(dir.join(&name))?;
    }
    Ok(())
}

fn open_dir(dir: &Path) -> Result<std::os::fd::OwnedFd, ArchiveError> {
    rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(dir)
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
