//! The content store: immutable blobs addressed by their sha256 digest, laid out
//! as an OCI image layout's `blobs/sha256/HEX`.
//!
//! Lifecycle: a blob is streamed into a temporary file under the store's `tmp/`
//! while being hashed, fsynced, checked against the digest it was announced
//! with (if any), and only then renamed (or hard-linked) into `blobs/sha256/`.
//! So a blob file that exists is always complete and correct; a failed write
//! leaves nothing behind. Blobs are referred to by `images.id` (the config),
//! `images.manifest_digest` and `layers.blob_digest`; [`crate::gc_layers`]
//! deletes the ones nothing refers to.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::At;
use crate::ImageError;

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex part of a `sha256:<64 hex>` digest; anything else is refused, so a
/// digest taken from an archive can never name a path outside `blobs/sha256/`.
pub fn digest_hex(digest: &str) -> Result<&str, ImageError> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if crate::reference::is_full_hex_id(hex) => Ok(hex),
        _ => Err(ImageError::archive(format!(
            "unsupported or malformed digest {digest:?}"
        ))),
    }
}

/// The blob directory of one store.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
}

/// Outcome of a write: the digest, the size and whether this call created the
/// file (so a failed caller removes only what it added).
#[derive(Debug, Clone)]
pub struct Written {
    pub digest: String,
    pub size: u64,
    pub created: bool,
}

impl Blobs {
    pub fn new(store: &berth_store::Store) -> Blobs {
        Blobs {
            dir: store.blobs_dir(),
            tmp: store.tmp_dir(),
        }
    }

    pub fn path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self.dir.join(digest_hex(digest)?))
    }

    pub fn exists(&self, digest: &str) -> bool {
        self.path(digest).map(|p| p.is_file()).unwrap_or(false)
    }

    pub fn open(&self, digest: &str) -> Result<File, ImageError> {
        let path = self.path(digest)?;
        File::open(&path).at(&path)
    }

    pub fn read(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let path = self.path(digest)?;
        std::fs::read(&path).at(&path)
    }

    pub fn delete(&self, digest: &str) -> Result<(), ImageError> {
        let path = self.path(digest)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ImageError::io(&path, e)),
            _ => Ok(()),
        }
    }

    /// Streams `reader` into the store. With `expected`, content that hashes to
    /// anything else is refused and nothing is kept.
    pub fn put(&self, reader: impl Read, expected: Option<&str>) -> Result<Written, ImageError> {
        let mut staged = Staged::new(&self.tmp)?;
        io::copy(&mut { reader }, &mut staged).at(staged.path())?;
        let (file, digest, size) = staged.finish()?;
        if let Some(expected) = expected {
            check_digest(expected, &digest, expected)?;
        }
        let created = self.commit_tmp(file, &digest)?;
        Ok(Written {
            digest,
            size,
            created,
        })
    }

    pub fn put_bytes(&self, bytes: &[u8], expected: Option<&str>) -> Result<Written, ImageError> {
        self.put(bytes, expected)
    }

    /// Adopts a file that is already complete, fsynced and known to hash to
    /// `digest` (e.g. a member staged while reading an archive) by hard-linking
    /// it into place.
    pub fn adopt(&self, file: &Path, digest: &str) -> Result<bool, ImageError> {
        let target = self.path(digest)?;
        match std::fs::hard_link(file, &target) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(ImageError::io(&target, e)),
        }
    }

    /// Moves a finished [`Staged`] file into place as `digest`.
    pub(crate) fn commit_staged(
        &self,
        file: tempfile::NamedTempFile,
        digest: &str,
    ) -> Result<Written, ImageError> {
        let size = file.as_file().metadata().at(file.path())?.len();
        let created = self.commit_tmp(file, digest)?;
        Ok(Written {
            digest: digest.to_string(),
            size,
            created,
        })
    }

    fn commit_tmp(&self, file: tempfile::NamedTempFile, digest: &str) -> Result<bool, ImageError> {
        let target = self.path(digest)?;
        if target.is_file() {
            return Ok(false);
        }
        file.persist(&target)
            .map_err(|e| ImageError::io(&target, e.error))?;
        sync_dir(&self.dir)?;
        Ok(true)
    }
}

pub(crate) fn check_digest(what: &str, actual: &str, expected: &str) -> Result<(), ImageError> {
    if actual != expected {
        return Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), ImageError> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// A temporary file under `tmp/` that hashes what is written to it. Dropped
/// without [`Staged::finish`] (or its result dropped), it is removed.
pub(crate) struct Staged {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    size: u64,
}

impl Staged {
    pub(crate) fn new(tmp: &Path) -> Result<Staged, ImageError> {
        let file = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(tmp)
            .at(tmp)?;
        Ok(Staged {
            file,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        self.file.path()
    }

    /// Flushes to disk and returns the file with its digest and size.
    pub(crate) fn finish(self) -> Result<(tempfile::NamedTempFile, String, u64), ImageError> {
        self.file.as_file().sync_all().at(self.file.path())?;
        let digest = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        Ok((self.file, digest, self.size))
    }
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store stays open: its staging directory lives as long as it.
    fn setup() -> ((tempfile::TempDir, berth_store::Store), Blobs) {
        let dir = tempfile::tempdir().unwrap();
        let store = berth_store::Store::open(dir.path()).unwrap();
        let blobs = Blobs::new(&store);
        ((dir, store), blobs)
    }

    fn tmp_is_empty(dir: &(tempfile::TempDir, berth_store::Store)) -> bool {
        std::fs::read_dir(dir.1.tmp_dir()).unwrap().next().is_none()
    }

    #[test]
    fn put_is_content_addressed_and_idempotent() {
        let (dir, blobs) = setup();
        let w = blobs.put_bytes(b"hello", None).unwrap();
        assert_eq!(w.digest, digest_of(b"hello"));
        assert!(w.created);
        assert_eq!(blobs.read(&w.digest).unwrap(), b"hello");
        let again = blobs.put_bytes(b"hello", Some(&w.digest)).unwrap();
        assert!(!again.created);
        assert!(tmp_is_empty(&dir));
        blobs.delete(&w.digest).unwrap();
        assert!(!blobs.exists(&w.digest));
    }

    #[test]
    fn mismatch_leaves_nothing() {
        let (dir, blobs) = setup();
        let wrong = digest_of(b"other");
        let err = blobs.put_bytes(b"hello", Some(&wrong)).unwrap_err();
        assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
        assert!(!blobs.exists(&digest_of(b"hello")));
        assert!(!blobs.exists(&wrong));
        assert!(tmp_is_empty(&dir));
        assert_eq!(
            std::fs::read_dir(dir.0.path().join("blobs/sha256"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn malformed_digests_never_name_a_path() {
        let (_dir, blobs) = setup();
        for bad in ["sha256:../../etc/passwd", "md5:abc", "sha256:ABC", ""] {
            assert!(blobs.path(bad).is_err(), "{bad}");
        }
    }
}
