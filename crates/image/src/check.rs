//! `system check` of the content store: layer directories against their
//! rows, references, and blobs against what refers to them (and, unless
//! quick, against their digests). An image whose content is damaged — a
//! layer directory, its config, manifest or a layer blob missing, or a blob
//! that does not match its digest — is one finding of its own, and
//! [`remove_damaged`] removes it (as podman's `system check --repair`
//! does): it cannot be run, saved or pushed as it is, and pulling, loading
//! or building it again brings it back whole. Containers made from it keep
//! their own state; what of the damage only they use stays reported until
//! they are removed.

use std::collections::HashSet;
use std::io::Read;

use berth_store::Store;
use sha2::{Digest, Sha256};

use crate::error::At;
use crate::images::{delete_image, refs_of};
use crate::layers::{self, query_strings, ContentLock, LOCKS_DIR};
use crate::reference::familiar;
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
    /// An image that has one of the damaged layers or blobs above: its ID
    /// and its references (familiar), for the user to re-pull.
    DamagedImage { id: String, refs: Vec<String> },
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
            ContentFinding::DamagedImage { id, refs } => {
                write!(f, "image {id}")?;
                if !refs.is_empty() {
                    write!(f, " ({})", refs.join(", "))?;
                }
                write!(f, " is damaged: remove it and pull, load or build it again")
            }
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
         OR chain_id IN (SELECT chain_id FROM container_layers) \
         OR chain_id IN (SELECT chain_id FROM container_image_mounts) FROM layers ORDER BY chain_id",
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
    let damaged = damaged_images(store, &found)?;
    found.extend(damaged);
    Ok(found)
}

/// The images that have a damaged layer or blob of `found`.
fn damaged_images(
    store: &Store,
    found: &[ContentFinding],
) -> Result<Vec<ContentFinding>, ImageError> {
    let mut ids = std::collections::BTreeSet::new();
    for f in found {
        let (sql, key) = match f {
            ContentFinding::LayerWithoutDir(chain) => (
                "SELECT image_id FROM image_layers WHERE chain_id = ?1",
                chain,
            ),
            ContentFinding::MissingBlob(digest) | ContentFinding::CorruptBlob(digest) => (
                "SELECT id FROM images WHERE id = ?1 OR manifest_digest = ?1 \
                 UNION SELECT image_id FROM image_layers WHERE chain_id IN \
                 (SELECT chain_id FROM layers WHERE blob_digest = ?1)",
                digest,
            ),
            _ => continue,
        };
        let mut stmt = store.db().prepare(sql)?;
        let rows = stmt
            .query_map([key], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.extend(rows);
    }
    ids.into_iter()
        .map(|id| {
            let refs = refs_of(store, &id)?
                .iter()
                .map(|r| familiar(&r.reference))
                .collect();
            Ok(ContentFinding::DamagedImage { id, refs })
        })
        .collect()
}

/// Removes the damaged images `found` names (their references go; the
/// containers made from them stay), then collects what only they used.
pub fn remove_damaged(store: &mut Store, found: &[ContentFinding]) -> Result<(), ImageError> {
    for f in found {
        if let ContentFinding::DamagedImage { id, .. } = f {
            delete_image(store, id)?;
        }
    }
    layers::gc(store).map(|_| ())
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
