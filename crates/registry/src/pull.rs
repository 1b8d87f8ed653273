//! `pull`: manifest (choosing a platform from an index), config, then the
//! layer blobs the store lacks — downloaded concurrently into `tmp/`, hashed
//! on the way, and moved into the content store only when their digest is the
//! one the manifest names — and finally the image, committed in one go by
//! [`berth_image::pulled::store_pulled`].
//!
//! An interrupted pull leaves only complete, verified blobs (plus temporary
//! files the next [`berth_store::Store::open`] sweeps); the next pull finds
//! those blobs and does not download them again.

use std::cell::Cell;
use std::io::Write;

use berth_image::blobs::Blobs;
use berth_image::pulled::{store_pulled, stored_chains, PulledLayer};
use berth_image::Reference;
use berth_store::Store;
use futures_util::{StreamExt, TryStreamExt};
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, RegistrySettings};
use crate::error::{from_oci, At};
use crate::progress::{short_id, Event, LayerStatus, Progress};
use crate::{oci_reference, runtime, split_name, RegistryError};

/// Docker's default `max-concurrent-downloads`.
const CONCURRENT_DOWNLOADS: usize = 3;

const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const ACCEPTED: &[&str] = &[
    MEDIA_OCI_INDEX,
    MEDIA_DOCKER_LIST,
    MEDIA_OCI_MANIFEST,
    MEDIA_DOCKER_MANIFEST,
];

/// `pull [-a] [--platform P] NAME[:TAG|@DIGEST]`.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub name: String,
    pub all_tags: bool,
    /// `os/arch[/variant]`; default: this machine's.
    pub platform: Option<String>,
}

/// `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(text: &str) -> Result<Platform, RegistryError> {
        let parts: Vec<&str> = text.split('/').collect();
        let bad = || {
            RegistryError::InvalidArgument(format!(
                "\"{text}\": unknown operating system or architecture: invalid argument"
            ))
        };
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_lowercase(),
                architecture: normalize_arch(arch),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: os.to_lowercase(),
                    architecture: normalize_arch(arch),
                    variant: Some(variant.to_lowercase()),
                })
            }
            _ => Err(bad()),
        }
    }

    /// This machine: linux and its architecture in Go's names.
    pub fn host() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: normalize_arch(std::env::consts::ARCH),
            variant: None,
        }
    }

    fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.architecture == normalize_arch(architecture)
            && match (&self.variant, variant) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => true,
            }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

fn normalize_arch(arch: &str) -> String {
    match arch.to_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        "i386" | "x86" => "386".into(),
        other => other.to_string(),
    }
}

/// What a pull ended with, per image.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The normalized reference, e.g. `docker.io/library/busybox:latest`.
    pub reference: String,
    pub id: String,
    /// The digest the tag resolved to (an index's, for a multi-platform image).
    pub digest: String,
    pub up_to_date: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    platform: Option<DescPlatform>,
}

#[derive(Deserialize)]
struct DescPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// An image manifest or an index, whichever came.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyManifest {
    #[serde(default)]
    schema_version: i64,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct ConfigPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// Pulls `opts.name` into `store`, reporting to `progress`.
pub fn pull(
    store: &mut Store,
    settings: &RegistrySettings,
    credentials: Option<&Credentials>,
    opts: &PullOptions,
    progress: &dyn Progress,
) -> Result<Vec<Pulled>, RegistryError> {
    let mut reference = Reference::parse(&opts.name)?;
    let explicit_platform = opts.platform.as_deref().map(Platform::parse).transpose()?;
    let platform = explicit_platform.clone().unwrap_or_else(Platform::host);
    if opts.all_tags && (reference.tag().is_some() || reference.digest().is_some()) {
        return Err(RegistryError::InvalidArgument(
            "tag can't be used with --all-tags/-a".into(),
        ));
    }
    if !opts.all_tags && reference.tag().is_none() && reference.digest().is_none() {
        progress.event(Event::DefaultTag {
            tag: berth_image::reference::DEFAULT_TAG,
        });
        reference = reference.with_default_tag();
    }
    let (domain, _) = split_name(&reference);
    let auth = match credentials {
        Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
        None => RegistryAuth::Anonymous,
    };
    let rt = runtime()?;
    let want = Want {
        reference: &reference,
        all_tags: opts.all_tags,
        platform: &platform,
        explicit_platform: explicit_platform.is_some(),
    };
    for mirror in settings.mirrors_of(&domain) {
        let attempt = rt
            .block_on(Endpoint::open_mirror(settings, mirror))
            .and_then(|endpoint| {
                pull_from(
                    store,
                    &rt,
                    &endpoint,
                    &RegistryAuth::Anonymous,
                    &want,
                    progress,
                )
            });
        // As dockerd does: a mirror that fails leaves the pull to the next
        // one, and finally to the host itself.
        if let Ok(pulled) = attempt {
            return Ok(pulled);
        }
    }
    let endpoint = rt.block_on(Endpoint::open(settings, &domain))?;
    pull_from(store, &rt, &endpoint, &auth, &want, progress)
}

