//! Layer unpacking: a (plain | gzip | zstd) OCI layer tar becomes an overlayfs lowerdir, and its diff_id (sha256
//! of the uncompressed stream, every byte of it including the end-of-archive padding) is computed on the way.

use std::io::{self, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::ArchiveError;
use crate::extract::{ExtractOptions, Extractor, Ownership, Parents};

/// Read-ahead for the compressed and uncompressed streams: big enough that the tar parser's small header reads
/// and the content copies are served from memory, small enough to stay in L2-ish territory.
const STREAM_BUF: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedLayer {
    /// "sha256:<hex>" of the uncompressed tar stream.
    pub diff_id: String,
    /// Bytes of regular-file content.
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub(crate) fn detect(magic: &[u8]) -> Self {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Sniff the compression from the first bytes and return a reader of the uncompressed stream.
pub(crate) fn decompressed<'a>(
    mut reader: impl Read + 'a,
) -> Result<Box<dyn Read + 'a>, ArchiveError> {
    let stream_error = |source| ArchiveError::Stream {
        entry: String::new(),
        source,
    };
    let mut magic = [0u8; 4];
    let mut have = 0;
    while have < magic.len() {
        match reader.read(&mut magic[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(stream_error(e)),
        }
    }
    let whole = io::Cursor::new(magic[..have].to_vec()).chain(reader);
    Ok(match Compression::detect(&magic[..have]) {
        Compression::None => Box::new(whole),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(STREAM_BUF, whole),
        )),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(STREAM_BUF, whole))
                .map_err(stream_error)?,
        ),
    })
}

/// Passes bytes through while hashing and counting them.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    pub(crate) fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

impl<W: io::Write> io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R> Hashing<R> {
    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// Unpack a layer tar into `dest` (an existing, empty directory that becomes an overlay lowerdir). See the crate
/// docs for the whiteout translation and the refusal rules.
pub fn unpack_layer(reader: impl Read, dest: &Path) -> Result<UnpackedLayer, ArchiveError> {
    let mut hashing = Hashing::new(decompressed(reader)?);
    let size = {
        let mut archive = tar::Archive::new(BufReader::with_capacity(STREAM_BUF, &mut hashing));
        let parents = Parents::strict(dest)?;
        let mut extractor = Extractor::new(
            dest.to_path_buf(),
            parents,
            ExtractOptions {
                whiteouts: true,
                no_overwrite_dir_non_dir: false,
                ownership: Ownership::FromArchive,
            },
        );
        extractor.extract(&mut archive)?;
        // The diff_id covers the whole stream: drain what follows the end-of-archive marker.
        io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|source| {
            ArchiveError::Stream {
                entry: "end of archive".into(),
                source,
            }
        })?;
        extractor.content_bytes
    };
    Ok(UnpackedLayer {
        diff_id: hashing.digest(),
        size,
    })
}
