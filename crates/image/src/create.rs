//! Making new images from a single new layer: `import` (a rootfs tar) and
//! `commit` (a container's upperdir on top of its image).
//!
//! Both stream the layer into a blob while unpacking it (so the layer bytes are
//! read once), then write a Docker-shaped config and commit every row in one
//! transaction. A layer that already exists (same chain ID) is not stored again.

use std::io::{self, Read, Seek, Write};
use std::path::Path;

use berth_store::rusqlite::params;
use berth_store::Store;

use crate::blobs::Staged;
use crate::config::{ContainerConfig, HistoryEntry, ImageConfigDoc, RootFs};
use crate::error::At;
use crate::images::{set_tag, tag_reference, ResolvedImage};
use crate::layers::{self, chain_ids, sniff_media_type, LayerRow, Pending, StagingDir};
use crate::reference::Reference;
use crate::{changes, ImageError};

/// `docker import` options.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `-c` changes.
    pub changes: Vec<String>,
    /// `-m`; Docker's default is `Imported from -` (the CLI always streams).
    pub message: Option<String>,
    /// `REPO[:TAG]`.
    pub tag: Option<String>,
}

/// The architecture name Docker uses for this machine.
fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Imports a rootfs tar (plain, gzip or zstd) as a one-layer image; returns its ID.
pub fn import(
    store: &mut Store,
    reader: impl Read,
    opts: &ImportOptions,
) -> Result<String, ImageError> {
    // Validate everything the user typed before reading a byte.
    let tag = opts.tag.as_deref().map(tag_reference).transpose()?;
    let mut config = ContainerConfig::default();
    changes::apply_to_docker_config(&mut config, &opts.changes)?;

    let mut pending = Pending::begin(store)?;
    let row = add_layer_from_stream(store, &mut pending, reader, None)?;
    let created = berth_store::now_rfc3339();
    let comment = opts
        .message
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "Imported from -".to_string());
    let doc = ImageConfigDoc {
        architecture: host_architecture().into(),
        comment: comment.clone(),
        config: Some(config),
        created: created.clone(),
        history: vec![HistoryEntry {
            created: Some(created),
            comment: Some(comment),
            ..Default::default()
        }],
        os: "linux".into(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![row.diff_id.clone()],
        },
        ..Default::default()
    };
    finish_image(store, pending, &doc, tag.as_ref(), Made::Import)
}

/// The container side of a commit: its ID and effective config (Docker's
/// `container` / `container_config`), which is the base of the new image's
/// config before `changes` apply.
#[derive(Debug, Clone, Copy)]
pub struct CommitContainer<'a> {
    pub id: &'a str,
    pub config: &'a ContainerConfig,
    /// A user-namespaced container's range: its layer's owners are stored
    /// as the container sees them.
    pub ids: Option<berth_archive::IdShift>,
}

/// `docker commit`: the overlay upperdir `upper` becomes a new layer on top of
/// `parent`. Returns the new image ID.
#[allow(clippy::too_many_arguments)]
pub fn commit(
    store: &mut Store,
    parent: &ResolvedImage,
    upper: &Path,
    changes: &[String],
    comment: &str,
    author: &str,
    container: Option<CommitContainer<'_>>,
    tag: Option<&str>,
) -> Result<String, ImageError> {
    let tag = tag.map(tag_reference).transpose()?;
    let container_id = container.as_ref().map(|c| c.id);
    let ids = container.as_ref().and_then(|c| c.ids);
    let parent_doc = ImageConfigDoc::parse(&crate::blobs::Blobs::new(store).read(&parent.id)?)
        .map_err(|e| ImageError::json(format!("config of {}", parent.id), e))?;
    let mut config = match container {
        Some(c) => c.config.clone(),
        None => parent_doc.config.clone().unwrap_or_default(),
    };
    changes::apply_to_docker_config(&mut config, changes)?;

    let mut pending = Pending::begin(store)?;
    // Pack the upperdir into a temporary blob, then unpack that blob as the
    // new layer: the tar is the layer's identity, and unpacking it turns the
    // upperdir's whiteouts into a clean lowerdir.
    let mut packed = tempfile::Builder::new()
        .prefix("commit-")
        .tempfile_in(store.tmp_dir())
        .at(store.tmp_dir())?;
    berth_archive::pack_layer(upper, io::BufWriter::new(packed.as_file_mut()), ids)?;
    packed.as_file_mut().rewind().at(packed.path())?;
    let parent_chain = parent.layers.last().map(|l| l.chain_id.clone());
    for layer in &parent.layers {
        if let Some(row) = pending.lock_chain(store, &layer.chain_id)? {
            pending.reuse(row);
        }
    }
    let row = add_layer_from_stream(store, &mut pending, packed.as_file(), parent_chain)?;

    let created = berth_store::now_rfc3339();
    let mut history = parent_doc.history.clone();
    history.push(HistoryEntry {
        created: Some(created.clone()),
        author: (!author.is_empty()).then(|| author.to_string()),
        comment: (!comment.is_empty()).then(|| comment.to_string()),
        ..Default::default()
    });
    let mut diff_ids = parent_doc.rootfs.diff_ids.clone();
    diff_ids.push(row.diff_id.clone());
    let doc = ImageConfigDoc {
        architecture: parent_doc.architecture.clone(),
        author: author.to_string(),
        comment: comment.to_string(),
        config: Some(config),
        container: container.map(|c| c.id.to_string()).unwrap_or_default(),
        container_config: container.map(|c| c.config.clone()).unwrap_or_default(),
        created,
        history,
        os: parent_doc.os.clone(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids,
        },
        variant: parent_doc.variant.clone(),
        ..Default::default()
    };
    let made = Made::Commit {
        container: container_id,
        parent: &parent.id,
    };
    finish_image(store, pending, &doc, tag.as_ref(), made)
}

