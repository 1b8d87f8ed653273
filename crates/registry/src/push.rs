//! `push`: every layer blob the registry lacks (checked by digest first), then
//! the config, then an OCI image manifest naming them, under the tag. Layers go
//! up concurrently, each as it is stored (compressed or not, with the OCI media
//! type its bytes show); the manifest is pushed last, so a failed push never
//! leaves the tag pointing at a partial image.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_image::blobs::Blobs;
use berth_image::pulled::{add_digest_ref, push_source, PushLayer};
use berth_image::Reference;
use berth_store::Store;
use futures_util::StreamExt;
use oci_client::secrets::RegistryAuth;
use oci_client::RegistryOperation;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::credentials::Credentials;
use crate::endpoint::{Endpoint, RegistrySettings};
use crate::error::from_oci;
use crate::progress::{short_id, Event, LayerStatus, Progress};
use crate::{oci_reference, runtime, split_name, RegistryError};

/// Docker's default `max-concurrent-uploads`.
const CONCURRENT_UPLOADS: usize = 5;
const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const READ_CHUNK: usize = 1 << 20;

/// `push [-a] NAME[:TAG]`.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub name: String,
    pub all_tags: bool,
}

/// One pushed tag.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub tag: String,
    pub digest: String,
    pub size: usize,
}

pub fn push(
    store: &mut Store,
    settings: &RegistrySettings,
    credentials: Option<&Credentials>,
    opts: &PushOptions,
    progress: &dyn Progress,
) -> Result<Vec<Pushed>, RegistryError> {
    let mut reference = Reference::parse(&opts.name)?;
    if reference.digest().is_some() {
        return Err(RegistryError::InvalidArgument(
            "cannot push a digest reference".into(),
        ));
    }
    if opts.all_tags && reference.tag().is_some() {
        return Err(RegistryError::InvalidArgument(
            "tag can't be used with --all-tags/-a".into(),
        ));
    }
    let targets: Vec<Reference> = if opts.all_tags {
        let mut tags: Vec<Reference> = berth_image::list(store)?
            .into_iter()
            .flat_map(|image| image.repo_tags)
            .filter_map(|t| Reference::parse(&t).ok())
            .filter(|t| t.name() == reference.name())
            .collect();
        tags.sort_by(|a, b| a.tag().cmp(&b.tag()));
        tags.dedup();
        if tags.is_empty() {
            return Err(RegistryError::NotFound(format!(
                "An image does not exist locally with the tag: {}",
                reference.familiar_name()
            )));
        }
        tags
    } else {
        if reference.tag().is_none() {
            progress.event(Event::DefaultTag {
                tag: berth_image::reference::DEFAULT_TAG,
            });
            reference = reference.with_default_tag();
        }
        vec![reference.clone()]
    };
    let mut images = Vec::new();
    for target in &targets {
        let id = berth_image::resolve_id(store, &target.familiar()).map_err(|e| {
            if e.is_not_found() {
                RegistryError::NotFound(format!(
                    "An image does not exist locally with the tag: {}",
                    target.familiar_name()
                ))
            } else {
                e.into()
            }
        })?;
        images.push((target.clone(), id));
    }

    let (domain, _) = split_name(&reference);
    let auth = match credentials {
        Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
        None => RegistryAuth::Anonymous,
    };
    let rt = runtime()?;
    let endpoint = rt.block_on(Endpoint::open(settings, &domain))?;
    let client = endpoint.oci_client()?;
    progress.event(Event::PushRefersTo {
        repository: &reference.familiar_name(),
    });
    let blobs = Blobs::new(store);
    let mut pushed = Vec::new();
    for (target, id) in images {
        let source = push_source(store, &id)?;
        let oci_ref = oci_reference(&target, &endpoint);
        let what = format!("push of {}", target.familiar());
        rt.block_on(client.auth(&oci_ref, &auth, RegistryOperation::Push))
            .map_err(|e| from_oci(e, &what))?;
        let result = rt.block_on(async {
            for layer in source.layers.iter().rev() {
                progress.event(Event::Layer {
                    id: &short_id(&layer.blob_digest),
                    status: LayerStatus::Preparing,
                });
            }
            let mut unique: Vec<&PushLayer> = Vec::new();
            for layer in source.layers.iter().rev() {
                if !unique.iter().any(|l| l.blob_digest == layer.blob_digest) {
                    unique.push(layer);
                }
            }
            let results: Vec<Result<(), RegistryError>> = futures_util::stream::iter(unique)
                .map(|layer| upload_layer(&client, &oci_ref, layer, &blobs, progress))
                .buffer_unordered(CONCURRENT_UPLOADS)
                .collect()
                .await;
            results.into_iter().collect::<Result<Vec<()>, _>>()?;

            let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&source.config)));
            let exists = client
                .blob_exists(&oci_ref, &config_digest)
                .await
                .map_err(|e| from_oci(e, &what))?;
            if !exists {
                client
                    .push_blob(&oci_ref, source.config.clone(), &config_digest)
                    .await
                    .map_err(|e| from_oci(e, &format!("config {config_digest}")))?;
            }
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_OCI_MANIFEST,
                "config": {
                    "mediaType": MEDIA_OCI_CONFIG,
                    "digest": config_digest,
                    "size": source.config.len(),
                },
                "layers": source.layers.iter().map(|l| json!({
                    "mediaType": l.media_type,
                    "digest": l.blob_digest,
                    "size": l.size,
                })).collect::<Vec<_>>(),
            });
            let body = serde_json::to_vec(&manifest)
                .map_err(|e| RegistryError::Registry(format!("manifest: {e}")))?;
            let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
            let size = body.len();
            client
                .push_manifest_raw(
                    &oci_ref,
                    body,
                    reqwest::header::HeaderValue::from_static(MEDIA_OCI_MANIFEST),
                )
                .await
                .map_err(|e| from_oci(e, &what))?;
            Ok::<_, RegistryError>((digest, size))
        });
        let (digest, size) = result?;
        let tag = target.tag().unwrap_or_default().to_string();
        progress.event(Event::Pushed {
            tag: &tag,
            digest: &digest,
            size,
        });
        add_digest_ref(store, &target, &digest, &id)?;
        pushed.push(Pushed { tag, digest, size });
    }
    Ok(pushed)
}