/// What one pull asks for.
struct Want<'a> {
    reference: &'a Reference,
    all_tags: bool,
    platform: &'a Platform,
    explicit_platform: bool,
}

/// The pull, from one endpoint (the host's or a mirror's).
fn pull_from(
    store: &mut Store,
    rt: &tokio::runtime::Runtime,
    endpoint: &Endpoint,
    auth: &RegistryAuth,
    want: &Want,
    progress: &dyn Progress,
) -> Result<Vec<Pulled>, RegistryError> {
    let (reference, platform) = (want.reference, want.platform);
    let client = endpoint.oci_client()?;

    let targets: Vec<Reference> = if want.all_tags {
        let repo = oci_reference(reference, endpoint);
        let tags = rt
            .block_on(client.list_tags(&repo, auth, None, None))
            .map_err(|e| from_oci(e, &format!("tags of {}", reference.familiar_name())))?;
        let mut tags = tags.tags;
        tags.sort();
        tags.into_iter()
            .map(|t| Reference::parse(&format!("{}:{t}", reference.name())))
            .collect::<Result<_, _>>()?
    } else {
        vec![reference.clone()]
    };

    let mut pulled = Vec::new();
    for target in &targets {
        let fetched = rt.block_on(fetch(
            store,
            &client,
            endpoint,
            auth,
            target,
            platform,
            want.explicit_platform,
            progress,
        ))?;
        let announced = Cell::new(0usize);
        let layer_ids: Vec<String> = fetched
            .layers
            .iter()
            .map(|l| short_id(&l.blob_digest))
            .collect();
        let stored = store_pulled(
            store,
            target,
            &fetched.top_digest,
            &fetched.manifest_digest,
            &fetched.manifest,
            &fetched.config,
            &fetched.layers,
            |i, unpacked| {
                announced.set(announced.get() + 1);
                if let Some(id) = layer_ids.get(i) {
                    if unpacked {
                        progress.event(Event::Layer {
                            id,
                            status: LayerStatus::Extracting,
                        });
                        progress.event(Event::Layer {
                            id,
                            status: LayerStatus::PullComplete,
                        });
                    } else if !fetched.already_stored.get(i).copied().unwrap_or(false) {
                        progress.event(Event::Layer {
                            id,
                            status: LayerStatus::PullComplete,
                        });
                    }
                }
            },
        )?;
        progress.event(Event::Digest {
            digest: &fetched.top_digest,
        });
        if !want.all_tags {
            progress.event(Event::Status {
                reference: &target.familiar(),
                up_to_date: stored.up_to_date,
            });
        }
        pulled.push(Pulled {
            reference: target.to_string(),
            id: stored.id,
            digest: fetched.top_digest,
            up_to_date: stored.up_to_date,
        });
    }
    if want.all_tags {
        progress.event(Event::Status {
            reference: &reference.familiar_name(),
            up_to_date: pulled.iter().all(|p| p.up_to_date),
        });
    }
    Ok(pulled)
}

/// Everything fetched for one image, ready to be stored.
struct Fetched {
    top_digest: String,
    manifest_digest: String,
    manifest: Vec<u8>,
    config: Vec<u8>,
    layers: Vec<PulledLayer>,
    already_stored: Vec<bool>,
}

