//! `docker save`: one tar that is both a `docker save` archive (manifest.json,
//! repositories) and an OCI image layout (oci-layout, index.json, blobs), as
//! Docker 25+ writes it, so old and new `docker load` (and berth) accept it.
//!
//! Layers are written uncompressed as `blobs/sha256/<diff_id hex>`: their
//! digest is then their diff_id, which the manifest and the config agree on.
//! A layer kept compressed in the store is decompressed on the way out.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use berth_store::Store;
use serde::Serialize;

use crate::blobs::{digest_hex, digest_of, Blobs};
use crate::images::{image_layers, refs_of, resolve_id};
use crate::layers::{LayerRow, MEDIA_TAR};
use crate::reference::{self, Reference};
use crate::ImageError;

const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: u32,
    media_type: &'static str,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    media_type: &'static str,
    manifests: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// One image to save, with the tags to record for it.
struct Selected {
    id: String,
    tags: Vec<Reference>,
}

/// Works out which images and tags `names` mean: a bare repository name means
/// all its tags (as in Docker); a tag means that tag; an ID means no tag.
fn select(store: &Store, names: &[String]) -> Result<Vec<Selected>, ImageError> {
    let mut selected: Vec<Selected> = Vec::new();
    let mut add = |id: String, tag: Option<Reference>| {
        let entry = match selected.iter().position(|s| s.id == id) {
            Some(i) => &mut selected[i],
            None => {
                selected.push(Selected {
                    id,
                    tags: Vec::new(),
                });
                let last = selected.len() - 1;
                &mut selected[last]
            }
        };
        if let Some(tag) = tag {
            if !entry.tags.contains(&tag) {
                entry.tags.push(tag);
            }
        }
    };
    for name in names {
        let parsed = Reference::parse(name).ok();
        if let Some(p) = parsed
            .as_ref()
            .filter(|p| p.tag().is_none() && p.digest().is_none())
        {
            // A bare repository name: all its tags, each with its own image.
            let mut stmt = store.db().prepare(
                "SELECT reference, image_id FROM image_refs WHERE kind = 'tag' AND reference LIKE ?1 || ':%' \
                 ORDER BY reference",
            )?;
            let rows = stmt
                .query_map([p.name()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut any = false;
            for (r, image) in rows {
                if let Ok(tag) = Reference::parse(&r) {
                    if tag.name() == p.name() {
                        add(image, Some(tag));
                        any = true;
                    }
                }
            }
            if any {
                continue;
            }
        }
        let id = resolve_id(store, name)?;
        // Named by one of its tags: record that tag; by ID or digest: none.
        let tag = parsed
            .filter(|p| p.digest().is_none())
            .map(|p| p.with_default_tag())
            .filter(|p| {
                refs_of(store, &id)
                    .is_ok_and(|refs| refs.iter().any(|r| r.reference == p.store_key()))
            });
        add(id, tag);
    }
    Ok(selected)
}

/// Writes the images named by `names` (names, tags or IDs) to `out`.
pub fn save(store: &Store, names: &[String], out: impl Write) -> Result<(), ImageError> {
    let selected = select(store, names)?;
    let blobs = Blobs::new(store);
    let mut tar = tar::Builder::new(out);
    let write_err = |e: io::Error| ImageError::io("<output>", e);
    append_dir(&mut tar, "blobs/").map_err(write_err)?;
    append_dir(&mut tar, "blobs/sha256/").map_err(write_err)?;

    let mut written: HashSet<String> = HashSet::new();
    let mut index = Vec::new();
    let mut docker_manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for image in &selected {
        let config = blobs.read(&image.id)?;
        let rows = image_layers(store, &image.id)?;
        let mut layer_descs = Vec::new();
        for row in &rows {
            let size = layer_size(&blobs, row)?;
            if written.insert(row.diff_id.clone()) {
                let name = format!("blobs/sha256/{}", digest_hex(&row.diff_id)?);
                append_file(&mut tar, &name, size, layer_reader(&blobs, row)?)
                    .map_err(write_err)?;
            }
            layer_descs.push(Descriptor {
                media_type: MEDIA_TAR.into(),
                digest: row.diff_id.clone(),
                size,
                annotations: BTreeMap::new(),
            });
        }
        let config_name = format!("blobs/sha256/{}", digest_hex(&image.id)?);
        if written.insert(image.id.clone()) {
            append_bytes(&mut tar, &config_name, &config).map_err(write_err)?;
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: MEDIA_MANIFEST,
            config: Descriptor {
                media_type: MEDIA_CONFIG.into(),
                digest: image.id.clone(),
                size: config.len() as u64,
                annotations: BTreeMap::new(),
            },
            layers: layer_descs,
        };
        let manifest_bytes =
            serde_json::to_vec(&manifest).map_err(|e| ImageError::json("manifest", e))?;
        let manifest_digest = digest_of(&manifest_bytes);
        if written.insert(manifest_digest.clone()) {
            let name = format!("blobs/sha256/{}", digest_hex(&manifest_digest)?);
            append_bytes(&mut tar, &name, &manifest_bytes).map_err(write_err)?;
        }
        let descriptor = Descriptor {
            media_type: MEDIA_MANIFEST.into(),
            digest: manifest_digest,
            size: manifest_bytes.len() as u64,
            annotations: BTreeMap::new(),
        };
        if image.tags.is_empty() {
            index.push(descriptor.clone());
        }
        for tag in &image.tags {
            let mut d = descriptor.clone();
            d.annotations
                .insert("io.containerd.image.name".into(), tag.to_string());
            d.annotations.insert(
                "org.opencontainers.image.ref.name".into(),
                tag.tag().unwrap_or(reference::DEFAULT_TAG).to_string(),
            );
            index.push(d);
            if let (Some(t), Some(top)) = (tag.tag(), rows.last()) {
                repositories
                    .entry(tag.familiar_name())
                    .or_default()
                    .insert(t.to_string(), digest_hex(&top.diff_id)?.to_string());
            }
        }
        docker_manifest.push(DockerManifestEntry {
            config: config_name,
            repo_tags: (!image.tags.is_empty())
                .then(|| image.tags.iter().map(|t| t.familiar()).collect()),
            layers: rows
                .iter()
                .map(|r| digest_hex(&r.diff_id).map(|h| format!("blobs/sha256/{h}")))
                .collect::<Result<_, _>>()?,
        });
    }
    let index_doc = Index {
        schema_version: 2,
        media_type: MEDIA_INDEX,
        manifests: index,
    };
    append_bytes(&mut tar, "index.json", &json(&index_doc)?).map_err(write_err)?;
    append_bytes(&mut tar, "manifest.json", &json(&docker_manifest)?).map_err(write_err)?;
    append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(write_err)?;
    if !repositories.is_empty() {
        append_bytes(&mut tar, "repositories", &json(&repositories)?).map_err(write_err)?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(write_err)
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, ImageError> {
    serde_json::to_vec(value).map_err(|e| ImageError::json("archive metadata", e))
}

/// The uncompressed stream of a layer blob.
fn layer_reader(blobs: &Blobs, row: &LayerRow) -> Result<Box<dyn Read>, ImageError> {
    let file = io::BufReader::with_capacity(256 * 1024, blobs.open(&row.blob_digest)?);
    Ok(if row.blob_media_type.ends_with("+gzip") {
        Box::new(flate2::bufread::MultiGzDecoder::new(file))
    } else if row.blob_media_type.ends_with("+zstd") {
        Box::new(
            zstd::stream::read::Decoder::with_buffer(file)
                .map_err(|e| ImageError::io(blobs.path(&row.blob_digest).unwrap_or_default(), e))?,
        )
    } else {
        Box::new(file)
    })
}

/// Length of the uncompressed layer (decompressing once to count when needed).
fn layer_size(blobs: &Blobs, row: &LayerRow) -> Result<u64, ImageError> {
    let path = blobs.path(&row.blob_digest)?;
    if row.blob_media_type == MEDIA_TAR {
        return Ok(std::fs::metadata(&path)
            .map_err(|e| ImageError::io(&path, e))?
            .len());
    }
    io::copy(&mut layer_reader(blobs, row)?, &mut io::sink()).map_err(|e| ImageError::io(&path, e))
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append_dir(tar: &mut tar::Builder<impl Write>, name: &str) -> io::Result<()> {
    let mut h = header(tar::EntryType::Directory, 0, 0o755);
    tar.append_data(&mut h, name, io::empty())
}

fn append_bytes(tar: &mut tar::Builder<impl Write>, name: &str, bytes: &[u8]) -> io::Result<()> {
    append_file(tar, name, bytes.len() as u64, bytes)
}

fn append_file(
    tar: &mut tar::Builder<impl Write>,
    name: &str,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut h = header(tar::EntryType::Regular, size, 0o644);
    tar.append_data(&mut h, name, data)
}
