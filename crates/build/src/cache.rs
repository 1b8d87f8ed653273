//! The build cache: `build_cache` rows map (parent image, step key) to the
//! image a step made. Rows are deleted with their image (`ON DELETE CASCADE`),
//! so a hit always names an image that still exists.

use std::collections::BTreeSet;

use berth_store::rusqlite::{params, OptionalExtension};
use berth_store::Store;
use sha2::{Digest, Sha256};

use crate::BuildError;

/// The key of a step: its history line and whatever else decides its result
/// (content digests, build args), hashed.
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The newest image made by this step on this parent.
pub fn lookup(store: &Store, parent: &str, key: &str) -> Result<Option<String>, BuildError> {
    Ok(store
        .db()
        .query_row(
            "SELECT b.image_id FROM build_cache b JOIN images i ON i.id = b.image_id \
             WHERE b.parent_id = ?1 AND b.cache_key = ?2 ORDER BY i.created_at DESC LIMIT 1",
            params![parent, key],
            |r| r.get(0),
        )
        .optional()?)
}

/// The images named (those that exist: Docker ignores unknown `--cache-from`
/// names) and every image below them, following the steps that made them.
pub fn chains(store: &Store, names: &[String]) -> Result<BTreeSet<String>, BuildError> {
    let mut found = BTreeSet::new();
    for name in names {
        let Ok(mut id) = berth_image::resolve_id(store, name) else {
            continue;
        };
        while found.insert(id.clone()) {
            let parent: Option<String> = store
                .db()
                .query_row(
                    "SELECT parent_id FROM build_cache WHERE image_id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            match parent {
                Some(p) => id = p,
                None => break,
            }
        }
    }
    Ok(found)
}

pub fn record(store: &mut Store, image: &str, parent: &str, key: &str) -> Result<(), BuildError> {
    store.write(|tx| {
        tx.execute(
            "INSERT OR REPLACE INTO build_cache (image_id, parent_id, cache_key) VALUES (?1, ?2, ?3)",
            params![image, parent, key],
        )
    })?;
    Ok(())
}

/// Whether `image` was made by a build step (and is kept as its cache); a
/// commit's row (its parent, with an empty key) is no cache.
pub fn is_cached(store: &Store, image: &str) -> Result<bool, berth_store::rusqlite::Error> {
    Ok(store
        .db()
        .query_row(
            "SELECT 1 FROM build_cache WHERE image_id = ?1 AND cache_key != '' LIMIT 1",
            params![image],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}
