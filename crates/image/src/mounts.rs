//! Images held by image mounts (`--mount type=image`, Docker 28): a container
//! that mounts an image at a destination holds it through one
//! `container_image_mounts` row per layer, written in the container's create
//! transaction and deleted with the container (`ON DELETE CASCADE`).
//!
//! While a row names an image, `rmi` refuses it as it refuses an image a
//! container runs ([`crate::images::remove`]) and `image prune` keeps it; the
//! rows name the layers too, so an `rmi -f` of the image (a stopped user)
//! leaves the container's mount whole, as `container_layers` does for its rootfs.

use std::path::PathBuf;

use berth_store::rusqlite::{params, Transaction};
use berth_store::Store;

use crate::{ImageError, ResolvedImage};

/// What an image mount holds: the image and its layers, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub image_id: String,
    pub chain_ids: Vec<String>,
}

impl Held {
    pub fn of(image: &ResolvedImage) -> Held {
        Held {
            image_id: image.id.clone(),
            chain_ids: image.layers.iter().map(|l| l.chain_id.clone()).collect(),
        }
    }
}

/// Records that container `container_id` mounts `held` at `destination`.
pub fn hold(
    tx: &Transaction,
    container_id: &str,
    destination: &str,
    held: &Held,
) -> Result<(), ImageError> {
    for (position, chain_id) in held.chain_ids.iter().enumerate() {
        tx.execute(
            "INSERT INTO container_image_mounts (container_id, destination, position, image_id, chain_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![container_id, destination, position as i64, held.image_id, chain_id],
        )?;
    }
    Ok(())
}

/// The unpacked layer directories of the image container `container_id`
/// mounts at `destination`, top-most first (overlay lowerdirs).
pub fn layer_dirs(
    store: &Store,
    container_id: &str,
    destination: &str,
) -> Result<Vec<PathBuf>, ImageError> {
    let mut stmt = store.db().prepare_cached(
        "SELECT l.dir FROM container_image_mounts m JOIN layers l ON l.chain_id = m.chain_id \
         WHERE m.container_id = ?1 AND m.destination = ?2 ORDER BY m.position DESC",
    )?;
    let dirs = stmt
        .query_map([container_id, destination], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let layers = store.layers_dir();
    Ok(dirs.into_iter().map(|d| layers.join(d)).collect())
}

/// What container `container_id` holds for its image mount at
/// `destination` (also after an `rmi -f` of the image).
pub fn held(
    store: &Store,
    container_id: &str,
    destination: &str,
) -> Result<Option<Held>, ImageError> {
    let mut stmt = store.db().prepare_cached(
        "SELECT image_id, chain_id FROM container_image_mounts \
         WHERE container_id = ?1 AND destination = ?2 ORDER BY position",
    )?;
    let rows = stmt
        .query_map([container_id, destination], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let image_id = rows.first().map(|(image_id, _)| image_id.clone());
    Ok(image_id.map(|image_id| Held {
        image_id,
        chain_ids: rows.into_iter().map(|(_, chain)| chain).collect(),
    }))
}

/// SQL: the IDs of containers that use image `?1`, as their image or in an
/// image mount.
pub(crate) const USERS: &str = "SELECT id FROM containers WHERE image_id = ?1 \
     OR id IN (SELECT container_id FROM container_image_mounts WHERE image_id = ?1)";

/// SQL: every image some container uses (its image, or one it mounts).
pub(crate) const USED_IMAGES: &str =
    "SELECT image_id FROM containers UNION SELECT image_id FROM container_image_mounts";
