//! `volume rename`'s side of the container records: every container that
//! uses the volume follows it to its new name — its mount record (what
//! `start` mounts and `inspect` shows as `Mounts`) and the `-v`/`--mount`
//! it was created with (`HostConfig.Binds`/`Mounts`) — in the transaction
//! that renames the volume. Only containers that are not running may follow:
//! a running one has the old directory mounted.

use std::path::Path;

use berth_store::rusqlite::{self, params};

use crate::model::{ContainerSpec, MountKind, Status};
use crate::ContainerError;

/// Inside `tx`: the users of volume `old` (whose data is now at
/// `new_source`) name `new` instead. Refused, naming them, while any user is
/// running, paused or restarting.
pub fn follow_volume_rename(
    tx: &rusqlite::Connection,
    old: &str,
    new: &str,
    new_source: &Path,
) -> Result<(), ContainerError> {
    let mut stmt = tx.prepare(
        "SELECT id, name, status, config FROM containers WHERE id IN
         (SELECT container_id FROM container_volumes WHERE volume_name = ?1) ORDER BY name",
    )?;
    let users = stmt
        .query_map([old], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut running = Vec::new();
    for (id, name, status, _) in &users {
        let status = crate::model::parse_status(id, status)?;
        if matches!(
            status,
            Status::Running | Status::Paused | Status::Restarting | Status::Removing
        ) {
            running.push(name.clone());
        }
    }
    if !running.is_empty() {
        return Err(ContainerError::Conflict(format!(
            "volume {old} is in use by running containers [{}]: stop them first",
            running.join(", ")
        )));
    }
    for (id, _, _, config) in users {
        let corrupt = |e: serde_json::Error| ContainerError::Corrupt {
            id: id.clone(),
            reason: e.to_string(),
        };
        let mut spec: ContainerSpec = serde_json::from_str(&config).map_err(corrupt)?;
        for m in &mut spec.mounts {
            if m.kind == MountKind::Volume && m.name == old {
                m.name = new.to_string();
                m.source = new_source.to_path_buf();
            }
        }
        for bind in &mut spec.host.binds {
            if let Some(rest) = bind.strip_prefix(old).filter(|r| r.starts_with(':')) {
                *bind = format!("{new}{rest}");
            }
        }
        for m in &mut spec.host.mounts {
            if m.kind == "volume" && m.source == old {
                m.source = new.to_string();
            }
        }
        let config = serde_json::to_string(&spec).map_err(corrupt)?;
        tx.execute(
            "UPDATE containers SET config = ?2 WHERE id = ?1",
            params![id, config],
        )?;
    }
    Ok(())
}