/// Reads one layer from `reader` (the layer blob, compressed or not), keeping
/// the blob and unpacking it; stores it unless its chain ID exists already.
fn add_layer_from_stream(
    store: &Store,
    pending: &mut Pending,
    reader: impl Read,
    parent_chain: Option<String>,
) -> Result<LayerRow, ImageError> {
    let staging = StagingDir::new(store, "layer")?;
    let mut tee = Tee {
        inner: reader,
        blob: Staged::new(&store.tmp_dir())?,
        magic: Vec::new(),
    };
    let unpacked = berth_archive::unpack_layer(&mut tee, &staging.path)?;
    // The blob is the whole input, including anything after the tar's end.
    io::copy(&mut tee, &mut io::sink()).map_err(|source| berth_archive::ArchiveError::Stream {
        entry: "end of archive".into(),
        source,
    })?;
    let media_type = sniff_media_type(&tee.magic);
    let (blob_file, blob_digest, _) = tee.blob.finish()?;
    let chain_id = match &parent_chain {
        None => unpacked.diff_id.clone(),
        Some(parent) => chain_ids(&[parent.clone(), unpacked.diff_id.clone()])
            .pop()
            .unwrap_or_default(),
    };
    if let Some(row) = pending.lock_chain(store, &chain_id)? {
        pending.reuse(row.clone());
        return Ok(row);
    }
    let written = pending.blobs.commit_staged(blob_file, &blob_digest)?;
    pending.created_blob(&written.digest, written.created);
    let row = LayerRow {
        chain_id,
        diff_id: unpacked.diff_id,
        parent: parent_chain,
        size: layers::dir_size(&staging.path)?,
        blob_digest,
        blob_media_type: media_type.to_string(),
    };
    pending.install(staging, row.clone())?;
    Ok(row)
}

/// Stores the config blob and commits the image with its layers and tag.
/// How an image came to be, for its event.
pub(crate) enum Made<'a> {
    Import,
    /// `parent`: the image the container ran, Docker's `Parent`.
    Commit {
        container: Option<&'a str>,
        parent: &'a str,
    },
    BuildStep,
}

pub(crate) fn finish_image(
    store: &mut Store,
    mut pending: Pending,
    doc: &ImageConfigDoc,
    tag: Option<&Reference>,
    made: Made<'_>,
) -> Result<String, ImageError> {
    let bytes = doc
        .to_bytes()
        .map_err(|e| ImageError::json("image config", e))?;
    let written = pending.blobs.put_bytes(&bytes, None)?;
    pending.created_blob(&written.digest, written.created);
    let id = written.digest;
    // Layers and blobs are in place, no row refers to them yet.
    let op = match made {
        Made::Import => "import",
        Made::Commit { .. } => "commit",
        Made::BuildStep => "build",
    };
    berth_store::crash::point(op, "before-rows");
    let chains = chain_ids(&doc.rootfs.diff_ids);
    let size: u64 = chains
        .iter()
        .filter_map(|c| pending.rows.iter().find(|r| &r.chain_id == c))
        .map(|r| r.size)
        .sum();
    store.write(|tx| -> Result<(), ImageError> {
        pending.insert_rows(tx)?;
        insert_image(tx, &id, None, size, &doc.created, &chains)?;
        if let Some(tag) = tag {
            set_tag(tx, tag, &id)?;
        }
        if let Made::Commit { parent, .. } = made {
            // Docker's `Parent` of a committed image is kept where a build
            // step's parent is (a `build_cache` row whose empty key no step
            // has), so `images`, `rmi` and inspect treat both alike.
            tx.execute(
                "INSERT OR IGNORE INTO build_cache (image_id, parent_id, cache_key) VALUES (?1, ?2, '')",
                params![id, parent],
            )?;
        }
        match made {
            Made::Import => crate::events::image(tx, "import", &id, &id)?,
            Made::Commit {
                container: Some(container),
                ..
            } => crate::events::commit(tx, container, &id)?,
            Made::Commit { container: None, .. } | Made::BuildStep => {}
        }
        Ok(())
    })?;
    pending.committed();
    Ok(id)
}

