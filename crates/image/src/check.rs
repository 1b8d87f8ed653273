//! `system check` of the content store: layer directories against their
//! rows, references, and blobs against what refers to them (and, unless
//! quick, against their digests).

use std::collections::HashSet;
use std::io::Read;

use berth_store::Store;
use sha2::{Digest, Sha256};

use crate::error::At;
use crate::layers::{query_strings, ContentLock, LOCKS_DIR};
use crate::ImageError;

/// One inconsistency of the content store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentFinding {
    /// `layers/HEX` without a row (a writer died between its rename and
    /// its commit). Removed by gc.
    LayerDirWithoutRow(String),
    /// A layer row no image or container refers to. Removed by gc.
    UnreferencedLayer(String),
    /// A blob nothing refers to (a writer died before its commit). Removed by gc.
    UnreferencedBlob(String),
    /// A layer row whose directory is missing: the images that use it are
    /// damaged.
    LayerWithoutDir(String),
    /// A blob a row refers to that is missing: the images are damaged.
    MissingBlob(String),
    /// A blob whose content does not hash to its name (not with `quick`).
    CorruptBlob(String),
}

impl ContentFinding {
    /// Whether garbage collection ([`crate::gc_layers`]) repairs it.
    pub fn collectable(&self) -> bool {
        matches!(
            self,
            ContentFinding::LayerDirWithoutRow(_)
                | ContentFinding::UnreferencedLayer(_)
                | ContentFinding::UnreferencedBlob(_)
        )
    }
}

impl std::fmt::Display for ContentFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContentFinding::LayerDirWithoutRow(d) => {
                write!(f, "layer directory layers/{d} has no record")
            }
            ContentFinding::UnreferencedLayer(c) => {
                write!(f, "layer {c} is used by no image or container")
            }
            ContentFinding::UnreferencedBlob(b) => write!(f, "blob {b} is referred to by nothing"),
            ContentFinding::LayerWithoutDir(c) => write!(f, "layer {c} has no directory"),
            ContentFinding::MissingBlob(b) => write!(f, "blob {b} is missing"),
            ContentFinding::CorruptBlob(b) => write!(f, "blob {b} does not match its digest"),
        }
    }
}

/// Checks the content store with writers excluded (the content lock held
/// exclusively, as gc holds it), so a write between its rename and its
/// commit is never mistaken for garbage.
pub fn check(store: &Store, quick: bool) -> Result<Vec<ContentFinding>, ImageError> {
    let _lock = ContentLock::exclusive(store)?;
    let mut found = Vec::new();
    let rows: HashSet<String> = query_strings(store, "SELECT dir FROM layers")?;
    let layers_dir = store.layers_dir();
    let mut dirs = HashSet::new();
    for entry in std::fs::read_dir(&layers_dir).at(&layers_dir)? {
        let name = entry
            .at(&layers_dir)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name == LOCKS_DIR {
            continue;
        }
        if !rows.contains(&name) {
            found.push(ContentFinding::LayerDirWithoutRow(name.clone()));
        }
        dirs.insert(name);
    }
    let mut stmt = store.db().prepare(
        "SELECT chain_id, dir, \
         chain_id IN (SELECT chain_id FROM image_layers) \
         OR chain_id IN (SELECT chain_id FROM container_layers) FROM layers ORDER BY chain_id",
    )?;
    let layers = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (chain_id, dir, used) in layers {
        if !dirs.contains(&dir) {
            found.push(ContentFinding::LayerWithoutDir(chain_id.clone()));
        }
        if !used {
            found.push(ContentFinding::UnreferencedLayer(chain_id));
        }
    }
    let mut referenced: HashSet<String> = query_strings(store, "SELECT id FROM images")?;
    referenced.extend(query_strings(
        store,
        "SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL",
    )?);
    referenced.extend(query_strings(store, "SELECT blob_digest FROM layers")?);
    let blobs_dir = store.blobs_dir();
    let mut present = HashSet::new();
    for entry in std::fs::read_dir(&blobs_dir).at(&blobs_dir)? {
        let entry = entry.at(&blobs_dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let digest = format!("sha256:{name}");
        if !referenced.contains(&digest) {
            found.push(ContentFinding::UnreferencedBlob(digest.clone()));
        } else if !quick && !hashes_to(&entry.path(), &name)? {
            found.push(ContentFinding::CorruptBlob(digest.clone()));
        }
        present.insert(digest);
    }
    let mut missing: Vec<String> = referenced.difference(&present).cloned().collect();
    missing.sort();
    found.extend(missing.into_iter().map(ContentFinding::MissingBlob));
    Ok(found)
}

fn hashes_to(path: &std::path::Path, hex_digest: &str) -> Result<bool, ImageError> {
    let mut file = std::fs::File::open(path).at(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()) == hex_digest)
}