#[allow(clippy::too_many_arguments)]
async fn fetch(
    store: &Store,
    client: &oci_client::Client,
    endpoint: &Endpoint,
    auth: &RegistryAuth,
    target: &Reference,
    platform: &Platform,
    explicit_platform: bool,
    progress: &dyn Progress,
) -> Result<Fetched, RegistryError> {
    let (_, path) = split_name(target);
    let label = target
        .tag()
        .map(str::to_string)
        .or_else(|| target.digest().map(str::to_string))
        .unwrap_or_default();
    let what = format!("manifest for {}", target.familiar());
    let oci_ref = oci_reference(target, endpoint);
    let (bytes, top_digest) = client
        .pull_manifest_raw(&oci_ref, auth, ACCEPTED)
        .await
        .map_err(|e| from_oci(e, &what))?;
    if let Some(expected) = target.digest() {
        check(&what, &bytes, expected)?;
    }
    progress.event(Event::PullingFrom {
        tag: &label,
        repository: &path,
    });
    let mut manifest_bytes = bytes.to_vec();
    let mut manifest_digest = top_digest.clone();
    let mut manifest = parse_manifest(&manifest_bytes, &what)?;
    if let Some(entries) = &manifest.manifests {
        let chosen = entries
            .iter()
            .find(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
            })
            .ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "no matching manifest for {platform} in the manifest list entries"
                ))
            })?;
        let by_digest = oci_ref.clone_with_digest(chosen.digest.clone());
        let (bytes, digest) = client
            .pull_manifest_raw(&by_digest, auth, ACCEPTED)
            .await
            .map_err(|e| from_oci(e, &what))?;
        check(&what, &bytes, &chosen.digest)?;
        manifest_bytes = bytes.to_vec();
        manifest_digest = digest;
        manifest = parse_manifest(&manifest_bytes, &what)?;
        if manifest.manifests.is_some() {
            return Err(RegistryError::Registry(format!(
                "{what}: an image index inside an image index is not supported"
            )));
        }
    }
    let config_desc = manifest
        .config
        .as_ref()
        .ok_or_else(|| RegistryError::Registry(format!("{what}: the manifest has no config")))?;
    let mut config = Vec::new();
    client
        .pull_blob(&oci_ref, config_desc.digest.as_str(), &mut config)
        .await
        .map_err(|e| from_oci(e, &format!("config {}", config_desc.digest)))?;
    check("image config", &config, &config_desc.digest)?;
    if explicit_platform {
        let have: ConfigPlatform = serde_json::from_slice(&config)
            .map_err(|e| RegistryError::Registry(format!("config {}: {e}", config_desc.digest)))?;
        if !platform.matches(&have.os, &have.architecture, have.variant.as_deref()) {
            let actual = Platform {
                os: have.os,
                architecture: have.architecture,
                variant: have.variant,
            };
            return Err(RegistryError::NotFound(format!(
                "image with reference {} was found but does not match the specified platform: wanted {platform}, actual: {actual}",
                target.familiar()
            )));
        }
    }

    let already_stored = stored_chains(store, &config)?;
    if already_stored.len() != manifest.layers.len() {
        return Err(RegistryError::Registry(format!(
            "{what}: {} layers in the manifest but {} diff_ids in the config",
            manifest.layers.len(),
            already_stored.len()
        )));
    }
    let blobs = Blobs::new(store);
    let mut queue = Vec::new();
    for (layer, stored) in manifest.layers.iter().zip(&already_stored) {
        berth_image::blobs::digest_hex(&layer.digest)?;
        let id = short_id(&layer.digest);
        if *stored {
            progress.event(Event::Layer {
                id: &id,
                status: LayerStatus::AlreadyExists,
            });
        } else if blobs.exists(&layer.digest) {
            // Completed by an earlier, interrupted pull.
            progress.event(Event::Layer {
                id: &id,
                status: LayerStatus::DownloadComplete,
            });
        } else if !queue.iter().any(|d: &&Descriptor| d.digest == layer.digest) {
            progress.event(Event::Layer {
                id: &id,
                status: LayerStatus::PullingFsLayer,
            });
            queue.push(layer);
        }
    }
    let tmp = store.tmp_dir();
    // Every started download runs to its end even if another fails, so what
    // completed is kept for the next attempt.
    let results: Vec<Result<(), RegistryError>> = futures_util::stream::iter(queue)
        .map(|layer| download(client, &oci_ref, layer, &blobs, &tmp, progress))
        .buffer_unordered(CONCURRENT_DOWNLOADS)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;

    Ok(Fetched {
        top_digest,
        manifest_digest,
        manifest: manifest_bytes,
        config,
        layers: manifest
            .layers
            .iter()
            .map(|l| PulledLayer {
                blob_digest: l.digest.clone(),
                media_type: l.media_type.clone(),
            })
            .collect(),
        already_stored,
    })
}

