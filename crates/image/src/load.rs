//! `docker load`: image archives in either of the two layouts Docker writes.
//!
//! * **docker save** layout: `manifest.json` = `[{Config, RepoTags, Layers}]`
//!   with paths of the config JSON and layer tars inside the archive;
//! * **OCI image layout**: `oci-layout`, `index.json` -> manifest blobs ->
//!   config and layer blobs under `blobs/sha256/`, names in the descriptors'
//!   annotations. Docker 25+ writes both at once; `manifest.json` is preferred.
//!
//! The archive (optionally gzip/zstd compressed as a whole) is first spooled
//! member by member into a staging dir under `tmp/`, hashing each file, because
//! `manifest.json` may come after the blobs it names. Every digest the archive
//! announces is checked (blob digests against content, diff_ids against the
//! unpacked layers), and nothing is committed unless everything checks out.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use berth_store::Store;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::blobs::{check_digest, digest_hex};
use crate::config::ImageConfigDoc;
use crate::create::insert_image;
use crate::error::At;
use crate::images::set_tag;
use crate::layers::{self, chain_ids, LayerRow, Pending, StagingDir};
use crate::reference::Reference;
use crate::ImageError;

/// What one loaded image ended as.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub id: String,
    /// Familiar tags it was loaded under.
    pub tags: Vec<String>,
    /// Tags taken away from another image: (familiar tag, previous image ID).
    pub retagged: Vec<(String, String)>,
}

/// A regular file of the archive, spooled to disk.
struct Member {
    file: PathBuf,
    digest: String,
}

/// One image to create.
struct ImageSpec {
    config: Vec<u8>,
    /// Digest announced for the config, when the archive names one.
    config_digest: Option<String>,
    /// (archive path, announced blob digest, announced media type)
    layers: Vec<(String, Option<String>, Option<String>)>,
    tags: Vec<Reference>,
    manifest_digest: Option<String>,
}

pub fn load(store: &mut Store, reader: impl Read) -> Result<Vec<LoadedImage>, ImageError> {
    let staging = StagingDir::new(store, "load")?;
    let archive = Archive::spool(decompress(reader)?, &staging.path)?;
    berth_store::crash::point("load", "after-spool");
    let specs = if archive.members.contains_key("manifest.json") {
        archive.docker_specs()?
    } else if archive.members.contains_key("index.json") {
        archive.oci_specs()?
    } else {
        return Err(ImageError::archive(
            "neither manifest.json nor index.json found in the archive",
        ));
    };
    if specs.is_empty() {
        return Err(ImageError::archive("no images found in the archive"));
    }

    let mut pending = Pending::begin(store)?;
    let mut images = Vec::new();
    for spec in &specs {
        let id = crate::blobs::digest_of(&spec.config);
        if let Some(expected) = &spec.config_digest {
            check_digest("image config", &id, expected)?;
        }
        let doc = ImageConfigDoc::parse(&spec.config)
            .map_err(|e| ImageError::archive(format!("config {id}: {e}")))?;
        let diff_ids = &doc.rootfs.diff_ids;
        if diff_ids.len() != spec.layers.len() {
            return Err(ImageError::archive(format!(
                "image {id} has {} diff_ids in its config but {} layers",
                diff_ids.len(),
                spec.layers.len()
            )));
        }
        let chains = chain_ids(diff_ids);
        for (i, (path, blob_digest, media_type)) in spec.layers.iter().enumerate() {
            if let Some(row) = pending.lock_chain(store, &chains[i])? {
                pending.reuse(row);
                continue;
            }
            let member = archive.member(path)?;
            if let Some(expected) = blob_digest {
                check_digest(&format!("layer {path}"), &member.digest, expected)?;
            }
            unpack_member(
                store,
                &mut pending,
                member,
                &diff_ids[i],
                &chains[i],
                i.checked_sub(1).map(|p| chains[p].clone()),
                media_type.as_deref(),
            )?;
        }
        let written = pending.blobs.put_bytes(&spec.config, Some(&id))?;
        pending.created_blob(&written.digest, written.created);
        let size: u64 = chains
            .iter()
            .filter_map(|c| pending.rows.iter().find(|r| &r.chain_id == c))
            .map(|r| r.size)
            .sum();
        images.push((id, doc.created.clone(), chains, size));
    }

    berth_store::crash::point("load", "before-rows");
    let loaded = store.write(|tx| -> Result<Vec<LoadedImage>, ImageError> {
        pending.insert_rows(tx)?;
        let mut loaded = Vec::new();
        for (spec, (id, created, chains, size)) in specs.iter().zip(&images) {
            insert_image(
                tx,
                id,
                spec.manifest_digest.as_deref(),
                *size,
                created,
                chains,
            )?;
            crate::events::image(tx, "load", id, id)?;
            let mut result = LoadedImage {
                id: id.clone(),
                tags: Vec::new(),
                retagged: Vec::new(),
            };
            for tag in &spec.tags {
                if let Some(previous) = set_tag(tx, tag, id)? {
                    result.retagged.push((tag.familiar(), previous));
                }
                result.tags.push(tag.familiar());
            }
            loaded.push(result);
        }
        Ok(loaded)
    })?;
    pending.committed();
    drop(staging);
    Ok(loaded)
}