pub(crate) fn insert_image(
    tx: &berth_store::rusqlite::Transaction,
    id: &str,
    manifest_digest: Option<&str>,
    size: u64,
    created: &str,
    chains: &[String],
) -> Result<(), ImageError> {
    tx.execute(
        "INSERT OR IGNORE INTO images (id, manifest_digest, size, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, manifest_digest, size as i64, created],
    )?;
    for (position, chain) in chains.iter().enumerate() {
        tx.execute(
            "INSERT OR IGNORE INTO image_layers (image_id, position, chain_id) VALUES (?1, ?2, ?3)",
            params![id, position as i64, chain],
        )?;
    }
    Ok(())
}

/// Copies what is read into a staged blob, remembering the first bytes.
struct Tee<R> {
    inner: R,
    blob: Staged,
    magic: Vec<u8>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.magic.len() < 4 {
            let take = (4 - self.magic.len()).min(n);
            self.magic.extend_from_slice(&buf[..take]);
        }
        self.blob.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// One step of `build`: what the new image adds to its parent.
#[derive(Debug, Clone, Copy)]
pub struct BuildStep<'a> {
    /// The stage so far; `None` for the first step after `FROM scratch`.
    pub parent: Option<&'a ResolvedImage>,
    /// An overlay upperdir (or a directory laid out as one) that becomes the
    /// new layer; `None` for a metadata-only step (an `empty_layer` history entry).
    pub layer: Option<&'a Path>,
    /// The new image's config (Docker's `config`).
    pub config: &'a ContainerConfig,
    /// The step's container config (Docker's `container_config`: the config
    /// with the step as its Cmd).
    pub container_config: &'a ContainerConfig,
    /// The container the step ran in, if any.
    pub container: &'a str,
    /// The history line (`/bin/sh -c #(nop)  ENV A=b`).
    pub created_by: &'a str,
    /// `MAINTAINER`.
    pub author: &'a str,
}

/// Stores a build step's image (untagged) and returns its ID. The parent's
/// layers and history are kept; the step's layer, if any, goes on top.
pub fn commit_build_step(store: &mut Store, step: &BuildStep<'_>) -> Result<String, ImageError> {
    let blobs = crate::blobs::Blobs::new(store);
    let parent_doc = match step.parent {
        Some(parent) => Some(
            ImageConfigDoc::parse(&blobs.read(&parent.id)?)
                .map_err(|e| ImageError::json(format!("config of {}", parent.id), e))?,
        ),
        None => None,
    };
    let mut pending = Pending::begin(store)?;
    for layer in step.parent.map(|p| p.layers.as_slice()).unwrap_or_default() {
        if let Some(row) = pending.lock_chain(store, &layer.chain_id)? {
            pending.reuse(row);
        }
    }
    let mut diff_ids = parent_doc
        .as_ref()
        .map(|d| d.rootfs.diff_ids.clone())
        .unwrap_or_default();
    if let Some(upper) = step.layer {
        let mut packed = tempfile::Builder::new()
            .prefix("build-")
            .tempfile_in(store.tmp_dir())
            .at(store.tmp_dir())?;
        berth_archive::pack_layer(upper, io::BufWriter::new(packed.as_file_mut()), None)?;
        packed.as_file_mut().rewind().at(packed.path())?;
        let parent_chain = step
            .parent
            .and_then(|p| p.layers.last())
            .map(|l| l.chain_id.clone());
        let row = add_layer_from_stream(store, &mut pending, packed.as_file(), parent_chain)?;
        diff_ids.push(row.diff_id);
    }
    let created = berth_store::now_rfc3339();
    let mut history = parent_doc
        .as_ref()
        .map(|d| d.history.clone())
        .unwrap_or_default();
    history.push(HistoryEntry {
        created: Some(created.clone()),
        author: (!step.author.is_empty()).then(|| step.author.to_string()),
        created_by: Some(step.created_by.to_string()),
        empty_layer: step.layer.is_none(),
        ..Default::default()
    });
    let doc = ImageConfigDoc {
        architecture: parent_doc
            .as_ref()
            .map(|d| d.architecture.clone())
            .unwrap_or_else(|| host_architecture().into()),
        author: step.author.to_string(),
        config: Some(step.config.clone()),
        container: step.container.to_string(),
        container_config: step.container_config.clone(),
        created,
        history,
        os: parent_doc
            .as_ref()
            .map(|d| d.os.clone())
            .unwrap_or_else(|| "linux".into()),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids,
        },
        variant: parent_doc.and_then(|d| d.variant),
        ..Default::default()
    };
    finish_image(store, pending, &doc, None, Made::BuildStep)
}
