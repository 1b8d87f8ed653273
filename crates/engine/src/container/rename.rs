//! `rename`.

use berth_container::model;
use berth_container::{ContainerError, Result};
use berth_store::Store;

/// Renames a container; the new name must be free.
pub fn rename(store: &mut Store, reference: &str, new_name: &str) -> Result<()> {
    let c = model::find(store, reference)?;
    let new_name = new_name.trim_start_matches('/');
    if !berth_container::names::is_valid_name(new_name) {
        return Err(ContainerError::InvalidName(new_name.to_string()));
    }
    if new_name == c.name {
        return Err(ContainerError::Conflict(
            "Renaming a container with the same name as its current name".into(),
        ));
    }
    store.write(|tx| {
        let taken: Option<String> = berth_store::rusqlite::OptionalExtension::optional(
            tx.query_row("SELECT id FROM containers WHERE name=?1", [new_name], |r| {
                r.get(0)
            }),
        )?;
        if let Some(id) = taken {
            return Err(ContainerError::NameInUse {
                name: new_name.to_string(),
                id,
            });
        }
        tx.execute(
            "UPDATE containers SET name=?2 WHERE id=?1",
            [&c.id, new_name],
        )?;
        Ok(())
    })
}
