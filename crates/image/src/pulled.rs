//! Images that come from a registry: the store side of `pull` and `push`.
//!
//! Terms: a **pulled image** is a manifest (kept as a blob, its digest recorded
//! as `images.manifest_digest`), a config and layer blobs. A registry client
//! first brings every layer blob into the content store ([`crate::blobs`]),
//! each verified against its descriptor's digest, and only then calls
//! [`store_pulled`], which unpacks the layers not yet stored (by chain ID),
//! checks each against the config's diff_id and commits the image, its tag and
//! its digest reference in one transaction. So an interrupted pull leaves at
//! most complete blobs (which the next pull reuses instead of downloading them
//! again, and gc removes if nothing ever refers to them) and never an image.
//!
//! For `push`, [`push_source`] hands out what a registry needs: the config
//! bytes and each layer's blob, media type and size.

use std::io::BufReader;

use berth_store::rusqlite::params;
use berth_store::Store;

use crate::blobs::{check_digest, digest_of, Blobs};
use crate::config::ImageConfigDoc;
use crate::create::insert_image;
use crate::error::At;
use crate::images::{image_layers, set_tag};
use crate::layers::{self, chain_ids, LayerRow, Pending, StagingDir};
use crate::reference::Reference;
use crate::ImageError;

/// One layer of a pulled manifest whose blob is already in the content store.
#[derive(Debug, Clone)]
pub struct PulledLayer {
    pub blob_digest: String,
    pub media_type: String,
}

/// The result of [`store_pulled`].
#[derive(Debug, Clone)]
pub struct StoredPull {
    /// `sha256:` + digest of the config.
    pub id: String,
    /// The image the tag pointed at before, when it was another one.
    pub previous: Option<String>,
    /// True when the tag (or digest reference) already named this very image.
    pub up_to_date: bool,
}

/// For each layer of the image `config` describes, whether the store has it
/// unpacked already (its chain ID has a row), so its blob need not be fetched.
pub fn stored_chains(store: &Store, config: &[u8]) -> Result<Vec<bool>, ImageError> {
    let doc = ImageConfigDoc::parse(config).map_err(|e| ImageError::json("image config", e))?;
    chain_ids(&doc.rootfs.diff_ids)
        .iter()
        .map(|c| Ok(layers::find_row(store, c)?.is_some()))
        .collect()
}

