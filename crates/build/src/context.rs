//! Where COPY and ADD take files from, and how they land in the image.
//!
//! * The **build context** is a directory (or a tar read from stdin and
//!   unpacked into a staging directory). Its `.dockerignore` hides paths; a
//!   source is looked up with symlinks resolved *inside* the context, and a
//!   source that names something outside it (`../x`) is refused.
//! * `COPY --from` reads from another stage's or image's root filesystem, a
//!   mounted overlay, with the same in-root resolution.
//! * Sources are collected into [`Entry`] lists first: their digest is the
//!   cache key's content part, and the same list is then packed into a tar
//!   (ownership and modes as the instruction says) that is extracted into the
//!   step's root with `berth_archive::extract_to_dir`, which refuses to write
//!   through symlinks or outside the root.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ignore::{clean, Ignore};
use crate::BuildError;

/// A build context on disk.
pub struct Context {
    pub root: PathBuf,
    pub ignore: Ignore,
    /// Keeps an unpacked stdin context alive for the build.
    _unpacked: Option<tempfile::TempDir>,
}

impl Context {
    /// A context directory.
    pub fn from_dir(dir: &Path) -> Result<Context, BuildError> {
        let root = fs::canonicalize(dir).map_err(|e| BuildError::io(dir, e))?;
        if !root.is_dir() {
            return Err(BuildError::InvalidArgument(format!(
                "unable to prepare context: path {:?} is not a directory",
                dir.display().to_string()
            )));
        }
        let ignore = read_ignore(&root)?;
        Ok(Context {
            root,
            ignore,
            _unpacked: None,
        })
    }

    /// A context sent as a tar (plain or compressed), unpacked below `tmp`.
    pub fn from_tar(reader: impl Read, tmp: &Path) -> Result<Context, BuildError> {
        let dir = tempfile::Builder::new()
            .prefix("build-context-")
            .tempdir_in(tmp)
            .map_err(|e| BuildError::io(tmp, e))?;
        berth_archive::extract_to_dir(dir.path(), "/", reader, false, true)?;
        let root = dir.path().to_path_buf();
        let ignore = read_ignore(&root)?;
        Ok(Context {
            root,
            ignore,
            _unpacked: Some(dir),
        })
    }

    /// A context with nothing in it (a Dockerfile read from stdin).
    pub fn empty(tmp: &Path) -> Result<Context, BuildError> {
        let dir = tempfile::Builder::new()
            .prefix("build-context-")
            .tempdir_in(tmp)
            .map_err(|e| BuildError::io(tmp, e))?;
        Ok(Context {
            root: dir.path().to_path_buf(),
            ignore: Ignore::default(),
            _unpacked: Some(dir),
        })
    }
}

fn read_ignore(root: &Path) -> Result<Ignore, BuildError> {
    let path = root.join(".dockerignore");
    match fs::read_to_string(&path) {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ignore::default()),
        Err(e) => Err(BuildError::io(&path, e)),
    }
}

/// A tree sources are read from: the context (with its ignore rules) or an
/// image root (`COPY --from`).
pub struct SourceRoot<'a> {
    pub root: &'a Path,
    pub ignore: Option<&'a Ignore>,
}

/// One resolved source of a COPY/ADD.
#[derive(Debug, Clone)]
pub struct Source {
    /// Host path (inside the source root) after in-root symlink resolution.
    pub host: PathBuf,
    /// The last component of the path as written, which names a copied file.
    pub name: String,
    pub is_dir: bool,
    /// Root-relative path ("a/b", "" for the root itself), for ignore checks.
    pub rel: String,
}