fn unpack_member(
    store: &Store,
    pending: &mut Pending,
    member: &Member,
    diff_id: &str,
    chain_id: &str,
    parent: Option<String>,
    media_type: Option<&str>,
) -> Result<(), ImageError> {
    let staging = StagingDir::new(store, "layer")?;
    let mut file = File::open(&member.file).at(&member.file)?;
    let mut magic = [0u8; 4];
    let n = file.read(&mut magic).at(&member.file)?;
    let file = File::open(&member.file).at(&member.file)?;
    let unpacked = berth_archive::unpack_layer(BufReader::new(file), &staging.path)?;
    check_digest("layer diff_id", &unpacked.diff_id, diff_id)?;
    let created = pending.blobs.adopt(&member.file, &member.digest)?;
    pending.created_blob(&member.digest, created);
    let row = LayerRow {
        chain_id: chain_id.to_string(),
        diff_id: diff_id.to_string(),
        parent,
        size: layers::dir_size(&staging.path)?,
        blob_digest: member.digest.clone(),
        blob_media_type: media_type
            .filter(|m| m.contains("layer"))
            .map(|m| normalize_layer_media_type(m, &magic[..n]))
            .unwrap_or_else(|| layers::sniff_media_type(&magic[..n]).to_string()),
    };
    pending.install(staging, row)
}

/// Docker's media types map to their OCI equivalents; the bytes decide
/// compression when the announced type is vague.
fn normalize_layer_media_type(announced: &str, magic: &[u8]) -> String {
    if announced.starts_with("application/vnd.oci.image.layer.v1.tar") {
        return announced.to_string();
    }
    layers::sniff_media_type(magic).to_string()
}

/// Detects gzip/zstd compression of the whole archive.
fn decompress<'a>(reader: impl Read + 'a) -> Result<Box<dyn Read + 'a>, ImageError> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let magic = io::BufRead::fill_buf(&mut reader)
        .map_err(|e| ImageError::archive(format!("reading archive: {e}")))?
        .to_vec();
    Ok(match layers::sniff_media_type(&magic) {
        layers::MEDIA_TAR_GZIP => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        layers::MEDIA_TAR_ZSTD => Box::new(
            zstd::stream::read::Decoder::with_buffer(reader)
                .map_err(|e| ImageError::archive(format!("zstd: {e}")))?,
        ),
        _ => Box::new(reader),
    })
}

/// The archive's members, spooled.
struct Archive {
    members: HashMap<String, Member>,
    symlinks: HashMap<String, String>,
}

/// Lexically normalizes a member path; `None` if it leaves the archive root.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