/// Stores a pulled image whose layer blobs are all in the content store
/// (except those of layers already unpacked), and points `reference` at it.
/// `repo_digest` is what the reference resolved to in the registry (an
/// index's digest for a multi-platform image, else `manifest_digest`); the
/// image also gets the `name@repo_digest` reference, as Docker records
/// `RepoDigests`. `on_layer(i, unpacked)` reports each layer as it is done.
#[allow(clippy::too_many_arguments)]
pub fn store_pulled(
    store: &mut Store,
    reference: &Reference,
    repo_digest: &str,
    manifest_digest: &str,
    manifest: &[u8],
    config: &[u8],
    pulled: &[PulledLayer],
    mut on_layer: impl FnMut(usize, bool),
) -> Result<StoredPull, ImageError> {
    check_digest("manifest", &digest_of(manifest), manifest_digest)?;
    let id = digest_of(config);
    let doc =
        ImageConfigDoc::parse(config).map_err(|e| ImageError::json(format!("config {id}"), e))?;
    let diff_ids = &doc.rootfs.diff_ids;
    if diff_ids.len() != pulled.len() {
        return Err(ImageError::InvalidArgument(format!(
            "image {id} has {} diff_ids in its config but {} layers in its manifest",
            diff_ids.len(),
            pulled.len()
        )));
    }
    let chains = chain_ids(diff_ids);
    let mut pending = Pending::begin(store)?;
    for (i, layer) in pulled.iter().enumerate() {
        if let Some(row) = pending.lock_chain(store, &chains[i])? {
            pending.reuse(row);
            on_layer(i, false);
            continue;
        }
        let staging = StagingDir::new(store, "layer")?;
        let blob = pending.blobs.open(&layer.blob_digest)?;
        let blob_path = pending.blobs.path(&layer.blob_digest)?;
        let unpacked = berth_archive::unpack_layer(BufReader::new(blob), &staging.path)?;
        check_digest(
            &format!("layer {}", layer.blob_digest),
            &unpacked.diff_id,
            &diff_ids[i],
        )?;
        let magic = {
            use std::io::Read;
            let mut magic = [0u8; 4];
            let mut file = std::fs::File::open(&blob_path).at(&blob_path)?;
            let n = file.read(&mut magic).at(&blob_path)?;
            magic[..n].to_vec()
        };
        let row = LayerRow {
            chain_id: chains[i].clone(),
            diff_id: diff_ids[i].clone(),
            parent: i.checked_sub(1).map(|p| chains[p].clone()),
            size: layers::dir_size(&staging.path)?,
            blob_digest: layer.blob_digest.clone(),
            // The bytes decide: Docker's and OCI's layer types map to OCI's.
            blob_media_type: layers::sniff_media_type(&magic).to_string(),
        };
        pending.install(staging, row)?;
        berth_store::crash::point("pull", "after-unpack");
        on_layer(i, true);
    }
    let written = pending.blobs.put_bytes(config, Some(&id))?;
    pending.created_blob(&written.digest, written.created);
    let written = pending.blobs.put_bytes(manifest, Some(manifest_digest))?;
    pending.created_blob(&written.digest, written.created);
    let size: u64 = chains
        .iter()
        .filter_map(|c| pending.rows.iter().find(|r| &r.chain_id == c))
        .map(|r| r.size)
        .sum();
    berth_store::crash::point("pull", "before-rows");
    let outcome = store.write(|tx| -> Result<StoredPull, ImageError> {
        let existed: bool = tx
            .query_row("SELECT count(*) FROM images WHERE id = ?1", [&id], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)?;
        pending.insert_rows(tx)?;
        insert_image(tx, &id, Some(manifest_digest), size, &doc.created, &chains)?;
        // An image loaded or built locally learns the digest it has remotely.
        tx.execute(
            "UPDATE images SET manifest_digest = ?2 WHERE id = ?1 AND manifest_digest IS NULL",
            params![id, manifest_digest],
        )?;
        let digest_ref = Reference::parse(&format!("{}@{repo_digest}", reference.name()))?;
        let had_digest_ref = ref_points_at(tx, &digest_ref.store_key(), &id)?;
        insert_digest_ref(tx, &digest_ref, &id)?;
        // Docker's pull event names the reference pulled.
        crate::events::image(tx, "pull", &reference.familiar(), &reference.name())?;
        let (previous, up_to_date) = match reference.tag() {
            Some(_) if reference.digest().is_none() => {
                let had_tag = ref_points_at(tx, &reference.store_key(), &id)?;
                (set_tag(tx, reference, &id)?, existed && had_tag)
            }
            _ => (None, existed && had_digest_ref),
        };
        Ok(StoredPull {
            id: id.clone(),
            previous,
            up_to_date,
        })
    })?;
    pending.committed();
    Ok(outcome)
}