/// One file system entry to copy, relative to its source.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Relative name below the source ("" is the source itself).
    pub rel: String,
    pub host: PathBuf,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    /// A regular file with more than one link: its device and inode, so
    /// that the names of one inode stay one inode where they are copied.
    pub inode: Option<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(PathBuf),
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl SourceRoot<'_> {
    /// Resolves one source as written in the Dockerfile (after expansion).
    pub fn resolve(&self, written: &str, instruction: &str) -> Result<Vec<Source>, BuildError> {
        let cleaned = clean(&format!("/{written}"));
        // A context source must stay in the context; `/` and `..` are relative
        // to the context root, so `..` at the top is an escape.
        if self.ignore.is_some() && escapes(written) {
            return Err(BuildError::Refused(format!(
                "{instruction} failed: forbidden path outside the build context: {written} ()"
            )));
        }
        let rel = cleaned.trim_start_matches('/').to_string();
        if has_wildcard(&rel) {
            return self.resolve_wildcard(&rel, instruction);
        }
        let host = berth_archive::resolve_in_root(self.root, Path::new(&cleaned))
            .map_err(|_| not_found(instruction, written))?;
        let meta = fs::symlink_metadata(&host).map_err(|_| not_found(instruction, written))?;
        let rel_resolved = host
            .strip_prefix(self.root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.excluded(&rel_resolved) {
            return Err(not_found(instruction, written));
        }
        let name = Path::new(&cleaned)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(vec![Source {
            host,
            name,
            is_dir: meta.is_dir(),
            rel: rel_resolved,
        }])
    }

    fn excluded(&self, rel: &str) -> bool {
        !rel.is_empty() && self.ignore.is_some_and(|i| i.excludes(rel))
    }

    /// Go's `filepath.Match` against every path below the pattern's literal
    /// directory prefix (matched directories are not descended into).
    fn resolve_wildcard(
        &self,
        pattern: &str,
        instruction: &str,
    ) -> Result<Vec<Source>, BuildError> {
        let glob = glob::Pattern::new(pattern).map_err(|e| {
            BuildError::InvalidArgument(format!("{instruction}: bad pattern {pattern:?}: {e}"))
        })?;
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        let literal: Vec<&str> = pattern
            .split('/')
            .take_while(|part| !has_wildcard(part))
            .collect();
        let start_rel = literal.join("/");
        let start = berth_archive::resolve_in_root(self.root, Path::new(&format!("/{start_rel}")))
            .map_err(|_| BuildError::NoSources(instruction.to_string()))?;
        let mut found = Vec::new();
        let mut stack = vec![(start, start_rel)];
        while let Some((dir, rel)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<_> = entries.flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries.iter().rev() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let child_rel = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                if self.excluded(&child_rel) {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if glob.matches_with(&child_rel, options) {
                    found.push(Source {
                        host: entry.path(),
                        name,
                        is_dir: meta.is_dir(),
                        rel: child_rel,
                    });
                } else if meta.is_dir() {
                    stack.push((entry.path(), child_rel));
                }
            }
        }
        if found.is_empty() {
            return Err(BuildError::NoSources(instruction.to_string()));
        }
        found.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(found)
    }

    /// Everything a source copies, parents before children, sorted.
    pub fn entries(&self, source: &Source) -> Result<Vec<Entry>, BuildError> {
        let mut out = Vec::new();
        let meta =
            fs::symlink_metadata(&source.host).map_err(|e| BuildError::io(&source.host, e))?;
        out.push(entry_of("", &source.host, &meta)?);
        if !meta.is_dir() {
            return Ok(out);
        }
        let mut stack = vec![(source.host.clone(), String::new())];
        let walk_excluded = self.ignore.map(|i| !i.has_exceptions()).unwrap_or(true);
        while let Some((dir, rel)) = stack.pop() {
            let mut children: Vec<_> = fs::read_dir(&dir)
                .map_err(|e| BuildError::io(&dir, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| BuildError::io(&dir, e))?;
            children.sort_by_key(|e| e.file_name());
            let mut subdirs = Vec::new();
            for child in children {
                let name = child.file_name().to_string_lossy().into_owned();
                let child_rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let host = child.path();
                let meta = fs::symlink_metadata(&host).map_err(|e| BuildError::io(&host, e))?;
                let root_rel = if source.rel.is_empty() {
                    child_rel.clone()
                } else {
                    format!("{}/{child_rel}", source.rel)
                };
                let excluded = self.excluded(&root_rel);
                if excluded && (!meta.is_dir() || walk_excluded) {
                    continue;
                }
                if !excluded {
                    if let Some(entry) = entry_of_kind(&child_rel, &host, &meta)? {
                        out.push(entry);
                    }
                }
                if meta.is_dir() {
                    subdirs.push((host, child_rel));
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }
}

/// `..` at the top of a context path escapes the context.
fn escapes(written: &str) -> bool {
    let cleaned = clean(written);
    cleaned == ".." || cleaned.starts_with("../")
}

fn not_found(instruction: &str, written: &str) -> BuildError {
    BuildError::SourceNotFound {
        instruction: instruction.to_string(),
        path: written.to_string(),
    }
}

fn entry_of(rel: &str, host: &Path, meta: &fs::Metadata) -> Result<Entry, BuildError> {
    entry_of_kind(rel, host, meta)?.ok_or_else(|| {
        BuildError::Refused(format!(
            "{}: only regular files, directories and symlinks can be copied",
            host.display()
        ))
    })
}

fn entry_of_kind(rel: &str, host: &Path, meta: &fs::Metadata) -> Result<Option<Entry>, BuildError> {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_file() {
        EntryKind::File
    } else if ft.is_symlink() {
        EntryKind::Symlink(fs::read_link(host).map_err(|e| BuildError::io(host, e))?)
    } else {
        // Sockets, fifos and devices have no place in an image layer copy.
        return Ok(None);
    };
    Ok(Some(Entry {
        rel: rel.to_string(),
        host: host.to_path_buf(),
        kind,
        mode: meta.permissions().mode() & 0o7777,
        size: if ft.is_file() { meta.len() } else { 0 },
        mtime: meta.mtime(),
        inode: (ft.is_file() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino())),
    }))
}

/// How copied entries are owned and moded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ownership {
    pub uid: u32,
    pub gid: u32,
    /// `--chmod`: replaces the permission bits of every copied entry.
    pub chmod: Option<u32>,
}

/// The digest of what a list of entries would copy: names, kinds, modes,
/// link targets and file contents — not mtimes, as Docker's cache ignores them.
pub fn digest_entries(entries: &[Entry], hasher: &mut Sha256) -> Result<(), BuildError> {
    let mut links = HardLinks::default();
    for e in entries {
        hasher.update(e.rel.as_bytes());
        hasher.update([0]);
        if let Some(first) = links.earlier(e, &e.rel) {
            // Which names share an inode is part of what is copied.
            hasher.update(b"h");
            hasher.update(first.as_bytes());
            hasher.update([0]);
            continue;
        }
        match &e.kind {
            EntryKind::Dir => hasher.update(b"d"),
            EntryKind::File => {
                hasher.update(b"f");
                let mut file =
                    fs::File::open(&e.host).map_err(|err| BuildError::io(&e.host, err))?;
                let mut content = Sha256::new();
                std::io::copy(&mut file, &mut content)
                    .map_err(|err| BuildError::io(&e.host, err))?;
                hasher.update(content.finalize());
            }
            EntryKind::Symlink(target) => {
                hasher.update(b"l");
                hasher.update(target.as_os_str().as_encoded_bytes());
            }
        }
        hasher.update(e.mode.to_le_bytes());
        hasher.update([0]);
    }
    Ok(())
}

/// Packs `entries` into a tar whose names are `prefix` joined with each
/// entry's relative name (the source itself becomes `prefix`, or is left out
/// when `prefix` is empty, for a directory whose contents are copied).
pub fn pack_entries(
    entries: &[Entry],
    prefix: &str,
    owner: Ownership,
    out: &mut (impl Write + Seek),
) -> Result<(), BuildError> {
    let mut builder = tar::Builder::new(out);
    let mut links = HardLinks::default();
    for e in entries {
        let name = match (prefix.is_empty(), e.rel.is_empty()) {
            (true, true) => continue,
            (true, false) => e.rel.clone(),
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}/{}", e.rel),
        };
        let mut header = tar::Header::new_gnu();
        header.set_uid(owner.uid.into());
        header.set_gid(owner.gid.into());
        header.set_mtime(e.mtime.max(0) as u64);
        let mode = owner.chmod.unwrap_or(e.mode);
        header.set_mode(mode);
        let tar_error = |err: std::io::Error| BuildError::io(&e.host, err);
        if let Some(first) = links.earlier(e, &name) {
            // Docker's COPY keeps hard links: a later name of an inode
            // already packed is a tar hard link to the first name.
            header.set_entry_type(tar::EntryType::Link);
            header.set_size(0);
            builder
                .append_link(&mut header, &name, first)
                .map_err(tar_error)?;
            continue;
        }
        match &e.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{name}/"), std::io::empty())
                    .map_err(tar_error)?;
            }
            EntryKind::File => {
                let file = fs::File::open(&e.host).map_err(tar_error)?;
                let size = file.metadata().map_err(tar_error)?.len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(size);
                builder
                    .append_data(&mut header, &name, file.take(size))
                    .map_err(tar_error)?;
            }
            EntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                header.set_mode(0o777);
                builder
                    .append_link(&mut header, &name, target)
                    .map_err(tar_error)?;
            }
        }
    }
    builder
        .into_inner()
        .map_err(|e| BuildError::io("tar stream", e))?
        .flush()
        .map_err(|e| BuildError::io("tar stream", e))?;
    Ok(())
}

