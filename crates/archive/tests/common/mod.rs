//! Test helpers: build tars entry by entry with raw names (so hostile names like `../evil` can be written) and
//! inspect trees.
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub struct TarBuilder {
    builder: tar::Builder<Vec<u8>>,
}

pub struct Meta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
        }
    }
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(
        name: &str,
        kind: tar::EntryType,
        meta: &Meta,
        size: u64,
        link: Option<&str>,
    ) -> tar::Header {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(meta.mode);
        header.set_uid(meta.uid);
        header.set_gid(meta.gid);
        header.set_mtime(meta.mtime);
        header.set_size(size);
        let raw = header.as_old_mut();
        assert!(name.len() < 100);
        raw.name = [0; 100];
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            raw.linkname = [0; 100];
            raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        header
    }

    pub fn entry(
        &mut self,
        name: &str,
        kind: tar::EntryType,
        meta: &Meta,
        data: &[u8],
        link: Option<&str>,
    ) -> &mut Self {
        let header = Self::header(name, kind, meta, data.len() as u64, link);
        self.builder.append(&header, data).unwrap();
        self
    }

    pub fn pax(&mut self, pairs: &[(&str, &[u8])]) -> &mut Self {
        self.builder
            .append_pax_extensions(pairs.iter().map(|(k, v)| (*k, *v)))
            .unwrap();
        self
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(
            name,
            tar::EntryType::Directory,
            &Meta {
                mode: 0o755,
                ..Meta::default()
            },
            b"",
            None,
        )
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name, tar::EntryType::Regular, &Meta::default(), data, None)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(
            name,
            tar::EntryType::Symlink,
            &Meta {
                mode: 0o777,
                ..Meta::default()
            },
            b"",
            Some(target),
        )
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(
            name,
            tar::EntryType::Link,
            &Meta::default(),
            b"",
            Some(target),
        )
    }

    pub fn finish(&mut self) -> Vec<u8> {
        self.builder.finish().unwrap();
        self.builder.get_ref().clone()
    }
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// Every path under `dir` (relative, sorted), for "nothing else was written" checks.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            out.push(path.strip_prefix(base).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                walk(base, &path, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

pub fn lmeta(path: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match rustix::fs::lgetxattr(path, name, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(_) => None,
    }
}

pub fn is_whiteout(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let meta = lmeta(path);
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// A fresh scratch dir on the real disk (trusted.* xattrs and overlay need a real filesystem).
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-archive-test")
        .tempdir_in("/var/tmp")
        .unwrap()
}
