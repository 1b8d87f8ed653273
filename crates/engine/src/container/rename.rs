//! `rename`.

use berth_container::model;
use berth_container::{state, ContainerError};
use berth_store::rusqlite::OptionalExtension;

use crate::{Engine, Result};

impl Engine {
    /// `rename`: the new name must be valid and free. Records Docker's
    /// `rename` event (the new `name`, the `oldName` with its slash).
    pub fn container_rename(&mut self, reference: &str, new_name: &str) -> Result<()> {
        let c = model::find(&self.store, reference)?;
        let new_name = new_name.trim_start_matches('/');
        if !berth_container::names::is_valid_name(new_name) {
            return Err(ContainerError::InvalidName(new_name.to_string()).into());
        }
        if new_name == c.name {
            return Err(ContainerError::Conflict(
                "Renaming a container with the same name as its current name".into(),
            )
            .into());
        }
        self.store.write(|tx| {
            let taken: Option<String> = tx
                .query_row("SELECT id FROM containers WHERE name=?1", [new_name], |r| {
                    r.get(0)
                })
                .optional()?;
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
            state::record(tx, &c.id, "rename", vec![("oldName", c.slash_name())])
        })?;
        Ok(())
    }
}