impl Archive {
    fn spool(reader: impl Read, dir: &Path) -> Result<Archive, ImageError> {
        let bad = |e: io::Error| ImageError::archive(format!("reading archive: {e}"));
        let mut tar = tar::Archive::new(reader);
        let mut archive = Archive {
            members: HashMap::new(),
            symlinks: HashMap::new(),
        };
        let mut saw_entry = false;
        for (index, entry) in tar.entries().map_err(bad)?.enumerate() {
            let mut entry = entry.map_err(bad)?;
            saw_entry = true;
            let raw = entry.path().map_err(bad)?.into_owned();
            let name = normalize(&raw).ok_or_else(|| {
                ImageError::archive(format!("member {} escapes the archive", raw.display()))
            })?;
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let file = dir.join(format!("m{index}"));
                    let mut out = HashingFile {
                        file: File::create(&file).at(&file)?,
                        hasher: Sha256::new(),
                    };
                    io::copy(&mut entry, &mut out)
                        .map_err(|e| ImageError::archive(format!("reading {name}: {e}")))?;
                    out.file.sync_all().at(&file)?;
                    let digest = format!("sha256:{}", hex::encode(out.hasher.finalize()));
                    archive.members.insert(name, Member { file, digest });
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name()
                        .map_err(bad)?
                        .ok_or_else(|| ImageError::archive(format!("link {name} has no target")))?;
                    let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                        Path::new(&name)
                            .parent()
                            .unwrap_or(Path::new(""))
                            .join(&target)
                    } else {
                        target.into_owned()
                    };
                    // A link that leaves the archive can name no member:
                    // lookups through it simply find nothing.
                    let Some(resolved) = normalize(&base) else {
                        continue;
                    };
                    archive.symlinks.insert(name, resolved);
                }
                _ => {}
            }
        }
        if !saw_entry {
            return Err(ImageError::archive("empty archive"));
        }
        Ok(archive)
    }

    fn member(&self, path: &str) -> Result<&Member, ImageError> {
        let mut name = normalize(Path::new(path))
            .ok_or_else(|| ImageError::archive(format!("{path} escapes the archive")))?;
        for _ in 0..16 {
            if let Some(m) = self.members.get(&name) {
                return Ok(m);
            }
            match self.symlinks.get(&name) {
                Some(target) => name = target.clone(),
                None => break,
            }
        }
        Err(ImageError::archive(format!(
            "{path} not found in the archive"
        )))
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, ImageError> {
        let m = self.member(path)?;
        std::fs::read(&m.file).at(&m.file)
    }

    fn blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let path = format!("blobs/sha256/{}", digest_hex(digest)?);
        let m = self.member(&path)?;
        check_digest(&path, &m.digest, digest)?;
        std::fs::read(&m.file).at(&m.file)
    }

    fn docker_specs(&self) -> Result<Vec<ImageSpec>, ImageError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Entry {
            config: String,
            #[serde(default)]
            repo_tags: Option<Vec<String>>,
            #[serde(default)]
            layers: Vec<String>,
        }
        let entries: Vec<Entry> = serde_json::from_slice(&self.read("manifest.json")?)
            .map_err(|e| ImageError::archive(format!("manifest.json: {e}")))?;
        entries
            .into_iter()
            .map(|e| {
                let tags = e
                    .repo_tags
                    .unwrap_or_default()
                    .iter()
                    .map(|t| crate::images::tag_reference(t))
                    .collect::<Result<Vec<_>, _>>()?;
                // A config at blobs/sha256/HEX announces its digest by its name.
                let config_digest = e
                    .config
                    .strip_prefix("blobs/sha256/")
                    .map(|hex| format!("sha256:{hex}"));
                let layers = e
                    .layers
                    .into_iter()
                    .map(|l| {
                        let digest = l
                            .strip_prefix("blobs/sha256/")
                            .map(|h| format!("sha256:{h}"));
                        (l, digest, None)
                    })
                    .collect();
                Ok(ImageSpec {
                    config: self.read(&e.config)?,
                    config_digest,
                    layers,
                    tags,
                    manifest_digest: None,
                })
            })
            .collect()
    }

    fn oci_specs(&self) -> Result<Vec<ImageSpec>, ImageError> {
        let index: Index = serde_json::from_slice(&self.read("index.json")?)
            .map_err(|e| ImageError::archive(format!("index.json: {e}")))?;
        let mut specs: Vec<ImageSpec> = Vec::new();
        let mut queue: Vec<(Descriptor, u8)> =
            index.manifests.into_iter().map(|d| (d, 0)).collect();
        while let Some((desc, depth)) = queue.pop() {
            let bytes = self.blob(&desc.digest)?;
            if desc.media_type.contains("index") || desc.media_type.contains("manifest.list") {
                if depth > 4 {
                    return Err(ImageError::archive("image indexes nested too deeply"));
                }
                let nested: Index = serde_json::from_slice(&bytes)
                    .map_err(|e| ImageError::archive(format!("index {}: {e}", desc.digest)))?;
                // A multi-platform index: take this machine's platform (or the
                // first), and let it inherit the outer descriptor's name.
                let pick = nested
                    .manifests
                    .iter()
                    .find(|m| {
                        m.platform
                            .as_ref()
                            .is_some_and(|p| p.os == "linux" && p.architecture == host_arch())
                    })
                    .or(nested.manifests.first())
                    .cloned();
                if let Some(mut m) = pick {
                    m.annotations.extend(desc.annotations.clone());
                    queue.push((m, depth + 1));
                }
                continue;
            }
            let manifest: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| ImageError::archive(format!("manifest {}: {e}", desc.digest)))?;
            let tags = match oci_name(&desc) {
                Some(name) => vec![crate::images::tag_reference(&name)?],
                None => Vec::new(),
            };
            if let Some(existing) = specs
                .iter_mut()
                .find(|s| s.manifest_digest.as_deref() == Some(desc.digest.as_str()))
            {
                existing.tags.extend(tags);
                continue;
            }
            specs.push(ImageSpec {
                config: self.blob(&manifest.config.digest)?,
                config_digest: Some(manifest.config.digest.clone()),
                layers: manifest
                    .layers
                    .into_iter()
                    .map(|l| {
                        Ok((
                            format!("blobs/sha256/{}", digest_hex(&l.digest)?),
                            Some(l.digest),
                            Some(l.media_type),
                        ))
                    })
                    .collect::<Result<_, ImageError>>()?,
                tags,
                manifest_digest: Some(desc.digest.clone()),
            });
        }
        specs.reverse();
        Ok(specs)
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The image name a descriptor carries: containerd's full-name annotation, or
/// an OCI ref name that is itself a full reference (a bare tag names nothing).
fn oci_name(desc: &Descriptor) -> Option<String> {
    if let Some(name) = desc.annotations.get("io.containerd.image.name") {
        return Some(name.clone());
    }
    desc.annotations
        .get("org.opencontainers.image.ref.name")
        .filter(|n| n.contains('/') || n.contains(':'))
        .cloned()
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: HashMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize, Clone)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

struct HashingFile {
    file: File,
    hasher: Sha256,
}

impl io::Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_stay_inside() {
        assert_eq!(normalize(Path::new("./a/b/../c")).as_deref(), Some("a/c"));
        assert_eq!(normalize(Path::new("../x")), None);
        assert_eq!(normalize(Path::new("/etc/passwd")), None);
    }
}
