//! Image metadata: resolution of names and IDs, listing, inspect, history, tag,
//! remove and prune.
//!
//! An image is one `images` row (`id` = `sha256:` + digest of its config blob),
//! its ordered `image_layers` and any number of `image_refs` (tags and digest
//! references). An image without refs is *dangling*. Removing an image deletes
//! its rows; its layers and blobs go with the next [`crate::gc_layers`] unless
//! another image or a container still refers to them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_store::rusqlite::{params, OptionalExtension};
use berth_store::{Store, ZERO_TIME};
use serde::Serialize;

use crate::blobs::Blobs;
use crate::config::{parse_oci, ContainerConfig, ImageConfigDoc};
use crate::reference::{self, is_full_hex_id, Reference};
use crate::{layers, ImageError};

/// An image ready to run: what the container crate needs.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// `sha256:<hex>`.
    pub id: String,
    pub config: oci_spec::image::ImageConfiguration,
    /// Bottom -> top.
    pub layers: Vec<LayerRef>,
}

/// One layer of a resolved image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    pub chain_id: String,
    /// Absolute `layers/<hex>` dir, usable as an overlay lowerdir.
    pub dir: PathBuf,
}

/// Finds the image ID a user's word names: a reference (`busybox`,
/// `busybox:1`, `name@sha256:...`), a full or `sha256:`-prefixed ID, or a unique
/// ID prefix — in Docker's order (references win over ID prefixes).
pub fn resolve_id(store: &Store, name_or_id: &str) -> Result<String, ImageError> {
    let not_found = |reference: String| ImageError::NotFound { reference };
    let bare_hex = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
    if is_full_hex_id(bare_hex) {
        let id = format!("sha256:{bare_hex}");
        return match image_exists(store, &id)? {
            true => Ok(id),
            false => Err(not_found(id)),
        };
    }
    let reference = Reference::parse(name_or_id)?.with_default_tag();
    if let Some(id) = ref_target(store, &reference.store_key())? {
        return Ok(id);
    }
    if let Some(digest) = reference.digest() {
        // `name@<image id>` and `name@<manifest digest>` of a tagged name.
        if image_exists(store, digest)? {
            return Ok(digest.to_string());
        }
        let by_manifest: Option<String> = store
            .db()
            .query_row(
                "SELECT i.id FROM images i JOIN image_refs r ON r.image_id = i.id \
                 WHERE i.manifest_digest = ?1 AND r.reference LIKE ?2 || ':%' LIMIT 1",
                params![digest, reference.name()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = by_manifest {
            return Ok(id);
        }
    }
    if !bare_hex.is_empty()
        && bare_hex
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        let mut stmt = store
            .db()
            .prepare("SELECT id FROM images WHERE substr(id, 8, ?2) = ?1 LIMIT 2")?;
        let ids = stmt
            .query_map(params![bare_hex, bare_hex.len() as i64], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        match ids.len() {
            1 => return Ok(ids.into_iter().next().unwrap_or_default()),
            0 => {}
            _ => {
                return Err(ImageError::Ambiguous {
                    prefix: name_or_id.to_string(),
                })
            }
        }
    }
    Err(not_found(reference.familiar()))
}

fn image_exists(store: &Store, id: &str) -> Result<bool, ImageError> {
    Ok(store
        .db()
        .query_row("SELECT 1 FROM images WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn ref_target(store: &Store, key: &str) -> Result<Option<String>, ImageError> {
    Ok(store
        .db()
        .query_row(
            "SELECT image_id FROM image_refs WHERE reference = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?)
}

/// Resolves a name or ID to the image's config and layer dirs.
pub fn resolve(store: &Store, name_or_id: &str) -> Result<ResolvedImage, ImageError> {
    let id = resolve_id(store, name_or_id)?;
    let bytes = Blobs::new(store).read(&id)?;
    let config = parse_oci(&bytes).map_err(|e| ImageError::json(format!("config of {id}"), e))?;
    let layers_dir = store.layers_dir();
    let layers = image_layers(store, &id)?
        .into_iter()
        .map(|row| -> Result<LayerRef, ImageError> {
            Ok(LayerRef {
                dir: layers_dir.join(row.dir_name()?),
                chain_id: row.chain_id,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResolvedImage { id, config, layers })
}

/// The size of an image: the sum of its layers' sizes (what a container's
/// `SizeRootFs` adds to its writable layer).
pub fn size(store: &Store, name_or_id: &str) -> Result<u64, ImageError> {
    let id = resolve_id(store, name_or_id)?;
    Ok(image_layers(store, &id)?.iter().map(|r| r.size).sum())
}

/// The layer rows of an image, bottom first.
pub(crate) fn image_layers(store: &Store, id: &str) -> Result<Vec<layers::LayerRow>, ImageError> {
    let mut stmt = store.db().prepare_cached(
        "SELECT l.chain_id, l.diff_id, l.parent, l.size, l.blob_digest, l.blob_media_type \
         FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id \
         WHERE il.image_id = ?1 ORDER BY il.position",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(layers::LayerRow {
                chain_id: r.get(0)?,
                diff_id: r.get(1)?,
                parent: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
                blob_digest: r.get(4)?,
                blob_media_type: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A stored reference of an image.
#[derive(Debug, Clone)]
pub(crate) struct StoredRef {
    pub reference: String,
    pub kind: String,
    pub added_at: String,
}

pub(crate) fn refs_of(store: &Store, id: &str) -> Result<Vec<StoredRef>, ImageError> {
    let mut stmt = store.db().prepare_cached(
        "SELECT reference, kind, added_at FROM image_refs WHERE image_id = ?1 ORDER BY reference",
    )?;
    let refs = stmt
        .query_map([id], |r| {
            Ok(StoredRef {
                reference: r.get(0)?,
                kind: r.get(1)?,
                added_at: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(refs)
}

/// One image as `images` lists it.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub id: String,
    /// Familiar `repo:tag` strings.
    pub repo_tags: Vec<String>,
    /// Familiar `repo@sha256:...` strings.
    pub repo_digests: Vec<String>,
    /// RFC 3339, from the config.
    pub created: String,
    pub size: u64,
    pub labels: BTreeMap<String, String>,
    /// Containers (any state) created from it.
    pub containers: u64,
}

/// Every image, newest first.
pub fn list(store: &Store) -> Result<Vec<ImageSummary>, ImageError> {
    let mut stmt = store.db().prepare(
        "SELECT id, size, created_at, (SELECT count(*) FROM containers c WHERE c.image_id = images.id) \
         FROM images WHERE NOT (id IN (SELECT parent_id FROM build_cache) \
         AND id NOT IN (SELECT image_id FROM image_refs)) ORDER BY created_at DESC, id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)? as u64,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let blobs = Blobs::new(store);
    let mut out = Vec::with_capacity(rows.len());
    for (id, size, created, containers) in rows {
        let doc = ImageConfigDoc::parse(&blobs.read(&id)?)
            .map_err(|e| ImageError::json(format!("config of {id}"), e))?;
        let labels = doc.config.and_then(|c| c.labels).unwrap_or_default();
        let (mut repo_tags, mut repo_digests) = (Vec::new(), Vec::new());
        for r in refs_of(store, &id)? {
            let familiar = reference::familiar(&r.reference);
            match r.kind.as_str() {
                "digest" => repo_digests.push(familiar),
                _ => repo_tags.push(familiar),
            }
        }
        out.push(ImageSummary {
            id,
            repo_tags,
            repo_digests,
            created,
            size,
            labels,
            containers,
        });
    }
    Ok(out)
}

/// `docker image inspect`'s document, fields in Docker's order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub container: String,
    pub container_config: ContainerConfig,
    pub docker_version: String,
    pub author: String,
    pub config: Option<ContainerConfig>,
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variant: String,
    pub os: String,
    pub size: u64,
    pub virtual_size: u64,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: InspectRootFs,
    pub metadata: InspectMetadata,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub data: BTreeMap<String, String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectRootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectMetadata {
    pub last_tag_time: String,
}

/// The inspect document of one image.
pub fn inspect(store: &Store, name_or_id: &str) -> Result<ImageInspect, ImageError> {
    let id = resolve_id(store, name_or_id)?;
    let doc = ImageConfigDoc::parse(&Blobs::new(store).read(&id)?)
        .map_err(|e| ImageError::json(format!("config of {id}"), e))?;
    let (mut repo_tags, mut repo_digests) = (Vec::new(), Vec::new());
    let mut last_tag_time = ZERO_TIME.to_string();
    for r in refs_of(store, &id)? {
        let familiar = reference::familiar(&r.reference);
        if r.kind == "digest" {
            repo_digests.push(familiar);
        } else {
            repo_tags.push(familiar);
            if last_tag_time == ZERO_TIME || r.added_at > last_tag_time {
                last_tag_time = r.added_at.clone();
            }
        }
    }
    let rows = image_layers(store, &id)?;
    let size: u64 = rows.iter().map(|r| r.size).sum();
    // Docker's overlay2 shows the top layer as UpperDir and the others, top
    // first, as LowerDir; berth's layer dirs are the lowerdirs themselves.
    let dirs: Vec<String> = rows
        .iter()
        .rev()
        .map(|r| {
            r.dir_name()
                .map(|d| store.layers_dir().join(d).display().to_string())
        })
        .collect::<Result<_, _>>()?;
    let mut data = BTreeMap::new();
    if let Some((upper, lower)) = dirs.split_first() {
        data.insert("UpperDir".to_string(), upper.clone());
        if !lower.is_empty() {
            data.insert("LowerDir".to_string(), lower.join(":"));
        }
    }
    let parent = build_parent(store, &id)?.unwrap_or_default();
    Ok(ImageInspect {
        id,
        repo_tags,
        repo_digests,
        parent,
        comment: doc.comment,
        created: doc.created,
        container: doc.container,
        container_config: doc.container_config,
        docker_version: doc.docker_version,
        author: doc.author,
        config: doc.config,
        architecture: doc.architecture,
        variant: doc.variant.unwrap_or_default(),
        os: doc.os,
        size,
        virtual_size: size,
        graph_driver: GraphDriver {
            data,
            name: "overlay2".into(),
        },
        root_fs: InspectRootFs {
            kind: doc.rootfs.kind,
            layers: doc.rootfs.diff_ids,
        },
        metadata: InspectMetadata { last_tag_time },
    })
}

/// [`inspect`] as JSON (the API server's and `inspect`'s top-level object).
pub fn inspect_json(store: &Store, name_or_id: &str) -> Result<serde_json::Value, ImageError> {
    serde_json::to_value(inspect(store, name_or_id)?).map_err(|e| ImageError::json("inspect", e))
}

/// One `history` row, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryItem {
    /// The image ID for the top entry, `<missing>` below it (as Docker shows
    /// for images whose parents are not local).
    pub id: String,
    pub created: String,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    pub tags: Vec<String>,
}

pub fn history(store: &Store, name_or_id: &str) -> Result<Vec<HistoryItem>, ImageError> {
    let id = resolve_id(store, name_or_id)?;
    let doc = ImageConfigDoc::parse(&Blobs::new(store).read(&id)?)
        .map_err(|e| ImageError::json(format!("config of {id}"), e))?;
    let mut sizes = image_layers(store, &id)?.into_iter().map(|r| r.size);
    let mut items: Vec<HistoryItem> = doc
        .history
        .iter()
        .map(|h| HistoryItem {
            id: "<missing>".into(),
            created: h.created.clone().unwrap_or_default(),
            created_by: h.created_by.clone().unwrap_or_default(),
            size: if h.empty_layer {
                0
            } else {
                sizes.next().unwrap_or(0)
            },
            comment: h.comment.clone().unwrap_or_default(),
            tags: Vec::new(),
        })
        .collect();
    items.reverse();
    if let Some(top) = items.first_mut() {
        top.id = id.clone();
        top.tags = refs_of(store, &id)?
            .into_iter()
            .filter(|r| r.kind == "tag")
            .map(|r| reference::familiar(&r.reference))
            .collect();
    }
    Ok(items)
}

/// Parses a reference meant to name a new tag.
pub(crate) fn tag_reference(target: &str) -> Result<Reference, ImageError> {
    let reference = Reference::parse(target)?;
    if reference.digest().is_some() {
        return Err(ImageError::InvalidArgument(
            "refusing to create a tag with a digest reference".into(),
        ));
    }
    Ok(reference.with_default_tag())
}

/// Points `reference` at `id` inside a transaction; returns the image the tag
/// was taken from, if any.
pub(crate) fn set_tag(
    tx: &berth_store::rusqlite::Transaction,
    reference: &Reference,
    id: &str,
) -> Result<Option<String>, ImageError> {
    let key = reference.store_key();
    let previous: Option<String> = tx
        .query_row(
            "SELECT image_id FROM image_refs WHERE reference = ?1",
            [&key],
            |r| r.get(0),
        )
        .optional()?;
    tx.execute(
        "INSERT OR REPLACE INTO image_refs (reference, kind, image_id, added_at) VALUES (?1, 'tag', ?2, ?3)",
        params![key, id, berth_store::now_rfc3339()],
    )?;
    crate::events::image(tx, "tag", id, &reference.familiar())?;
    Ok(previous.filter(|p| p != id))
}

/// `docker tag SOURCE TARGET`.
pub fn tag(store: &mut Store, source: &str, target: &str) -> Result<(), ImageError> {
    let reference = tag_reference(target)?;
    let id = resolve_id(store, source)?;
    store.write(|tx| set_tag(tx, &reference, &id).map(|_| ()))
}

/// One line of `rmi` / `image prune` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// A container using an image: (id, running?).
fn first_container(
    store: &Store,
    image_id: &str,
    running: Option<bool>,
) -> Result<Option<String>, ImageError> {
    let running_states = "('running', 'paused', 'restarting')";
    // Image mounts hold their image as a container's own image does (dockerd's
    // `using` in ImageDelete).
    let users = crate::mounts::USERS;
    let sql = match running {
        None => format!("SELECT id FROM containers WHERE id IN ({users}) ORDER BY created_at LIMIT 1"),
        Some(true) => format!(
            "SELECT id FROM containers WHERE id IN ({users}) AND status IN {running_states} ORDER BY created_at LIMIT 1"
        ),
        Some(false) => format!(
            "SELECT id FROM containers WHERE id IN ({users}) AND status NOT IN {running_states} ORDER BY created_at LIMIT 1"
        ),
    };
    Ok(store
        .db()
        .query_row(&sql, [image_id], |r| r.get(0))
        .optional()?)
}

/// Docker's `isSingleReference`: at most one tag and all refs in one repository.
fn is_single_reference(refs: &[StoredRef]) -> bool {
    let tags = refs.iter().filter(|r| r.kind == "tag").count();
    if tags > 1 {
        return false;
    }
    let names: std::collections::HashSet<String> = refs
        .iter()
        .filter_map(|r| Reference::parse(&r.reference).ok().map(|p| p.name()))
        .collect();
    names.len() <= 1
}

/// `docker rmi [-f] NAME|ID`, following dockerd's `ImageDelete`: a reference
/// is untagged first and the image deleted only with its last reference; an ID
/// deletes the image (and its refs, if they are all one repository's or with
/// `force`). Containers block deletion: running ones always, stopped ones
/// unless `force` (they keep their layers through `container_layers`).
/// Layers nobody uses any more are deleted too and reported by chain ID.
pub fn remove(
    store: &mut Store,
    name_or_id: &str,
    force: bool,
) -> Result<Vec<DeleteItem>, ImageError> {
    let id = resolve_id(store, name_or_id)?;
    let refs = refs_of(store, &id)?;
    let mut items = Vec::new();
    // dockerd's isImageIDPrefix.
    let by_id =
        id.starts_with(name_or_id) || id.trim_start_matches("sha256:").starts_with(name_or_id);
    let mut quiet = false;
    if !by_id {
        let reference = Reference::parse(name_or_id)?.with_default_tag();
        if !force && is_single_reference(&refs) {
            if let Some(c) = first_container(store, &id, None)? {
                return Err(ImageError::Conflict(format!(
                    "conflict: unable to remove repository reference \"{name_or_id}\" (must force) - container {} is using its referenced image {}",
                    short(&c),
                    short(&id)
                )));
            }
        }
        let key = reference.store_key();
        // Untagging the last tag of a repository also drops that repository's digest refs.
        store.write(|tx| {
            tx.execute("DELETE FROM image_refs WHERE reference = ?1", [&key])?;
            // Docker names the image's ID in untag and delete events.
            crate::events::image(tx, "untag", &id, &id)
        })?;
        items.push(DeleteItem::Untagged(reference.familiar()));
        let mut left = refs_of(store, &id)?;
        if reference.digest().is_none()
            && !left
                .iter()
                .any(|r| r.kind == "tag" && same_name(&r.reference, &reference))
        {
            let digest_refs: Vec<StoredRef> = left
                .iter()
                .filter(|r| r.kind == "digest" && same_name(&r.reference, &reference))
                .cloned()
                .collect();
            for r in &digest_refs {
                store.write(|tx| {
                    tx.execute(
                        "DELETE FROM image_refs WHERE reference = ?1",
                        [&r.reference],
                    )
                })?;
                items.push(DeleteItem::Untagged(reference::familiar(&r.reference)));
            }
            left.retain(|r| !digest_refs.iter().any(|d| d.reference == r.reference));
        }
        if !left.is_empty() {
            return Ok(items);
        }
        quiet = true;
    } else if !force && !is_single_reference(&refs) {
        return Err(ImageError::Conflict(format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            short(&id)
        )));
    }

    // dockerd's imageDeleteHelper.
    let conflict = if let Some(c) = first_container(store, &id, Some(true))? {
        Some((
            true,
            format!("image is being used by running container {}", short(&c)),
        ))
    } else if force {
        None
    } else if !refs_of(store, &id)?.is_empty() && !by_id {
        Some((
            false,
            "image is referenced in one or more repositories".to_string(),
        ))
    } else {
        first_container(store, &id, Some(false))?.map(|c| {
            (
                false,
                format!("image is being used by stopped container {}", short(&c)),
            )
        })
    };
    if let Some((hard, message)) = conflict {
        if quiet {
            // The untag already happened; an image still in use just stays.
            return Ok(items);
        }
        let how = if hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        return Err(ImageError::Conflict(format!(
            "conflict: unable to delete {} ({how}) - {message}",
            short(&id)
        )));
    }
    let parent = build_parent(store, &id)?;
    let untagged = delete_image(store, &id)?;
    items.extend(untagged.into_iter().map(DeleteItem::Untagged));
    items.push(DeleteItem::Deleted(id));
    delete_unused_build_parents(store, parent, &mut items)?;
    for layer in layers::gc(store)? {
        items.push(DeleteItem::Deleted(layer.chain_id));
    }
    Ok(items)
}

/// The image a build step or a commit was made on (`build_cache`), if any:
/// Docker's `Parent`.
fn build_parent(store: &Store, id: &str) -> Result<Option<String>, ImageError> {
    Ok(store
        .db()
        .query_row(
            "SELECT parent_id FROM build_cache WHERE image_id = ?1 AND parent_id != ''",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// dockerd's parent pruning on `rmi`: a build's intermediate images go with
/// the last image built on them, while untagged, unused and childless.
fn delete_unused_build_parents(
    store: &mut Store,
    mut parent: Option<String>,
    items: &mut Vec<DeleteItem>,
) -> Result<(), ImageError> {
    while let Some(id) = parent.take() {
        let in_use: bool = store.db().query_row(
            "SELECT EXISTS (SELECT 1 FROM image_refs WHERE image_id = ?1) \
             OR EXISTS (SELECT 1 FROM build_cache WHERE parent_id = ?1) \
             OR EXISTS (SELECT 1 FROM containers WHERE image_id = ?1) \
             OR EXISTS (SELECT 1 FROM container_image_mounts WHERE image_id = ?1) \
             OR NOT EXISTS (SELECT 1 FROM images WHERE id = ?1)",
            [&id],
            |r| r.get(0),
        )?;
        if in_use {
            break;
        }
        parent = build_parent(store, &id)?;
        delete_image(store, &id)?;
        items.push(DeleteItem::Deleted(id));
    }
    Ok(())
}

fn same_name(stored: &str, reference: &Reference) -> bool {
    Reference::parse(stored).is_ok_and(|r| r.name() == reference.name())
}

/// Deletes an image's rows; returns the familiar refs it had.
pub(crate) fn delete_image(store: &mut Store, id: &str) -> Result<Vec<String>, ImageError> {
    let refs = refs_of(store, id)?;
    store.write(|tx| -> Result<(), ImageError> {
        tx.execute("DELETE FROM image_refs WHERE image_id = ?1", [id])?;
        tx.execute("DELETE FROM images WHERE id = ?1", [id])?;
        for _ in &refs {
            crate::events::image(tx, "untag", id, id)?;
        }
        crate::events::image(tx, "delete", id, id)?;
        Ok(())
    })?;
    Ok(refs
        .iter()
        .map(|r| reference::familiar(&r.reference))
        .collect())
}

/// `docker image prune [-a]`: removes dangling images (with `all`, every image)
/// no container uses, of those `select` (given the store and an image ID)
/// accepts. Returns the output lines and the bytes reclaimed.
pub fn prune(
    store: &mut Store,
    all: bool,
    select: &dyn Fn(&Store, &str) -> Result<bool, ImageError>,
) -> Result<(Vec<DeleteItem>, u64), ImageError> {
    let candidates: Vec<String> = {
        let used = crate::mounts::USED_IMAGES;
        let sql = if all {
            format!("SELECT id FROM images WHERE id NOT IN ({used}) ORDER BY created_at DESC")
        } else {
            format!(
                "SELECT id FROM images WHERE id NOT IN ({used}) \
                 AND id NOT IN (SELECT image_id FROM image_refs) ORDER BY created_at DESC"
            )
        };
        let mut stmt = store.db().prepare(&sql)?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids
    };
    let mut items = Vec::new();
    for id in candidates {
        if !select(store, &id)? {
            continue;
        }
        let untagged = delete_image(store, &id)?;
        items.extend(untagged.into_iter().map(DeleteItem::Untagged));
        items.push(DeleteItem::Deleted(id));
    }
    let mut reclaimed = 0;
    for layer in layers::gc(store)? {
        reclaimed += layer.size;
        items.push(DeleteItem::Deleted(layer.chain_id));
    }
    Ok((items, reclaimed))
}
