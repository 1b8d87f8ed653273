//! Files with holes, both ways: [`data_segments`] finds where a file has data (`SEEK_DATA`/`SEEK_HOLE`),
//! [`append_sparse`] writes it as a GNU sparse entry (type `S`, the old GNU format GNU tar reads and writes: the
//! data segments' offsets and lengths in the header and in 512-byte extension blocks after it, then only the
//! data), and [`SparseWriter`] skips the zero blocks of what an extraction writes so the holes come back.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use tar::{EntryType, GnuExtSparseHeader, Header};

use crate::error::{ArchiveError, At};

const BLOCK: u64 = 512;
/// Segments a GNU header holds; each extension block holds 21 more.
const IN_HEADER: usize = 4;
const PER_EXTENSION: usize = 21;

/// The (offset, length) of each data segment of `file` (size `size`), or `None` when the file has no hole
/// worth recording (or the filesystem cannot say where its holes are).
pub(crate) fn data_segments(file: &File, size: u64) -> Option<Vec<(u64, u64)>> {
    use rustix::fs::SeekFrom as Whence;
    let mut segments = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        let start = match rustix::fs::seek(file.as_fd(), Whence::Data(pos as i64)) {
            Ok(start) => start,
            // No data after pos: the rest is a hole.
            Err(rustix::io::Errno::NXIO) => break,
            Err(_) => return None,
        };
        if start >= size {
            break;
        }
        let end = rustix::fs::seek(file.as_fd(), Whence::Hole(start as i64))
            .ok()?
            .min(size);
        segments.push((start, end - start));
        pos = end;
    }
    let data: u64 = segments.iter().map(|s| s.1).sum();
    // Every segment but the last must fill whole tar blocks (readers check it); filesystems report holes in
    // blocks of at least 512 bytes, anything else is not worth the trouble.
    let aligned = segments
        .iter()
        .rev()
        .skip(1)
        .all(|(off, len)| off % BLOCK == 0 && len % BLOCK == 0);
    (data < size && aligned).then_some(segments)
}

/// Append `file` (described by `header`: mode, owner, times) as the GNU sparse entry `tar_name` with the data
/// `segments` of a file of `size` bytes.
pub(crate) fn append_sparse<W: Write>(
    builder: &mut tar::Builder<W>,
    mut header: Header,
    tar_name: &[u8],
    file: File,
    segments: Vec<(u64, u64)>,
    size: u64,
    shown: &Path,
) -> Result<(), ArchiveError> {
    let mut map = segments.clone();
    // A file ending in a hole ends with an empty segment at its size, as GNU tar writes it.
    if map.last().is_none_or(|(off, len)| off + len < size) {
        map.push((size, 0));
    }
    let stored: u64 = segments.iter().map(|s| s.1).sum();
    if tar_name.len() > 100 {
        let mut long = Header::new_gnu();
        long.as_gnu_mut().expect("gnu header").name[..13].copy_from_slice(b"././@LongLink");
        long.set_mode(0o644);
        long.set_entry_type(EntryType::GNULongName);
        long.set_size(tar_name.len() as u64 + 1);
        long.set_cksum();
        builder
            .append(&long, tar_name.chain(&[0u8][..]))
            .at(shown)?;
    }
    header.set_entry_type(EntryType::GNUSparse);
    header.set_size(stored);
    let gnu = header.as_gnu_mut().expect("gnu header");
    let name_len = tar_name.len().min(100);
    gnu.name = [0; 100];
    gnu.name[..name_len].copy_from_slice(&tar_name[..name_len]);
    number(&mut gnu.realsize, size);
    for (slot, (off, len)) in gnu.sparse.iter_mut().zip(&map) {
        number(&mut slot.offset, *off);
        number(&mut slot.numbytes, *len);
    }
    let rest: Vec<&[(u64, u64)]> = map
        .get(IN_HEADER..)
        .unwrap_or_default()
        .chunks(PER_EXTENSION)
        .collect();
    gnu.isextended[0] = u8::from(!rest.is_empty());
    header.set_cksum();
    let mut extensions = Vec::with_capacity(rest.len() * BLOCK as usize);
    for (i, chunk) in rest.iter().enumerate() {
        let mut ext = GnuExtSparseHeader::new();
        for (slot, (off, len)) in ext.sparse.iter_mut().zip(chunk.iter()) {
            number(&mut slot.offset, *off);
            number(&mut slot.numbytes, *len);
        }
        ext.isextended[0] = u8::from(i + 1 < rest.len());
        extensions.extend_from_slice(ext.as_bytes());
    }
    // The header's size counts only the data; the extension blocks ride in front of it.
    let data = Segments {
        file,
        segments,
        index: 0,
        done: 0,
    };
    builder
        .append(&header, extensions.as_slice().chain(data))
        .at(shown)
}

/// A tar number field: octal with a NUL, or GNU's base-256 when it does not fit.
fn number(field: &mut [u8; 12], value: u64) {
    let octal = format!("{value:011o}");
    if octal.len() <= 11 {
        field[..11].copy_from_slice(octal.as_bytes());
        field[11] = 0;
    } else {
        *field = [0; 12];
        field[4..].copy_from_slice(&value.to_be_bytes());
        field[0] = 0x80;
    }
}

/// The data segments of a file, read in order with `pread`; a segment that shrank while we read (a live file)
/// is padded with zeros so the entry keeps the length its header announced.
struct Segments {
    file: File,
    segments: Vec<(u64, u64)>,
    index: usize,
    done: u64,
}

impl Read for Segments {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(&(off, len)) = self.segments.get(self.index) else {
            return Ok(0);
        };
        if self.done == len {
            self.index += 1;
            self.done = 0;
            return self.read(buf);
        }
        let want = buf
            .len()
            .min(usize::try_from(len - self.done).unwrap_or(usize::MAX));
        let mut n = self.file.read_at(&mut buf[..want], off + self.done)?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.done += n as u64;
        Ok(n)
    }
}

/// Copy a sparse entry's content into `file`, leaving holes where whole blocks of zeros would go, and set the
/// file's length (it may end in a hole). Returns the bytes copied.
pub(crate) fn copy_sparse(
    entry: &mut impl Read,
    file: &mut File,
    buf: &mut [u8],
    name: &str,
    shown: &Path,
) -> Result<u64, ArchiveError> {
    let mut writer = SparseWriter { file, written: 0 };
    loop {
        let n = match entry.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(ArchiveError::Stream {
                    entry: name.to_string(),
                    source,
                })
            }
        };
        writer.write(&buf[..n]).at(shown)?;
    }
    let written = writer.written;
    writer.finish().at(shown)?;
    Ok(written)
}

struct SparseWriter<'a> {
    file: &'a mut File,
    written: u64,
}

const HOLE_BLOCK: usize = 4096;

impl SparseWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        for chunk in data.chunks(HOLE_BLOCK) {
            if chunk.iter().all(|b| *b == 0) {
                self.file.seek(SeekFrom::Current(chunk.len() as i64))?;
            } else {
                self.file.write_all(chunk)?;
            }
            self.written += chunk.len() as u64;
        }
        Ok(())
    }

    fn finish(self) -> io::Result<()> {
        self.file.set_len(self.written)
    }
}