fn ref_points_at(
    tx: &berth_store::rusqlite::Transaction,
    key: &str,
    id: &str,
) -> Result<bool, ImageError> {
    Ok(tx.query_row(
        "SELECT count(*) FROM image_refs WHERE reference = ?1 AND image_id = ?2",
        params![key, id],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

fn insert_digest_ref(
    tx: &berth_store::rusqlite::Transaction,
    reference: &Reference,
    id: &str,
) -> Result<(), ImageError> {
    tx.execute(
        "INSERT OR REPLACE INTO image_refs (reference, kind, image_id, added_at) \
         VALUES (?1, 'digest', ?2, ?3)",
        params![reference.store_key(), id, berth_store::now_rfc3339()],
    )?;
    Ok(())
}

/// Records `name@digest` for an image after a push (Docker's `RepoDigests`).
pub fn add_digest_ref(
    store: &mut Store,
    name: &Reference,
    manifest_digest: &str,
    id: &str,
) -> Result<(), ImageError> {
    let digest_ref = Reference::parse(&format!("{}@{manifest_digest}", name.name()))?;
    store.write(|tx| insert_digest_ref(tx, &digest_ref, id))
}

/// One layer as a registry receives it.
#[derive(Debug, Clone)]
pub struct PushLayer {
    pub blob_digest: String,
    /// An OCI layer media type judged from the blob's bytes.
    pub media_type: String,
    pub size: u64,
    pub diff_id: String,
}

/// What `push` sends for one image.
#[derive(Debug, Clone)]
pub struct PushSource {
    pub id: String,
    pub config: Vec<u8>,
    pub layers: Vec<PushLayer>,
}

/// The config and layer blobs of the image `id`, bottom layer first.
pub fn push_source(store: &Store, id: &str) -> Result<PushSource, ImageError> {
    let blobs = Blobs::new(store);
    let config = blobs.read(id)?;
    let layers = image_layers(store, id)?
        .into_iter()
        .map(|row| {
            let path = blobs.path(&row.blob_digest)?;
            let size = std::fs::metadata(&path).at(&path)?.len();
            Ok(PushLayer {
                blob_digest: row.blob_digest,
                media_type: row.blob_media_type,
                size,
                diff_id: row.diff_id,
            })
        })
        .collect::<Result<Vec<_>, ImageError>>()?;
    Ok(PushSource {
        id: id.to_string(),
        config,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_tar() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder
            .append_data(&mut header, "hello.txt", &b"hello"[..])
            .unwrap();
        builder.into_inner().unwrap()
    }

    fn config(diff_id: &str) -> Vec<u8> {
        format!(
            r#"{{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn a_wrong_diff_id_stores_nothing_and_a_right_one_commits_everything() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let blob = layer_tar();
        let blob_digest = Blobs::new(&store).put_bytes(&blob, None).unwrap().digest;
        let layers = [PulledLayer {
            blob_digest: blob_digest.clone(),
            media_type: layers::MEDIA_TAR.into(),
        }];
        let reference = Reference::parse("127.0.0.1:5000/x:1").unwrap();
        let manifest = br#"{"schemaVersion":2}"#;
        let manifest_digest = digest_of(manifest);

        let wrong = config(&format!("sha256:{}", "0".repeat(64)));
        let err = store_pulled(
            &mut store,
            &reference,
            &manifest_digest,
            &manifest_digest,
            manifest,
            &wrong,
            &layers,
            |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
        let images: i64 = store
            .db()
            .query_row("SELECT count(*) FROM images", [], |r| r.get(0))
            .unwrap();
        assert_eq!(images, 0);
        let dirs = std::fs::read_dir(store.layers_dir())
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(dirs, 0);
        // The verified blob stays for the next attempt.
        assert!(Blobs::new(&store).exists(&blob_digest));

        let right = config(&blob_digest); // an uncompressed blob's digest is its diff_id
        let mut done = Vec::new();
        let stored = store_pulled(
            &mut store,
            &reference,
            &manifest_digest,
            &manifest_digest,
            manifest,
            &right,
            &layers,
            |i, unpacked| done.push((i, unpacked)),
        )
        .unwrap();
        assert_eq!(done, [(0, true)]);
        assert!(!stored.up_to_date);
        assert_eq!(
            crate::resolve_id(&store, "127.0.0.1:5000/x:1").unwrap(),
            stored.id
        );
        let by_digest = format!("127.0.0.1:5000/x@{manifest_digest}");
        assert_eq!(crate::resolve_id(&store, &by_digest).unwrap(), stored.id);
        assert_eq!(stored_chains(&store, &right).unwrap(), [true]);
        let source = push_source(&store, &stored.id).unwrap();
        assert_eq!(source.layers[0].blob_digest, blob_digest);
        assert_eq!(source.layers[0].size, blob.len() as u64);

        let again = store_pulled(
            &mut store,
            &reference,
            &manifest_digest,
            &manifest_digest,
            manifest,
            &right,
            &layers,
            |_, _| {},
        )
        .unwrap();
        assert!(again.up_to_date);
    }
}