/// The first name each multiply-linked inode was seen under.
#[derive(Default)]
struct HardLinks {
    first: std::collections::HashMap<(u64, u64), String>,
}

impl HardLinks {
    /// The name `e`'s inode was first seen under, if it was; else `name`
    /// is remembered as its first.
    fn earlier(&mut self, e: &Entry, name: &str) -> Option<String> {
        let inode = e.inode?;
        match self.first.get(&inode) {
            Some(first) => Some(first.clone()),
            None => {
                self.first.insert(inode, name.to_string());
                None
            }
        }
    }
}

/// Whether a file is a tar archive ADD should extract (plain or gzip'd).
pub fn is_archive(path: &Path) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let mut head = vec![0u8; 512];
    let Ok(n) = read_full(&mut file, &mut head) else {
        return false;
    };
    head.truncate(n);
    if head.starts_with(&[0x1f, 0x8b]) {
        let Ok(file) = fs::File::open(path) else {
            return false;
        };
        let mut decoder = flate2::read::GzDecoder::new(file);
        let mut inner = vec![0u8; 512];
        return matches!(read_full(&mut decoder, &mut inner), Ok(512) if is_tar_header(&inner));
    }
    n == 512 && is_tar_header(&head)
}

fn is_tar_header(block: &[u8]) -> bool {
    &block[257..262] == b"ustar"
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match reader.read(&mut buf[total..])? {
            0 => break,
            n => total += n,
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("src/sub")).unwrap();
        fs::write(p.join("src/a.txt"), "a").unwrap();
        fs::write(p.join("src/b.md"), "b").unwrap();
        fs::write(p.join("src/sub/c.txt"), "c").unwrap();
        fs::write(p.join("top.txt"), "t").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", p.join("abs-link")).unwrap();
        std::os::unix::fs::symlink("src/a.txt", p.join("rel-link")).unwrap();
        dir
    }

    #[test]
    fn context_sources_resolve_inside_the_context() {
        let dir = tree();
        let ignore = Ignore::parse("*.md\nsrc/sub\n").unwrap();
        let root = SourceRoot {
            root: dir.path(),
            ignore: Some(&ignore),
        };
        let canonical = fs::canonicalize(dir.path()).unwrap();
        // `..` escapes are refused, absolute paths are context-relative.
        assert!(matches!(
            root.resolve("../x", "COPY"),
            Err(BuildError::Refused(_))
        ));
        assert!(matches!(
            root.resolve("src/../../x", "COPY"),
            Err(BuildError::Refused(_))
        ));
        assert_eq!(root.resolve("/top.txt", "COPY").unwrap()[0].rel, "top.txt");
        // An absolute symlink resolves inside the context (where nothing is).
        assert!(matches!(
            root.resolve("abs-link", "COPY"),
            Err(BuildError::SourceNotFound { .. })
        ));
        let rel = root.resolve("rel-link", "COPY").unwrap();
        assert_eq!(rel[0].host, canonical.join("src/a.txt"));
        assert_eq!(rel[0].name, "rel-link");
        // Ignored paths are not there.
        fs::write(dir.path().join("top.md"), "m").unwrap();
        assert!(root.resolve("top.md", "COPY").is_err());
        // `*.md` is top-level only; `src/sub` hides the whole directory.
        assert!(root.resolve("src/b.md", "COPY").is_ok());
        assert!(root.resolve("src/sub/c.txt", "COPY").is_err());
        let entries = root
            .entries(&root.resolve("src", "COPY").unwrap()[0])
            .unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(names, vec!["", "a.txt", "b.md"]);
    }

    #[test]
    fn wildcards_match_like_filepath_match() {
        let dir = tree();
        let root = SourceRoot {
            root: dir.path(),
            ignore: Some(&Ignore::default()),
        };
        let found: Vec<String> = root
            .resolve("src/*.txt", "COPY")
            .unwrap()
            .into_iter()
            .map(|s| s.rel)
            .collect();
        assert_eq!(found, vec!["src/a.txt"]);
        let found: Vec<String> = root
            .resolve("*.txt", "COPY")
            .unwrap()
            .into_iter()
            .map(|s| s.rel)
            .collect();
        assert_eq!(found, vec!["top.txt"]);
        assert!(matches!(
            root.resolve("*.nothing", "COPY"),
            Err(BuildError::NoSources(_))
        ));
    }

    #[test]
    fn digest_ignores_mtime_but_not_content() {
        let dir = tree();
        let root = SourceRoot {
            root: dir.path(),
            ignore: None,
        };
        let digest = || {
            let src = root.resolve("src", "COPY").unwrap();
            let mut h = Sha256::new();
            digest_entries(&root.entries(&src[0]).unwrap(), &mut h).unwrap();
            hex::encode(h.finalize())
        };
        let first = digest();
        let f = fs::File::options()
            .write(true)
            .open(dir.path().join("src/a.txt"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(digest(), first);
        fs::write(dir.path().join("src/a.txt"), "changed").unwrap();
        assert_ne!(digest(), first);
    }

    #[test]
    fn archives_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let tar_path = dir.path().join("x.tar");
        let mut b = tar::Builder::new(fs::File::create(&tar_path).unwrap());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "f", &b"x"[..]).unwrap();
        b.into_inner().unwrap();
        assert!(is_archive(&tar_path));
        let gz_path = dir.path().join("x.tar.gz");
        let mut enc = flate2::write::GzEncoder::new(
            fs::File::create(&gz_path).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&fs::read(&tar_path).unwrap()).unwrap();
        enc.finish().unwrap();
        assert!(is_archive(&gz_path));
        fs::write(dir.path().join("plain"), "not a tar").unwrap();
        assert!(!is_archive(&dir.path().join("plain")));
    }
}