fn parse_manifest(bytes: &[u8], what: &str) -> Result<AnyManifest, RegistryError> {
    let manifest: AnyManifest = serde_json::from_slice(bytes)
        .map_err(|e| RegistryError::Registry(format!("{what}: {e}")))?;
    if manifest.schema_version != 2 {
        return Err(RegistryError::Registry(format!(
            "{what}: unsupported manifest schema version {} (media type {})",
            manifest.schema_version,
            manifest.media_type.as_deref().unwrap_or("none")
        )));
    }
    Ok(manifest)
}

fn check(what: &str, bytes: &[u8], expected: &str) -> Result<(), RegistryError> {
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    if actual != expected {
        return Err(RegistryError::DigestMismatch(format!(
            "{what}: digest mismatch: expected {expected}, got {actual}"
        )));
    }
    Ok(())
}

/// Streams one blob into a temporary file under `tmp/`, verifies its size and
/// digest, and hard-links it into the content store.
async fn download(
    client: &oci_client::Client,
    oci_ref: &oci_client::Reference,
    layer: &Descriptor,
    blobs: &Blobs,
    tmp: &std::path::Path,
    progress: &dyn Progress,
) -> Result<(), RegistryError> {
    let id = short_id(&layer.digest);
    let what = format!("layer {}", layer.digest);
    let mut stream = client
        .pull_blob_stream(oci_ref, layer.digest.as_str())
        .await
        .map_err(|e| from_oci(e, &what))?;
    let total = u64::try_from(layer.size)
        .ok()
        .filter(|s| *s > 0)
        .or(stream.content_length)
        .unwrap_or(0);
    let mut file = tempfile::Builder::new()
        .prefix("pull-")
        .tempfile_in(tmp)
        .at(tmp)?;
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| RegistryError::Registry(format!("{what}: {e}")))?
    {
        hasher.update(&chunk);
        file.write_all(&chunk).at(file.path())?;
        done += chunk.len() as u64;
        progress.event(Event::Layer {
            id: &id,
            status: LayerStatus::Downloading { done, total },
        });
    }
    progress.event(Event::Layer {
        id: &id,
        status: LayerStatus::VerifyingChecksum,
    });
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != layer.digest {
        return Err(RegistryError::DigestMismatch(format!(
            "{what}: digest mismatch: expected {}, got {actual}",
            layer.digest
        )));
    }
    if layer.size > 0 && done != layer.size as u64 {
        return Err(RegistryError::Registry(format!(
            "{what}: expected {} bytes, got {done}",
            layer.size
        )));
    }
    file.as_file().sync_all().at(file.path())?;
    blobs.adopt(file.path(), &actual)?;
    // A crash here keeps the verified blob for the next pull to reuse.
    berth_store::crash::point("pull", "after-blob");
    progress.event(Event::Layer {
        id: &id,
        status: LayerStatus::DownloadComplete,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse_like_docker() {
        let p = Platform::parse("linux/amd64").unwrap();
        assert_eq!(p.to_string(), "linux/amd64");
        assert!(p.matches("linux", "amd64", None));
        assert!(p.matches("linux", "amd64", Some("v2")));
        assert!(!p.matches("linux", "arm64", None));
        let arm = Platform::parse("linux/arm/v7").unwrap();
        assert!(arm.matches("linux", "arm", Some("v7")));
        assert!(!arm.matches("linux", "arm", Some("v6")));
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().architecture,
            "amd64"
        );
        for bad in ["linux", "", "linux/", "/amd64", "a/b/c/d"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }
}