async fn upload_layer(
    client: &oci_client::Client,
    oci_ref: &oci_client::Reference,
    layer: &PushLayer,
    blobs: &Blobs,
    progress: &dyn Progress,
) -> Result<(), RegistryError> {
    let id = short_id(&layer.blob_digest);
    let what = format!("layer {}", layer.blob_digest);
    if client
        .blob_exists(oci_ref, &layer.blob_digest)
        .await
        .map_err(|e| from_oci(e, &what))?
    {
        progress.event(Event::Layer {
            id: &id,
            status: LayerStatus::LayerAlreadyExists,
        });
        return Ok(());
    }
    let file = blobs.open(&layer.blob_digest)?;
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let stream = futures_util::stream::unfold(Some(file), move |file| {
        let counter = counter.clone();
        async move {
            let mut file = file?;
            let mut buf = vec![0u8; READ_CHUNK];
            match file.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    counter.fetch_add(n as u64, Ordering::Relaxed);
                    Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e.into()), None)),
            }
        }
    });
    let upload = client.push_blob_stream(oci_ref, stream, &layer.blob_digest, Some(layer.size));
    let ticker = async {
        loop {
            progress.event(Event::Layer {
                id: &id,
                status: LayerStatus::Pushing {
                    done: sent.load(Ordering::Relaxed),
                    total: layer.size,
                },
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    futures_util::pin_mut!(upload, ticker);
    let result = match futures_util::future::select(upload, ticker).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right((never, _)) => never,
    };
    result.map_err(|e| from_oci(e, &what))?;
    progress.event(Event::Layer {
        id: &id,
        status: LayerStatus::Pushed,
    });
    Ok(())
}
